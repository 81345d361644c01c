package cgroup

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

// fakeV2 makes a directory that looks like a cgroup2 root to the code:
// the files the kernel would have. The kernel's own v2 path runs in the
// VM test; this checks, on any host, which files the v2 code writes.
func fakeV2(t *testing.T) *Layout {
	root := t.TempDir()
	write(t, filepath.Join(root, "cgroup.controllers"), "cpuset cpu io memory pids\n")
	write(t, filepath.Join(root, "cgroup.subtree_control"), "")
	// mkdir(2) in cgroupfs makes these; in a plain directory the test does.
	write(t, filepath.Join(root, Prefix, "cgroup.subtree_control"), "")
	lay, err := ParseLayout("30 23 0:26 / "+root+" rw - cgroup2 cgroup2 rw\n", readControllers)
	if err != nil {
		t.Fatal(err)
	}
	return lay
}

func write(t *testing.T, path, s string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(s), 0o644); err != nil {
		t.Fatal(err)
	}
}

// read returns the trimmed content of path. The fake root is a plain
// directory, where the cgroup library creates the files it writes (cgroupfs
// has them already) with mode 0: root reads them anyway, the owner only
// after a chmod, which keeps the test running unprivileged.
func read(t *testing.T, path string) string {
	t.Helper()
	if err := os.Chmod(path, 0o644); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return strings.TrimSpace(string(b))
}

// TestCreateV2Files checks the files Create writes on a v2 layout: the
// controllers enabled from the root down, and each limit in its v2 file.
func TestCreateV2Files(t *testing.T) {
	lay := fakeV2(t)
	l := &Limits{Memory: 32 << 20, MemorySwap: 48 << 20, CPUs: 0.5, CPUWeight: 50, CpusetCPUs: "0", PidsLimit: 10}
	cg, err := Create(lay, "box", l)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]string{filepath.Join(lay.V2, "contain/box")}, cg.Dirs); diff != "" {
		t.Errorf("dirs (-want +got):\n%s", diff)
	}
	node := cg.Dirs[0]
	want := map[string]string{
		filepath.Join(lay.V2, "cgroup.subtree_control"):         "+cpu +cpuset +io +memory +pids",
		filepath.Join(lay.V2, Prefix, "cgroup.subtree_control"): "+cpu +cpuset +io +memory +pids",
		filepath.Join(node, "memory.max"):                       "33554432",
		filepath.Join(node, "memory.swap.max"):                  "16777216", // swap alone: 48M - 32M
		filepath.Join(node, "cpu.max"):                          "50000 100000",
		filepath.Join(node, "cpu.weight"):                       "50",
		filepath.Join(node, "cpuset.cpus"):                      "0",
		filepath.Join(node, "pids.max"):                         "10",
	}
	got := map[string]string{}
	for f := range want {
		got[f] = read(t, f)
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("files (-want +got):\n%s", diff)
	}
	if _, err := Create(lay, "box", l); err == nil || !strings.Contains(err.Error(), "exists already") {
		t.Errorf("second Create: %v, want 'exists already'", err)
	}
}

// TestUsageV2 reads a v2 node's counters and computes CPU %.
func TestUsageV2(t *testing.T) {
	lay := fakeV2(t)
	node := filepath.Join(lay.V2, Rel("box"))
	write(t, filepath.Join(node, "cpu.stat"), "usage_usec 1000000\nuser_usec 600000\nsystem_usec 400000\n")
	write(t, filepath.Join(node, "memory.current"), "1048576\n")
	write(t, filepath.Join(node, "memory.stat"), "anon 4096\nkernel 8192\n")
	write(t, filepath.Join(node, "pids.current"), "3\n")
	write(t, filepath.Join(node, "memory.events"), "low 0\nhigh 0\nmax 5\noom 1\noom_kill 1\n")
	cg := Open(lay, "box")
	u, err := cg.Usage()
	if err != nil {
		t.Fatal(err)
	}
	u.At = time.Time{}
	want := Usage{CPU: time.Second, CPUUser: 600 * time.Millisecond, CPUSystem: 400 * time.Millisecond, Memory: 1 << 20, KMem: 8192, HasKMem: true, Pids: 3}
	if diff := cmp.Diff(want, u); diff != "" {
		t.Errorf("usage (-want +got):\n%s", diff)
	}
	if n, err := cg.OOMKills(); n != 1 || err != nil {
		t.Errorf("OOMKills = %d, %v; want 1", n, err)
	}
	before := Usage{At: time.Unix(0, 0)}
	after := Usage{At: time.Unix(2, 0), CPU: time.Second, CPUUser: 800 * time.Millisecond, CPUSystem: 200 * time.Millisecond}
	total, user, sys := CPUPercent(before, after)
	if diff := cmp.Diff([]float64{50, 40, 10}, []float64{total, user, sys}); diff != "" {
		t.Errorf("CPUPercent (-want +got):\n%s", diff)
	}
}

// TestFreezeV2 checks that freezing a v2 node writes cgroup.freeze and
// returns only once cgroup.events says "frozen 1": a goroutine plays the
// kernel, which freezes the tasks a moment after the request.
func TestFreezeV2(t *testing.T) {
	lay := fakeV2(t)
	node := filepath.Join(lay.V2, Rel("box"))
	write(t, filepath.Join(node, "cgroup.freeze"), "0\n")
	write(t, filepath.Join(node, "cgroup.events"), "populated 1\nfrozen 0\n")
	cg := Open(lay, "box")

	// Asked but not yet done: v1's FREEZING.
	write(t, filepath.Join(node, "cgroup.freeze"), "1\n")
	if s, err := cg.State(); s != "FREEZING" || err != nil {
		t.Errorf("requested, not frozen: state %q, %v; want FREEZING", s, err)
	}
	// With no kernel to answer, the wait gives up and says why.
	if err := cg.waitFrozen(true, 20*time.Millisecond); err == nil || !strings.Contains(err.Error(), "frozen 0") {
		t.Errorf("waitFrozen with no answer = %v, want an error naming frozen 0", err)
	}

	done := make(chan struct{})
	t.Cleanup(func() { close(done) })
	go func() { // the kernel: cgroup.events follows cgroup.freeze, late
		for {
			select {
			case <-done:
				return
			case <-time.After(20 * time.Millisecond):
			}
			b, _ := os.ReadFile(filepath.Join(node, "cgroup.freeze"))
			os.WriteFile(filepath.Join(node, "cgroup.events"), []byte("populated 1\nfrozen "+strings.TrimSpace(string(b))+"\n"), 0o644)
		}
	}()
	for _, tt := range []struct {
		name  string
		do    func() error
		state string
	}{
		{"freeze", cg.Freeze, "FROZEN"},
		{"thaw", cg.Thaw, "THAWED"},
	} {
		if err := tt.do(); err != nil {
			t.Fatalf("%s: %v", tt.name, err)
		}
		if s, err := cg.State(); s != tt.state || err != nil {
			t.Errorf("after %s: state %q, %v; want %s", tt.name, s, err, tt.state)
		}
	}
}
