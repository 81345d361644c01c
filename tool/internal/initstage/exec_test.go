package initstage

import (
	"bytes"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"testing"

	"github.com/google/go-cmp/cmp"
	"golang.org/x/sys/unix"

	"github.com/contain-dev/contain/tool/testkit"
)

// TestExec runs commands in a running container with Exec, as contain
// exec will, and compares what they see with the container's first
// process: its namespaces, by inode, its hostname and its root.
func TestExec(t *testing.T) {
	testkit.RequireRoot(t)
	testkit.CheckHostMounts(t)
	root := testkit.Rootfs(t)
	if err := os.WriteFile(filepath.Join(root, "etc", "marker"), []byte("the container's root\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	cfg := Config{Mode: ModeRun, Rootfs: root, Args: []string{"sleep", "1000"}, Env: DefaultEnv(""),
		RunSetup: RunSetup{Hostname: "exec-box"}}
	ctr, err := Start(cfg, Options{Cloneflags: runFlags | unix.CLONE_NEWNET, Stdout: io.Discard, Stderr: io.Discard})
	if err != nil {
		t.Fatalf("start the container: %v", err)
	}
	t.Cleanup(func() { unix.Kill(ctr.Pid(), unix.SIGKILL); ctr.Wait() })
	pid := strconv.Itoa(ctr.Pid())
	names := []string{"ipc", "mnt", "net", "pid", "uts"}

	type execCase struct {
		name     string
		args     []string
		cwd      string
		want     string
		wantCode int
	}
	tests := []execCase{
		{name: "hostname", args: []string{"hostname"}, want: "exec-box\n"},
		{name: "root", args: []string{"cat", "/etc/marker"}, want: "the container's root\n"},
		{name: "cwd is /", args: []string{"pwd"}, want: "/\n"},
		{name: "cwd given", args: []string{"pwd"}, cwd: "/etc", want: "/etc\n"},
		{name: "not pid 1", args: []string{"sh", "-c", "test $$ != 1 && cat /proc/1/comm"}, want: "sleep\n"},
		{name: "exit status", args: []string{"sh", "-c", "exit 3"}, wantCode: 3},
	}
	for _, name := range names {
		tests = append(tests, execCase{name: name + " namespace", args: []string{"readlink", "/proc/self/ns/" + name}, want: testkit.NSInode(t, pid, name) + "\n"})
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			cfg := Config{Mode: ModeExec, Args: tt.args, Env: DefaultEnv(""), Cwd: tt.cwd}
			p, err := Exec(ctr.Pid(), names, cfg, Options{Stdout: &stdout, Stderr: &stderr})
			if err != nil {
				t.Fatalf("Exec: %v (stderr %q)", err, stderr.String())
			}
			code, err := p.Wait()
			if code != tt.wantCode || err != nil {
				t.Errorf("Wait = %d, %v; want %d (stderr %q)", code, err, tt.wantCode, stderr.String())
			}
			if diff := cmp.Diff(tt.want, stdout.String()); diff != "" {
				t.Errorf("%v in the container (-want +got):\n%s", tt.args, diff)
			}
		})
	}
}

// TestExecFailures checks the refusals and failures of Exec: before the
// init stage starts, or inside the container, with the shells' statuses.
func TestExecFailures(t *testing.T) {
	testkit.RequireRoot(t)
	testkit.CheckHostMounts(t)
	root := testkit.Rootfs(t)
	ctr, err := Start(Config{Mode: ModeRun, Rootfs: root, Args: []string{"sleep", "1000"}, Env: DefaultEnv("")},
		Options{Cloneflags: runFlags, Stdout: io.Discard, Stderr: io.Discard})
	if err != nil {
		t.Fatalf("start the container: %v", err)
	}
	t.Cleanup(func() { unix.Kill(ctr.Pid(), unix.SIGKILL); ctr.Wait() })
	tests := []struct {
		name     string
		names    []string
		cfg      Config
		wantCode int
		wantMsg  string
	}{
		{"not found", []string{"mnt", "pid"}, Config{Mode: ModeExec, Args: []string{"no-such-command"}, Env: DefaultEnv("")},
			ExitNotFound, "no-such-command: not found in the container"},
		{"no such cwd", []string{"mnt", "pid"}, Config{Mode: ModeExec, Args: []string{"true"}, Env: DefaultEnv(""), Cwd: "/no/such/dir"},
			ExitSetup, "working directory /no/such/dir in the container"},
		{"user namespace", []string{"user", "mnt"}, Config{Mode: ModeExec, Args: []string{"true"}},
			ExitSetup, "cannot enter the user namespace"},
		{"unknown namespace", []string{"mounts"}, Config{Mode: ModeExec, Args: []string{"true"}},
			ExitSetup, "mounts"},
		{"another mode", []string{"mnt", "pid"}, Config{Mode: ModeRun, Rootfs: root, Args: []string{"true"}},
			ExitSetup, "want exec"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var stderr bytes.Buffer
			p, err := Exec(ctr.Pid(), tt.names, tt.cfg, Options{Stdout: io.Discard, Stderr: &stderr})
			if err == nil {
				p.Wait()
				t.Fatalf("Exec succeeded, want a failure")
			}
			checkFailure(t, err, nil, tt.wantCode, tt.wantMsg)
			if stderr.Len() > 0 {
				t.Errorf("the init stage printed %q; want nothing", stderr.String())
			}
		})
	}
}
