package state

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"sync"
	"testing"

	"github.com/google/go-cmp/cmp"
	"golang.org/x/sys/unix"
)

// names lists what is in dir, sorted.
func names(t *testing.T, dir string) []string {
	t.Helper()
	ents, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, e := range ents {
		out = append(out, e.Name())
	}
	sort.Strings(out)
	return out
}

// TestWriteFileConcurrent has writers replace one file again and again
// with contents of their own, large enough to take several write(2)s'
// worth of page cache, while readers read it: a reader must only ever see
// one writer's whole content, and nothing may be left beside the file.
func TestWriteFileConcurrent(t *testing.T) {
	tests := []struct {
		name    string
		writers int
	}{
		{"one writer", 1},
		{"writers racing", 4},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			path := filepath.Join(dir, "web.json")
			contents := map[string]bool{}
			var want [][]byte
			for w := range tt.writers {
				b := bytes.Repeat([]byte{byte('a' + w)}, 1<<20)
				want = append(want, b)
				contents[string(b)] = true
			}
			if err := WriteFile(path, want[0], 0o600); err != nil {
				t.Fatal(err)
			}
			var wg sync.WaitGroup
			done := make(chan struct{})
			errs := make(chan error, 100)
			for w := range tt.writers {
				wg.Add(1)
				go func() {
					defer wg.Done()
					for range 50 {
						if err := WriteFile(path, want[w], 0o600); err != nil {
							errs <- err
							return
						}
					}
				}()
			}
			var readers sync.WaitGroup
			for range 4 {
				readers.Add(1)
				go func() {
					defer readers.Done()
					for {
						select {
						case <-done:
							return
						default:
						}
						b, err := os.ReadFile(path)
						if err != nil || !contents[string(b)] {
							errs <- fmt.Errorf("read %d bytes (%v), not one writer's whole content", len(b), err)
							return
						}
					}
				}()
			}
			wg.Wait()
			close(done)
			readers.Wait()
			close(errs)
			for err := range errs {
				t.Error(err)
			}
			if diff := cmp.Diff([]string{"web.json"}, names(t, dir)); diff != "" {
				t.Errorf("left in the directory (-want +got):\n%s", diff)
			}
		})
	}
}

// TestWriteFileFails checks that a WriteFile that fails leaves the
// directory as it was: no temporary file, and the old content.
func TestWriteFileFails(t *testing.T) {
	tests := []struct {
		name  string
		setup func(t *testing.T, dir string) string // returns the path to write
		want  []string                              // the directory afterwards
	}{
		{"no directory", func(t *testing.T, dir string) string {
			return filepath.Join(dir, "gone", "web.json")
		}, nil},
		{"a directory in the way", func(t *testing.T, dir string) string {
			// rename(2) will not replace a non-empty directory (ENOTEMPTY,
			// EEXIST or EISDIR): the new file is made and must go again.
			if err := os.MkdirAll(filepath.Join(dir, "web.json", "x"), 0o755); err != nil {
				t.Fatal(err)
			}
			return filepath.Join(dir, "web.json")
		}, []string{"web.json"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			path := tt.setup(t, dir)
			if err := WriteFile(path, []byte("{}"), 0o600); err == nil {
				t.Fatal("WriteFile: no error")
			}
			if diff := cmp.Diff(tt.want, names(t, dir)); diff != "" {
				t.Errorf("left in the directory (-want +got):\n%s", diff)
			}
		})
	}
}

// TestWriteFileMode checks the mode of a new file and that of a
// replaced one: it is the new file's, as perm and the umask make it.
func TestWriteFileMode(t *testing.T) {
	for _, perm := range []os.FileMode{0o600, 0o644} {
		t.Run(perm.String(), func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "web.json")
			for i := range 2 {
				if err := WriteFile(path, []byte("{}"), perm); err != nil {
					t.Fatal(err)
				}
				st, err := os.Stat(path)
				if err != nil {
					t.Fatal(err)
				}
				if want := perm &^ umask(); st.Mode().Perm() != want {
					t.Errorf("write %d: mode %v, want %v", i, st.Mode().Perm(), want)
				}
			}
		})
	}
}

// umask returns the process's umask: umask(2) can only read it by
// setting it, so it is put back at once.
func umask() os.FileMode {
	old := unix.Umask(0)
	unix.Umask(old)
	return os.FileMode(old)
}

// TestRemoveTemps checks that RemoveTemps takes path's temporary files
// and nothing else: not the file, not the temporary files of a record
// whose name starts like path's.
func TestRemoveTemps(t *testing.T) {
	tests := []struct {
		name  string
		files []string
		want  []string
	}{
		{"none", []string{"web.json"}, []string{"web.json"}},
		{"left by a killed writer", []string{"web.json", ".web.json.tmp123", ".web.json.tmp4294967295"}, []string{"web.json"}},
		{"another record's", []string{".web.json.tmp1.json.tmp5", "web.json.tmp1.json", ".web.json.tmpx"},
			[]string{".web.json.tmp1.json.tmp5", ".web.json.tmpx", "web.json.tmp1.json"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			for _, f := range tt.files {
				if err := os.WriteFile(filepath.Join(dir, f), nil, 0o600); err != nil {
					t.Fatal(err)
				}
			}
			if err := RemoveTemps(filepath.Join(dir, "web.json")); err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tt.want, names(t, dir)); diff != "" {
				t.Errorf("left in the directory (-want +got):\n%s", diff)
			}
		})
	}
	if err := RemoveTemps(filepath.Join(t.TempDir(), "gone", "web.json")); err != nil {
		t.Errorf("RemoveTemps in a missing directory: %v", err)
	}
}
