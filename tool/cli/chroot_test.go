package cli_test

import (
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/contain-dev/contain/tool/testkit"
)

// TestChrootEscape runs the escape program of chapter 02 under both
// subcommands: a plain chroot lets it out to the host's files, the mount
// namespace and pivot_root of `contain run` keep it in.
func TestChrootEscape(t *testing.T) {
	testkit.RequireRoot(t)
	testkit.CheckHostMounts(t)
	contain := testkit.Contain(t)
	root := testkit.Rootfs(t)
	host := chrootReadFile(t, "/etc/os-release")
	own := chrootReadFile(t, filepath.Join(root, "etc/os-release"))
	if !strings.Contains(host, "Debian") || strings.Contains(own, "Debian") {
		t.Fatalf("want a Debian host and a rootfs that is not: host\n%s\nrootfs\n%s", host, own)
	}

	tests := []struct {
		name   string
		args   []string
		code   int
		stdout string
		stderr string // pattern of the whole stderr, "…" matching any text
	}{
		{"chroot shows the rootfs", []string{"chroot", root, "--", "cat", "/etc/os-release"}, 0, own, ""},
		{"chroot without a command runs the rootfs's sh", []string{"chroot", root}, 0, "", ""},
		{"chroot: escaped", []string{"chroot", root, "--", "escape", "cat", "/etc/os-release"}, 0, host,
			"escape: out of the chroot, running cat in the real root\n"},
		{"run: escape fails", []string{"run", "--rootfs", root, "--", "escape", "cat", "/etc/os-release"}, 1, "",
			"escape: failed: .. stops at this root, there is nothing above it\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := testkit.Run(t, contain, tt.args...)
			if r.Code != tt.code || r.Stdout != tt.stdout || !chrootMatch(tt.stderr, r.Stderr) {
				t.Errorf("contain %v:\n%s\nwant exit %d, stdout %q, stderr %q", tt.args, r, tt.code, tt.stdout, tt.stderr)
			}
			if left := chrootTree(t, filepath.Join(root, "tmp")); len(left) > 1 {
				t.Errorf("left behind in the rootfs's /tmp: %v", left[1:])
			}
		})
	}
}

// TestChrootBadInput checks that contain chroot refuses bad input with one
// line that says what to do, a non-zero status, and no trace: the rootfs
// tree and the host's mounts are as they were.
func TestChrootBadInput(t *testing.T) {
	testkit.RequireRoot(t)
	testkit.CheckHostMounts(t)
	root := testkit.Rootfs(t)
	scratch := t.TempDir()
	file := filepath.Join(scratch, "file")
	if err := os.WriteFile(file, []byte("not a rootfs\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	empty := filepath.Join(scratch, "empty")
	if err := os.Mkdir(empty, 0o755); err != nil {
		t.Fatal(err)
	}
	missing := filepath.Join(scratch, "missing")
	nobody := testkit.WorldExecutable(t, testkit.Contain(t))

	tests := []struct {
		name   string
		args   []string
		nobody bool // run contain as uid and gid 65534
		code   int
		stderr string // the one line, "…" matching any text
	}{
		{"missing dir", []string{"chroot", missing, "--", "true"}, false, 125,
			"contain: rootfs " + missing + " does not exist: …"},
		{"a file, not a dir", []string{"chroot", file, "--", "true"}, false, 125,
			"contain: rootfs " + file + " is not a directory: …"},
		{"command not in the rootfs", []string{"chroot", root, "--", "no-such-command"}, false, 127,
			"contain: no-such-command: not found in the container: …"},
		{"command not executable", []string{"chroot", root, "--", "/etc/os-release"}, false, 126,
			"contain: /etc/os-release: not executable in the container: …"},
		// chroot mounts nothing, so it has no mount points to create: an
		// arbitrary directory must come out of a failed run unchanged.
		{"a dir with no rootfs in it", []string{"chroot", empty, "--", "sh"}, false, 127,
			"contain: sh: not found in the container: …"},
		{"not root", []string{"chroot", root, "--", "true"}, true, 1,
			"contain: chroot needs root …"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			before := chrootTree(t, scratch)
			beforeRoot := chrootTree(t, root)
			var r testkit.Result
			if tt.nobody {
				r = testkit.RunAsNobody(t, nobody, tt.args...)
			} else {
				r = testkit.Run(t, testkit.Contain(t), tt.args...)
			}
			if r.Code != tt.code || r.Stdout != "" || !chrootMatch(tt.stderr+"\n", r.Stderr) {
				t.Errorf("contain %v:\n%s\nwant exit %d, no stdout, one line of stderr %q", tt.args, r, tt.code, tt.stderr)
			}
			if diff := cmp.Diff(before, chrootTree(t, scratch)); diff != "" {
				t.Errorf("contain %v changed %s (-before +after):\n%s", tt.args, scratch, diff)
			}
			if diff := cmp.Diff(beforeRoot, chrootTree(t, root)); diff != "" {
				t.Errorf("contain %v changed the rootfs (-before +after):\n%s", tt.args, diff)
			}
		})
	}
}

// chrootTree lists dir and everything below it, one "path mode" line each.
func chrootTree(t *testing.T, dir string) []string {
	t.Helper()
	var lines []string
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		info, err := d.Info()
		if err != nil {
			return err
		}
		lines = append(lines, p+" "+info.Mode().String())
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return lines
}

func chrootReadFile(t *testing.T, name string) string {
	t.Helper()
	b, err := os.ReadFile(name)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// chrootMatch tells whether got equals the pattern want, where "…" matches
// any text within a line.
func chrootMatch(want, got string) bool {
	parts := strings.Split(want, "…")
	for i := range parts {
		parts[i] = regexp.QuoteMeta(parts[i])
	}
	return regexp.MustCompile("^" + strings.Join(parts, "[^\n]*") + "$").MatchString(got)
}
