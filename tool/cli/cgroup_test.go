package cli_test

import (
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/contain-dev/contain/tool/internal/cgroup"
	"github.com/contain-dev/contain/tool/internal/container"
	"github.com/contain-dev/contain/tool/internal/state"
	"github.com/contain-dev/contain/tool/testkit"
)

// cgroupTest prepares a privileged cgroup test: root, a layout, and a
// check that the host's cgroup tree is the same when t ends.
func cgroupTest(t *testing.T) *cgroup.Layout {
	t.Helper()
	testkit.RequireRoot(t)
	testkit.CheckHostMounts(t)
	lay, err := cgroup.Detect()
	if err != nil {
		t.Fatal(err)
	}
	before := cgroupTree(t)
	t.Cleanup(func() {
		if diff := cmp.Diff(before, cgroupTree(t)); diff != "" {
			t.Errorf("host cgroup tree changed (-before +after):\n%s", diff)
		}
	})
	return lay
}

// cgroupTree lists what of contain's is in the cgroup tree: this test
// binary's nodes, and any contain/ directory left empty (other
// containers may run meanwhile, so a non-empty one is not ours to judge).
func cgroupTree(t *testing.T) []string {
	var dirs []string
	mine := fmt.Sprintf("t%d-", os.Getpid())
	for _, dir := range []string{"/sys/fs/cgroup", "/sys/fs/cgroup/*"} {
		parents, _ := filepath.Glob(filepath.Join(dir, cgroup.Prefix))
		for _, p := range parents {
			ents, _ := os.ReadDir(p)
			if len(ents) == 0 || !slices.ContainsFunc(ents, os.DirEntry.IsDir) {
				dirs = append(dirs, p+" (empty)")
			}
			for _, e := range ents {
				if e.IsDir() && strings.HasPrefix(e.Name(), mine) {
					dirs = append(dirs, filepath.Join(p, e.Name()))
				}
			}
		}
	}
	return dirs
}

// waitDead waits until the first process of the container called name
// has ended, if it has a record.
func waitDead(t *testing.T, name string) {
	t.Helper()
	ct, err := container.Load(name)
	if err != nil {
		return
	}
	rec := ct.Record()
	for deadline := time.Now().Add(10 * time.Second); state.Alive(rec.Pid, rec.Start); time.Sleep(20 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("container %s (pid %d) still runs", name, rec.Pid)
		}
	}
}

// running tells whether the container called name has a record and runs.
func running(name string) bool {
	ct, err := container.Load(name)
	return err == nil && ct.State() == container.Running
}

func mustDetect(t *testing.T) *cgroup.Layout {
	lay, err := cgroup.Detect()
	if err != nil {
		t.Fatal(err)
	}
	return lay
}

// uniqueName is a container name no other test uses.
func uniqueName(t *testing.T, what string) string {
	return fmt.Sprintf("t%d-%s", os.Getpid(), what)
}

// inside returns the path, inside a container, of a controller's file in
// its own node: the read-only cgroupfs mirrors the host's layout.
func inside(lay *cgroup.Layout, ctrl, file string) string {
	if lay.Where(ctrl) == cgroup.V1 {
		return "/sys/fs/cgroup/" + filepath.Base(lay.V1[ctrl]) + "/" + file
	}
	return "/sys/fs/cgroup/" + file
}

