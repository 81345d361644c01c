package docscheck

import (
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/contain-dev/contain/tool/testkit"
)

// docs lists the Markdown files the checks cover.
func docs(t *testing.T, root string) []string {
	t.Helper()
	files := []string{"README.md"}
	for _, pat := range []string{"chapters/*.md", "labs/*.md", "labs/*/README.md", "bench/README.md"} {
		m, err := filepath.Glob(filepath.Join(root, pat))
		if err != nil {
			t.Fatal(err)
		}
		for _, f := range m {
			rel, _ := filepath.Rel(root, f)
			files = append(files, rel)
		}
	}
	return files
}

func read(t *testing.T, root, file string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(root, file))
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// TestExcerpts checks that every code excerpt equals its source.
func TestExcerpts(t *testing.T) {
	root := testkit.RepoRoot(t)
	for _, f := range docs(t, root) {
		blocks, err := ParseBlocks(f, read(t, root, f))
		if err != nil {
			t.Error(err)
			continue
		}
		for _, err := range CheckExcerpts(root, blocks) {
			t.Error(err)
		}
	}
}

// TestLinksAndLineNumbers checks relative links, line-number mentions and
// references to chapters by number.
func TestLinksAndLineNumbers(t *testing.T) {
	root := testkit.RepoRoot(t)
	for _, f := range docs(t, root) {
		for _, err := range CheckText(root, f, read(t, root, f)) {
			t.Error(err)
		}
	}
}

// TestTranscripts runs every <!-- run --> block, file by file, as root,
// with a freshly built contain first on PATH, and checks that the host's
// mount table is the same afterwards.
func TestTranscripts(t *testing.T) {
	root := testkit.RepoRoot(t)
	for _, f := range docs(t, root) {
		blocks, err := ParseBlocks(f, read(t, root, f))
		if err != nil {
			t.Fatal(err)
		}
		var steps []Step
		for i := range blocks {
			b := &blocks[i]
			if b.Info != "console" {
				continue
			}
			run, why, err := Runs(b.Marker, Conditions)
			if err != nil {
				t.Errorf("%s:%d: %v", b.File, b.Line, err)
				continue
			}
			if !run {
				if strings.HasPrefix(b.Marker, "run:") {
					t.Logf("%s:%d: not run here: %s", b.File, b.Line, why)
				}
				continue
			}
			s, err := ParseTranscript(b)
			if err != nil {
				t.Error(err)
				continue
			}
			steps = append(steps, s...)
		}
		if len(steps) == 0 {
			continue
		}
		t.Run(strings.ReplaceAll(f, "/", "_"), func(t *testing.T) {
			testkit.RequireRoot(t)
			testkit.CheckHostMounts(t)
			// The chapters say "contain"; make that the binary of this
			// tree, not whatever an earlier provision.sh installed.
			link := filepath.Join(t.TempDir(), "bin")
			if err := os.Mkdir(link, 0o755); err != nil {
				t.Fatal(err)
			}
			if err := os.Symlink(testkit.Contain(t), filepath.Join(link, "contain")); err != nil {
				t.Fatal(err)
			}
			env := append(os.Environ(), "PATH="+link+":"+os.Getenv("PATH"), "TERM=dumb", "LC_ALL=C")
			// Each file starts from a host that contain has nothing on,
			// as a reader's is after the previous chapter's Undo, and
			// must leave it so: its last transcript is its Undo.
			if r := testkit.Run(t, filepath.Join(link, "contain"), "reset"); r.Code != 0 {
				t.Fatalf("contain reset before %s: %s", f, r)
			}
			before := undoState(t)
			completed := false
			defer func() {
				if !completed {
					return // a command could not run: the Undo did not either
				}
				if diff := cmp.Diff(before, undoState(t)); diff != "" {
					t.Errorf("%s: after its Undo the host differs from before the file (-before +after): its Undo misses what the + lines show, or removes what the - lines show:\n%s", f, diff)
				}
			}()
			sess, err := NewSession(root, env, 10*time.Minute)
			if err != nil {
				t.Fatal(err)
			}
			defer sess.Close()
			for _, s := range steps {
				began := time.Now()
				got, code, err := sess.Run(s.Command)
				// The slow commands, for the suite's time budget (seen
				// with go test -v, as the VM stage runs it).
				if d := time.Since(began); d > slowCommand {
					t.Logf("%s:%d: # %s: took %.1fs", s.Block.File, s.Block.Line, firstLine(s.Command), d.Seconds())
				}
				if err != nil {
					t.Fatalf("%s:%d: # %s: %v\n%s", s.Block.File, s.Block.Line, s.Command, err, strings.Join(got, "\n"))
				}
				if !Match(s.Want, got) {
					t.Errorf("%s:%d: # %s\noutput differs (-chapter +actual):\n%s", s.Block.File, s.Block.Line, s.Command, cmp.Diff(s.Want, got))
				}
				if code != s.Exit {
					t.Errorf("%s:%d: # %s\nexit status %d, the chapter says %d\n%s", s.Block.File, s.Block.Line, s.Command, code, s.Exit, strings.Join(got, "\n"))
				}
			}
			completed = true
		})
	}
}

