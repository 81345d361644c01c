package state

import (
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
	if diff := cmp.Diff(c, got); diff != "" {
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