// TestRunLimitsHit runs a container against each limit and checks that
// it hit it, from inside or by how it ended.
func TestRunLimitsHit(t *testing.T) {
	lay := cgroupTest(t)
	rootfs := testkit.Rootfs(t)
	contain := testkit.Contain(t)
	tests := []struct {
		name  string
		flags []string
		cmd   string
		check func(t *testing.T, r testkit.Result)
	}{
		{"memory: a hog is OOM-killed at the limit", []string{"--memory", "32M"}, "tail /dev/zero",
			func(t *testing.T, r testkit.Result) {
				if r.Code != 137 || !strings.Contains(r.Stderr, "the OOM killer killed 1 process(es) of the container (memory limit 32M)") {
					t.Errorf("want exit 137 and the OOM report:\n%s", r)
				}
			}},
		{"memory-swap: the same hog with swap capped too", []string{"--memory", "32M", "--memory-swap", "32M"}, "tail /dev/zero",
			func(t *testing.T, r testkit.Result) {
				if r.Code != 137 || !strings.Contains(r.Stderr, "OOM killer") {
					t.Errorf("want exit 137 and the OOM report:\n%s", r)
				}
			}},
		{"cpuset: sched_getaffinity sees one CPU", []string{"--cpuset-cpus", "1"}, "grep Cpus_allowed_list /proc/self/status",
			func(t *testing.T, r testkit.Result) {
				if r.Code != 0 || strings.TrimSpace(r.Stdout) != "Cpus_allowed_list:\t1" {
					t.Errorf("want Cpus_allowed_list 1:\n%s", r)
				}
			}},
		{"pids: a fork bomb stops at the limit", []string{"--pids-limit", "10"},
			"(for i in $(seq 30); do sleep 30 & done); exec cat " + inside(lay, "pids", "pids.current") + " " + inside(lay, "pids", "pids.events"),
			func(t *testing.T, r testkit.Result) {
				f := strings.Fields(r.Stdout)
				if len(f) < 3 || !strings.Contains(r.Stderr, "can't fork") {
					t.Fatalf("want pids.current, pids.events and a failed fork:\n%s", r)
				}
				n, _ := strconv.Atoi(f[0])
				if n < 5 || n > 10 || f[1] != "max" || f[2] == "0" {
					t.Errorf("pids.current %d (want 5..10), events %v (want max > 0)", n, f[1:])
				}
			}},
		{"cgroup namespace: every hierarchy shows /", nil, "cat /proc/self/cgroup",
			func(t *testing.T, r testkit.Result) {
				for _, line := range strings.Split(strings.TrimSpace(r.Stdout), "\n") {
					if !strings.HasSuffix(line, ":/") {
						t.Errorf("/proc/self/cgroup line %q does not end in :/\n%s", line, r)
					}
				}
			}},
		{"cgroupfs: mounted read-only", nil, "touch " + inside(lay, "pids", "x"),
			func(t *testing.T, r testkit.Result) {
				if r.Code == 0 || !strings.Contains(r.Stderr, "Read-only file system") {
					t.Errorf("want a read-only cgroupfs:\n%s", r)
				}
			}},
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			name := uniqueName(t, "lim"+strconv.Itoa(i))
			args := append(append([]string{"run", "--rootfs", rootfs, "--name", name, "--net", "none"}, tt.flags...), "--", "sh", "-c", tt.cmd)
			tt.check(t, testkit.Run(t, contain, args...))
			if slices.Contains(cgroup.Names(lay), name) {
				t.Errorf("cgroup %s left behind", cgroup.Rel(name))
			}
		})
	}
}

// startBackground starts a long container and waits until its record
// names its pid. The container is killed when t ends.
func startBackground(t *testing.T, rootfs, name string, flags ...string) *exec.Cmd {
	t.Helper()
	args := append(append([]string{"run", "--rootfs", rootfs, "--name", name, "--net", "none"}, flags...), "--", "sh", "-c", "while :; do :; done")
	cmd := exec.Command(testkit.Contain(t), args...)
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() { cmd.Wait(); close(done) }()
	t.Cleanup(func() {
		cmd.Process.Kill()
		<-done
		// Pdeathsig kills the container; reset removes its node once the
		// process is gone, not while it is still a zombie.
		waitDead(t, name)
		testkit.Run(t, testkit.Contain(t), "reset")
	})
	for deadline := time.Now().Add(30 * time.Second); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		// Running means past the init stage, in the busy loop.
		if running(name) {
			if u, err := cgroup.ReadUsage(mustDetect(t), cgroup.Rel(name)); err == nil && u.CPU > 50*time.Millisecond {
				return cmd
			}
		}
	}
	t.Fatalf("container %s did not start", name)
	return nil
}

// TestCPUQuota runs a busy loop at --cpus 0.5 and measures it through the
// usage accounting: about half a CPU. The band is wide; what it checks is
// that the quota binds (a busy loop alone takes 100%).
func TestCPUQuota(t *testing.T) {
	cgroupTest(t)
	rootfs := testkit.Rootfs(t)
	name := uniqueName(t, "cpu")
	startBackground(t, rootfs, name, "--cpus", "0.5")
	r := testkit.Run(t, testkit.Contain(t), "cgroup", "stat", name, "--json", "--interval", "2s")
	var s struct {
		CPUPercent float64 `json:"cpu_percent"`
		UserPct    float64 `json:"cpu_user_percent"`
	}
	if err := json.Unmarshal([]byte(r.Stdout), &s); err != nil {
		t.Fatalf("%v\n%s", err, r)
	}
	// The quota is a ceiling: the loop may get less when the machine is
	// busy (CI runs packages side by side), never more. That it was the
	// quota, not a lack of CPU, that held it back shows in the throttling
	// count the kernel keeps, nr_throttled in cpu.stat.
	if s.CPUPercent > 60 || s.UserPct <= 0 {
		t.Errorf("CPU %.1f%% (user %.1f%%), want at most 50%% (and some slack)", s.CPUPercent, s.UserPct)
	}
	if n := throttled(t, name); n == 0 {
		t.Errorf("cpu.stat nr_throttled = 0: the quota never held the container back (CPU %.1f%%)", s.CPUPercent)
	}
}

