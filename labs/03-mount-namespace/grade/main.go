// Command grade checks lab 03. It builds your container
// (labs/03-mount-namespace/container), runs it on a fresh busybox root
// filesystem, looks at what the container shows, and prints one line per
// check, a hint for each failure and the score:
//
//	go run ./labs/03-mount-namespace/grade            grade setup.go
//	go run ./labs/03-mount-namespace/grade -solution  grade the reference instead
//	go run ./labs/03-mount-namespace/grade CMD...     run CMD in your container
//
// It exits 0 only with the full score. Every container runs inside a
// throwaway copy of the host's mount namespace whose / is shared, as on a
// systemd host (see sandbox.go): a mount that propagates where it should
// not shows up there, where the grader sees it, and goes away with it.
package main

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"strings"
	"time"

	"golang.org/x/sys/unix"

	"github.com/contain-dev/contain/labs/internal/grading"
)

// containerPkg is the learner's program, as go build names it.
const containerPkg = "./labs/03-mount-namespace/container"

// runTimeout bounds each container the grader starts, so that a container
// that hangs fails its checks instead of hanging the grader.
const runTimeout = 30 * time.Second

func main() {
	if len(os.Args) > 0 && os.Args[0] == sandboxArg0 {
		sandboxMain(os.Args[1:])
		return
	}
	grading.Main("grade (or run) the reference solution, setup_solution.go, instead of setup.go",
		"usage: go run ./labs/03-mount-namespace/grade [-solution] [CMD [ARG...]]", grade)
}

// grade prepares the binaries and the root filesystem, then grades, or
// runs cmd when one is given. It returns the exit status.
func grade(solution bool, cmd []string) (int, error) {
	s, err := grading.Start("lab03", "for namespaces and mounts")
	if err != nil {
		return 2, err
	}
	defer s.Close()
	// Ctrl-C also reaches the container and the sandbox; the grader
	// stops after the current container, so that it still cleans up.
	interrupt := make(chan os.Signal, 1)
	signal.Notify(interrupt, os.Interrupt)
	// The probe and chapter 02's escape go into the rootfs.
	bins, err := s.Build(filepath.Join(s.Tmp, "bin"), solution, containerPkg, "./tool/cmd/probe", "./steps/02-chroot/escape")
	if err != nil {
		return 1, err
	}
	pristine := filepath.Join(s.Tmp, "pristine")
	mk := exec.Command("sh", filepath.Join(s.Repo, "scripts", "mkrootfs.sh"),
		"--probe", bins[1], "--escape", bins[2], pristine)
	if out, err := mk.CombinedOutput(); err != nil {
		return 2, fmt.Errorf("build the rootfs: %v\n%s", err, out)
	}
	l := &lab{tmp: s.Tmp, pristine: pristine, container: bins[0], interrupt: interrupt}
	if len(cmd) > 0 {
		return l.interactive(cmd)
	}
	obs, err := l.observe()
	if err != nil {
		return 2, err
	}
	if obs.skip, err = s.Stretch(solution, containerPkg); err != nil {
		return 2, err
	}
	return grading.Report(os.Stdout, checks, obs).Status(), nil
}

// lab is one grading session: the temporary directory, a pristine rootfs
// and the container binary under test.
type lab struct {
	tmp, pristine, container string
	runs                     int
	// interrupt receives Ctrl-C, on which grading stops.
	interrupt chan os.Signal
}

// freshRootfs copies the pristine rootfs for one run, so that whatever one
// container leaves in its rootfs cannot change the next one.
func (l *lab) freshRootfs() (string, error) {
	l.runs++
	dir := filepath.Join(l.tmp, fmt.Sprintf("run%d", l.runs))
	if err := os.Mkdir(dir, 0o755); err != nil {
		return "", err
	}
	rootfs := filepath.Join(dir, "rootfs")
	if out, err := exec.Command("cp", "-a", l.pristine, rootfs).CombinedOutput(); err != nil {
		return "", fmt.Errorf("copy the rootfs: %v: %s", err, out)
	}
	return rootfs, nil
}

// The commands the grader runs in the container. devScript prints one
// line per entry of /dev and /dev/pts: name|type|major|minor|mode|target,
// with major and minor in hex, as stat(1) prints them; then how many
// entries /proc and /sys have, as "=/proc N", which tells a directory
// with nothing mounted on it (0) from one whose mount the probe cannot
// see without /proc.
var (
	probeCmd  = []string{"/usr/local/bin/probe"}
	escapeCmd = []string{"/usr/local/bin/escape", "true"}
	devScript = `cd /dev || exit 1
for f in * pts/*; do
	[ -e "$f" ] || [ -L "$f" ] || continue
	echo "$(stat -c '%n|%F|%t|%T|%a' "$f")|$(readlink "$f")"
done
for d in /proc /sys; do echo "=$d $(ls -A $d | wc -l)"; done`
	devCmd = []string{"/bin/sh", "-c", devScript}
)

// startUmask is the umask the grader gives the containers it observes,
// whatever the shell that started it has, so that a container that leaves
// its own umask(0) in force is told apart from one that puts it back.
const startUmask = 0o022

// observe runs the three containers the checks look at, each on a fresh
// rootfs in a fresh sandbox, with startUmask.
func (l *lab) observe() (*observation, error) {
	// The umask is this process's; the sandbox and the container inherit
	// it through fork and execve(2).
	old := unix.Umask(startUmask)
	defer unix.Umask(old)
	o := &observation{umask: fmt.Sprintf("%04o", startUmask)}
	for _, r := range []struct {
		res *result
		cmd []string
	}{{&o.probe, probeCmd}, {&o.dev, devCmd}, {&o.escape, escapeCmd}} {
		select {
		case <-l.interrupt:
			return nil, errors.New("interrupted")
		default:
		}
		rootfs, err := l.freshRootfs()
		if err != nil {
			return nil, err
		}
		var stdout, stderr bytes.Buffer
		out, err := runSandboxed(l.container, rootfs, r.cmd, nil, &stdout, &stderr, runTimeout)
		if err != nil {
			return nil, err
		}
		*r.res = result{Rootfs: rootfs, Code: out.Code, Changed: out.Changed, Stdout: stdout.String(), Stderr: stderr.String()}
	}
	o.parse()
	return o, nil
}

// interactive runs cmd in the learner's container on the terminal, then
// says whether the host's mount table changed.
func (l *lab) interactive(cmd []string) (int, error) {
	rootfs, err := l.freshRootfs()
	if err != nil {
		return 2, err
	}
	out, err := runSandboxed(l.container, rootfs, cmd, os.Stdin, os.Stdout, os.Stderr, 0)
	if err != nil {
		return 2, err
	}
	if len(out.Changed) > 0 {
		fmt.Fprintf(os.Stderr, "grade: your container changed the host's mount table (%s); the grader's throwaway copy took it, not the real host\n",
			strings.Join(relative(out.Changed, rootfs), ", "))
	}
	return out.Code, nil
}
