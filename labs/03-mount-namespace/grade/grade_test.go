package main

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/contain-dev/contain/labs/internal/grading"
	"github.com/contain-dev/contain/tool/probe"
	"github.com/contain-dev/contain/tool/testkit"
)

// TestGrade is the lab's proof: the starter as handed out fails, with the
// hints a learner should see first, and the reference solution passes.
func TestGrade(t *testing.T) {
	testkit.RequireRoot(t)
	testkit.CheckHostMounts(t)
	g := grading.Grader{Pkg: "./labs/03-mount-namespace/grade", Checks: grading.Names(checks), Parallel: true}
	g.Test(t, grading.Case{
		Name: "starter",
		Code: 1,
		Want: grading.Want{
			OK: []string{
				"the command runs as pid 1 of the container",
				"the command runs with the umask it was started with",
			},
			Skipped: []string{"/ is read-only, /dev is not"},
			Score:   "Score: 2/20",
			Hints: []string{
				"make / private, recursively, before the first mount",
				"Did you mount proc after entering the PID namespace?",
				"the /dev you see is the host's (a devtmpfs",
				"/dev/pts is not mounted",
				"sysfs is mounted read-write",
				"/ is not a mount point: this is a chroot(2)",
				"escape climbed out to the host's /",
			},
		},
	}, grading.Case{
		Name: "solution",
		Args: []string{"-solution"},
		Want: grading.Want{OK: grading.Names(checks), Score: "Score: 20/20"},
	})
}

// TestContainerRefusesHost checks that the learner's container does not
// start outside the grader's sandbox, where unfinished mounts could reach
// the host.
func TestContainerRefusesHost(t *testing.T) {
	testkit.RequireRoot(t)
	testkit.CheckHostMounts(t)
	container := testkit.Bin(t, "./labs/03-mount-namespace/container")
	r := testkit.Run(t, container, t.TempDir(), "/bin/true")
	want := "container: refusing to start outside the grader's throwaway mount namespace"
	if r.Code != 2 || !strings.HasPrefix(r.Stderr, want) {
		t.Errorf("want exit status 2 and %q…, got\n%s", want, r)
	}
}

// passing returns what a correct container shows, rootfs at /tmp/lab03-x/run1/rootfs.
func passing() *observation {
	rootfs := "/tmp/lab03-x/run1/rootfs"
	o := &observation{
		probe:  result{Rootfs: rootfs},
		dev:    result{Rootfs: rootfs},
		escape: result{Rootfs: rootfs, Code: 1, Stderr: "escape: failed: .. stops at this root, there is nothing above it\n"},
		umask:  "0022",
		report: &probe.Report{
			Pid: 1, Pids: []int{1}, ProcMounted: true, Umask: "0022",
			Mounts: []probe.Mount{
				{MountPoint: "/", Root: rootfs, FSType: "ext4", Source: "/dev/vda", Options: "ro,relatime"},
				{MountPoint: "/proc", Root: "/", FSType: "proc", Source: "proc", Options: "rw,nosuid,nodev,noexec,relatime"},
				{MountPoint: "/dev", Root: "/", FSType: "tmpfs", Source: "tmpfs", Options: "rw,nosuid"},
				{MountPoint: "/dev/pts", Root: "/", FSType: "devpts", Source: "devpts", Options: "rw,nosuid,noexec,relatime"},
				{MountPoint: "/sys", Root: "/", FSType: "sysfs", Source: "sysfs", Options: "ro,nosuid,nodev,noexec,relatime"},
			},
		},
		entries: map[string]int{"/proc": 60, "/sys": 12},
		devEntries: map[string]devEntry{
			"ptmx":     {Type: "symbolic link", Mode: "777", Target: "pts/ptmx"},
			"pts":      {Type: "directory", Mode: "755"},
			"pts/ptmx": {Type: "character special file", Major: 5, Minor: 2, Mode: "666"},
		},
	}
	for _, d := range wantDevices {
		o.devEntries[d.name] = devEntry{Type: "character special file", Major: d.major, Minor: d.minor, Mode: "666"}
	}
	return o
}

// setMount replaces the mount at mp in o's report.
func setMount(o *observation, mp string, f func(m *probe.Mount)) {
	for i := range o.report.Mounts {
		if o.report.Mounts[i].MountPoint == mp {
			f(&o.report.Mounts[i])
		}
	}
}

// setMode changes the mode of the /dev entry name in o.
func setMode(o *observation, name, mode string) {
	e := o.devEntries[name]
	e.Mode = mode
	o.devEntries[name] = e
}

