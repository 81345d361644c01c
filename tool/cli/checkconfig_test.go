package cli_test

import (
	"bytes"
	"encoding/json"
	"io"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"golang.org/x/sys/unix"

	"github.com/contain-dev/contain/tool/internal/checkconfig"
	"github.com/contain-dev/contain/tool/testkit"
)

// checkconfigJSON runs `contain checkconfig --json` and decodes it.
func checkconfigJSON(t *testing.T) ([]checkconfig.Finding, testkit.Result) {
	t.Helper()
	r := testkit.Run(t, testkit.Contain(t), "checkconfig", "--json")
	var fs []checkconfig.Finding
	if err := json.Unmarshal([]byte(r.Stdout), &fs); err != nil {
		t.Fatalf("decode --json output: %v\n%s", err, r)
	}
	return fs, r
}

// finding returns the finding called name, failing t when there is none.
func finding(t *testing.T, fs []checkconfig.Finding, name string) checkconfig.Finding {
	t.Helper()
	for _, f := range fs {
		if f.Name == name {
			return f
		}
	}
	t.Fatalf("no finding %q in %d findings", name, len(fs))
	return checkconfig.Finding{}
}

// cgroupModeByStatfs finds the cgroup mode another way than checkconfig
// does (it parses mountinfo): by the filesystem types of /sys/fs/cgroup
// and /sys/fs/cgroup/unified, as systemd does.
func cgroupModeByStatfs(t *testing.T) string {
	t.Helper()
	magic := func(path string) int64 {
		var st unix.Statfs_t
		if err := unix.Statfs(path, &st); err != nil {
			return 0
		}
		return st.Type
	}
	switch {
	case magic("/sys/fs/cgroup") == unix.CGROUP2_SUPER_MAGIC:
		return "v2 (unified)"
	case magic("/sys/fs/cgroup/unified") == unix.CGROUP2_SUPER_MAGIC:
		return "hybrid"
	case magic("/sys/fs/cgroup") == unix.TMPFS_MAGIC:
		return "v1"
	}
	return "none"
}

// ownCapEff is this test's effective capability mask; contain, started
// from here, inherits it.
func ownCapEff(t *testing.T) uint64 {
	t.Helper()
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		t.Fatal(err)
	}
	for _, l := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(l, "CapEff:"); ok {
			m, err := strconv.ParseUint(strings.TrimSpace(v), 16, 64)
			if err != nil {
				t.Fatal(err)
			}
			return m
		}
	}
	t.Fatal("no CapEff in /proc/self/status")
	return 0
}

// TestCheckconfigJSON compares the report with what the test reads from
// the host by other means.
func TestCheckconfigJSON(t *testing.T) {
	testkit.RequireRoot(t)
	fs, r := checkconfigJSON(t)

	capEff := ownCapEff(t)
	wantCode := 0
	if capEff&(1<<unix.CAP_SYS_ADMIN) == 0 {
		wantCode = 1 // contain run cannot work, and checkconfig says so
	}
	if r.Code != wantCode {
		t.Errorf("exit status %d, want %d\n%s", r.Code, wantCode, r)
	}

	if got, want := finding(t, fs, "Cgroup mode").Value, cgroupModeByStatfs(t); got != want {
		t.Errorf("Cgroup mode = %q, statfs says %q", got, want)
	}

	// CAP_SYS_RESOURCE is reported missing exactly when this process
	// lacks it (this machine's root does).
	reported := false
	for _, f := range fs {
		reported = reported || f.Name == "CAP_SYS_RESOURCE" && f.Status == checkconfig.Missing
	}
	if lacks := capEff&(1<<unix.CAP_SYS_RESOURCE) == 0; reported != lacks {
		t.Errorf("CAP_SYS_RESOURCE reported missing: %v; CapEff %016x lacks it: %v", reported, capEff, lacks)
	}

	out, err := exec.Command("findmnt", "-no", "PROPAGATION", "/").Output()
	if err != nil {
		t.Fatalf("findmnt: %v", err)
	}
	if got, want := strings.Fields(finding(t, fs, "Propagation of /").Value)[0], strings.TrimSpace(string(out)); got != want {
		t.Errorf("Propagation of / = %q, findmnt says %q", got, want)
	}

	for _, ns := range []string{"mnt", "uts", "ipc", "pid", "net", "user", "cgroup", "time"} {
		want := checkconfig.Finding{Section: checkconfig.SectionNamespaces, Name: ns + " namespace", Status: checkconfig.OK, Value: "enabled",
			Required: ns == "mnt" || ns == "uts" || ns == "ipc" || ns == "pid"}
		if _, err := os.Stat("/proc/self/ns/" + ns); err != nil {
			t.Fatalf("this host lacks the %s namespace: %v", ns, err)
		}
		if diff := cmp.Diff(want, finding(t, fs, ns+" namespace")); diff != "" {
			t.Errorf("(-want +got):\n%s", diff)
		}
	}

	wantFuse := checkconfig.Finding{Section: checkconfig.SectionFilesystems, Name: "/dev/fuse", Status: checkconfig.OK, Value: "character device 10:229"}
	if _, err := os.Stat("/dev/fuse"); err != nil {
		wantFuse.Status, wantFuse.Value = checkconfig.Missing, "missing"
		wantFuse.Hint = "FUSE filesystems cannot be mounted: mknod -m 666 /dev/fuse c 10 229"
	}
	if diff := cmp.Diff(wantFuse, finding(t, fs, "/dev/fuse")); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
}

