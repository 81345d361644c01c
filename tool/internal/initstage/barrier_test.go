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

	"github.com/google/go-cmp/cmp"
	"golang.org/x/sys/unix"

	"github.com/contain-dev/contain/tool/testkit"
)

// runFlags are the namespaces of a contain run container.
const runFlags = unix.CLONE_NEWNS | unix.CLONE_NEWUTS | unix.CLONE_NEWIPC | unix.CLONE_NEWPID

// markerScript makes the command leave a trace: it writes "ran" to path,
// a path in the container.
func markerScript(path string) []string {
	return []string{"/bin/sh", "-c", "echo ran > " + path}
}

// testBinary is this test binary, which TestMain makes an init stage or
// a releasing process.
func testBinary(t *testing.T) string {
	t.Helper()
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	return self
}

// heldAtBarrier checks, for a while, that the container made by Create has
// not run its command: the marker file does not appear, and the first
// process is still the init stage, this test binary.
func heldAtBarrier(t *testing.T, p *Process, marker string) {
	t.Helper()
	self := testBinary(t)
	// A command that got past the barrier would run within milliseconds.
	for end := time.Now().Add(300 * time.Millisecond); time.Now().Before(end); time.Sleep(20 * time.Millisecond) {
		if _, err := os.Stat(marker); err == nil {
			t.Fatalf("the command ran before Start: %s exists", marker)
		}
		exe, err := os.Readlink("/proc/" + strconv.Itoa(p.Pid()) + "/exe")
		if err != nil || exe != self {
			t.Fatalf("/proc/%d/exe = %q, %v; want the init stage %s at its barrier", p.Pid(), exe, err, self)
		}
	}
}

// TestCreateWaitsAtBarrier checks the barrier of each mode: after Create
// the command has not run, after Start it has, and its status is Wait's.
func TestCreateWaitsAtBarrier(t *testing.T) {
	testkit.RequireRoot(t)
	testkit.CheckHostMounts(t)
	tests := []struct {
		name  string
		cfg   func(root, dir string) Config
		flags uintptr
		// marker is where the command's trace shows on the host.
		marker func(root, dir string) string
	}{
		{
			name:   "run",
			cfg:    func(root, dir string) Config { return Config{Mode: ModeRun, Rootfs: root, Args: markerScript("/ran")} },
			flags:  runFlags,
			marker: func(root, dir string) string { return filepath.Join(root, "ran") },
		},
		{
			name: "run --init",
			cfg: func(root, dir string) Config {
				return Config{Mode: ModeRun, Rootfs: root, Args: markerScript("/ran"), RunSetup: RunSetup{Init: true}}
			},
			flags:  runFlags,
			marker: func(root, dir string) string { return filepath.Join(root, "ran") },
		},
		{
			name: "chroot",
			cfg: func(root, dir string) Config {
				return Config{Mode: ModeChroot, Rootfs: root, Args: markerScript("/ran")}
			},
			marker: func(root, dir string) string { return filepath.Join(root, "ran") },
		},
		{
			name: "ns",
			cfg: func(root, dir string) Config {
				return Config{Mode: ModeNS, Args: markerScript(filepath.Join(dir, "ran")), NSSetup: NSSetup{UnsharePID: true}}
			},
			flags:  unix.CLONE_NEWUTS,
			marker: func(root, dir string) string { return filepath.Join(dir, "ran") },
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			root, dir := testkit.Rootfs(t), t.TempDir()
			cfg := tt.cfg(root, dir)
			cfg.Env = DefaultEnv("")
			p, err := Create(cfg, Options{Cloneflags: tt.flags, Stdout: io.Discard, Stderr: io.Discard})
			if err != nil {
				t.Fatalf("Create: %v", err)
			}
			t.Cleanup(func() { unix.Kill(p.Pid(), unix.SIGKILL) })
			heldAtBarrier(t, p, tt.marker(root, dir))
			if err := p.Start(); err != nil {
				t.Fatalf("Start: %v", err)
			}
			if code, err := p.Wait(); code != 0 || err != nil {
				t.Fatalf("Wait = %d, %v; want 0, nil", code, err)
			}
			got, err := os.ReadFile(tt.marker(root, dir))
			if err != nil || string(got) != "ran\n" {
				t.Errorf("after Start the marker reads %q, %v; want ran", got, err)
			}
		})
	}
}

