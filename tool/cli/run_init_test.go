package cli_test

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/contain-dev/contain/tool/internal/state"
	"github.com/contain-dev/contain/tool/testkit"
)

// background is a contain started by a test that reads its output line by
// line and can signal it.
type background struct {
	cmd    *exec.Cmd
	out    *bufio.Reader
	stderr bytes.Buffer
	done   chan error
}

// startContain starts contain with args, stdout piped, and kills it when
// t ends if it still runs.
func startContain(t *testing.T, args ...string) *background {
	t.Helper()
	// A name of its own, so that the cleanup can find what a SIGKILL of
	// contain leaves behind (its record, its cgroup).
	name := ""
	for i, a := range args {
		if a == "--name" && i+1 < len(args) {
			name = args[i+1]
		}
	}
	if name == "" && len(args) > 0 && args[0] == "run" {
		bgCount++
		name = fmt.Sprintf("bg-%d-%d", os.Getpid(), bgCount)
		args = append([]string{"run", "--name", name}, args[1:]...)
	}
	b := &background{cmd: exec.Command(testkit.Contain(t), args...), done: make(chan error, 1)}
	out, err := b.cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	b.cmd.Stderr = &b.stderr
	b.out = bufio.NewReader(out)
	if err := b.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { b.done <- b.cmd.Wait() }()
	t.Cleanup(func() {
		b.cmd.Process.Kill()
		<-b.done
		// The container dies with contain (Pdeathsig); once it is gone,
		// reset removes the record and cgroup contain had no time to.
		if state.Exists(name) {
			waitDead(t, name)
			testkit.Run(t, testkit.Contain(t), "reset")
		}
	})
	return b
}

// bgCount numbers the containers startContain names.
var bgCount int

// line reads one line of the container's output.
func (b *background) line(t *testing.T) string {
	t.Helper()
	s, err := b.out.ReadString('\n')
	if err != nil {
		t.Fatalf("reading the container's output: %v (stderr: %s)", err, b.stderr.String())
	}
	return strings.TrimSpace(s)
}

// wait returns contain's exit status, giving up after a minute.
func (b *background) wait(t *testing.T) int {
	t.Helper()
	select {
	case err := <-b.done:
		b.done <- err // for the cleanup
		var ee *exec.ExitError
		if errors.As(err, &ee) {
			return ee.ExitCode()
		}
		if err != nil {
			t.Fatal(err)
		}
		return 0
	case <-time.After(time.Minute):
		t.Fatalf("contain still running after a minute; stderr: %s", b.stderr.String())
		return -1
	}
}

// TestRunStop stops a container whose pid 1 ignores SIGTERM (busybox sh,
// as pid 1 without a handler) and one that does not (the same sh as a
// child of --init): the first is killed after the stop timeout, 137.
func TestRunStop(t *testing.T) {
	testkit.RequireRoot(t)
	testkit.CheckHostMounts(t)
	rootfs := testkit.Rootfs(t)
	tests := []struct {
		name       string
		flags      []string
		wantCode   int
		wantStderr string
	}{
		{"sh as pid 1 ignores SIGTERM", nil, 137, "contain: the container did not stop within 100ms of SIGTERM: killed it with SIGKILL\n"},
		{"with --init, SIGTERM reaches sh", []string{"--init"}, 143, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			args := append([]string{"run", "--rootfs", rootfs, "--stop-timeout", "100ms"}, tt.flags...)
			b := startContain(t, append(args, "--", "sh", "-c", "echo ready; while :; do sleep 1; done")...)
			if got := b.line(t); got != "ready" {
				t.Fatalf("first line %q, want ready", got)
			}
			b.cmd.Process.Signal(syscall.SIGTERM)
			if code := b.wait(t); code != tt.wantCode {
				t.Errorf("exit status %d, want %d (stderr %q)", code, tt.wantCode, b.stderr.String())
			}
			if got := b.stderr.String(); got != tt.wantStderr {
				t.Errorf("stderr %q, want %q", got, tt.wantStderr)
			}
		})
	}
}

// TestRunExitStatus checks that statuses pass through --init as they do
// without it, 128+N for a death by signal N.
func TestRunExitStatus(t *testing.T) {
	testkit.RequireRoot(t)
	testkit.CheckHostMounts(t)
	rootfs := testkit.Rootfs(t)
	for _, tt := range []struct {
		cmd  string
		init bool
		want int
	}{
		{"exit 7", true, 7},
		{"exit 0", true, 0},
		{"kill -TERM $$", true, 143},
		{"kill -KILL $$", true, 137},
		{"kill -TERM $$", false, 0}, // pid 1 without a handler: ignored
		{"kill -KILL $$", false, 0}, // even SIGKILL, from inside
	} {
		t.Run(fmt.Sprintf("%s init=%v", tt.cmd, tt.init), func(t *testing.T) {
			args := []string{"run", "--rootfs", rootfs}
			if tt.init {
				args = append(args, "--init")
			}
			res := testkit.Run(t, testkit.Contain(t), append(args, "--", "sh", "-c", tt.cmd)...)
			if res.Code != tt.want {
				t.Errorf("exit status %d, want %d\n%s", res.Code, tt.want, res)
			}
		})
	}
}

