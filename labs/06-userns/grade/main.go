// Command grade checks lab 06. It builds your container
// (labs/06-userns/container), runs it as nobody, an ordinary user with no
// privilege at all, with a command that prints the container's maps and
// ids and creates a file, and prints one line per check, a hint drawn from
// what the container showed for each failure, and the score:
//
//	go run ./labs/06-userns/grade            grade maps.go
//	go run ./labs/06-userns/grade -solution  grade the reference instead
//	go run ./labs/06-userns/grade CMD...     run CMD in your container, as nobody
//
// It exits 0 only with the full score. It runs as root only to build and
// to become nobody; the container itself never has any privilege on the
// host.
package main

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
	"time"

	"github.com/contain-dev/contain/labs/internal/grading"
)

// nobody is the uid and gid the container runs as.
const nobody = 65534

// containerPkg is the learner's program, as go build names it.
const containerPkg = "./labs/06-userns/container"

// runTimeout bounds the container, so that one that hangs fails instead of
// hanging the grader.
const runTimeout = 30 * time.Second

func main() {
	grading.Main("grade (or run) the reference solution, maps_solution.go, instead of maps.go",
		"usage: go run ./labs/06-userns/grade [-solution] [CMD [ARG...]]", grade)
}

// grade builds the container, then runs it as nobody with the script and
// reports, or with cmd when one is given. It returns the exit status.
func grade(solution bool, cmd []string) (int, error) {
	s, err := grading.Start("lab06", "to run your container as nobody")
	if err != nil {
		return 2, err
	}
	defer s.Close()
	// 0755 all the way: nobody must reach the binary, and may write in
	// out/ only.
	out := filepath.Join(s.Tmp, "out")
	for _, d := range []struct {
		path string
		mode os.FileMode
	}{{s.Tmp, 0o755}, {out, 0o777}} {
		if err := os.MkdirAll(d.path, d.mode); err != nil {
			return 2, err
		}
		if err := os.Chmod(d.path, d.mode); err != nil {
			return 2, err
		}
	}
	bins, err := s.Build(s.Tmp, solution, containerPkg)
	if err != nil {
		return 1, err
	}
	if len(cmd) > 0 {
		c := asNobody(bins[0], cmd...)
		c.Stdin, c.Stdout, c.Stderr = os.Stdin, os.Stdout, os.Stderr
		return grading.ExitStatus(c.Run())
	}
	o, err := observe(asNobody(bins[0], "/bin/sh", "-c", fmt.Sprintf(script, filepath.Join(out, "made-inside"))), filepath.Join(out, "made-inside"))
	if err != nil {
		return 2, err
	}
	if o.skip, err = s.Stretch(solution, containerPkg); err != nil {
		return 2, err
	}
	if _, err := exec.LookPath("newuidmap"); o.skip == "" && err != nil {
		o.skip = "not on this host: there is no newuidmap (apt-get install uidmap)"
	}
	if o.skip == "" {
		made := filepath.Join(out, "made-by-1000")
		sub := filepath.Join(s.Tmp, "subid")
		if err := os.WriteFile(sub, []byte(fmt.Sprintf("nobody:%d:%d\n", subStart, subCount)), 0o644); err != nil {
			return 2, err
		}
		if o.ranges, err = observe(withSubids(sub, bins[0], "-subids", fmt.Sprintf("%d:%d", subStart, subCount),
			"/bin/sh", "-c", fmt.Sprintf(rangesScript, made)), made); err != nil {
			return 2, err
		}
	}
	return grading.Report(os.Stdout, checks, o).Status(), nil
}

// observe runs c and looks at what it printed and at the owner of the
// file made, which it created.
func observe(c *exec.Cmd, made string) (*observation, error) {
	r, err := grading.Run(c, runTimeout)
	if err != nil {
		return nil, err
	}
	o := &observation{Code: r.Code, Stdout: r.Stdout, Stderr: r.Stderr, FileUID: -1, FileGID: -1}
	if st, err := os.Stat(made); err == nil {
		sys := st.Sys().(*syscall.Stat_t)
		o.FileUID, o.FileGID = int(sys.Uid), int(sys.Gid)
	}
	o.parse()
	return o, nil
}

// The stretch goal's range: what the grader's /etc/subuid and /etc/subgid
// grant nobody for the run.
const (
	subStart = 200000
	subCount = 65536
)

// rangesScript is what the container runs for the stretch goal: its maps,
// each line ending in ";", its ids, and a file it creates and gives to
// uid and gid 1000 inside, with %s the file's path.
const rangesScript = `echo "uid_map: $(tr '\n' ';' </proc/self/uid_map)"
echo "gid_map: $(tr '\n' ';' </proc/self/gid_map)"
echo "ids: $(id -u) $(id -g)"
touch %[1]s && chown 1000:1000 %[1]s`

// withSubids prepares bin with args to run as nobody, as asNobody does,
// where /etc/subuid and /etc/subgid are the file sub: in a mount namespace
// of its own, so that the host's files stay as they are.
//
// Equivalent to: unshare -m --propagation private sh -c 'mount --bind $sub /etc/subuid; mount --bind $sub /etc/subgid; exec setpriv --reuid=nobody ... $bin $args'
func withSubids(sub, bin string, args ...string) *exec.Cmd {
	c := exec.Command("unshare", append([]string{"--mount", "--propagation", "private", "sh", "-ec",
		`mount --bind "$1" /etc/subuid; mount --bind "$1" /etc/subgid; shift; exec setpriv --reuid=65534 --regid=65534 --clear-groups "$@"`,
		"sh", sub, bin}, args...)...)
	c.Dir = "/"
	c.Env = []string{"PATH=/usr/local/bin:/usr/bin:/bin:/usr/sbin:/sbin"}
	return c
}

// script is what the container runs: its maps, setgroups, its ids, and a
// file it creates, with %s the file's path.
const script = `echo "uid_map: $(cat /proc/self/uid_map)"
echo "gid_map: $(cat /proc/self/gid_map)"
echo "setgroups: $(cat /proc/self/setgroups)"
echo "ids: $(id -u) $(id -g)"
touch %s`

// asNobody prepares bin with args to run as uid and gid nobody, with no
// supplementary group, from "/".
func asNobody(bin string, args ...string) *exec.Cmd {
	c := exec.Command(bin, args...)
	c.Dir = "/"
	c.Env = []string{"PATH=/usr/local/bin:/usr/bin:/bin:/usr/sbin:/sbin"}
	c.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: nobody, Gid: nobody, Groups: []uint32{}}}
	return c
}
