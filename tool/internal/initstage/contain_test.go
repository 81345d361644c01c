package initstage

import (
	"bufio"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/contain-dev/contain/tool/testkit"
)

// TestContainExitStatus runs commands through the built contain binary and
// checks what the caller sees: the command's own status passes through,
// and a failure before the command runs is one line starting "contain: "
// with the status chroot(1) and the shells use.
func TestContainExitStatus(t *testing.T) {
	testkit.RequireRoot(t)
	testkit.CheckHostMounts(t)
	contain := testkit.Contain(t)
	root := testkit.Rootfs(t)
	// A regular file that is not executable, for the 126 case.
	if err := os.WriteFile(filepath.Join(root, "bin", "notexec"), []byte("#!/bin/sh\necho ran\n"), 0o644); err != nil {
		t.Fatal(err)
	}

	tests := []struct {
		name       string
		args       []string
		wantCode   int
		wantStdout string
		wantErr    string // prefix of the only line on stderr; "" for none
	}{
		{"exit 0", []string{"run", "--rootfs", root, "--", "sh", "-c", "echo hi"}, 0, "hi\n", ""},
		{"exit 7", []string{"run", "--rootfs", root, "--", "sh", "-c", "exit 7"}, 7, "", ""},
		// Under run the shell is pid 1, which the kernel shields from
		// signals it has no handler for; under chroot it is not.
		{"killed by SIGTERM", []string{"chroot", root, "--", "sh", "-c", "kill -TERM $$"}, 143, "", ""},
		{"not found", []string{"run", "--rootfs", root, "--", "no-such-command"}, ExitNotFound, "", "contain: no-such-command: not found in the container"},
		{"not executable", []string{"run", "--rootfs", root, "--", "/bin/notexec"}, ExitNotExecutable, "", "contain: /bin/notexec: not executable in the container"},
		{"not executable via PATH", []string{"run", "--rootfs", root, "--", "notexec"}, ExitNotExecutable, "", "contain: notexec: not executable in the container"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := testkit.Run(t, contain, tt.args...)
			if r.Code != tt.wantCode {
				t.Errorf("exit status %d, want %d\n%s", r.Code, tt.wantCode, r)
			}
			if diff := cmp.Diff(tt.wantStdout, r.Stdout); diff != "" {
				t.Errorf("stdout (-want +got):\n%s", diff)
			}
			checkOneLineError(t, r, tt.wantErr)
		})
	}
}

// checkOneLineError checks that stderr is empty (prefix "") or exactly one
// line starting with prefix.
func checkOneLineError(t *testing.T, r testkit.Result, prefix string) {
	t.Helper()
	if prefix == "" {
		if r.Stderr != "" {
			t.Errorf("stderr = %q, want nothing", r.Stderr)
		}
		return
	}
	if !strings.HasPrefix(r.Stderr, prefix) || strings.Count(r.Stderr, "\n") != 1 || !strings.HasSuffix(r.Stderr, "\n") {
		t.Errorf("stderr = %q, want one line starting %q", r.Stderr, prefix)
	}
}

// TestContainKilledBySignal kills the container's first process from the
// host with SIGKILL, which the kernel delivers even to a PID namespace's
// init, and checks that contain exits with 128+9 as a shell would.
func TestContainKilledBySignal(t *testing.T) {
	testkit.RequireRoot(t)
	testkit.CheckHostMounts(t)
	contain := testkit.Contain(t)
	root := testkit.Rootfs(t)

	cmd := exec.Command(contain, "run", "--rootfs", root, "--", "sh", "-c", "echo ready; exec sleep 1000")
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	if line, err := bufio.NewReader(out).ReadString('\n'); line != "ready\n" {
		t.Fatalf("container printed %q, %v; want ready", line, err)
	}
	// contain's only child is the container's first process. Any of
	// contain's threads may have forked it: read the children of each.
	tasks, err := filepath.Glob("/proc/" + strconv.Itoa(cmd.Process.Pid) + "/task/*/children")
	if err != nil {
		t.Fatal(err)
	}
	var fields []string
	for _, task := range tasks {
		children, err := os.ReadFile(task)
		if err != nil {
			t.Fatal(err)
		}
		fields = append(fields, strings.Fields(string(children))...)
	}
	if len(fields) != 1 {
		t.Fatalf("contain has children %q, want exactly one", fields)
	}
	pid, _ := strconv.Atoi(fields[0])
	if err := syscall.Kill(pid, syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case err = <-done:
	case <-time.After(time.Minute):
		t.Fatal("contain still running a minute after its container was killed")
	}
	code, _ := ExitStatus(err)
	if code != 128+9 {
		t.Errorf("contain exited with %d (%v), want %d", code, err, 128+9)
	}
}

// TestContainInitByHand checks that the hidden init stage, started from a
// shell without the parent's pipes, refuses with one line and a non-zero
// status instead of doing anything.
func TestContainInitByHand(t *testing.T) {
	testkit.RequireRoot(t)
	testkit.CheckHostMounts(t)
	r := testkit.Run(t, testkit.Contain(t), "init")
	if r.Code == 0 {
		t.Errorf("contain init by hand exited 0, want non-zero\n%s", r)
	}
	checkOneLineError(t, r, "contain: ")
}