// hostProcess is a process of the container as the host's /proc shows it.
type hostProcess struct {
	pid, nspid int
	state      string
	comm       string
}

// containerProcesses lists the processes in the PID namespace of hostPid,
// with their pids inside (the last NSpid field of /proc/PID/status).
func containerProcesses(t *testing.T, hostPid int) []hostProcess {
	t.Helper()
	ns := testkit.NSInode(t, strconv.Itoa(hostPid), "pid")
	dirs, _ := filepath.Glob("/proc/[0-9]*")
	var ps []hostProcess
	for _, d := range dirs {
		pid, _ := strconv.Atoi(filepath.Base(d))
		if l, err := os.Readlink(d + "/ns/pid"); err != nil || l != ns {
			continue
		}
		status, err := os.ReadFile(d + "/status")
		if err != nil {
			continue
		}
		comm, _ := os.ReadFile(d + "/comm")
		p := hostProcess{pid: pid, comm: strings.TrimSpace(string(comm))}
		for _, line := range strings.Split(string(status), "\n") {
			f := strings.Fields(line)
			switch {
			case len(f) > 1 && f[0] == "State:":
				p.state = f[1]
			case len(f) > 1 && f[0] == "NSpid:":
				p.nspid, _ = strconv.Atoi(f[len(f)-1])
			}
		}
		ps = append(ps, p)
	}
	return ps
}

// initStagePid returns the host pid of contain's child, the container's
// pid 1. Any thread of contain may have forked it.
func initStagePid(t *testing.T, contain int) int {
	t.Helper()
	files, _ := filepath.Glob(fmt.Sprintf("/proc/%d/task/*/children", contain))
	for _, f := range files {
		b, _ := os.ReadFile(f)
		for _, field := range strings.Fields(string(b)) {
			pid, _ := strconv.Atoi(field)
			return pid
		}
	}
	t.Fatalf("contain %d has no child", contain)
	return 0
}

// TestRunReapsOrphans leaves an orphan behind in a container: a process
// whose parent has exited, re-parented by the kernel to pid 1. The test
// kills it from the host. With --init, pid 1 reaps it and it disappears;
// without, pid 1 is `sleep`, which never waits, and it stays a zombie.
func TestRunReapsOrphans(t *testing.T) {
	testkit.RequireRoot(t)
	testkit.CheckHostMounts(t)
	rootfs := testkit.Rootfs(t)
	// The inner sh starts the orphan-to-be and exits at once; the outer
	// one reports its pid and becomes sleep, which never reaps.
	script := `sh -c 'sleep 1000 & echo $!'; exec sleep 1000`
	for _, tt := range []struct {
		name string
		init bool
	}{{"with --init", true}, {"without --init", false}} {
		t.Run(tt.name, func(t *testing.T) {
			args := []string{"run", "--rootfs", rootfs}
			if tt.init {
				args = append(args, "--init")
			}
			b := startContain(t, append(args, "--", "sh", "-c", script)...)
			orphan, err := strconv.Atoi(b.line(t))
			if err != nil {
				t.Fatal(err)
			}
			pid1 := initStagePid(t, b.cmd.Process.Pid)
			// Kill the orphan only once sh has become sleep: sh waits
			// for its children with waitpid(-1) and would reap it.
			for i := 0; i < 1000 && hasComm(t, pid1, "sh"); i++ {
				time.Sleep(10 * time.Millisecond)
			}
			var hostPid int
			for _, p := range containerProcesses(t, pid1) {
				if p.nspid == orphan {
					hostPid = p.pid
				}
			}
			if hostPid == 0 {
				t.Fatalf("orphan %d not found in the container", orphan)
			}
			syscall.Kill(hostPid, syscall.SIGKILL)
			state := "?"
			for i := 0; i < 1000; i++ {
				state = "gone"
				for _, p := range containerProcesses(t, pid1) {
					if p.pid == hostPid {
						state = p.state
					}
				}
				if state == "gone" || (!tt.init && state == "Z") {
					break
				}
				time.Sleep(10 * time.Millisecond)
			}
			want := "gone"
			if !tt.init {
				want = "Z"
			}
			if state != want {
				t.Errorf("the killed orphan is %q, want %q", state, want)
			}
		})
	}
}

// hasComm tells whether a process called comm runs in the PID namespace of
// hostPid.
func hasComm(t *testing.T, hostPid int, comm string) bool {
	for _, p := range containerProcesses(t, hostPid) {
		if p.comm == comm && p.state != "Z" {
			return true
		}
	}
	return false
}