// undoState is what a chapter's transcripts could leave on the host
// besides mounts (testkit.CheckHostMounts compares those): the network
// links, the nftables ruleset, net.ipv4.ip_forward, and the cgroups under
// contain/ in every hierarchy, the contain/ directories included. The
// transcripts run alone (scripts/test.sh runs this package after the
// others), so no other test's links or rules come and go meanwhile.
func undoState(t *testing.T) map[string][]string {
	t.Helper()
	s := map[string][]string{}
	links, err := os.ReadDir("/sys/class/net")
	if err != nil {
		t.Fatal(err)
	}
	for _, l := range links {
		s["links"] = append(s["links"], l.Name())
	}
	// -s (stateless): without the counters, which count the packets of
	// everything on the host and are no state an Undo must restore.
	if out, err := exec.Command("nft", "-s", "list", "ruleset").CombinedOutput(); err != nil {
		t.Fatalf("nft -s list ruleset: %v\n%s", err, out)
	} else {
		s["nft ruleset"] = strings.Split(strings.TrimSpace(string(out)), "\n")
	}
	b, err := os.ReadFile("/proc/sys/net/ipv4/ip_forward")
	if err != nil {
		t.Fatal(err)
	}
	s["ip_forward"] = []string{strings.TrimSpace(string(b))}
	for _, pat := range []string{"/sys/fs/cgroup/*/contain", "/sys/fs/cgroup/*/contain/*", "/sys/fs/cgroup/contain", "/sys/fs/cgroup/contain/*"} {
		m, _ := filepath.Glob(pat)
		for _, d := range m {
			if st, err := os.Stat(d); err == nil && st.IsDir() {
				s["cgroups"] = append(s["cgroups"], d)
			}
		}
	}
	sort.Strings(s["cgroups"])
	return s
}

// slowCommand is how long a transcript's command may take before
// TestTranscripts names it in its log.
const slowCommand = 2 * time.Second

// firstLine is a command's first line, to name it in a log.
func firstLine(command string) string {
	first, _, _ := strings.Cut(command, "\n")
	return first
}

func TestMatch(t *testing.T) {
	tests := []struct {
		name      string
		want, got []string
		ok        bool
	}{
		{"exact", []string{"a", "b"}, []string{"a", "b"}, true},
		{"extra line", []string{"a"}, []string{"a", "b"}, false},
		{"dots any lines", []string{"a", "...", "z"}, []string{"a", "b", "c", "z"}, true},
		{"dots no lines", []string{"a", "...", "z"}, []string{"a", "z"}, true},
		{"ellipsis in line", []string{"mnt:[…]"}, []string{"mnt:[4026531841]"}, true},
		{"ellipsis keeps the rest literal", []string{"pid:[…] x"}, []string{"pid:[12] y"}, false},
		{"regexp chars are literal", []string{"a.c"}, []string{"abc"}, false},
		{"measurement", []string{"CPU %: ≈49.9% (sys ≈0.8%, over 2s)"}, []string{"CPU %: 50.11% (sys 12%, over 2s)"}, true},
		{"measurement is a number", []string{"use: ≈1.50 seconds"}, []string{"use: many seconds"}, false},
		{"measurement keeps the rest literal", []string{"≈49.9% over 2s"}, []string{"50.1% over 3s"}, false},
		{"measurement and ellipsis", []string{"PID ≈12 …"}, []string{"PID 7 (sh)"}, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := Match(tt.want, tt.got); got != tt.ok {
				t.Errorf("Match(%q, %q) = %v, want %v", tt.want, tt.got, got, tt.ok)
			}
		})
	}
}

func TestRuns(t *testing.T) {
	conds := map[string]func() bool{"yes": func() bool { return true }, "no": func() bool { return false }}
	tests := []struct {
		marker string
		run    bool
		why    string
		err    bool
	}{
		{"run", true, "", false},
		{"norun: needs a VM", false, "needs a VM", false},
		{"run: yes", true, "", false},
		{"run: no", false, "only on no", false},
		{"run: maybe", false, "", true},
		{"", false, "", true},
		{"code: a.go#F", false, "", true},
	}
	for _, tt := range tests {
		t.Run(tt.marker, func(t *testing.T) {
			run, why, err := Runs(tt.marker, conds)
			if (err != nil) != tt.err {
				t.Fatalf("Runs(%q) error = %v, want error %v", tt.marker, err, tt.err)
			}
			if diff := cmp.Diff([]any{tt.run, tt.why}, []any{run, why}); diff != "" {
				t.Errorf("Runs(%q) (-want +got):\n%s", tt.marker, diff)
			}
		})
	}
}