// throttled reads nr_throttled from the cpu.stat of the container's
// cgroup, in the v1 cpu hierarchy or in the v2 unified one.
func throttled(t *testing.T, name string) uint64 {
	t.Helper()
	lay, err := cgroup.Detect()
	if err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(filepath.Join(lay.FileDir("cpu", cgroup.Rel(name)), "cpu.stat"))
	if err != nil {
		t.Fatal(err)
	}
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, "nr_throttled "); ok {
			n, _ := strconv.ParseUint(v, 10, 64)
			return n
		}
	}
	t.Fatalf("no nr_throttled in cpu.stat:\n%s", b)
	return 0
}

// TestFreezeThaw freezes a busy container: its CPU time stops growing
// and the state reads FROZEN; thawed, it runs again.
func TestFreezeThaw(t *testing.T) {
	lay := cgroupTest(t)
	rootfs := testkit.Rootfs(t)
	contain := testkit.Contain(t)
	name := uniqueName(t, "frz")
	startBackground(t, rootfs, name)
	cg := cgroup.Open(lay, name)
	if r := testkit.Run(t, contain, "freeze", name); r.Code != 0 {
		t.Fatalf("freeze: %s", r)
	}
	if s, err := cg.State(); s != "FROZEN" || err != nil {
		t.Errorf("state %q, %v; want FROZEN", s, err)
	}
	u1, _ := cg.Usage()
	time.Sleep(300 * time.Millisecond)
	u2, _ := cg.Usage()
	// A busy loop would add 300ms; the freezer allows at most the
	// moment each task takes to notice it is frozen.
	if u2.CPU-u1.CPU > 10*time.Millisecond {
		t.Errorf("frozen, CPU time still grows: %v -> %v", u1.CPU, u2.CPU)
	}
	if r := testkit.Run(t, contain, "thaw", name); r.Code != 0 {
		t.Fatalf("thaw: %s", r)
	}
	if s, _ := cg.State(); s != "THAWED" {
		t.Errorf("state %q; want THAWED", s)
	}
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(50 * time.Millisecond) {
		if u3, _ := cg.Usage(); u3.CPU > u2.CPU {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("thawed, the container does not run")
		}
	}
}