// TestReleaseFromAnotherProcess creates a container with a named fifo
// and starts it from a second process, this test binary run as
// `release FIFO` (see TestMain): the way contain start, or an engine's
// runc start, reaches a container that another process made.
func TestReleaseFromAnotherProcess(t *testing.T) {
	testkit.RequireRoot(t)
	testkit.CheckHostMounts(t)
	root := testkit.Rootfs(t)
	fifo := filepath.Join(t.TempDir(), "c1.fifo")
	cfg := Config{Mode: ModeRun, Rootfs: root, Args: markerScript("/ran"), Env: DefaultEnv("")}
	p, err := Create(cfg, Options{Cloneflags: runFlags, Stdout: io.Discard, Stderr: io.Discard, ExecFifo: fifo})
	if err != nil {
		t.Fatalf("Create: %v", err)
	}
	t.Cleanup(func() { unix.Kill(p.Pid(), unix.SIGKILL) })
	var st unix.Stat_t
	if err := unix.Stat(fifo, &st); err != nil || st.Mode != unix.S_IFIFO|0o600 {
		t.Fatalf("ExecFifo %s: mode %o, %v; want a fifo, mode 600", fifo, st.Mode, err)
	}
	heldAtBarrier(t, p, filepath.Join(root, "ran"))

	release := func() testkit.Result { return testkit.Run(t, testBinary(t), "release", fifo) }
	if r := release(); r.Code != 0 {
		t.Fatalf("release from another process: %s", r)
	}
	if code, err := p.Wait(); code != 0 || err != nil {
		t.Fatalf("Wait = %d, %v; want 0, nil", code, err)
	}
	if got, err := os.ReadFile(filepath.Join(root, "ran")); string(got) != "ran\n" {
		t.Errorf("after Release the marker reads %q, %v; want ran", got, err)
	}
	if _, err := os.Stat(fifo); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("after Release, stat %s: %v; want it removed", fifo, err)
	}
	if r := release(); r.Code == 0 || !strings.Contains(r.Stderr, "no init stage waits") {
		t.Errorf("a second release: %s; want it refused, no init stage waits", r)
	}
}

// TestReleaseDeadInit checks that Release tells at once, rather than
// waiting forever, that no init stage waits at the barrier any more.
func TestReleaseDeadInit(t *testing.T) {
	testkit.RequireRoot(t)
	testkit.CheckHostMounts(t)
	fifo := filepath.Join(t.TempDir(), "c1.fifo")
	cfg := Config{Mode: ModeChroot, Rootfs: testkit.Rootfs(t), Args: []string{"true"}, Env: DefaultEnv("")}
	p, err := Create(cfg, Options{ExecFifo: fifo})
	if err != nil {
		t.Fatalf("Create: %v", err)
	}
	unix.Kill(p.Pid(), unix.SIGKILL)
	// Dead, not yet reaped: a zombie holds no files. The leader shows Z
	// as soon as its own thread has exited, while the stage's other
	// threads may still hold the files they share (the fifo's read end
	// among them): until /proc/PID/task lists the leader alone.
	proc := "/proc/" + strconv.Itoa(p.Pid())
	for {
		b, _ := os.ReadFile(proc + "/stat")
		if len(b) == 0 {
			t.Fatalf("%s/stat: gone before Wait", proc)
		}
		threads, _ := os.ReadDir(proc + "/task")
		if strings.Contains(string(b), ") Z ") && len(threads) <= 1 {
			break
		}
		time.Sleep(10 * time.Millisecond)
	}
	done := make(chan error, 1)
	go func() { done <- Release(fifo) }()
	select {
	case err = <-done:
	case <-time.After(time.Minute):
		t.Fatal("Release still blocked a minute after the init stage died")
	}
	if err == nil || !strings.Contains(err.Error(), "no init stage waits") {
		t.Errorf("Release = %v; want no init stage waits", err)
	}
	if code, _ := p.Wait(); code != 128+9 {
		t.Errorf("Wait = %d, want %d", code, 128+9)
	}
	if _, err := os.Stat(fifo); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("after Wait, stat %s: %v; want the fifo of the ended container removed", fifo, err)
	}
}

