package workshopcheck

import (
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/contain-dev/contain/tool/testkit"
)

// hostState is what the check's own container could leave on the host:
// its cgroups and its state record, named workshop-check-PID. Not the
// links, firewall tables or ip_forward: in the suite other packages'
// containers make and remove the default network beside this test, so
// they would say nothing about the check.
func hostState(t *testing.T) map[string][]string {
	t.Helper()
	s := map[string][]string{}
	for _, pat := range []string{
		"/sys/fs/cgroup/*/contain/workshop-check-*", "/sys/fs/cgroup/contain/workshop-check-*",
		"/run/contain/workshop-check-*",
	} {
		m, _ := filepath.Glob(pat)
		s["left"] = append(s["left"], m...)
	}
	sort.Strings(s["left"])
	return s
}

// pathWithout makes a directory of links to every program on PATH but the
// ones in drop, plus contain, and returns it, to be used as the only PATH.
// Everyone may search it (t.TempDir is root's alone): the check runs a
// command as nobody.
func pathWithout(t *testing.T, contain string, drop ...string) string {
	t.Helper()
	dir, err := os.MkdirTemp("", "workshop-check-path-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	if err := os.Chmod(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	skip := map[string]bool{"contain": true}
	for _, d := range drop {
		skip[d] = true
	}
	for _, p := range filepath.SplitList(os.Getenv("PATH")) {
		entries, _ := os.ReadDir(p)
		for _, e := range entries {
			link := filepath.Join(dir, e.Name())
			if skip[e.Name()] {
				continue
			}
			if _, err := os.Lstat(link); err == nil {
				continue // an earlier PATH entry wins, as for the shell
			}
			if err := os.Symlink(filepath.Join(p, e.Name()), link); err != nil {
				t.Fatal(err)
			}
		}
	}
	if err := os.Symlink(contain, filepath.Join(dir, "contain")); err != nil {
		t.Fatal(err)
	}
	return dir
}

var summary = regexp.MustCompile(`^workshop check: (all \d+ checks passed|\d+ of \d+ checks failed) in \d+ s$`)

func TestWorkshopCheck(t *testing.T) {
	testkit.RequireRoot(t)
	repo := testkit.RepoRoot(t)
	contain := testkit.Contain(t)
	rootfs := testkit.Rootfs(t)
	// The failing cases leave go out of PATH as well: the build check is
	// then skipped with its own FAIL line, which keeps them quick under
	// the VM stage's emulation, where the build is the slowest check.
	tests := []struct {
		name     string
		drop     []string
		rootfs   string
		code     int
		fails    []string
		wantLast string
	}{
		{name: "ready", rootfs: rootfs, code: 0, wantLast: "passed"},
		{
			name:   "no capsh",
			drop:   []string{"capsh", "go"},
			rootfs: rootfs,
			code:   1,
			fails: []string{
				"FAIL tool capsh  hint: not on PATH: apt-get install libcap2-bin, or run scripts/provision.sh again",
				"FAIL go  hint: no go command: scripts/provision.sh installs Go into /usr/local/go; run it again",
			},
			wantLast: "2 of",
		},
		{
			name:   "no rootfs",
			drop:   []string{"go"},
			rootfs: "/nonexistent/rootfs",
			code:   1,
			fails: []string{
				"FAIL go  hint: no go command: scripts/provision.sh installs Go into /usr/local/go; run it again",
				"FAIL root filesystem /nonexistent/rootfs  hint: no busybox or probe in it: scripts/provision.sh builds it (or sh scripts/mkrootfs.sh /nonexistent/rootfs)",
				"FAIL a container starts  hint: contain run said: …",
			},
			wantLast: "3 of",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			testkit.CheckHostMounts(t)
			before := hostState(t)
			env := []string{"CONTAIN_ROOTFS=" + tt.rootfs, "PATH=" + pathWithout(t, contain, tt.drop...)}
			res := testkit.RunIn(t, repo, env, "bash", "scripts/workshop-check.sh")
			if res.Code != tt.code {
				t.Errorf("exit status %d, want %d\n%s", res.Code, tt.code, res)
			}
			lines := strings.Split(strings.TrimSpace(res.Stdout), "\n")
			var fails []string
			for _, l := range lines {
				if strings.HasPrefix(l, "FAIL a container starts  hint: contain run said: ") {
					l = "FAIL a container starts  hint: contain run said: …"
				}
				if strings.HasPrefix(l, "FAIL") {
					fails = append(fails, l)
				}
			}
			if diff := cmp.Diff(tt.fails, fails); diff != "" {
				t.Errorf("FAIL lines (-want +got):\n%s\noutput:\n%s", diff, res)
			}
			last := lines[len(lines)-1]
			if !summary.MatchString(last) || !strings.Contains(last, tt.wantLast) {
				t.Errorf("last line %q, want the summary with %q", last, tt.wantLast)
			}
			if diff := cmp.Diff(before, hostState(t)); diff != "" {
				t.Errorf("the check changed the host (-before +after):\n%s", diff)
			}
		})
	}
}
