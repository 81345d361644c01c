package initstage

import (
	"bytes"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/contain-dev/contain/tool/testkit"
)

// TestStartSetupFailure checks the error pipe: a failure inside the init
// stage, before the command runs, comes back from Start as a *Failure with
// the stage's message and status, and nothing else is printed.
func TestStartSetupFailure(t *testing.T) {
	missing := filepath.Join(t.TempDir(), "no-such-rootfs")
	var stdout, stderr bytes.Buffer
	cfg := Config{Mode: ModeChroot, Rootfs: missing, Args: []string{"true"}, Env: DefaultEnv("")}
	p, err := Start(cfg, Options{Stdout: &stdout, Stderr: &stderr})
	var f *Failure
	if !errors.As(err, &f) {
		t.Fatalf("Start(%+v) = %v, %v; want a *Failure", cfg, p, err)
	}
	if f.Code != ExitSetup || !strings.Contains(f.Msg, missing) || strings.Contains(f.Msg, "\n") {
		t.Errorf("Failure = %+v; want code %d and one line naming %s", f, ExitSetup, missing)
	}
	if stdout.Len()+stderr.Len() > 0 {
		t.Errorf("init stage printed %q %q; want nothing, the parent reports failures", stdout.String(), stderr.String())
	}
}

// TestStartReturnsAfterExec checks the close-on-exec trick: Start returns
// as soon as the command has been exec'd, while it still runs, and not when
// it exits. The command waits for its stdin, which only this test can close.
func TestStartReturnsAfterExec(t *testing.T) {
	testkit.RequireRoot(t) // chroot(2) needs CAP_SYS_CHROOT
	testkit.CheckHostMounts(t)
	root := testkit.Rootfs(t)
	stdinR, stdinW, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { stdinR.Close(); stdinW.Close() })

	cfg := Config{Mode: ModeChroot, Rootfs: root, Args: []string{"cat"}, Env: DefaultEnv("")}
	started := make(chan *Process, 1)
	go func() {
		p, err := Start(cfg, Options{Stdin: stdinR, Stdout: io.Discard, Stderr: io.Discard})
		if err != nil {
			t.Errorf("Start: %v", err)
		}
		started <- p
	}()
	var p *Process
	select {
	case p = <-started:
	case <-time.After(time.Minute):
		// A safety net, not a timing check: Start waited for the command
		// to end, so the error pipe was inherited across exec.
		stdinW.Close()
		t.Fatal("Start still blocked after a minute while the command ran: is the error pipe close-on-exec?")
	}
	if p == nil {
		t.FailNow()
	}
	// The command is running, and it is the rootfs's cat, not contain.
	exe, err := os.Readlink("/proc/" + strconv.Itoa(p.Pid()) + "/exe")
	if err != nil {
		t.Fatalf("command not running after Start returned: %v", err)
	}
	if want := filepath.Join(root, "bin", "busybox"); exe != want {
		t.Errorf("/proc/%d/exe = %s, want %s", p.Pid(), exe, want)
	}
	stdinR.Close()
	stdinW.Close() // cat reads EOF and exits 0
	code, err := p.Wait()
	if code != 0 || err != nil {
		t.Errorf("Wait() = %d, %v; want 0, nil", code, err)
	}
}

// TestStartPrepare checks the Prepare hooks: they run with the child's pid,
// while the child already is in its new namespaces and has not yet run
// the command, and a failing hook stops the start and kills the child.
func TestStartPrepare(t *testing.T) {
	testkit.RequireRoot(t)
	testkit.CheckHostMounts(t)
	root := testkit.Rootfs(t)
	hostUTS := testkit.NSInode(t, "self", "uts")
	tests := []struct {
		name    string
		hookErr error
		wantErr bool
	}{
		{"hook passes", nil, false},
		{"hook fails", errors.New("no cgroup for you"), true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var seen []string
			var pid int
			hook := func(p int) error {
				pid = p
				uts, err := os.Readlink("/proc/" + strconv.Itoa(p) + "/ns/uts")
				if err != nil {
					return err
				}
				exe, _ := os.Readlink("/proc/" + strconv.Itoa(p) + "/exe")
				seen = append(seen, uts, filepath.Base(exe))
				return tt.hookErr
			}
			cfg := Config{Mode: ModeRun, Rootfs: root, Args: []string{"true"}, Env: DefaultEnv("")}
			p, err := Start(cfg, Options{Cloneflags: unix.CLONE_NEWNS | unix.CLONE_NEWUTS, Stdout: io.Discard, Stderr: io.Discard, Prepare: []func(int) error{hook}})
			if tt.wantErr {
				if !errors.Is(err, tt.hookErr) {
					t.Fatalf("Start = %v, want the hook's error", err)
				}
				if _, err := os.Stat("/proc/" + strconv.Itoa(pid)); err == nil {
					t.Errorf("child %d still exists after the hook failed", pid)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if code, err := p.Wait(); code != 0 || err != nil {
				t.Fatalf("Wait = %d, %v", code, err)
			}
			if len(seen) != 2 || seen[0] == hostUTS {
				t.Errorf("hook saw uts %v, want a new one (host %s)", seen, hostUTS)
			}
			// The child was still contain's init stage, not the command.
			if seen[1] == "busybox" {
				t.Errorf("the hook ran after the command started (exe %s)", seen[1])
			}
		})
	}
}
