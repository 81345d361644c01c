package cli_test

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/contain-dev/contain/tool/probe"
	"github.com/contain-dev/contain/tool/testkit"
)

// runProbe runs the probe under `contain run` with extra flags and decodes
// its report.
func runProbe(t *testing.T, rootfs string, flags ...string) probe.Report {
	t.Helper()
	args := append(append([]string{"run", "--rootfs", rootfs}, flags...), "--", "/usr/local/bin/probe")
	res := testkit.Run(t, testkit.Contain(t), args...)
	if res.Code != 0 {
		t.Fatalf("contain %s: %s", strings.Join(args, " "), res)
	}
	rep, err := probe.Decode([]byte(res.Stdout))
	if err != nil {
		t.Fatal(err)
	}
	return rep
}

// TestRunProbe checks, from the probe's report, what a container sees:
// its hostname, its pid, its namespaces and its mount table.
func TestRunProbe(t *testing.T) {
	testkit.RequireRoot(t)
	testkit.CheckHostMounts(t)
	rootfs := testkit.Rootfs(t)
	hostHostname, err := os.Hostname()
	if err != nil {
		t.Fatal(err)
	}

	box := fmt.Sprintf("box-%d", os.Getpid())
	longest := strings.Repeat("h", 64)
	tests := []struct {
		name     string
		flags    []string
		hostname string
	}{
		{"with --hostname", []string{"--hostname", box}, box},
		{"64 bytes, the longest the kernel takes", []string{"--hostname", longest}, longest},
		// An empty --hostname is the same as none: the new UTS namespace
		// starts with a copy of the host's name.
		{"empty --hostname keeps the host's name", []string{"--hostname", ""}, hostHostname},
		{"no --hostname", nil, hostHostname},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rep := runProbe(t, rootfs, tt.flags...)
			if rep.Hostname != tt.hostname {
				t.Errorf("hostname %q, want %q", rep.Hostname, tt.hostname)
			}
			if rep.Pid != 1 {
				t.Errorf("pid %d, want 1", rep.Pid)
			}
			if diff := cmp.Diff([]int{1}, rep.Pids); diff != "" {
				t.Errorf("pids in /proc (-want +got):\n%s", diff)
			}
			for _, ns := range []struct {
				name string
				new  bool
			}{
				{"mnt", true}, {"uts", true}, {"ipc", true}, {"pid", true},
				// The default network (chapter 08) and the cgroup
				// namespace (chapter 07) are new too; only the user
				// namespace is the host's without --userns.
				{"net", true}, {"user", false}, {"cgroup", true},
			} {
				host := testkit.NSInode(t, "self", ns.name)
				if got := rep.NS[ns.name]; (got != host) != ns.new || got == "" {
					t.Errorf("%s namespace %q, host %q: want new=%v", ns.name, got, host, ns.new)
				}
			}
		})
	}
}

// TestRunMounts checks the container's mount table: exactly the rootfs and
// the mounts contain makes, nothing of the host's, and /sys read-only.
func TestRunMounts(t *testing.T) {
	testkit.RequireRoot(t)
	testkit.CheckHostMounts(t)
	rootfs := testkit.Rootfs(t)
	rep := runProbe(t, rootfs)

	root, _ := rep.RootMount()
	var got []string
	for _, m := range rep.Mounts {
		got = append(got, m.MountPoint+" "+m.FSType)
		if strings.HasPrefix(m.MountPoint, rootfs) {
			t.Errorf("mount point %s names the host path of the rootfs", m.MountPoint)
		}
	}
	sort.Strings(got)
	want := []string{"/ " + root.FSType, "/dev tmpfs", "/dev/pts devpts", "/dev/shm tmpfs", "/proc proc", "/sys sysfs"}
	// The default network binds its resolv.conf and hosts (chapter 08),
	// from a directory on the host's /run.
	runFS := hostFSType(t, "/run/contain")
	want = append(want, "/etc/hosts "+runFS, "/etc/resolv.conf "+runFS)
	// The read-only cgroupfs (chapter 07) mirrors the host's layout.
	want = append(want, hostCgroupMounts(t)...)
	sort.Strings(want)
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("container mounts (-want +got):\n%s", diff)
	}
	real, err := filepath.EvalSymlinks(rootfs)
	if err != nil {
		t.Fatal(err)
	}
	if root.Root != real {
		t.Errorf("/ is %s of %s, want the rootfs %s", root.Root, root.Source, real)
	}
	sys, _ := rep.MountAt("/sys")
	if !strings.HasPrefix(sys.Options, "ro,") {
		t.Errorf("/sys mount options %q, want read-only", sys.Options)
	}
	for _, m := range rep.Mounts {
		if m.Optional != "" {
			t.Errorf("%s has propagation %q, want private", m.MountPoint, m.Optional)
		}
	}
}