// openPty returns a pseudo-terminal pair, as posix_openpt(3), unlockpt(3)
// and ptsname(3) make one.
func openPty(t *testing.T) (master, slave *os.File) {
	t.Helper()
	master, err := os.OpenFile("/dev/ptmx", os.O_RDWR|unix.O_NOCTTY, 0)
	if err != nil {
		t.Skipf("no pseudo-terminals here: %v", err)
	}
	t.Cleanup(func() { master.Close() })
	if err := unix.IoctlSetPointerInt(int(master.Fd()), unix.TIOCSPTLCK, 0); err != nil {
		t.Fatal(err)
	}
	n, err := unix.IoctlGetInt(int(master.Fd()), unix.TIOCGPTN)
	if err != nil {
		t.Fatal(err)
	}
	slave, err = os.OpenFile("/dev/pts/"+strconv.Itoa(n), os.O_RDWR|unix.O_NOCTTY, 0)
	if err != nil {
		t.Fatal(err)
	}
	return master, slave
}

// TestCheckconfigColour checks that colours go to a terminal only: never
// into a pipe, and not to a terminal when NO_COLOR is set.
func TestCheckconfigColour(t *testing.T) {
	contain := testkit.Contain(t)
	tests := []struct {
		name       string
		args       []string
		terminal   bool
		env        []string
		wantColour bool
	}{
		{"pipe", []string{"checkconfig"}, false, nil, false},
		{"pipe with --json", []string{"checkconfig", "--json"}, false, nil, false},
		{"terminal", []string{"checkconfig"}, true, nil, true},
		{"terminal with NO_COLOR", []string{"checkconfig"}, true, []string{"NO_COLOR=1"}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cmd := exec.Command(contain, tt.args...)
			cmd.Env = append(os.Environ(), tt.env...)
			var out bytes.Buffer
			if !tt.terminal {
				cmd.Stdout = &out
				cmd.Run() // the exit status is TestCheckconfigJSON's business
			} else {
				master, slave := openPty(t)
				cmd.Stdout = slave
				if err := cmd.Start(); err != nil {
					t.Fatal(err)
				}
				slave.Close()
				// Reading the master ends with EIO once the child, the
				// last holder of the slave, has exited.
				io.Copy(&out, master)
				cmd.Wait()
			}
			if !strings.Contains(out.String(), "--- Namespaces ---") && !strings.Contains(out.String(), `"section"`) {
				t.Fatalf("output is not a report:\n%s", out.String())
			}
			if got := strings.Contains(out.String(), "\033["); got != tt.wantColour {
				t.Errorf("ANSI escapes in output: %v, want %v\n%q", got, tt.wantColour, out.String())
			}
		})
	}
}
