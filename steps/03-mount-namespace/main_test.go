package main

import (
	"fmt"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"golang.org/x/sys/unix"

	"github.com/contain-dev/contain/tool/testkit"
)

// TestRun builds the step, runs the probe as its container and checks from
// outside what the probe saw: its pid, its namespaces, its mount table and
// the pids in its /proc.
func TestRun(t *testing.T) {
	testkit.RequireRoot(t)
	testkit.CheckHostMounts(t)
	step := testkit.Bin(t, "./steps/03-mount-namespace")
	rootfs := testkit.Rootfs(t)

	rep := testkit.RunProbe(t, step, "run", rootfs, "/usr/local/bin/probe")
	if rep.Pid != 1 {
		t.Errorf("probe pid = %d, want 1 (pid 1 of a new PID namespace)", rep.Pid)
	}
	if diff := cmp.Diff([]int{1}, rep.Pids); diff != "" {
		t.Errorf("pids in the container's /proc (-want +got):\n%s", diff)
	}

	t.Run("namespaces", func(t *testing.T) {
		for _, tt := range []struct {
			name string
			new  bool
		}{
			{"mnt", true}, {"pid", true}, {"uts", true}, {"ipc", true},
			{"net", false}, {"user", false}, {"cgroup", false},
		} {
			host := testkit.NSInode(t, "self", tt.name)
			got, ok := rep.NS[tt.name]
			switch {
			case !ok:
				t.Errorf("%s: the probe did not report it (errors: %q)", tt.name, rep.Errors)
			case tt.new && got == host:
				t.Errorf("%s: container shares the test's namespace %s, want a new one", tt.name, got)
			case !tt.new && got != host:
				t.Errorf("%s: container has %s, want the test's own %s", tt.name, got, host)
			}
		}
	})

	t.Run("mounts", func(t *testing.T) {
		var got []string
		for _, m := range rep.Mounts {
			got = append(got, m.MountPoint+" "+m.FSType)
		}
		sort.Strings(got)
		root, _ := rep.RootMount()
		want := []string{"/ " + root.FSType, "/dev tmpfs", "/dev/pts devpts", "/proc proc", "/sys sysfs"}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("container mount table (-want +got):\n%s", diff)
		}
		// "/" is the rootfs directory, bound onto itself: its root
		// within the filesystem is the rootfs path.
		real, err := filepath.EvalSymlinks(rootfs)
		if err != nil {
			t.Fatal(err)
		}
		if !strings.HasSuffix(real, root.Root) || root.Root == "/" {
			t.Errorf("/ is %s of %s, want the rootfs %s", root.Root, root.Source, real)
		}
		if sys, _ := rep.MountAt("/sys"); !hasOption(sys.Options, "ro") {
			t.Errorf("/sys options %q, want read-only", sys.Options)
		}
	})
}

// TestRunStatus checks that the step exits with its command's status.
func TestRunStatus(t *testing.T) {
	testkit.RequireRoot(t)
	testkit.CheckHostMounts(t)
	step := testkit.Bin(t, "./steps/03-mount-namespace")
	rootfs := testkit.Rootfs(t)
	res := testkit.Run(t, step, "run", rootfs, "sh", "-c", "exit 7")
	if res.Code != 7 {
		t.Errorf("exit status %d, want 7\n%s", res.Code, res)
	}
}

// TestRunUmask checks that the command runs with the umask the step was
// started with: mountDev clears it for mknod(2) and must put it back, or
// everything the container creates is world-writable. Two values, so that
// a step which sets 0022 itself instead of restoring cannot pass.
func TestRunUmask(t *testing.T) {
	testkit.RequireRoot(t)
	testkit.CheckHostMounts(t)
	step := testkit.Bin(t, "./steps/03-mount-namespace")
	rootfs := testkit.Rootfs(t)
	for _, mask := range []int{0o022, 0o027} {
		want := fmt.Sprintf("%04o", mask)
		t.Run(want, func(t *testing.T) {
			// The umask is the test process's own; the step inherits it.
			old := unix.Umask(mask)
			t.Cleanup(func() { unix.Umask(old) })
			rep := testkit.RunProbe(t, step, "run", rootfs, "/usr/local/bin/probe")
			if diff := cmp.Diff(want, rep.Umask); diff != "" {
				t.Errorf("umask the command sees (-want +got):\n%s", diff)
			}
		})
	}
}

// TestLeak checks the demonstration: without make-rprivate the container's
// /proc lands on the (throwaway) host, with it nothing does. The real host's
// mount table must not change either way.
func TestLeak(t *testing.T) {
	testkit.RequireRoot(t)
	testkit.CheckHostMounts(t)
	procBefore := procDevice(t)
	res := testkit.Run(t, testkit.Bin(t, "./steps/03-mount-namespace"), "leak")
	if res.Code != 0 {
		t.Fatalf("step leak: %s", res)
	}
	want := []string{
		"without make-rprivate: host /proc replaced by the container's: LEAKED (0 pids listed, /proc/self missing)",
		"with make-rprivate:    host /proc unchanged: no leak",
	}
	if diff := cmp.Diff(want, strings.Split(strings.TrimSpace(res.Stdout), "\n")); diff != "" {
		t.Errorf("leak output (-want +got):\n%s", diff)
	}
	if got := procDevice(t); got != procBefore {
		t.Errorf("the real host's /proc changed from device %d to %d", procBefore, got)
	}
}

func procDevice(t *testing.T) uint64 {
	t.Helper()
	var st unix.Stat_t
	if err := unix.Stat("/proc/self", &st); err != nil {
		t.Fatalf("the real host's /proc is broken: %v", err)
	}
	return st.Dev
}

func hasOption(opts, opt string) bool {
	for _, o := range strings.Split(opts, ",") {
		if o == opt {
			return true
		}
	}
	return false
}