// TestRunInside checks what commands inside the container see, one command
// each: /dev holds exactly the minimal set, /sys refuses writes, and the
// chroot escape of chapter 02 no longer leaves.
func TestRunInside(t *testing.T) {
	testkit.RequireRoot(t)
	testkit.CheckHostMounts(t)
	rootfs := testkit.Rootfs(t)
	contain := testkit.Contain(t)

	tests := []struct {
		name           string
		cmd            []string
		code           int
		stdout, stderr string
	}{
		{
			name: "minimal /dev",
			cmd:  []string{"sh", "-c", "cd /dev && stat -c '%n %F %t,%T %a' * && for l in fd stdin stdout stderr ptmx; do echo \"$l -> $(readlink $l)\"; done"},
			stdout: `fd symbolic link 0,0 777
full character special file 1,7 666
null character special file 1,3 666
ptmx symbolic link 0,0 777
pts directory 0,0 755
random character special file 1,8 666
shm directory 0,0 1777
stderr symbolic link 0,0 777
stdin symbolic link 0,0 777
stdout symbolic link 0,0 777
tty character special file 5,0 666
urandom character special file 1,9 666
zero character special file 1,5 666
fd -> /proc/self/fd
stdin -> /proc/self/fd/0
stdout -> /proc/self/fd/1
stderr -> /proc/self/fd/2
ptmx -> pts/ptmx
`,
		},
		{
			name:   "private devpts has only ptmx",
			cmd:    []string{"ls", "/dev/pts"},
			stdout: "ptmx\n",
		},
		{
			name:   "/sys is read-only",
			cmd:    []string{"touch", "/sys/contain-run-test"},
			code:   1,
			stderr: "touch: /sys/contain-run-test: Read-only file system\n",
		},
		{
			name:   "the chroot escape fails",
			cmd:    []string{"escape", "cat", "/etc/os-release"},
			code:   1,
			stderr: "escape: failed: .. stops at this root, there is nothing above it\n",
		},
		{
			name:   "the root is the rootfs",
			cmd:    []string{"cat", "/etc/os-release"},
			stdout: "NAME=\"contain busybox\"\nID=contain-busybox\nPRETTY_NAME=\"contain busybox rootfs\"\n",
		},
		{
			name:   "exit status passes through",
			cmd:    []string{"sh", "-c", "exit 42"},
			code:   42,
			stdout: "",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res := testkit.Run(t, contain, append([]string{"run", "--rootfs", rootfs, "--"}, tt.cmd...)...)
			want := testkit.Result{Stdout: tt.stdout, Stderr: tt.stderr, Code: tt.code}
			if diff := cmp.Diff(want, res); diff != "" {
				t.Errorf("contain run -- %s (-want +got):\n%s", strings.Join(tt.cmd, " "), diff)
			}
		})
	}
}

