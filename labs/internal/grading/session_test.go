package grading

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"golang.org/x/sys/unix"

	"github.com/contain-dev/contain/tool/testkit"
)

func TestRepoRoot(t *testing.T) {
	repo := testkit.RepoRoot(t)
	tests := []struct {
		name, dir string
		want      string // "" means an error
	}{
		{"at the root", repo, repo},
		{"in a lab", filepath.Join(repo, "labs", "internal", "grading"), repo},
		{"outside", t.TempDir(), ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Chdir(tt.dir)
			got, err := RepoRoot()
			switch {
			case tt.want == "" && (err == nil || !strings.Contains(err.Error(), "run me from inside the contain repository")):
				t.Errorf("RepoRoot in %s = %q, %v; want the error that says where to run", tt.dir, got, err)
			case tt.want != "" && (err != nil || got != tt.want):
				t.Errorf("RepoRoot in %s = %q, %v; want %q", tt.dir, got, err, tt.want)
			}
		})
	}
}

func TestBuild(t *testing.T) {
	s := &Session{Repo: testkit.RepoRoot(t), Tmp: t.TempDir()}
	tests := []struct {
		name     string
		pkg      string
		solution bool
		want     string // what the program prints; "" means a build error
	}{
		{"starter", "./labs/internal/grading/testdata/hello", false, "starter\n"},
		{"solution", "./labs/internal/grading/testdata/hello", true, "solution\n"},
		{"does not compile", "./labs/internal/grading/testdata/broken", false, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := filepath.Join(s.Tmp, tt.name)
			bins, err := s.Build(dir, tt.solution, tt.pkg)
			if tt.want == "" {
				if err == nil || !strings.HasPrefix(err.Error(), "go build failed: fix the errors below") || !strings.Contains(err.Error(), "main.go") {
					t.Errorf("Build of a broken package: %v, want the compiler's errors", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if len(bins) != 1 || bins[0] != filepath.Join(dir, filepath.Base(tt.pkg)) {
				t.Fatalf("Build returned %q, want [%s/%s]", bins, dir, filepath.Base(tt.pkg))
			}
			out, err := exec.Command(bins[0]).Output()
			if err != nil || string(out) != tt.want {
				t.Errorf("%s printed %q, %v; want %q", bins[0], out, err, tt.want)
			}
		})
	}
}

func TestStretch(t *testing.T) {
	s := &Session{Repo: testkit.RepoRoot(t), Tmp: t.TempDir()}
	tests := []struct {
		name     string
		pkg      string
		solution bool
		want     string // "" means graded
	}{
		{"marker left", "./labs/internal/grading/testdata/stretch", false, "not attempted: delete the line TODO(stretch) in stretch.go when you start it"},
		// The solution's file has no marker, and is graded anyway.
		{"solution", "./labs/internal/grading/testdata/stretch", true, ""},
		{"no marker", "./labs/internal/grading/testdata/hello", false, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := s.Stretch(tt.solution, tt.pkg)
			if err != nil || got != tt.want {
				t.Errorf("Stretch(%v, %s) = %q, %v; want %q", tt.solution, tt.pkg, got, err, tt.want)
			}
		})
	}
	if _, err := s.Stretch(false, "./labs/internal/grading/testdata/nonexistent"); err == nil {
		t.Error("Stretch of a missing package: no error")
	}
}

// TestSession opens a session, and closes it with and without a mount
// below its directory: a mount keeps the directory.
func TestSession(t *testing.T) {
	testkit.RequireRoot(t)
	testkit.CheckHostMounts(t)
	tests := []struct {
		name     string
		mount    bool
		wantKept bool
	}{
		{"nothing mounted", false, false},
		{"a mount below", true, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, err := Start("gradingtest", "for a test")
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { os.RemoveAll(s.Tmp) })
			if !strings.HasPrefix(filepath.Base(s.Tmp), "gradingtest-") || s.Repo != testkit.RepoRoot(t) {
				t.Fatalf("session %+v, want a gradingtest-* directory and the repository", s)
			}
			if tt.mount {
				mnt := filepath.Join(s.Tmp, "mnt")
				if err := os.Mkdir(mnt, 0o755); err != nil {
					t.Fatal(err)
				}
				// Equivalent to: mount -t tmpfs tmpfs $mnt
				if err := unix.Mount("tmpfs", mnt, "tmpfs", 0, ""); err != nil {
					t.Fatal(err)
				}
				t.Cleanup(func() { unix.Unmount(mnt, unix.MNT_DETACH) })
			}
			s.Close()
			_, err = os.Stat(s.Tmp)
			if kept := err == nil; kept != tt.wantKept {
				t.Errorf("after Close, %s kept: %v, want %v", s.Tmp, kept, tt.wantKept)
			}
		})
	}
}
