package main

import (
	"fmt"
	"os"
	"strconv"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/contain-dev/contain/tool/testkit"
)

// TestUTS checks that the hostname changes inside, in another UTS
// namespace, and not outside.
func TestUTS(t *testing.T) {
	testkit.RequireRoot(t)
	before, _ := os.Hostname()
	name := fmt.Sprintf("step04-%d", os.Getpid())
	res := testkit.Run(t, testkit.Bin(t, "./steps/04-uts-ipc-time"), "uts", name)
	if res.Code != 0 {
		t.Fatal(res)
	}
	host := testkit.NSInode(t, "self", "uts")
	lines := strings.Split(strings.TrimSpace(res.Stdout), "\n")
	if len(lines) != 2 || !strings.HasPrefix(lines[0], "inside:  hostname "+name+", uts:") || strings.HasSuffix(lines[0], host) {
		t.Errorf("inside line %q, want hostname %s in a namespace other than %s", lines[0], name, host)
	}
	if after, _ := os.Hostname(); after != before {
		t.Errorf("the host's hostname changed from %q to %q", before, after)
	}
}

// TestIPC checks that the segment made inside is seen inside only.
func TestIPC(t *testing.T) {
	testkit.RequireRoot(t)
	res := testkit.Run(t, testkit.Bin(t, "./steps/04-uts-ipc-time"), "ipc")
	if res.Code != 0 {
		t.Fatal(res)
	}
	var got []string
	for _, l := range strings.Split(strings.TrimSpace(res.Stdout), "\n") {
		got = append(got, l[:strings.Index(l, "ipc:")])
	}
	want := []string{
		"inside:  created segment 0; 1 segment(s) with key 0x00000c04, ",
		"outside: 0 segment(s) with key 0x00000c04, ",
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("output (-want +got):\n%s", diff)
	}
}

// TestTime checks that a command in the new time namespace sees
// CLOCK_BOOTTIME (/proc/uptime) at least the offset ahead of ours, and
// that the offset cannot be set once a process is inside.
func TestTime(t *testing.T) {
	testkit.RequireRoot(t)
	step := testkit.Bin(t, "./steps/04-uts-ipc-time")
	const offset = 10 * 365 * 86400 // ten years: no host has been up that long
	res := testkit.Run(t, step, "time", strconv.Itoa(offset), "cat", "/proc/uptime")
	if res.Code != 0 {
		t.Fatal(res)
	}
	lines := strings.Split(strings.TrimSpace(res.Stdout), "\n")
	up, err := strconv.ParseFloat(strings.Fields(lines[len(lines)-1])[0], 64)
	if err != nil || up < offset {
		t.Errorf("uptime inside %q, want at least %d", lines[len(lines)-1], offset)
	}
	res = testkit.Run(t, step, "time-late", "100")
	if want := "write /proc/CHILD/timens_offsets after clone3(CLONE_NEWTIME): write /proc/"; !strings.HasPrefix(res.Stdout, want) || !strings.HasSuffix(res.Stdout, "permission denied\n") {
		t.Errorf("time-late: %s\nwant %q…permission denied", res, want)
	}
}