// TestParseBlocks checks that a block inside a list item, indented like
// the item's text, is found with its marker and without its indentation
// (such blocks once went unrun).
func TestParseBlocks(t *testing.T) {
	text := "1. **Break it.** Run:\n\n   <!-- run -->\n   ```console\n   # false\n   [1]\n   ```\n\n```text\nplain\n```\n"
	got, err := ParseBlocks("x.md", text)
	if err != nil {
		t.Fatal(err)
	}
	want := []Block{
		{File: "x.md", Line: 4, Info: "console", Body: "# false\n[1]\n", Marker: "run"},
		{File: "x.md", Line: 9, Info: "text", Body: "plain\n"},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("ParseBlocks (-want +got):\n%s", diff)
	}
}

func TestParseTranscript(t *testing.T) {
	b := &Block{File: "x.md", Body: "# echo a \\\n> b\na b\n# false\n[1]\n"}
	got, err := ParseTranscript(b)
	if err != nil {
		t.Fatal(err)
	}
	want := []Step{
		{Block: b, Command: "echo a \\\nb", Want: []string{"a b"}},
		{Block: b, Command: "false", Exit: 1},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("ParseTranscript (-want +got):\n%s", diff)
	}
}

func TestSource(t *testing.T) {
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "a.go"), []byte("package a\n\n// F does.\nfunc F() {\n\t// excerpt: inner\n\tx := 1\n\t_ = x\n\t// end excerpt\n}\n\ntype T struct{}\n\n// M is.\nfunc (t *T) M() {}\n"), 0o644)
	os.WriteFile(filepath.Join(dir, "s.sh"), []byte("a\n# excerpt: part\nb\n# end excerpt\nc\n"), 0o644)
	tests := []struct{ ref, want string }{
		{"a.go#F", "// F does.\nfunc F() {\n\t// excerpt: inner\n\tx := 1\n\t_ = x\n\t// end excerpt\n}\n"},
		{"a.go#T.M", "// M is.\nfunc (t *T) M() {}\n"},
		{"a.go#T", "type T struct{}\n"},
		{"a.go#inner", "x := 1\n_ = x\n"},
		{"s.sh#part", "b\n"},
		{"s.sh", "a\n# excerpt: part\nb\n# end excerpt\nc\n"},
	}
	for _, tt := range tests {
		got, err := Source(dir, tt.ref)
		if err != nil {
			t.Errorf("Source(%s): %v", tt.ref, err)
			continue
		}
		if diff := cmp.Diff(tt.want, got); diff != "" {
			t.Errorf("Source(%s) (-want +got):\n%s", tt.ref, diff)
		}
	}
	if _, err := Source(dir, "a.go#Missing"); err == nil {
		t.Error("Source(a.go#Missing) succeeded, want an error")
	}
}

func TestCheckText(t *testing.T) {
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "b.md"), []byte("# Hello `there` world\n"), 0o644)
	os.Mkdir(filepath.Join(dir, "chapters"), 0o755)
	for _, c := range []string{"03-mounts.md", "04-uts.md", "07-cgroups.md"} {
		os.WriteFile(filepath.Join(dir, "chapters", c), []byte("# x\n"), 0o644)
	}
	tests := []struct {
		text string
		errs int
	}{
		{"[ok](b.md)", 0},
		{"[ok](b.md#hello-there-world)", 0},
		{"[bad anchor](b.md#nope)", 1},
		{"[missing](c.md)", 1},
		{"[web](https://example.org/x)", 0},
		{"see line 42", 1},
		{"in main.go:42", 1},
		{"```\nline 42 in a block is fine\n```\n", 0},
		{"as chapter 03 showed", 0},
		{"Chapters 04 and 07 do", 0},
		{"`contain reset` (chapter 12)", 1},
		{"chapters 03, 04 and 12", 1},
		{"chapters 04–09", 1},
		{"chapter\n12 across a line break", 1},
		{"chapter 9", 1},
		{"the devices chapter, still to come", 0},
		{"```\nchapter 12 in a tool's output counts too\n```\n", 1},
	}
	for _, tt := range tests {
		if got := CheckText(dir, "a.md", tt.text); len(got) != tt.errs {
			t.Errorf("CheckText(%q) = %v, want %d errors", tt.text, got, tt.errs)
		}
	}
}
