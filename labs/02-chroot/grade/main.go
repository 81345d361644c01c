// Command grade checks lab 02. It builds your runner
// (labs/02-chroot/runner), builds a busybox rootfs with chapter 02's
// escape in /usr/local/bin, runs the runner three times (a command that
// stays while the grader looks at it from the host, a command that does
// not exist, the escape) and prints one line per check, a hint drawn from
// what it saw for each failure, and the score:
//
//	go run ./labs/02-chroot/grade            grade stage.go
//	go run ./labs/02-chroot/grade -solution  grade the reference instead
//
// It exits 0 only with the full score. The runner mounts nothing, so it
// needs no sandbox; should it rename the host (a hostname set outside a
// UTS namespace of its own), the grader puts the name back and says so.
package main

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"golang.org/x/sys/unix"

	"github.com/contain-dev/contain/labs/internal/grading"
)

// runnerPkg is the learner's program, as go build names it.
const runnerPkg = "./labs/02-chroot/runner"

// The grader's commands. holdScript says who it is and then stays, as
// sleep, until the grader kills it; intScript is the stretch goal's, a
// shell that decides what Ctrl-C means.
const (
	holdScript = `echo "$$ $(hostname)"; exec sleep 60`
	intScript  = `trap 'echo got INT; exit 7' INT; echo ready; while :; do sleep 0.1; done`
)

// Time limits: for a whole run; for the runner to say the command runs
// once the command has printed its first line; for a runner to go on
// after its child has gone, before the grader calls it hung.
const (
	runLimit     = 10 * time.Second
	startedLimit = 3 * time.Second
	lonelyLimit  = 2 * time.Second
)

func main() {
	grading.Main("grade the reference solution, stage_solution.go, instead of stage.go", "", grade)
}

// grade builds the runner and the rootfs, observes the runs and reports.
func grade(solution bool, _ []string) (int, error) {
	s, err := grading.Start("lab02", "for chroot(2) and namespaces")
	if err != nil {
		return 2, err
	}
	defer s.Close()
	// What the command holds beyond 0, 1 and 2 must be the runner's
	// doing, not a descriptor that the shell which started the grader
	// left open to it.
	closeOnExecInherited()
	bins, err := s.Build(filepath.Join(s.Tmp, "bin"), solution, runnerPkg, "./tool/cmd/probe", "./steps/02-chroot/escape")
	if err != nil {
		return 1, err
	}
	rootfs := filepath.Join(s.Tmp, "rootfs")
	mk := exec.Command("sh", filepath.Join(s.Repo, "scripts", "mkrootfs.sh"), "--probe", bins[1], "--escape", bins[2], rootfs)
	if out, err := mk.CombinedOutput(); err != nil {
		return 2, fmt.Errorf("build the rootfs: %v\n%s", err, out)
	}
	resolved, err := filepath.EvalSymlinks(rootfs)
	if err != nil {
		return 2, err
	}
	o := &observation{rootfs: resolved}
	if o.hostPidNS, err = os.Readlink("/proc/self/ns/pid"); err != nil {
		return 2, err
	}
	if o.skip, err = s.Stretch(solution, runnerPkg); err != nil {
		return 2, err
	}
	r := &runs{bin: bins[0], rootfs: rootfs}
	o.hold = r.run([]string{"/bin/sh", "-c", holdScript}, r.inspect(o))
	o.missing = r.run([]string{"no-such-command"}, nil)
	o.escape = r.run([]string{"escape", "true"}, nil)
	if o.skip == "" {
		o.interrupt = r.run([]string{"/bin/sh", "-c", intScript}, r.interrupt(o))
	}
	o.renamed = r.renamed
	return grading.Report(os.Stdout, checks, o).Status(), nil
}

// result is what one run of the runner left for the checks.
type result struct {
	Code           int
	Stdout, Stderr string
	// Started tells that the runner said the command runs while it ran.
	Started bool
	// Killed says why the grader ended the run, or "": "hung" when the
	// runner still ran with no process of the container left, "limit"
	// at the time limit.
	Killed string
}

// runs runs the runner, and keeps the host's hostname.
type runs struct {
	bin, rootfs string
	// renamed is the name the host got from a runner, or "".
	renamed string
}

// watch is what the grader does while a run goes on: it gets the runner
// and the first line of the command's output, and returns when the run
// may go on to its end.
type watch func(c *exec.Cmd, line string, r *result)

// run runs the runner with args on the rootfs; with w, it calls w with the
// first line the command prints. It kills the runner when it hangs: when
// it still runs lonelyLimit after its child has gone (it waits on a pipe
// nobody will close), or at runLimit.
func (rs *runs) run(args []string, w watch) result {
	host, _ := os.Hostname()
	defer func() {
		if now, _ := os.Hostname(); now != host {
			rs.renamed = now
			unix.Sethostname([]byte(host))
		}
	}()
	c := exec.Command(rs.bin, append([]string{rs.rootfs}, args...)...)
	// Its own process group, for the stretch goal's Ctrl-C.
	c.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	var stdout, stderr lockedBuffer
	lines := make(chan string, 1)
	outR, err := c.StdoutPipe()
	if err != nil {
		return result{Code: -1, Stderr: err.Error()}
	}
	c.Stderr = &stderr
	c.WaitDelay = time.Second
	if err := c.Start(); err != nil {
		return result{Code: -1, Stderr: err.Error()}
	}
	go func() {
		sc := bufio.NewScanner(io.TeeReader(outR, &stdout))
		for sc.Scan() {
			select {
			case lines <- sc.Text():
			default:
			}
		}
	}()
	done := make(chan error, 1)
	go func() { done <- c.Wait() }()
	var r result
	began, lonely, sawChild := time.Now(), time.Time{}, false
	tick := time.NewTicker(100 * time.Millisecond)
	defer tick.Stop()
	var werr error
loop:
	for {
		select {
		case werr = <-done:
			break loop
		case line := <-lines:
			if w != nil {
				w(c, line, &r)
				w = nil
			}
		case <-tick.C:
			// A zombie is a child that was there: a runner that never
			// waits keeps its dead child as one.
			alive := len(children(c.Process.Pid)) > 0
			sawChild = sawChild || alive || zombies(c.Process.Pid) > 0
			switch {
			case time.Since(began) > runLimit:
				r.Killed = "limit"
			case alive:
				lonely = time.Time{}
				continue
			case !sawChild:
				continue // not started yet: a slow machine takes its time
			case lonely.IsZero():
				lonely = time.Now()
				continue
			case time.Since(lonely) > lonelyLimit:
				r.Killed = "hung"
			default:
				continue
			}
			syscall.Kill(-c.Process.Pid, syscall.SIGKILL)
			werr = <-done
			break loop
		}
	}
	r.Code, _ = grading.ExitStatus(werr)
	if ws, ok := c.ProcessState.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
		r.Code = 128 + int(ws.Signal())
	}
	r.Stdout, r.Stderr = stdout.String(), stderr.String()
	return r
}

