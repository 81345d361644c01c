package cli_test

import (
	"strconv"
	"strings"
	"testing"

	"github.com/contain-dev/contain/tool/testkit"
)

// TestRunTimeOffset checks that the container's CLOCK_BOOTTIME, as
// /proc/uptime shows it, runs the offset ahead of the host's, and that
// its time namespace is not the host's, with and without --init.
func TestRunTimeOffset(t *testing.T) {
	testkit.RequireRoot(t)
	testkit.CheckHostMounts(t)
	rootfs := testkit.Rootfs(t)
	const offset = 10 * 365 * 86400 // more than any host's uptime
	for _, flags := range [][]string{nil, {"--init"}} {
		t.Run(strings.Join(append([]string{"flags"}, flags...), " "), func(t *testing.T) {
			args := append([]string{"run", "--rootfs", rootfs, "--time-offset", "boottime=" + strconv.Itoa(offset)}, flags...)
			res := testkit.Run(t, testkit.Contain(t), append(args, "--", "sh", "-c", "cut -d' ' -f1 /proc/uptime; readlink /proc/self/ns/time")...)
			lines := strings.Split(strings.TrimSpace(res.Stdout), "\n")
			if res.Code != 0 || len(lines) != 2 {
				t.Fatal(res)
			}
			if up, err := strconv.ParseFloat(lines[0], 64); err != nil || up < offset {
				t.Errorf("uptime inside %q, want at least %d", lines[0], offset)
			}
			if lines[1] == testkit.NSInode(t, "self", "time") {
				t.Errorf("time namespace %s is the host's", lines[1])
			}
		})
	}
}

// TestRunTimeBadInput checks that a bad --time-offset is refused before
// anything starts, with one line.
func TestRunTimeBadInput(t *testing.T) {
	testkit.RequireRoot(t)
	rootfs := testkit.Rootfs(t)
	for _, tt := range []struct{ value, want string }{
		{"boottime", `contain: --time-offset: time offset "boottime": write CLOCK=SECONDS, such as boottime=86400 or monotonic=-1h: see 'contain --help'`},
		{"realtime=5", `contain: --time-offset: time offset for unknown clock "realtime": only boottime and monotonic have offsets (time_namespaces(7)): see 'contain --help'`},
	} {
		t.Run(tt.value, func(t *testing.T) {
			res := testkit.Run(t, testkit.Contain(t), "run", "--rootfs", rootfs, "--time-offset", tt.value, "--", "true")
			checkOneLineError(t, res, 2, tt.want)
		})
	}
}
