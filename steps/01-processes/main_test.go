package main

import (
	"os"
	"regexp"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/contain-dev/contain/tool/testkit"
)

// step builds this step once and runs it with args.
func step(t *testing.T, args ...string) testkit.Result {
	t.Helper()
	return testkit.Run(t, testkit.Bin(t, "./steps/01-processes"), args...)
}

// stepAsRoot runs the step as root, checks that the host's mounts are the
// same afterwards, and fails t unless the step succeeds.
func stepAsRoot(t *testing.T, args ...string) testkit.Result {
	t.Helper()
	testkit.RequireRoot(t)
	testkit.CheckHostMounts(t)
	r := step(t, args...)
	if r.Code != 0 {
		t.Fatal(r)
	}
	return r
}

// match returns the submatches of the first output line that re matches
// in full.
func match(t *testing.T, r testkit.Result, re string) []string {
	t.Helper()
	rx := regexp.MustCompile("^" + re + "$")
	for _, l := range strings.Split(r.Stdout, "\n") {
		if m := rx.FindStringSubmatch(l); m != nil {
			return m
		}
	}
	t.Fatalf("no line matches %q\n%s", re, r)
	return nil
}

func TestForkExec(t *testing.T) {
	r := step(t, "fork-exec")
	if r.Code != 0 {
		t.Fatal(r)
	}
	parent := match(t, r, `parent pid=(\d+)`)[1]
	child := match(t, r, `child  pid=(\d+) ppid=(\d+)`)
	reaped := match(t, r, `parent reaped pid=(\d+), exit status 0`)[1]
	if child[1] == parent {
		t.Errorf("child pid %s is the parent's", child[1])
	}
	if diff := cmp.Diff([]string{parent, child[1]}, []string{child[2], reaped}); diff != "" {
		t.Errorf("child's ppid and reaped pid (-want +got):\n%s", diff)
	}
}

// TestThreads checks from outside that unshare(2) moved exactly one
// thread: one task of the step has another UTS namespace than this test,
// all others have ours, and only the locked thread sees the new hostname.
func TestThreads(t *testing.T) {
	r := stepAsRoot(t, "threads")
	ours := testkit.NSInode(t, "self", "uts")
	locked := match(t, r, `locked thread (\d+): hostname thread-ns`)[1]
	match(t, r, `locked thread \d+: unshare\(CLONE_NEWUSER\): invalid argument`)
	other := match(t, r, `main goroutine, thread (\d+): hostname (.*)`)
	if other[1] == locked {
		t.Errorf("main goroutine ran on the locked thread %s", locked)
	}
	if want, _ := os.Hostname(); other[2] != want {
		t.Errorf("main goroutine saw hostname %q, want the host's %q", other[2], want)
	}
	var moved []string
	tasks := 0
	for _, l := range strings.Split(r.Stdout, "\n") {
		m := regexp.MustCompile(`^task (\d+) +(uts:\[\d+\])`).FindStringSubmatch(l)
		if m == nil {
			continue
		}
		tasks++
		if m[2] != ours {
			moved = append(moved, m[1])
		}
	}
	if tasks < 2 {
		t.Fatalf("%d tasks listed, want the runtime's several threads\n%s", tasks, r)
	}
	if diff := cmp.Diff([]string{locked}, moved); diff != "" {
		t.Errorf("threads outside our UTS namespace %s (-want +got):\n%s", ours, diff)
	}
}

// TestReexec checks that the re-executed child is pid 1 of a new PID
// namespace, in a new UTS namespace with its own hostname, and that the
// parent stays in ours.
func TestReexec(t *testing.T) {
	r := stepAsRoot(t, "reexec")
	const line = `pid=(\d+) hostname=(\S+) (uts:\[\d+\]) (pid:\[\d+\])`
	parent := match(t, r, `parent `+line)
	child := match(t, r, `child  `+line)
	hostPid := match(t, r, `parent: the child was pid (\d+) in the parent's namespace`)[1]
	uts, pid := testkit.NSInode(t, "self", "uts"), testkit.NSInode(t, "self", "pid")
	if diff := cmp.Diff([]string{uts, pid}, parent[3:]); diff != "" {
		t.Errorf("parent's namespaces (-want ours +got):\n%s", diff)
	}
	if child[1] != "1" || child[2] != "container" || child[3] == uts || child[4] == pid {
		t.Errorf("child reports pid=%s hostname=%s %s %s; want pid=1 hostname=container in namespaces other than %s %s", child[1], child[2], child[3], child[4], uts, pid)
	}
	if hostPid == "1" || hostPid == parent[1] {
		t.Errorf("parent sees the child as pid %s, want a pid of its own", hostPid)
	}
}

// TestReexecUnshare checks the broken variant: with Unshareflags the
// child stays outside its new PID namespace, and the Go runtime in it
// cannot even create its threads (clone(2): EINVAL for CLONE_THREAD).
func TestReexecUnshare(t *testing.T) {
	testkit.RequireRoot(t)
	testkit.CheckHostMounts(t)
	r := step(t, "reexec-unshare")
	if r.Code == 0 || !strings.Contains(r.Stderr, "failed to create new OS thread") || strings.Contains(r.Stdout, "child ") {
		t.Errorf("want the child to die creating a thread, before printing\n%s", r)
	}
}

// TestUnshareflags checks the hidden remount: in a namespace where / is
// shared, a child made with Cloneflags keeps / shared, one made with
// Unshareflags has it private. The host's mount table is untouched.
func TestUnshareflags(t *testing.T) {
	r := stepAsRoot(t, "unshareflags")
	got := []string{
		match(t, r, `setup +/ (.*)`)[1],
		match(t, r, `Cloneflags: +CLONE_NEWNS +/ (.*)`)[1],
		match(t, r, `Unshareflags: CLONE_NEWNS +/ (.*)`)[1],
	}
	shared := got[0]
	if !regexp.MustCompile(`^shared:\d+$`).MatchString(shared) {
		t.Fatalf("setup's / is %q, want shared:N\n%s", shared, r)
	}
	if diff := cmp.Diff([]string{shared, shared, "private"}, got); diff != "" {
		t.Errorf("propagation of / (-want +got):\n%s", diff)
	}
}

func TestBadUsage(t *testing.T) {
	tests := []struct {
		args []string
		want string
	}{
		{nil, "01-processes: usage: 01-processes fork-exec|threads|reexec|reexec-unshare|unshareflags\n"},
		{[]string{"frok"}, "01-processes: unknown subcommand \"frok\": use fork-exec, threads, reexec, reexec-unshare or unshareflags\n"},
	}
	for _, tt := range tests {
		r := step(t, tt.args...)
		if r.Code != 1 || r.Stdout != "" {
			t.Errorf("%q: exit %d, want 1 and no output\n%s", tt.args, r.Code, r)
		}
		if diff := cmp.Diff(tt.want, r.Stderr); diff != "" {
			t.Errorf("%q: stderr (-want +got):\n%s", tt.args, diff)
		}
	}
}