// TestRunLeavesNothing checks that once contain run has exited, no mount of
// the container is left on the host and the rootfs's mount points are the
// empty directories they were.
func TestRunLeavesNothing(t *testing.T) {
	testkit.RequireRoot(t)
	testkit.CheckHostMounts(t)
	rootfs := testkit.Rootfs(t)
	// Something on /dev and /proc, and a device node created at run time,
	// must all go with the container's tmpfs.
	res := testkit.Run(t, testkit.Contain(t), "run", "--rootfs", rootfs, "--", "sh", "-c",
		"touch /dev/shm/x /dev/y && mknod /dev/z c 1 3 && ls /proc/1 >/dev/null")
	if res.Code != 0 {
		t.Fatalf("contain run: %s", res)
	}
	for _, l := range testkit.HostMounts(t) {
		if strings.Contains(l, rootfs) {
			t.Errorf("left mounted on the host: %s", l)
		}
	}
	for _, d := range []string{"dev", "proc", "sys"} {
		ents, err := os.ReadDir(filepath.Join(rootfs, d))
		if err != nil {
			t.Fatal(err)
		}
		if len(ents) != 0 {
			t.Errorf("%s/%s is not empty after the run: %v", rootfs, d, ents)
		}
	}
}

// TestRunBadInput checks each refusal: one line on stderr saying what to
// do, the exit status, and nothing mounted or created on the host.
// TestRunNoInheritedFDs gives contain descriptors without close-on-exec,
// as a shell's redirections are, and checks that none reaches the
// container's command: it sees its standard streams and the directory
// its ls opens, nothing else.
func TestRunNoInheritedFDs(t *testing.T) {
	testkit.RequireRoot(t)
	rootfs := testkit.Rootfs(t)
	f, err := os.Open("/etc/hostname")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	cmd := exec.Command(testkit.Contain(t), "run", "--net", "none", "--rootfs", rootfs, "--", "ls", "/proc/self/fd")
	// fds 3 to 10 in contain: the init stage's own take 3 to 5, so a
	// leak shows as 6 and up.
	for range 8 {
		cmd.ExtraFiles = append(cmd.ExtraFiles, f)
	}
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("contain run: %v", err)
	}
	if diff := cmp.Diff([]string{"0", "1", "2", "3"}, strings.Fields(string(out))); diff != "" {
		t.Errorf("descriptors of the container's command (-want +got):\n%s", diff)
	}
}