// TestFailures checks what each failure leaves: one before the barrier
// comes from Create as a *Failure with the status of the shells, and
// leaves neither the process nor the fifo; one of the execve(2) after it
// comes from Start, or from Wait when another process released it.
func TestFailures(t *testing.T) {
	testkit.RequireRoot(t)
	testkit.CheckHostMounts(t)
	tests := []struct {
		name string
		args []string
		// rootfs replaces the rootfs when not empty.
		rootfs     string
		hookErr    error
		wantCode   int
		wantMsg    string
		afterReady bool // fails after the barrier: in Start, not Create
	}{
		{name: "rootfs missing", args: []string{"true"}, rootfs: "/no-such-rootfs", wantCode: ExitSetup, wantMsg: "/no-such-rootfs"},
		{name: "hook fails", args: []string{"true"}, hookErr: errors.New("no cgroup for you"), wantMsg: "no cgroup for you"},
		{name: "not found", args: []string{"no-such-command"}, wantCode: ExitNotFound, wantMsg: "no-such-command: not found in the container"},
		{name: "not executable", args: []string{"/bin/notexec"}, wantCode: ExitNotExecutable, wantMsg: "/bin/notexec: not executable in the container"},
		{name: "interpreter missing", args: []string{"/bin/badinterp"}, wantCode: ExitNotFound, wantMsg: "exec /bin/badinterp: no such file or directory", afterReady: true},
	}
	for _, tt := range tests {
		for _, named := range []bool{false, true} {
			name := tt.name + map[bool]string{false: ", private fifo", true: ", named fifo"}[named]
			t.Run(name, func(t *testing.T) {
				root := testkit.Rootfs(t)
				for file, content := range map[string]string{"notexec": "#!/bin/sh\n", "badinterp": "#!/no/such/interpreter\n"} {
					mode := map[string]os.FileMode{"notexec": 0o644, "badinterp": 0o755}[file]
					if err := os.WriteFile(filepath.Join(root, "bin", file), []byte(content), mode); err != nil {
						t.Fatal(err)
					}
				}
				if tt.rootfs != "" {
					root = tt.rootfs
				}
				var fifo string
				if named {
					fifo = filepath.Join(t.TempDir(), "c1.fifo")
				}
				var pid int
				hook := func(p int) error { pid = p; return tt.hookErr }
				var stderr bytes.Buffer
				cfg := Config{Mode: ModeRun, Rootfs: root, Args: tt.args, Env: DefaultEnv("")}
				p, err := Create(cfg, Options{Cloneflags: runFlags, Stdout: io.Discard, Stderr: &stderr, ExecFifo: fifo, Prepare: []func(int) error{hook}})
				if tt.afterReady {
					if err != nil {
						t.Fatalf("Create: %v; want the failure after the barrier", err)
					}
					err = p.Start()
				}
				checkFailure(t, err, tt.hookErr, tt.wantCode, tt.wantMsg)
				if pid == 0 {
					t.Fatal("the Prepare hook did not run")
				}
				if _, err := os.Stat("/proc/" + strconv.Itoa(pid)); err == nil {
					t.Errorf("process %d still exists after the failure", pid)
				}
				if fifo != "" {
					if _, err := os.Stat(fifo); !errors.Is(err, os.ErrNotExist) {
						t.Errorf("stat %s: %v; want the fifo removed", fifo, err)
					}
				}
				if stderr.Len() > 0 {
					t.Errorf("the init stage printed %q; want nothing, the parent reports failures", stderr.String())
				}
			})
		}
	}
}

