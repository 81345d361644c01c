package state

import (
	"bufio"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
)

func useTempDir(t *testing.T) {
	t.Helper()
	old := Dir
	Dir = t.TempDir()
	t.Cleanup(func() { Dir = old })
}

func TestCheckName(t *testing.T) {
	tests := []struct {
		name string
		ok   bool
	}{
		{"web", true},
		{"a1.b_c-d", true},
		{"", false},
		{"-x", false},
		{"a/b", false},
		{"..", false},
		{"abcdefghijabcdefghijabcdefghijabc", false},
	}
	for _, tt := range tests {
		if err := CheckName(tt.name); (err == nil) != tt.ok {
			t.Errorf("CheckName(%q) = %v, want ok=%v", tt.name, err, tt.ok)
		}
	}
}

func TestRecordLifecycle(t *testing.T) {
	useTempDir(t)
	start, err := StartTime(os.Getpid())
	if err != nil {
		t.Fatal(err)
	}
	c := &Container{Name: "web", Pid: os.Getpid(), Start: start, Rootfs: "/r", Created: time.Unix(1, 0).UTC()}
	if err := c.SetExtra("cgroup", map[string]string{"path": "/contain/web"}); err != nil {
		t.Fatal(err)
	}
	if err := Create(c); err != nil {
		t.Fatal(err)
	}
	got, err := Load("web")
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(c, got, cmpopts.IgnoreUnexported(Container{})); diff != "" {
		t.Errorf("Load (-want +got):\n%s", diff)
	}
	var cg map[string]string
	if ok, err := got.GetExtra("cgroup", &cg); !ok || err != nil || cg["path"] != "/contain/web" {
		t.Errorf("GetExtra = %v, %v, %v", ok, err, cg)
	}
	if !got.Alive() {
		t.Error("our own process is not Alive")
	}
	// A live container keeps its name.
	if err := Create(&Container{Name: "web", Pid: 1}); err == nil {
		t.Error("Create of a second live container named web succeeded")
	}
	list, err := List()
	if err != nil || len(list) != 1 || list[0].Name != "web" {
		t.Errorf("List = %v, %v", list, err)
	}
	if err := Remove("web"); err != nil {
		t.Fatal(err)
	}
	if _, err := Load("web"); err == nil {
		t.Error("Load after Remove succeeded")
	}
	if err := Remove("web"); err != nil {
		t.Errorf("second Remove: %v", err)
	}
}

// TestAliveDetectsReuse checks that a dead process's record is not alive
// even when a process with the same pid but another start time exists.
func TestAliveDetectsReuse(t *testing.T) {
	cmd := exec.Command("true")
	if err := cmd.Run(); err != nil {
		t.Fatal(err)
	}
	dead := &Container{Name: "gone", Pid: cmd.Process.Pid, Start: 1}
	if dead.Alive() {
		t.Error("a finished process is Alive")
	}
	self, _ := StartTime(os.Getpid())
	reused := &Container{Name: "reused", Pid: os.Getpid(), Start: self + 1}
	if reused.Alive() {
		t.Error("a record whose start time differs from the pid's is Alive")
	}
}

// TestDefaultDir checks where records go for root and for the ordinary
// user of a rootless container.
func TestDefaultDir(t *testing.T) {
	tests := []struct {
		euid int
		xdg  string
		want string
	}{
		{0, "/run/user/0", "/run/contain"},
		{1000, "/run/user/1000", "/run/user/1000/contain"},
		{1000, "", "/tmp/contain-1000"},
	}
	for _, tt := range tests {
		if got := DefaultDir(tt.euid, tt.xdg); got != tt.want {
			t.Errorf("DefaultDir(%d, %q) = %q, want %q", tt.euid, tt.xdg, got, tt.want)
		}
	}
}

// TestAliveZombie checks that a process that has exited but was not yet
// waited for does not count as alive.
func TestAliveZombie(t *testing.T) {
	cmd := exec.Command("true")
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Wait() })
	start, err := StartTime(cmd.Process.Pid)
	if err != nil {
		t.Fatal(err)
	}
	c := &Container{Name: "z", Pid: cmd.Process.Pid, Start: start}
	deadline := time.Now().Add(time.Minute)
	for c.Alive() && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond) // until true has exited, unreaped
	}
	if c.Alive() {
		t.Error("a zombie is Alive")
	}
}

