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

// record stands for the container package's record.
type record struct {
	Pid    int               `json:"pid"`
	Rootfs string            `json:"rootfs"`
	Parts  map[string]string `json:"parts"`
}

func TestRecordLifecycle(t *testing.T) {
	useTempDir(t)
	want := record{Pid: os.Getpid(), Rootfs: "/r", Parts: map[string]string{"cgroup": "contain/web"}}
	owner, err := Create("web", want)
	if err != nil {
		t.Fatal(err)
	}
	defer owner.Release()
	var got record
	if err := Load("web", &got); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("Load (-want +got):\n%s", diff)
	}
	if _, err := Create("web", want); !errors.As(err, new(*TakenError)) {
		t.Errorf("Create over a live owner's record = %v, want a *TakenError", err)
	}
	if err := Load("nosuch", &got); !errors.Is(err, ErrNotExist) {
		t.Errorf("Load of no record = %v, want ErrNotExist", err)
	}
	os.WriteFile(File("web", "fifo"), nil, 0o600)
	if err := Remove("web"); err != nil {
		t.Fatal(err)
	}
	if Exists("web") {
		t.Error("Exists after Remove")
	}
	if ents, _ := os.ReadDir(Dir); len(ents) != 0 {
		t.Errorf("left in the state directory: %v", ents)
	}
}

func TestAliveDetectsReuse(t *testing.T) {
	start, err := StartTime(os.Getpid())
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name  string
		pid   int
		start uint64
		want  bool
	}{
		{"this process", os.Getpid(), start, true},
		{"same pid, other start time", os.Getpid(), start + 1, false},
		{"no pid yet", 0, 0, false},
	}
	for _, tt := range tests {
		if got := Alive(tt.pid, tt.start); got != tt.want {
			t.Errorf("%s: Alive = %v, want %v", tt.name, got, tt.want)
		}
	}
}

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

func TestAliveZombie(t *testing.T) {
	cmd := exec.Command("true")
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer cmd.Wait()
	start, err := StartTime(cmd.Process.Pid)
	if err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(5 * time.Second)
	for Alive(cmd.Process.Pid, start) && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond) // until true has exited, unreaped
	}
	if Alive(cmd.Process.Pid, start) {
		t.Error("a zombie is Alive")
	}
}

// TestMain lets the test binary act as a record's owner: with
// STATE_TEST_OWNER=DIR it creates the record "owned" in DIR, says so, and
// sleeps until it is killed.
func TestMain(m *testing.M) {
	if dir := os.Getenv("STATE_TEST_OWNER"); dir != "" {
		Dir = dir
		if _, err := Create("owned", record{}); err != nil {
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
	if _, err := Claim("owned"); !errors.Is(err, ErrOwned) {
		t.Errorf("Claim of a live owner's record = %v, want ErrOwned", err)
	}
	if _, err := Create("owned", record{}); err == nil {
		t.Errorf("Create over a live owner's record succeeded")
	}
	owner.Process.Kill()
	owner.Wait()
	release, err := Claim("owned")
	if err != nil {
		t.Fatalf("Claim right after the owner's SIGKILL: %v", err)
	}
	if _, err := Claim("owned"); !errors.Is(err, ErrOwned) {
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

// TestListHalfMade checks what an owner killed inside Create or Save
// leaves: a lock file alone is listed by its name, and Remove takes it
// and a half-written record away.
func TestListHalfMade(t *testing.T) {
	useTempDir(t)
	for _, f := range []string{"early.lock", "late.json.tmp", ".late.json.tmp1", "late.lock"} {
		if err := os.WriteFile(Dir+"/"+f, nil, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	names, err := List()
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range names {
		release, err := Claim(name)
		if err != nil {
			t.Fatalf("Claim %s: %v", name, err)
		}
		if err := Remove(name); err != nil {
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

// TestCreateBesideCleaner races Create against a cleaner that claims and
// removes every name it lists, as CleanOrphans in another contain run
// does with the dead: a name a creator is making must never look
// ownerless to it, so every Create succeeds, and no record is left.
func TestCreateBesideCleaner(t *testing.T) {
	useTempDir(t)
	done := make(chan struct{})
	claimed := make(chan int)
	go func() {
		n := 0
		for {
			select {
			case <-done:
				claimed <- n
				return
			default:
			}
			names, _ := List()
			for _, name := range names {
				if release, err := Claim(name); err == nil {
					n++
					Remove(name)
					release()
				}
			}
		}
	}()
	for i := range 2000 {
		name := fmt.Sprintf("c%d", i)
		o, err := Create(name, map[string]int{"i": i})
		if err != nil {
			t.Fatalf("Create %s beside a cleaner: %v", name, err)
		}
		if err := Remove(name); err != nil {
			t.Fatalf("Remove %s: %v", name, err)
		}
		o.Release()
	}
	close(done)
	t.Logf("the cleaner claimed %d names", <-claimed)
	if names, err := List(); len(names) != 0 || err != nil {
		t.Errorf("List after the race = %v, %v; want nothing", names, err)
	}
}
