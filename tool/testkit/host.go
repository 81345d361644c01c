package testkit

import (
	"fmt"
	"os"
	"sort"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/contain-dev/contain/tool/probe"
)

// HostMounts returns the host's mount table as comparable lines,
// "MOUNTPOINT FSTYPE SOURCE ROOT OPTIONAL", sorted. Mount IDs are left
// out: they change when a mount is replaced by an equal one.
func HostMounts(t testing.TB) []string {
	t.Helper()
	ms := HostMountinfo(t)
	lines := make([]string, 0, len(ms))
	for _, m := range ms {
		lines = append(lines, fmt.Sprintf("%s %s %s %s %s", m.MountPoint, m.FSType, m.Source, m.Root, m.Optional))
	}
	sort.Strings(lines)
	return lines
}

// HostMountinfo returns the mount table of the test process, parsed.
func HostMountinfo(t testing.TB) []probe.Mount {
	t.Helper()
	f, err := os.Open("/proc/self/mountinfo")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	ms, err := probe.ParseMountinfo(f)
	if err != nil {
		t.Fatal(err)
	}
	return ms
}

// CheckHostMounts records the host's mount table now and, when t ends,
// fails t if a mount was added or removed in between. Tests that start
// containers call it first.
//
// Mounts below the temporary directory are left out of the comparison:
// they belong to tests of other packages, which go test runs at the same
// time (-p 2), and come and go while this test runs. A mount left below
// a test's own t.TempDir() fails that test anyway, when the cleanup cannot
// remove the directory (EBUSY), and scripts/test.sh compares the whole
// table once the suite is done.
func CheckHostMounts(t testing.TB) {
	t.Helper()
	before := outsideTemp(HostMounts(t))
	t.Cleanup(func() {
		after := outsideTemp(HostMounts(t))
		if diff := cmp.Diff(before, after); diff != "" {
			t.Errorf("host mount table changed (-before +after):\n%s", diff)
		}
	})
}

// outsideTemp drops the HostMounts lines whose mount point is below
// os.TempDir().
func outsideTemp(lines []string) []string {
	tmp := strings.TrimSuffix(os.TempDir(), "/") + "/"
	var out []string
	for _, l := range lines {
		if !strings.HasPrefix(l, tmp) {
			out = append(out, l)
		}
	}
	return out
}

// NSInode reads the namespace link of pid ("self" or a number), such as
// "mnt:[4026531841]".
func NSInode(t testing.TB, pid, name string) string {
	t.Helper()
	s, err := os.Readlink("/proc/" + pid + "/ns/" + name)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// FirstLine returns the first line of s, trimmed, for one-line error checks.
func FirstLine(s string) string {
	s = strings.TrimSpace(s)
	if i := strings.IndexByte(s, '\n'); i >= 0 {
		return s[:i]
	}
	return s
}
