package idmap

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"testing"

	"github.com/google/go-cmp/cmp"
	"golang.org/x/sys/unix"

	"github.com/contain-dev/contain/tool/testkit"
)

// step is one map operation on a process in a fresh user namespace, and
// the kernel's answer it must get (nil for success).
type step struct {
	what string
	do   func(pid int) error
	want error
}

// rules are the writing rules of user_namespaces(7), each broken once.
// Who writes matters: "root" runs as root in the initial namespace;
// "nobody" runs as uid and gid 65534, without any capability, and is the
// creator of the namespace it writes to.
var rules = map[string]struct {
	writer string
	steps  []step
}{
	"a map is written once": {"root", []step{
		{"write uid_map", func(pid int) error { return Write(pid, UID, Map{{0, 100000, 65536}}) }, nil},
		{"write uid_map again", func(pid int) error { return Write(pid, UID, Map{{0, 200000, 65536}}) }, unix.EPERM},
	}},
	"ranges must not overlap": {"root", []step{
		{"write overlapping uid_map", func(pid int) error { return Write(pid, UID, Map{{0, 100000, 10}, {5, 200000, 10}}) }, unix.EINVAL},
		// A refused write does not count as the one write.
		{"write a good uid_map", func(pid int) error { return Write(pid, UID, Map{{0, 100000, 10}}) }, nil},
	}},
	"a length of 0 is refused": {"root", []step{
		{"write 0 100000 0", func(pid int) error { return Write(pid, UID, Map{{0, 100000, 0}}) }, unix.EINVAL},
	}},
	"root may map many ranges and keep setgroups": {"root", []step{
		{"write gid_map", func(pid int) error { return Write(pid, GID, Map{{0, 100000, 1000}, {1000, 0, 1}}) }, nil},
		{"write uid_map", func(pid int) error { return Write(pid, UID, Map{{0, 100000, 1000}, {1000, 0, 1}}) }, nil},
	}},
	"unprivileged gid_map needs setgroups deny": {"nobody", []step{
		{"write gid_map", func(pid int) error { return Write(pid, GID, Map{{0, testkit.Nobody, 1}}) }, unix.EPERM},
		{"deny setgroups", DenySetgroups, nil},
		{"write gid_map", func(pid int) error { return Write(pid, GID, Map{{0, testkit.Nobody, 1}}) }, nil},
	}},
	"setgroups deny must come before gid_map": {"nobody", []step{
		{"deny setgroups", DenySetgroups, nil},
		{"write gid_map", func(pid int) error { return Write(pid, GID, Map{{0, testkit.Nobody, 1}}) }, nil},
		{"deny setgroups again", DenySetgroups, unix.EPERM},
	}},
	"unprivileged may map its own uid only": {"nobody", []step{
		{"write two uids", func(pid int) error { return Write(pid, UID, Map{{0, testkit.Nobody, 2}}) }, unix.EPERM},
		{"write root's uid", func(pid int) error { return Write(pid, UID, Map{{0, 0, 1}}) }, unix.EPERM},
		{"write own uid", func(pid int) error { return Write(pid, UID, Map{{0, testkit.Nobody, 1}}) }, nil},
	}},
}

// TestMain doubles as the unprivileged writer: run with IDMAP_TEST_RULE as
// nobody, it plays that rule's steps and prints each outcome.
func TestMain(m *testing.M) {
	if name := os.Getenv("IDMAP_TEST_RULE"); name != "" {
		for _, got := range play(rules[name].steps) {
			fmt.Println(got)
		}
		os.Exit(0)
	}
	os.Exit(m.Run())
}

// play starts cat in a new user namespace, where it waits on its stdin
// without a map, applies steps to it one after the other and returns one
// line per step: its name and the errno, or "ok".
func play(steps []step) []string {
	cmd := exec.Command("cat")
	cmd.SysProcAttr = &syscall.SysProcAttr{Cloneflags: unix.CLONE_NEWUSER}
	in, err := cmd.StdinPipe()
	if err != nil {
		return []string{err.Error()}
	}
	if err := cmd.Start(); err != nil {
		return []string{"start cat in a new user namespace: " + err.Error()}
	}
	defer cmd.Wait()
	defer in.Close()
	var out []string
	for _, s := range steps {
		out = append(out, s.what+": "+outcome(s.do(cmd.Process.Pid)))
	}
	return out
}

func outcome(err error) string {
	var errno unix.Errno
	switch {
	case err == nil:
		return "ok"
	case errors.As(err, &errno):
		return unix.ErrnoName(errno)
	}
	return err.Error()
}

// TestRules breaks each rule and checks the kernel's errno.
func TestRules(t *testing.T) {
	testkit.RequireRoot(t)
	self := testkit.WorldExecutable(t, os.Args[0])
	for name, rule := range rules {
		t.Run(name, func(t *testing.T) {
			var want []string
			for _, s := range rule.steps {
				want = append(want, s.what+": "+outcome(s.want))
			}
			var got []string
			if rule.writer == "root" {
				got = play(rule.steps)
			} else {
				cmd := exec.Command(self, "-test.run=^$")
				cmd.Dir = "/"
				cmd.Env = append(os.Environ(), "IDMAP_TEST_RULE="+name)
				cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: testkit.Nobody, Gid: testkit.Nobody}}
				b, err := cmd.CombinedOutput()
				if err != nil {
					t.Fatalf("writer as nobody: %v\n%s", err, b)
				}
				got = strings.Split(strings.TrimSpace(string(b)), "\n")
			}
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
		})
	}
}

// TestExplain checks that the errors say which rule was broken.
func TestExplain(t *testing.T) {
	testkit.RequireRoot(t)
	cmd := exec.Command("cat")
	cmd.SysProcAttr = &syscall.SysProcAttr{Cloneflags: unix.CLONE_NEWUSER}
	in, _ := cmd.StdinPipe()
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer cmd.Wait()
	defer in.Close()
	pid := cmd.Process.Pid
	err := Write(pid, UID, Map{{0, 100000, 10}, {5, 200000, 10}})
	if err == nil || !strings.Contains(err.Error(), "invalid argument: the kernel refused the map (ranges overlap") {
		t.Errorf("overlap: %v", err)
	}
	if err := Apply(pid, Map{{0, 100000, 10}}, Map{{0, 100000, 10}}); err != nil {
		t.Fatal(err)
	}
	err = Write(pid, UID, Map{{0, 100000, 10}})
	if err == nil || !strings.Contains(err.Error(), "operation not permitted: the map was already written, and the kernel takes it once") {
		t.Errorf("second write: %v", err)
	}
	err = DenySetgroups(pid)
	if err == nil || !strings.Contains(err.Error(), "gid_map is written already, setgroups must come first") {
		t.Errorf("late setgroups: %v", err)
	}
	for _, kind := range []Kind{UID, GID} {
		got, err := Read(pid, kind)
		if err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff(Map{{0, 100000, 10}}, got); diff != "" {
			t.Errorf("%s map read back (-want +got):\n%s", kind, diff)
		}
	}
}