// inspect is the watch of the first run: while the command stays, it
// looks at it from the host, waits for the runner to say that it runs,
// then kills it.
func (rs *runs) inspect(o *observation) watch {
	return func(c *exec.Cmd, line string, r *result) {
		o.said = line
		kids := children(c.Process.Pid)
		if len(kids) != 1 {
			return
		}
		o.cmd = look(kids[0])
		for deadline := time.Now().Add(startedLimit); time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
			if runnerSaid(c) {
				r.Started = true
				break
			}
		}
		syscall.Kill(kids[0], syscall.SIGKILL)
	}
}

// interrupt is the watch of the stretch goal's run: once the command is
// ready, a Ctrl-C, SIGINT to the runner's whole process group, as the
// terminal sends it. It looks at the command first, for the hint.
func (rs *runs) interrupt(o *observation) watch {
	return func(c *exec.Cmd, line string, r *result) {
		if kids := children(c.Process.Pid); len(kids) == 1 {
			o.intCmd = look(kids[0])
		}
		syscall.Kill(-c.Process.Pid, syscall.SIGINT)
	}
}

// runnerSaid tells whether the runner has printed "runs as pid" yet: its
// stderr is a lockedBuffer.
func runnerSaid(c *exec.Cmd) bool {
	b, ok := c.Stderr.(*lockedBuffer)
	return ok && strings.Contains(b.String(), " runs as pid ")
}

// lockedBuffer is a bytes.Buffer that two goroutines may share.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// children returns the pids of the living children of pid.
func children(pid int) []int { return kin(pid, false) }

// zombies counts the children of pid that have died and are not waited for.
func zombies(pid int) int { return len(kin(pid, true)) }

// kin returns the pids whose parent is pid, from /proc/*/stat: the
// zombies among them, or the others.
func kin(pid int, zombie bool) []int {
	entries, _ := os.ReadDir("/proc")
	var kids []int
	for _, e := range entries {
		p, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		b, err := os.ReadFile(filepath.Join("/proc", e.Name(), "stat"))
		if err != nil {
			continue
		}
		// pid (comm) state ppid ...: comm may hold spaces, so count
		// from the last ")".
		f := strings.Fields(string(b[bytes.LastIndexByte(b, ')')+1:]))
		if len(f) > 1 && f[1] == strconv.Itoa(pid) && (f[0] == "Z") == zombie {
			kids = append(kids, p)
		}
	}
	return kids
}

// process is what the grader saw of the command from the host.
type process struct {
	Pid       int
	Root, Cwd string
	PidNS     string
	// FDs maps each open descriptor to what it is, as readlink shows.
	FDs map[int]string
	// CapBnd and SigIgn are the fields of /proc/PID/status.
	CapBnd, SigIgn uint64
}

// look reads the command's /proc entries from the host.
func look(pid int) *process {
	p := &process{Pid: pid, FDs: map[int]string{}}
	dir := filepath.Join("/proc", strconv.Itoa(pid))
	p.Root, _ = os.Readlink(filepath.Join(dir, "root"))
	p.Cwd, _ = os.Readlink(filepath.Join(dir, "cwd"))
	p.PidNS, _ = os.Readlink(filepath.Join(dir, "ns", "pid"))
	fds, _ := os.ReadDir(filepath.Join(dir, "fd"))
	for _, fd := range fds {
		n, err := strconv.Atoi(fd.Name())
		if err != nil {
			continue
		}
		p.FDs[n], _ = os.Readlink(filepath.Join(dir, "fd", fd.Name()))
	}
	status, _ := os.ReadFile(filepath.Join(dir, "status"))
	for _, line := range strings.Split(string(status), "\n") {
		k, v, _ := strings.Cut(line, ":")
		switch k {
		case "CapBnd":
			p.CapBnd, _ = strconv.ParseUint(strings.TrimSpace(v), 16, 64)
		case "SigIgn":
			p.SigIgn, _ = strconv.ParseUint(strings.TrimSpace(v), 16, 64)
		}
	}
	return p
}

// closeOnExecInherited marks every descriptor above 2 close-on-exec: those
// of the Go runtime are already, but one inherited without the flag would
// go on to the runner and the command.
func closeOnExecInherited() {
	fds, _ := os.ReadDir("/proc/self/fd")
	for _, fd := range fds {
		if n, err := strconv.Atoi(fd.Name()); err == nil && n > 2 {
			unix.CloseOnExec(n)
		}
	}
}