// TestOrphanAfterSIGKILL kills contain itself: the container dies with it
// (Pdeathsig), its cgroup stays, and contain reset removes it.
func TestOrphanAfterSIGKILL(t *testing.T) {
	lay := cgroupTest(t)
	rootfs := testkit.Rootfs(t)
	name := uniqueName(t, "kill")
	cmd := startBackground(t, rootfs, name)
	if !state.Exists(name) {
		t.Fatalf("no record of %s", name)
	}
	// Any contain started meanwhile, by another test or package, claims
	// a dead container's record at once (its owner's lock is free) and
	// would clean the orphan before reset could. So the test takes the
	// lock as it falls free, the way the owner held it, and lets go of
	// it only for reset.
	lock, err := os.OpenFile(filepath.Join(state.Dir, name+".lock"), os.O_RDWR, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer lock.Close()
	locked := make(chan error, 1)
	go func() { locked <- syscall.Flock(int(lock.Fd()), syscall.LOCK_EX) }()
	cmd.Process.Signal(syscall.SIGKILL)
	if err := <-locked; err != nil {
		t.Fatalf("flock the record's lock: %v", err)
	}
	waitDead(t, name)
	if !slices.Contains(cgroup.Names(lay), name) {
		t.Fatalf("no orphan cgroup %s after SIGKILL: the test proves nothing", name)
	}
	lock.Close()
	r := testkit.Run(t, testkit.Contain(t), "reset")
	if r.Code != 0 || !strings.Contains(r.Stdout, "removed dead container "+name) {
		t.Errorf("reset:\n%s", r)
	}
	if slices.Contains(cgroup.Names(lay), name) {
		t.Errorf("cgroup %s still there after reset", cgroup.Rel(name))
	}
}

// TestBadLimits gives each bad limit a clear error before anything is
// created: no cgroup and no record are left.
func TestBadLimits(t *testing.T) {
	lay := cgroupTest(t)
	rootfs := testkit.Rootfs(t)
	tests := []struct {
		name  string
		flags []string
		want  string
	}{
		{"memory below what a container needs", []string{"--memory", "1k"}, "contain: --memory 1k is below 6M"},
		{"no CPU time", []string{"--cpus", "0"}, "contain: --cpus 0: give a number of CPUs above 0"},
		{"a CPU the host lacks", []string{"--cpuset-cpus", "7"}, "contain: --cpuset-cpus 7: CPU 7 is not online"},
		{"no tasks", []string{"--pids-limit", "0"}, "contain: --pids-limit 0: give a number of tasks above 0"},
		{"swap without memory", []string{"--memory-swap", "64M"}, "contain: --memory-swap needs --memory"},
		{"not a size", []string{"--memory", "lots"}, `contain: --memory: "lots" is not a size`},
	}
	// A limit whose file this host lacks: blkio.weight on v1,
	// io.bfq.weight on v2, both there only with the BFQ scheduler.
	type badLimit = struct {
		name  string
		flags []string
		want  string
	}
	switch lay.Where("blkio") {
	case cgroup.V1:
		if _, err := os.Stat(filepath.Join(lay.V1["blkio"], "blkio.weight")); err != nil {
			tests = append(tests, badLimit{"blkio.weight not offered", []string{"--io-weight", "100"}, "contain: --io-weight needs blkio.weight"})
		}
	default:
		if lay.Where("io") == cgroup.V2 && !cgroup.BFQLoaded() {
			tests = append(tests, badLimit{"io.bfq.weight not offered", []string{"--io-weight", "100"}, "contain: --io-weight needs io.bfq.weight"})
		}
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			name := uniqueName(t, "bad"+strconv.Itoa(i))
			args := append(append([]string{"run", "--rootfs", rootfs, "--name", name, "--net", "none"}, tt.flags...), "--", "true")
			r := testkit.Run(t, testkit.Contain(t), args...)
			if r.Code == 0 || !strings.HasPrefix(r.Stderr, tt.want) || strings.Count(r.Stderr, "\n") != 1 {
				t.Errorf("want one line starting %q:\n%s", tt.want, r)
			}
			if slices.Contains(cgroup.Names(lay), name) {
				t.Errorf("cgroup %s left behind", cgroup.Rel(name))
			}
			if state.Exists(name) {
				t.Errorf("record of %s left behind", name)
			}
		})
	}
}

// TestCgroupByHand walks the by-hand subcommands: create with a limit,
// show it, add a process, refuse to remove a busy node, remove it.
func TestCgroupByHand(t *testing.T) {
	lay := cgroupTest(t)
	contain := testkit.Contain(t)
	name := uniqueName(t, "hand")
	t.Cleanup(func() { testkit.Run(t, contain, "cgroup", "rm", "--force", name) })
	if r := testkit.Run(t, contain, "cgroup", "create", name, "--pids-limit", "5"); r.Code != 0 {
		t.Fatalf("create: %s", r)
	}
	pidsDir := lay.FileDir("pids", cgroup.Rel(name))
	if b, _ := os.ReadFile(filepath.Join(pidsDir, "pids.max")); strings.TrimSpace(string(b)) != "5" {
		t.Errorf("pids.max %q, want 5", b)
	}
	if r := testkit.Run(t, contain, "cgroup", "set", name, "--pids-limit", "7"); r.Code != 0 {
		t.Fatalf("set: %s", r)
	}
	if r := testkit.Run(t, contain, "cgroup", "show", name); !strings.Contains(r.Stdout, "pids.max: 7") {
		t.Errorf("show does not say pids.max: 7:\n%s", r)
	}
	sleep := exec.Command("sleep", "30")
	if err := sleep.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { sleep.Process.Kill(); sleep.Wait() }()
	if r := testkit.Run(t, contain, "cgroup", "add", name, strconv.Itoa(sleep.Process.Pid)); r.Code != 0 {
		t.Fatalf("add: %s", r)
	}
	if pids, _ := cgroup.Open(lay, name).Procs(); !slices.Contains(pids, sleep.Process.Pid) {
		t.Errorf("cgroup.procs %v lacks %d", pids, sleep.Process.Pid)
	}
	if r := testkit.Run(t, contain, "cgroup", "rm", name); r.Code == 0 || !strings.Contains(r.Stderr, "has processes") {
		t.Errorf("rm of a busy cgroup: %s", r)
	}
	if r := testkit.Run(t, contain, "cgroup", "rm", "--force", name); r.Code != 0 {
		t.Errorf("rm --force: %s", r)
	}
}