// hideAll is what a container shows whose /proc, /dev and /sys were
// mounted and then covered by a bind of the rootfs made after them.
func hideAll(o *observation) {
	o.report.Pids, o.report.ProcMounted, o.report.Mounts = []int{}, false, nil
	o.devEntries = map[string]devEntry{}
	o.entries = map[string]int{"/proc": 0, "/sys": 0}
}

// TestHints feeds each check a container with one thing wrong, and checks
// that the hint names it. It needs no root: checks only read observations.
func TestHints(t *testing.T) {
	tests := []struct {
		name     string
		check    func(*observation) string
		spoil    func(o *observation)
		wantHint string // "" means the check passes
	}{
		{"runs", checkRuns, func(o *observation) {}, ""},
		{"propagation", checkPropagation, func(o *observation) {}, ""},
		{"proc", checkProc, func(o *observation) {}, ""},
		{"dev", checkDev, func(o *observation) {}, ""},
		{"devpts", checkDevpts, func(o *observation) {}, ""},
		{"sys", checkSys, func(o *observation) {}, ""},
		{"root", checkRoot, func(o *observation) {}, ""},
		{"escape", checkEscape, func(o *observation) {}, ""},
		{"pivot_root EINVAL", checkRuns, func(o *observation) {
			o.report, o.probe.Code = nil, 125
			o.probe.Stderr = "container: setup /tmp/lab03-x/run1/rootfs: pivot_root /tmp/lab03-x/run1/rootfs: invalid argument\n"
		}, `"container: setup ROOTFS: pivot_root ROOTFS: invalid argument". pivot_root(2) fails with EINVAL`},
		{"pivot_root without chdir", checkRuns, func(o *observation) {
			o.report, o.probe.Code = nil, 125
			o.probe.Stderr = "container: setup /tmp/lab03-x/run1/rootfs: pivot_root /tmp/lab03-x/run1/rootfs: device or resource busy (working directory /home/vagrant/contain)\n"
		}, `pivots into ".", the working directory, which was /home/vagrant/contain, not the rootfs: chdir into the rootfs first`},
		{"unwrapped EINVAL without chdir", checkRuns, func(o *observation) {
			o.report, o.probe.Code = nil, 125
			o.probe.Stderr = "container: setup /tmp/lab03-x/run1/rootfs: pivot_root: invalid argument (working directory /root)\n"
		}, "which was /root, not the rootfs: chdir into the rootfs first"},
		{"EINVAL in the rootfs", checkRuns, func(o *observation) {
			o.report, o.probe.Code = nil, 125
			o.probe.Stderr = "container: setup /tmp/lab03-x/run1/rootfs: pivot_root .: invalid argument (working directory /tmp/lab03-x/run1/rootfs)\n"
		}, "pivot_root(2) fails with EINVAL when a mount involved is shared"},
		{"old root busy", checkRuns, func(o *observation) {
			o.report, o.probe.Code = nil, 125
			o.probe.Stderr = "container: setup x: unmount the old root: device or resource busy\n"
		}, "unmount it lazily, with MNT_DETACH"},
		{"leak", checkPropagation, func(o *observation) {
			o.dev.Changed = []string{"+/tmp/lab03-x/run1/rootfs/proc (proc)"}
		}, "(+ROOTFS/proc (proc))"},
		{"private without MS_REC", checkPropagation, func(o *observation) {
			o.probe.Changed = []string{"-/dev/pts (devpts)", "-/sys/fs/cgroup (tmpfs)"}
		}, "mounts vanished from the host while the container ran (-/dev/pts (devpts), -/sys/fs/cgroup (tmpfs)): the container's unmount of its old root propagated to the host's copies. / was made private, but not the mounts below it"},
		{"hidden by a later bind: proc", checkProc, hideAll, "a bind of the rootfs onto itself takes the directory alone"},
		{"hidden by a later bind: dev", checkDev, hideAll, "/proc, /dev and /sys are all empty directories"},
		{"hidden by a later bind: devpts", checkDevpts, hideAll, "/proc, /dev and /sys are all empty directories"},
		{"hidden by a later bind: sys", checkSys, hideAll, "Bind the rootfs before mounting /proc, /dev and /sys"},
		{"no table, /sys mounted", checkSys, func(o *observation) {
			o.report.Pids, o.report.ProcMounted, o.report.Mounts = []int{}, false, nil
		}, "the probe cannot tell what is mounted where"},
		{"read-only root", checkReadOnly, func(o *observation) {}, ""},
		{"root rw", checkReadOnly, func(o *observation) { setMount(o, "/", func(m *probe.Mount) { m.Options = "rw,relatime" }) },
			"/ is mounted rw,relatime: a bind ignores MS_RDONLY when it is made; remount that mount, MS_REMOUNT|MS_BIND|MS_RDONLY"},
		{"dev ro too", checkReadOnly, func(o *observation) { setMount(o, "/dev", func(m *probe.Mount) { m.Options = "ro,nosuid" }) },
			"/dev is mounted ro,nosuid too"},
		{"host pids", checkProc, func(o *observation) { o.report.Pids = []int{1, 2, 3, 4, 5, 77} },
			"/proc lists 6 pids (1, 2, 3, 4, …) where the container has one process"},
		{"no proc", checkProc, func(o *observation) {
			o.report.Pids, o.report.ProcMounted, o.report.Mounts = []int{}, false, nil
		}, "/proc is empty"},
		{"dev on disk", checkDev, func(o *observation) { setMount(o, "/dev", func(m *probe.Mount) { m.MountPoint = "/elsewhere" }) },
			"/dev is not a mount"},
		{"mknod umask", checkDev, func(o *observation) { setMode(o, "null", "644") }, "null has mode 644, want 666 (mknod(2) applies the umask"},
		{"umask", checkUmask, func(o *observation) {}, ""},
		{"umask left at 0", checkUmask, func(o *observation) { o.report.Umask = "0000" },
			"the command runs with umask 0000, so every file it creates is writable by anyone; the grader started the container with 0022. The umask(0) before mknod(2) is still in force at execve(2)"},
		{"umask of its own", checkUmask, func(o *observation) { o.umask, o.report.Umask = "0027", "0022" },
			"the command runs with umask 0022, the grader started the container with 0027: put back the value umask(2) returned"},
		{"missing and wrong", checkDev, func(o *observation) {
			delete(o.devEntries, "tty")
			o.devEntries["zero"] = devEntry{Type: "character special file", Major: 1, Minor: 3, Mode: "666"}
		}, "zero is a character special file 1:3, want a character special file 1:5; missing tty"},
		{"extra", checkDev, func(o *observation) { o.devEntries["sda"] = devEntry{Type: "block special file"} },
			"/dev holds more than a container should see: sda"},
		{"host terminals", checkDevpts, func(o *observation) { o.devEntries["pts/0"] = devEntry{Type: "character special file"} },
			"/dev/pts shows terminals the container never opened (pts/0)"},
		{"ptmxmode", checkDevpts, func(o *observation) { setMode(o, "pts/ptmx", "0") }, "mount devpts with ptmxmode=0666"},
		{"no ptmx link", checkDevpts, func(o *observation) { delete(o.devEntries, "ptmx") }, "/dev/ptmx is missing"},
		{"ptmx node", checkDevpts, func(o *observation) {
			o.devEntries["ptmx"] = devEntry{Type: "character special file", Major: 5, Minor: 2, Mode: "666"}
		}, ""},
		{"sys rw", checkSys, func(o *observation) { setMount(o, "/sys", func(m *probe.Mount) { m.Options = "rw,relatime" }) },
			"sysfs is mounted read-write"},
		{"stacked root", checkRoot, func(o *observation) {
			o.report.Mounts = append(o.report.Mounts, probe.Mount{MountPoint: "/", Root: "/", FSType: "ext4", Source: "/dev/vda"})
		}, "2 mounts are stacked on /"},
		{"old root kept", checkRoot, func(o *observation) {
			o.report.Mounts = append(o.report.Mounts, probe.Mount{MountPoint: "/.oldroot", Root: "/", FSType: "ext4"})
		}, "the host's mounts are still visible (/.oldroot)"},
		{"host root", checkRoot, func(o *observation) { setMount(o, "/", func(m *probe.Mount) { m.Root = "/" }) },
			"/ is / of /dev/vda (ext4), not the rootfs"},
		{"escaped", checkEscape, func(o *observation) {
			o.escape.Code, o.escape.Stderr = 0, "escape: out of the chroot, running true in the real root\n"
		}, "escape climbed out"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			o := passing()
			tt.spoil(o)
			grading.CheckHint(t, tt.check(o), tt.wantHint)
		})
	}
}

// TestParse decodes devScript's output: one line per /dev entry, then the
// counts of /proc and /sys.
func TestParse(t *testing.T) {
	o := &observation{dev: result{Stdout: "null|character special file|1|3|666|\nptmx|symbolic link|0|0|777|pts/ptmx\n=/proc 0\n=/sys 31\n"}}
	o.parse()
	want := map[string]devEntry{
		"null": {Type: "character special file", Major: 1, Minor: 3, Mode: "666"},
		"ptmx": {Type: "symbolic link", Mode: "777", Target: "pts/ptmx"},
	}
	if diff := cmp.Diff(want, o.devEntries); diff != "" {
		t.Errorf("devEntries (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff(map[string]int{"/proc": 0, "/sys": 31}, o.entries); diff != "" {
		t.Errorf("entries (-want +got):\n%s", diff)
	}
}
