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
	"flag"
	"fmt"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"strings"
	"time"
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
	solution := flag.Bool("solution", false, "grade (or run) the reference solution, setup_solution.go, instead of setup.go")
	flag.Usage = func() {
		fmt.Fprintln(os.Stderr, "usage: go run ./labs/03-mount-namespace/grade [-solution] [CMD [ARG...]]")
		flag.PrintDefaults()
	}
	flag.Parse()
	code, err := mainErr(*solution, flag.Args())
	if err != nil {
		fmt.Fprintln(os.Stderr, "grade:", err)
	}
	os.Exit(code)
}

// mainErr prepares the binaries and the root filesystem, then grades, or
// runs cmd when one is given. It returns the exit status.
func mainErr(solution bool, cmd []string) (int, error) {
	if os.Geteuid() != 0 {
		return 2, errors.New("needs root, for namespaces and mounts: run it as root")
	}
	repo, err := repoRoot()
	if err != nil {
		return 2, err
	}
	tmp, err := os.MkdirTemp("", "lab03-")
	if err != nil {
		return 2, err
	}
	defer removeAll(tmp)
	// Ctrl-C also reaches the container and the sandbox; the grader
	// stops after the current container, so that it still cleans up.
	interrupt := make(chan os.Signal, 1)
	signal.Notify(interrupt, os.Interrupt)
	bins, err := build(repo, tmp, solution)
	if err != nil {
		return 1, err
	}
	pristine := filepath.Join(tmp, "pristine")
	mk := exec.Command("sh", filepath.Join(repo, "scripts", "mkrootfs.sh"),
		"--probe", bins.probe, "--escape", bins.escape, pristine)
	if out, err := mk.CombinedOutput(); err != nil {
		return 2, fmt.Errorf("build the rootfs: %v\n%s", err, out)
	}
	l := &lab{tmp: tmp, pristine: pristine, container: bins.container, interrupt: interrupt}
	if len(cmd) > 0 {
		return l.interactive(cmd)
	}
	obs, err := l.observe()
	if err != nil {
		return 2, err
	}
	score, total := report(os.Stdout, obs)
	if score < total {
		return 1, nil
	}
	return 0, nil
}

// repoRoot returns the directory above the working directory that holds
// contain's go.mod.
func repoRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		b, err := os.ReadFile(filepath.Join(dir, "go.mod"))
		if err == nil && bytes.Contains(b, []byte("module github.com/contain-dev/contain\n")) {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", errors.New("run me from inside the contain repository (cd to it first)")
		}
		dir = parent
	}
}

// binaries are the programs the grader builds into its temporary directory.
type binaries struct {
	container, probe, escape string
}

// build compiles the learner's container (or the reference solution), the
// probe and chapter 02's escape in one go build, statically, so that they
// also run inside the busybox rootfs. go build names each binary after its
// package's directory.
func build(repo, tmp string, solution bool) (binaries, error) {
	dir := filepath.Join(tmp, "bin")
	args := []string{"build", "-trimpath", "-o", dir + "/"}
	if solution {
		args = append(args, "-tags", "solution")
	}
	args = append(args, containerPkg, "./tool/cmd/probe", "./steps/02-chroot/escape")
	cmd := exec.Command("go", args...)
	cmd.Dir = repo
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := cmd.CombinedOutput(); err != nil {
		return binaries{}, fmt.Errorf("go build failed: fix the errors below, then grade again\n%s", out)
	}
	return binaries{
		container: filepath.Join(dir, "container"),
		probe:     filepath.Join(dir, "probe"),
		escape:    filepath.Join(dir, "escape"),
	}, nil
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
// with major and minor in hex, as stat(1) prints them.
var (
	probeCmd  = []string{"/usr/local/bin/probe"}
	escapeCmd = []string{"/usr/local/bin/escape", "true"}
	devScript = `cd /dev || exit 1
for f in * pts/*; do
	[ -e "$f" ] || [ -L "$f" ] || continue
	echo "$(stat -c '%n|%F|%t|%T|%a' "$f")|$(readlink "$f")"
done`
	devCmd = []string{"/bin/sh", "-c", devScript}
)

// observe runs the three containers the checks look at, each on a fresh
// rootfs in a fresh sandbox.
func (l *lab) observe() (*observation, error) {
	o := &observation{}
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

// removeAll deletes the grader's temporary directory, unless something is
// mounted below it: deleting through a bind of the host's /dev would
// delete the host's device nodes. The sandboxes make that impossible; this
// makes sure.
func removeAll(dir string) {
	mounts, err := os.ReadFile("/proc/self/mountinfo")
	if err != nil || bytes.Contains(mounts, []byte(" "+dir+"/")) || bytes.Contains(mounts, []byte(" "+dir+" ")) {
		fmt.Fprintf(os.Stderr, "grade: not removing %s: something is mounted below it (see /proc/self/mountinfo); unmount it, then rm -r it\n", dir)
		return
	}
	os.RemoveAll(dir)
}
