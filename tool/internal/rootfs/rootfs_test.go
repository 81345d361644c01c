package rootfs

import (
	"errors"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// tree lists what is below dir, one "path type" line each, sorted, so that
// a test can see what Validate created or left alone.
func tree(t *testing.T, dir string) []string {
	t.Helper()
	var out []string
	err := filepath.Walk(dir, func(p string, fi os.FileInfo, err error) error {
		if err != nil || p == dir {
			return err
		}
		rel, _ := filepath.Rel(dir, p)
		kind := "file"
		switch {
		case fi.Mode()&os.ModeSymlink != 0:
			kind = "symlink"
		case fi.IsDir():
			kind = "dir " + fi.Mode().Perm().String()
		}
		out = append(out, rel+" "+kind)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	sort.Strings(out)
	return out
}

// TestValidate checks each kind of rootfs that Validate accepts or refuses,
// and what it leaves in the directory. It needs no root.
func TestValidate(t *testing.T) {
	tests := []struct {
		name  string
		setup func(t *testing.T, dir string) string // returns the argument
		// err is the whole error message, {dir} standing for the argument, or ""
		// when Validate must accept it.
		err  string
		kind error    // what errors.Is finds in the error, for a *DirError
		want []string // the tree afterwards
	}{
		{
			name: "complete",
			setup: func(t *testing.T, dir string) string {
				mkdirs(t, dir, "proc", "dev", "sys", "bin")
				return dir
			},
			want: []string{"bin dir -rwxr-xr-x", "dev dir -rwxr-xr-x", "proc dir -rwxr-xr-x", "sys dir -rwxr-xr-x"},
		},
		{
			name: "missing mount points are created",
			setup: func(t *testing.T, dir string) string {
				mkdirs(t, dir, "bin")
				return dir
			},
			want: []string{"bin dir -rwxr-xr-x", "dev dir -rwxr-xr-x", "proc dir -rwxr-xr-x", "sys dir -rwxr-xr-x"},
		},
		{
			name:  "empty",
			setup: func(t *testing.T, dir string) string { return "" },
			err:   "no rootfs given",
			kind:  ErrNoDir,
		},
		{
			name:  "missing",
			setup: func(t *testing.T, dir string) string { return filepath.Join(dir, "nothing-here") },
			err:   "rootfs {dir} does not exist",
			kind:  ErrMissing,
		},
		{
			name: "a file",
			setup: func(t *testing.T, dir string) string {
				p := filepath.Join(dir, "rootfs.tar")
				if err := os.WriteFile(p, nil, 0o644); err != nil {
					t.Fatal(err)
				}
				return p
			},
			err:  "rootfs {dir} is not a directory",
			kind: ErrNotDir,
			want: []string{"rootfs.tar file"},
		},
		{
			name:  "the host's root",
			setup: func(t *testing.T, dir string) string { return "/" },
			err:   "rootfs / is the host's own root",
			kind:  ErrHostRoot,
		},
		{
			name:  "the host's root, spelled otherwise",
			setup: func(t *testing.T, dir string) string { return "/usr/.." },
			err:   "rootfs / is the host's own root",
			kind:  ErrHostRoot,
		},
		{
			name: "mount point is a regular file",
			setup: func(t *testing.T, dir string) string {
				mkdirs(t, dir, "proc", "dev", "sys")
				os.Remove(filepath.Join(dir, "sys"))
				if err := os.WriteFile(filepath.Join(dir, "sys"), nil, 0o644); err != nil {
					t.Fatal(err)
				}
				return dir
			},
			err:  "rootfs {dir}: /sys is not a directory: replace it with one (mkdir {dir}/sys)",
			want: []string{"dev dir -rwxr-xr-x", "proc dir -rwxr-xr-x", "sys file"},
		},
	}
	// A symlinked mount point, one case each: the mount would follow the
	// link, here to a directory outside the rootfs.
	for _, name := range MountPoints {
		tests = append(tests, struct {
			name  string
			setup func(t *testing.T, dir string) string
			err   string
			kind  error
			want  []string
		}{
			name: "symlinked " + name,
			setup: func(t *testing.T, dir string) string {
				mkdirs(t, dir, "proc", "dev", "sys", "elsewhere")
				os.Remove(filepath.Join(dir, name))
				if err := os.Symlink(filepath.Join(dir, "elsewhere"), filepath.Join(dir, name)); err != nil {
					t.Fatal(err)
				}
				return dir
			},
			err:  "rootfs {dir}: /" + name + " is a symlink, which could aim the mount at the host: replace it with a directory (rm {dir}/" + name + " && mkdir {dir}/" + name + ")",
			want: symlinkTree(name),
		})
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			arg := tt.setup(t, dir)
			got, err := Validate(arg)
			if tt.err != "" {
				want := strings.ReplaceAll(tt.err, "{dir}", arg)
				if err == nil {
					t.Fatalf("Validate(%q) = %q, want error %q", arg, got, want)
				}
				if diff := cmp.Diff(want, err.Error()); diff != "" {
					t.Errorf("Validate(%q) error (-want +got):\n%s", arg, diff)
				}
				if tt.kind != nil && !errors.Is(err, tt.kind) {
					t.Errorf("Validate(%q) error %v is not %v", arg, err, tt.kind)
				}
			} else {
				if err != nil {
					t.Fatalf("Validate(%q): %v", arg, err)
				}
				if got != dir {
					t.Errorf("Validate(%q) = %q, want %q", arg, got, dir)
				}
			}
			if diff := cmp.Diff(tt.want, tree(t, dir)); diff != "" {
				t.Errorf("directory afterwards (-want +got):\n%s", diff)
			}
		})
	}
}

// TestValidateRelative checks that a relative rootfs comes back absolute,
// because the init stage uses it after changing directory.
func TestValidateRelative(t *testing.T) {
	dir := t.TempDir()
	t.Chdir(dir)
	mkdirs(t, dir, "r")
	got, err := Validate("r")
	if err != nil {
		t.Fatal(err)
	}
	if want := filepath.Join(dir, "r"); got != want {
		t.Errorf("Validate(%q) = %q, want %q", "r", got, want)
	}
}

func mkdirs(t *testing.T, dir string, names ...string) {
	t.Helper()
	for _, n := range names {
		if err := os.Mkdir(filepath.Join(dir, n), 0o755); err != nil {
			t.Fatal(err)
		}
	}
}

// symlinkTree is the tree the symlink cases leave: untouched.
func symlinkTree(link string) []string {
	var out []string
	for _, n := range []string{"dev", "elsewhere", "proc", "sys"} {
		if n == link {
			out = append(out, n+" symlink")
		} else {
			out = append(out, n+" dir -rwxr-xr-x")
		}
	}
	return out
}
