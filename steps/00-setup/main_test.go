package main

import (
	"os"
	"os/exec"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/contain-dev/contain/tool/testkit"
)

// sh runs a shell command and returns its output, trimmed.
func sh(t *testing.T, command string) string {
	t.Helper()
	out, err := exec.Command("sh", "-c", command).Output()
	if err != nil {
		t.Fatalf("%s: %v", command, err)
	}
	return strings.TrimSpace(string(out))
}

// TestSetup runs the step and compares each line with what the shell
// tools of the chapter's "By hand" section say about the same host.
func TestSetup(t *testing.T) {
	r := testkit.Run(t, testkit.Bin(t, "./steps/00-setup"))
	if r.Code != 0 || r.Stderr != "" {
		t.Fatalf("setup failed:\n%s", r)
	}

	hasFS := func(name string) string {
		b, err := os.ReadFile("/proc/filesystems")
		if err != nil {
			t.Fatal(err)
		}
		return map[bool]string{true: "true", false: "false"}[strings.Contains(string(b), "\t"+name+"\n")]
	}
	fstype := sh(t, "stat -f -c %T /sys/fs/cgroup")
	v1 := sh(t, "findmnt -rn -t cgroup -o TARGET | wc -l")
	v2 := strings.Join(strings.Fields(sh(t, "findmnt -rn -t cgroup2 -o TARGET")), " ")
	mode := "none"
	switch {
	case fstype == "cgroup2fs":
		mode = "v2"
	case v1 != "0" && v2 != "":
		mode = "hybrid"
	case v1 != "0":
		mode = "v1"
	}
	if v2 == "" {
		v2 = "(none)"
	}
	want := []string{
		"namespaces: " + strings.Join(strings.Fields(sh(t, "ls /proc/self/ns")), " "),
		"overlay: " + hasFS("overlay"),
		"fuse: " + hasFS("fuse"),
		"btrfs: " + hasFS("btrfs"),
		"propagation of /: " + sh(t, "findmnt -no PROPAGATION /"),
		"/sys/fs/cgroup: " + fstype,
		"cgroup v1 mounts: " + v1,
		"cgroup2 mounts: " + v2,
		"cgroup mode: " + mode,
	}
	got := strings.Split(strings.TrimSuffix(r.Stdout, "\n"), "\n")
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
}