// TestMain lets the test binary act as a record's owner: with
// STATE_TEST_OWNER=DIR it creates the record "owned" in DIR, says so, and
// sleeps until it is killed.
func TestMain(m *testing.M) {
	if dir := os.Getenv("STATE_TEST_OWNER"); dir != "" {
		Dir = dir
		if err := Create(&Container{Name: "owned", Created: time.Now().UTC()}); err != nil {
			fmt.Println(err)
			os.Exit(1)
		}
		fmt.Println("ready")
		time.Sleep(time.Hour)
	}
	os.Exit(m.Run())
}

// TestOwnerLock checks that a record whose owner lives, starting with no
// pid yet, can be neither claimed nor created again, and that once the
// owner is killed with SIGKILL it can be claimed at once, whatever its
// age, by one claimant at a time; and that Remove leaves nothing.
func TestOwnerLock(t *testing.T) {
	useTempDir(t)
	owner := exec.Command(os.Args[0], "-test.run=^$")
	owner.Env = append(os.Environ(), "STATE_TEST_OWNER="+Dir)
	out, err := owner.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := owner.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { owner.Process.Kill(); owner.Wait() })
	if line, _ := bufio.NewReader(out).ReadString('\n'); line != "ready\n" {
		t.Fatalf("owner: %q", line)
	}
	rec, err := Load("owned")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := rec.Claim(); !errors.Is(err, ErrOwned) {
		t.Errorf("Claim of a live owner's record = %v, want ErrOwned", err)
	}
	if err := Create(&Container{Name: "owned"}); err == nil {
		t.Errorf("Create over a live owner's record succeeded")
	}
	owner.Process.Kill()
	owner.Wait()
	release, err := rec.Claim()
	if err != nil {
		t.Fatalf("Claim right after the owner's SIGKILL: %v", err)
	}
	if _, err := rec.Claim(); !errors.Is(err, ErrOwned) {
		t.Errorf("a second Claim = %v, want ErrOwned while the first holds", err)
	}
	if err := Remove("owned"); err != nil {
		t.Fatal(err)
	}
	release()
	if ents, _ := os.ReadDir(Dir); len(ents) != 0 {
		t.Errorf("left in the state directory: %v", ents)
	}
}

// TestClaimLegacy checks the records of a contain from before locks: no
// lock file, so the process and the age decide.
func TestClaimLegacy(t *testing.T) {
	useTempDir(t)
	self, _ := StartTime(os.Getpid())
	tests := []struct {
		name  string
		c     Container
		owned bool
	}{
		{"running", Container{Pid: os.Getpid(), Start: self}, true},
		{"starting", Container{Created: time.Now()}, true},
		{"dead", Container{Pid: os.Getpid(), Start: self + 1, Created: time.Now()}, false},
		{"stale start", Container{Created: time.Now().Add(-2 * time.Minute)}, false},
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := tt.c
			c.Name = fmt.Sprintf("legacy%d", i)
			if err := c.Save(); err != nil { // a record with no lock file
				t.Fatal(err)
			}
			release, err := c.Claim()
			if got := errors.Is(err, ErrOwned); got != tt.owned || (!got && err != nil) {
				t.Fatalf("Claim = %v, want owned %v", err, tt.owned)
			}
			if release != nil {
				release()
			}
			Remove(c.Name)
		})
	}
}

// TestListHalfMade checks what an owner killed inside Create or Save
// leaves: a lock file alone is listed by its name, and Remove takes it
// and a half-written record away.
func TestListHalfMade(t *testing.T) {
	useTempDir(t)
	for _, f := range []string{"early.lock", "late.json.tmp", "late.lock"} {
		if err := os.WriteFile(Dir+"/"+f, nil, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	cs, err := List()
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, c := range cs {
		names = append(names, c.Name)
		release, err := c.Claim()
		if err != nil {
			t.Fatalf("Claim %s: %v", c.Name, err)
		}
		if err := Remove(c.Name); err != nil {
			t.Error(err)
		}
		release()
	}
	if diff := cmp.Diff([]string{"early", "late"}, names); diff != "" {
		t.Errorf("List (-want +got):\n%s", diff)
	}
	if ents, _ := os.ReadDir(Dir); len(ents) != 0 {
		t.Errorf("left in the state directory: %v", ents)
	}
}