func TestRunBadInput(t *testing.T) {
	testkit.RequireRoot(t)
	rootfs := testkit.Rootfs(t)
	tmp := t.TempDir()
	notDir := filepath.Join(tmp, "rootfs.tar")
	if err := os.WriteFile(notDir, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	missing := filepath.Join(tmp, "no-such-rootfs")
	// A copy of the rootfs whose /proc is a symlink to a host directory.
	linked := testkit.Rootfs(t)
	target := filepath.Join(tmp, "elsewhere")
	if err := os.Mkdir(target, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Remove(filepath.Join(linked, "proc")); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(target, filepath.Join(linked, "proc")); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(rootfs, "usr/local/bin/notexec"), []byte("#!/bin/sh\necho ran\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	long := strings.Repeat("h", 65)

	tests := []struct {
		name   string
		args   []string
		code   int
		stderr string
	}{
		{
			name:   "missing rootfs",
			args:   []string{"--rootfs", missing, "--", "true"},
			code:   125,
			stderr: "contain: rootfs " + missing + " does not exist: build one with scripts/mkrootfs.sh " + missing,
		},
		{
			name:   "rootfs is a file",
			args:   []string{"--rootfs", notDir, "--", "true"},
			code:   125,
			stderr: "contain: rootfs " + notDir + " is not a directory: pass the directory that holds bin/, etc/, proc/",
		},
		{
			name:   "rootfs /proc is a symlink",
			args:   []string{"--rootfs", linked, "--", "true"},
			code:   125,
			stderr: "contain: rootfs " + linked + ": /proc is a symlink, which could aim the mount at the host: replace it with a directory (rm " + linked + "/proc && mkdir " + linked + "/proc)",
		},
		{
			name:   "the host's root",
			args:   []string{"--rootfs", "/", "--", "true"},
			code:   125,
			stderr: "contain: rootfs / is the host's own root: pass a separate directory (scripts/mkrootfs.sh DIR builds one)",
		},
		{
			name:   "command not in the rootfs",
			args:   []string{"--rootfs", rootfs, "--", "no-such-command"},
			code:   127,
			stderr: "contain: no-such-command: not found in the container: check that the rootfs has it (PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin)",
		},
		{
			name:   "command not executable",
			args:   []string{"--rootfs", rootfs, "--", "notexec"},
			code:   126,
			stderr: "contain: notexec: not executable in the container: chmod +x /usr/local/bin/notexec inside the rootfs",
		},
		{
			name:   "hostname too long",
			args:   []string{"--rootfs", rootfs, "--hostname", long, "--", "true"},
			code:   2,
			stderr: "contain: --hostname is longer than 64 bytes, the kernel's limit (HOST_NAME_MAX): shorten it",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			testkit.CheckHostMounts(t)
			res := testkit.Run(t, testkit.Contain(t), append([]string{"run"}, tt.args...)...)
			checkOneLineError(t, res, tt.code, tt.stderr)
			if res.Stdout != "" {
				t.Errorf("stdout %q, want nothing", res.Stdout)
			}
		})
	}
	// Nothing was mounted over the mount points, nor created through the
	// symlink.
	for _, d := range []string{filepath.Join(rootfs, "dev"), filepath.Join(rootfs, "proc"), filepath.Join(rootfs, "sys"), target} {
		if ents, err := os.ReadDir(d); err != nil || len(ents) != 0 {
			t.Errorf("%s after the refusals: %v %v, want an empty directory", d, ents, err)
		}
	}
	if _, err := os.Stat(missing); err == nil {
		t.Errorf("%s was created", missing)
	}
}

// TestRunNotRoot runs contain as nobody: it must refuse before creating
// anything.
func TestRunNotRoot(t *testing.T) {
	testkit.RequireRoot(t)
	testkit.CheckHostMounts(t)
	bin := testkit.WorldExecutable(t, testkit.Contain(t))
	// Absent: the root check comes before the rootfs check.
	rootfs := filepath.Join(filepath.Dir(bin), "rootfs")
	res := testkit.RunAsNobody(t, bin, "run", "--rootfs", rootfs, "--", "true")
	checkOneLineError(t, res, 1, "contain: run needs root (namespaces, mounts and pivot_root need CAP_SYS_ADMIN): run it as root, e.g. sudo contain run ...")
	if _, err := os.Stat(rootfs); err == nil {
		t.Errorf("%s was created", rootfs)
	}
}

// checkOneLineError checks that res failed with code and exactly the one
// line want on stderr.
func checkOneLineError(t *testing.T, res testkit.Result, code int, want string) {
	t.Helper()
	if res.Code != code {
		t.Errorf("exit status %d, want %d\n%s", res.Code, code, res)
	}
	if diff := cmp.Diff(want, testkit.FirstLine(res.Stderr)); diff != "" {
		t.Errorf("error line (-want +got):\n%s", diff)
	}
	if n := strings.Count(res.Stderr, "\n"); n != 1 || !strings.HasSuffix(res.Stderr, "\n") {
		t.Errorf("stderr has %d lines, want exactly one:\n%s", n, res.Stderr)
	}
}

// hostFSType returns the type of the host filesystem that holds path: that
// of the mount with the longest mount point above it.
func hostFSType(t *testing.T, path string) string {
	t.Helper()
	best, fstype := "", ""
	for _, m := range testkit.HostMountinfo(t) {
		mp := m.MountPoint
		if (path == mp || strings.HasPrefix(path, strings.TrimSuffix(mp, "/")+"/")) && len(mp) >= len(best) {
			best, fstype = mp, m.FSType
		}
	}
	return fstype
}

// hostCgroupMounts lists, as "MOUNTPOINT FSTYPE", the cgroupfs a container
// gets: the host's cgroup hierarchies at the same places, under a tmpfs
// when there are v1 ones.
func hostCgroupMounts(t *testing.T) []string {
	t.Helper()
	var out []string
	v1 := false
	for _, m := range testkit.HostMountinfo(t) {
		if m.FSType != "cgroup" && m.FSType != "cgroup2" || !strings.HasPrefix(m.MountPoint, "/sys/fs/cgroup") {
			continue
		}
		v1 = v1 || m.FSType == "cgroup"
		out = append(out, m.MountPoint+" "+m.FSType)
	}
	if v1 {
		out = append(out, "/sys/fs/cgroup tmpfs")
	}
	return out
}