// checkFailure checks that err is hookErr or, without one, a *Failure with
// code whose message contains msg, on one line.
func checkFailure(t *testing.T, err, hookErr error, code int, msg string) {
	t.Helper()
	if hookErr != nil {
		if !errors.Is(err, hookErr) {
			t.Fatalf("err = %v, want the hook's error", err)
		}
		return
	}
	var f *Failure
	if !errors.As(err, &f) {
		t.Fatalf("err = %v (%T), want a *Failure", err, err)
	}
	if f.Code != code || !strings.Contains(f.Msg, msg) || strings.Contains(f.Msg, "\n") {
		t.Errorf("Failure = %+v; want code %d and one line containing %q", f, code, msg)
	}
}

// TestReleasedExecFailure checks that a container released by another
// process, whose command then fails to exec, reports the init stage's
// Failure from Wait, as Start would have.
func TestReleasedExecFailure(t *testing.T) {
	testkit.RequireRoot(t)
	testkit.CheckHostMounts(t)
	root := testkit.Rootfs(t)
	if err := os.WriteFile(filepath.Join(root, "bin", "badinterp"), []byte("#!/no/such/interpreter\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	fifo := filepath.Join(t.TempDir(), "c1.fifo")
	cfg := Config{Mode: ModeChroot, Rootfs: root, Args: []string{"/bin/badinterp"}, Env: DefaultEnv("")}
	p, err := Create(cfg, Options{ExecFifo: fifo})
	if err != nil {
		t.Fatalf("Create: %v", err)
	}
	if r := testkit.Run(t, testBinary(t), "release", fifo); r.Code != 0 {
		t.Fatalf("release: %s", r)
	}
	code, err := p.Wait()
	if code != ExitNotFound {
		t.Errorf("Wait = %d, want %d", code, ExitNotFound)
	}
	checkFailure(t, err, nil, ExitNotFound, "exec /bin/badinterp")
}

// TestBindFiles checks chapter 08's files, bound after every mount of the
// new root: over a file of the rootfs, over a missing one, which is made,
// and over a file of the container's /proc, which would not exist yet had
// they been bound before /proc was mounted. The host side of the rootfs's
// /proc stays an empty directory.
func TestBindFiles(t *testing.T) {
	testkit.RequireRoot(t)
	testkit.CheckHostMounts(t)
	tests := []struct {
		target string
	}{
		{"/etc/resolv.conf"},
		{"/etc/contain/new-file"},
		{"/proc/meminfo"},
	}
	for _, tt := range tests {
		t.Run(tt.target, func(t *testing.T) {
			root := testkit.Rootfs(t)
			src := filepath.Join(t.TempDir(), "source")
			want := "bound over " + tt.target + "\n"
			if err := os.WriteFile(src, []byte(want), 0o644); err != nil {
				t.Fatal(err)
			}
			var stdout bytes.Buffer
			cfg := Config{Mode: ModeRun, Rootfs: root, Args: []string{"cat", tt.target}, Env: DefaultEnv(""),
				RunSetup: RunSetup{BindFiles: map[string]string{tt.target: src}}}
			p, err := Start(cfg, Options{Cloneflags: runFlags, Stdout: &stdout, Stderr: io.Discard})
			if err != nil {
				t.Fatalf("Start: %v", err)
			}
			if code, err := p.Wait(); code != 0 || err != nil {
				t.Fatalf("Wait = %d, %v", code, err)
			}
			if diff := cmp.Diff(want, stdout.String()); diff != "" {
				t.Errorf("cat %s in the container (-want +got):\n%s", tt.target, diff)
			}
			if ents, err := os.ReadDir(filepath.Join(root, "proc")); err != nil || len(ents) > 0 {
				t.Errorf("the rootfs's proc holds %v, %v; want an empty directory", ents, err)
			}
		})
	}
}
