package initstage

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// TestMain lets the test binary serve as its own init stage: Start runs
// /proc/self/exe init, and here /proc/self/exe is this test binary.
// With "release FIFO" it is the other process that starts a container
// (see TestReleaseFromAnotherProcess).
func TestMain(m *testing.M) {
	if len(os.Args) > 1 && os.Args[1] == "init" {
		Main()
		return
	}
	if len(os.Args) == 3 && os.Args[1] == "release" {
		if err := Release(os.Args[2]); err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		os.Exit(0)
	}
	os.Exit(m.Run())
}

// TestExitStatus runs real processes, so that the wait statuses are the
// kernel's, and checks the shell-style status ExitStatus makes of them.
func TestExitStatus(t *testing.T) {
	tests := []struct {
		name    string
		script  string
		want    int
		wantErr bool
	}{
		{"exit 0", "exit 0", 0, false},
		{"exit 3", "exit 3", 3, false},
		{"exit 255", "exit 255", 255, false},
		{"killed by SIGTERM", "kill -TERM $$", 128 + 15, false},
		{"killed by SIGKILL", "kill -KILL $$", 128 + 9, false},
		{"killed by SIGSEGV", "kill -SEGV $$", 128 + 11, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ExitStatus(exec.Command("/bin/sh", "-c", tt.script).Run())
			if (err != nil) != tt.wantErr {
				t.Fatalf("ExitStatus: error %v, want error %v", err, tt.wantErr)
			}
			if got != tt.want {
				t.Errorf("ExitStatus(sh -c %q) = %d, want %d", tt.script, got, tt.want)
			}
		})
	}
}

// TestExitStatusOtherError checks that an error that is no exit status
// (Wait on a process that never started, say) becomes contain's own
// failure and is passed on.
func TestExitStatusOtherError(t *testing.T) {
	other := errors.New("exec: not started")
	got, err := ExitStatus(other)
	if got != ExitSetup || !errors.Is(err, other) {
		t.Errorf("ExitStatus(%v) = %d, %v; want %d, %v", other, got, err, ExitSetup, other)
	}
}

func TestDefaultEnv(t *testing.T) {
	path := "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
	tests := []struct {
		term string
		want []string
	}{
		{"", []string{path, "HOME=/root"}},
		{"xterm-256color", []string{path, "HOME=/root", "TERM=xterm-256color"}},
	}
	for _, tt := range tests {
		if diff := cmp.Diff(tt.want, DefaultEnv(tt.term)); diff != "" {
			t.Errorf("DefaultEnv(%q) (-want +got):\n%s", tt.term, diff)
		}
	}
}

func TestConfigValidate(t *testing.T) {
	tests := []struct {
		name string
		cfg  Config
		ok   bool
	}{
		{"run", Config{Mode: ModeRun, Rootfs: "/r", Args: []string{"sh"}}, true},
		{"run with its parts", Config{Mode: ModeRun, Rootfs: "/r", Args: []string{"sh"},
			NamespaceSetup: NamespaceSetup{UserNS: true}, RunSetup: RunSetup{Hostname: "box", Init: true}}, true},
		{"chroot", Config{Mode: ModeChroot, Rootfs: "/r", Args: []string{"true", "x"}}, true},
		{"ns", Config{Mode: ModeNS, Args: []string{"sh"}, NSSetup: NSSetup{MountProc: true}}, true},
		{"exec", Config{Mode: ModeExec, Args: []string{"hostname"}, Cwd: "/tmp"}, true},
		{"no args", Config{Mode: ModeRun, Rootfs: "/r"}, false},
		{"empty command", Config{Mode: ModeRun, Rootfs: "/r", Args: []string{""}}, false},
		{"no mode", Config{Rootfs: "/r", Args: []string{"sh"}}, false},
		{"unknown mode", Config{Mode: "jail", Rootfs: "/r", Args: []string{"sh"}}, false},
		{"run without rootfs", Config{Mode: ModeRun, Args: []string{"sh"}}, false},
		{"chroot with a relative rootfs", Config{Mode: ModeChroot, Rootfs: "r", Args: []string{"sh"}}, false},
		{"ns with a rootfs", Config{Mode: ModeNS, Rootfs: "/r", Args: []string{"sh"}}, false},
		{"exec with a rootfs", Config{Mode: ModeExec, Rootfs: "/r", Args: []string{"sh"}}, false},
		{"chroot with a user namespace", Config{Mode: ModeChroot, Rootfs: "/r", Args: []string{"sh"}, NamespaceSetup: NamespaceSetup{UserNS: true}}, false},
		{"exec with a hostname", Config{Mode: ModeExec, Args: []string{"sh"}, RunSetup: RunSetup{Hostname: "box"}}, false},
		{"ns with files to bind", Config{Mode: ModeNS, Args: []string{"sh"}, RunSetup: RunSetup{BindFiles: map[string]string{"/etc/hosts": "/h"}}}, false},
		{"run with mount-proc", Config{Mode: ModeRun, Rootfs: "/r", Args: []string{"sh"}, NSSetup: NSSetup{MountProc: true}}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.cfg.validate()
			if (err == nil) != tt.ok {
				t.Errorf("validate(%+v) = %v, want ok=%v", tt.cfg, err, tt.ok)
			}
		})
	}
}
