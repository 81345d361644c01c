package main

import (
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/contain-dev/contain/tool/testkit"
)

// traversable makes the directories above rootfs searchable by everyone:
// root of the user namespace is uid 100000 on the host, and t.TempDir is
// 0700, closed to it.
func traversable(t *testing.T, rootfs string) {
	t.Helper()
	for _, d := range []string{filepath.Dir(rootfs), filepath.Dir(filepath.Dir(rootfs))} {
		if err := os.Chmod(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
}

// TestRun runs the probe as the step's container and checks that it is
// root inside a user namespace of its own, and that a file it creates
// belongs to uid and gid 100000 outside.
func TestRun(t *testing.T) {
	testkit.RequireRoot(t)
	testkit.CheckHostMounts(t)
	step := testkit.Bin(t, "./steps/06-userns")
	rootfs := testkit.Rootfs(t)
	traversable(t, rootfs)

	rep := testkit.RunProbe(t, step, "run", rootfs, "/usr/local/bin/probe")
	if rep.Uid != 0 || rep.Gid != 0 || rep.Pid != 1 {
		t.Errorf("probe uid %d gid %d pid %d, want 0 0 1", rep.Uid, rep.Gid, rep.Pid)
	}
	for _, ns := range []string{"user", "mnt", "pid", "net"} {
		if host := testkit.NSInode(t, "self", ns); rep.NS[ns] == host || rep.NS[ns] == "" {
			t.Errorf("%s namespace %q, want a new one (host %s)", ns, rep.NS[ns], host)
		}
	}

	// /tmp of the rootfs belongs to host root, mode 1777: anyone may
	// create a file there, and it gets the creator's ids as the host
	// sees them.
	res := testkit.Run(t, step, "run", rootfs, "/bin/sh", "-c", "touch /tmp/made-inside && ls -n /tmp/made-inside")
	if res.Code != 0 {
		t.Fatalf("touch: %s", res)
	}
	if f := strings.Fields(res.Stdout); len(f) < 4 || f[2] != "0" || f[3] != "0" {
		t.Errorf("inside, the file is %q, want owner 0 0", res.Stdout)
	}
	st, err := os.Stat(filepath.Join(rootfs, "tmp", "made-inside"))
	if err != nil {
		t.Fatal(err)
	}
	sys := st.Sys().(*syscall.Stat_t)
	if sys.Uid != outside || sys.Gid != outside {
		t.Errorf("outside, the file belongs to %d:%d, want %d:%d", sys.Uid, sys.Gid, outside, outside)
	}
}

// TestLimits checks what root of a user namespace may do (mounts of
// filesystems marked safe for it) and what the kernel refuses, with the
// errno of each.
func TestLimits(t *testing.T) {
	testkit.RequireRoot(t)
	testkit.CheckHostMounts(t)
	step := testkit.Bin(t, "./steps/06-userns")
	res := testkit.Run(t, step, "limits")
	if res.Code != 0 {
		t.Fatalf("step limits: %s", res)
	}
	got := map[string]string{}
	for _, line := range strings.Split(strings.TrimSpace(res.Stdout), "\n") {
		if f := strings.SplitN(line, "  ", 2); len(f) == 2 {
			got[strings.TrimSpace(f[0])] = strings.Fields(f[1])[0]
		}
	}
	want := map[string]string{
		"mount tmpfs":                            "ok",
		"mount proc":                             "ok",
		"bind mount":                             "ok",
		"mknod /tmp/null c 1 3":                  "EPERM",
		"mount ext4 (a block device filesystem)": "EPERM",
		"mount cgroup2":                          "EPERM",
		"mkdir in the host's cgroup tree":        "EACCES",
		"raise the hard RLIMIT_NOFILE":           "EPERM",
		"idmapped mount of /etc":                 "EPERM",
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("(-want +got):\n%s\n%s", diff, res)
	}
}

// TestIdmapped checks that an idmapped mount shows root's files as
// 100000's, with the files on disk unchanged.
func TestIdmapped(t *testing.T) {
	testkit.RequireRoot(t)
	testkit.CheckHostMounts(t)
	step := testkit.Bin(t, "./steps/06-userns")
	dir := t.TempDir()
	res := testkit.Run(t, step, "idmapped", dir)
	want := dir + " on disk:             owner 0:0\n" + dir + " through the mount: owner 100000:100000\n"
	if res.Code != 0 || res.Stdout != want {
		t.Errorf("step idmapped: %s\nwant stdout:\n%s", res, want)
	}
}
