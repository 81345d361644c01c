package grading

import (
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/contain-dev/contain/tool/testkit"
)

// Grader describes a lab's grader to its TestGrade.
type Grader struct {
	// Pkg is the grader's package, as "./labs/04-uts-ipc-time/grade".
	Pkg string
	// Checks are the names of its checks, in order (see Names), or nil
	// for a grader whose report is not one line per check.
	Checks []string
	// Parallel runs the cases at once; not for a grader that creates
	// things with fixed names on the host.
	Parallel bool
	// After, when not nil, runs after each case, to check that the
	// grader left nothing behind.
	After func(t *testing.T)
}

// Case is one run of a grader: its arguments, the exit status it must
// return and what it must print.
type Case struct {
	// Name names the subtest: "starter", "solution".
	Name string
	// Args are the grader's arguments: none, or -solution.
	Args []string
	// Code is the exit status: 1 for a starter, 0 for a solution.
	Code int
	Want Want
}

// Test is the body of a lab's TestGrade, the lab's proof: it builds the
// grader and runs it from the repository's root once per case, as root,
// and checks its exit status and its report (see CheckOutput).
func (g Grader) Test(t *testing.T, cases ...Case) {
	t.Helper()
	testkit.RequireRoot(t)
	grade := testkit.Bin(t, g.Pkg)
	repo := testkit.RepoRoot(t)
	for _, c := range cases {
		t.Run(c.Name, func(t *testing.T) {
			if g.Parallel {
				t.Parallel()
			}
			r := testkit.RunIn(t, repo, nil, grade, c.Args...)
			if r.Code != c.Code {
				t.Errorf("exit status %d, want %d\n%s", r.Code, c.Code, r)
			}
			CheckOutput(t, g.Checks, r.Stdout, c.Want)
			if g.After != nil {
				g.After(t)
			}
		})
	}
}

// Want is what a grade run should print.
type Want struct {
	// OK lists the checks that pass, by name, in order, stretch goals
	// included.
	OK []string
	// Skipped lists the stretch goals reported as not graded (SKIP).
	Skipped []string
	// Maybe lists the checks that may pass or fail, depending on the
	// host: they are left out when comparing with OK.
	Maybe []string
	// Score is the last line, "Score: n/m"; "" takes whatever score the
	// check lines add up to.
	Score string
	// Hints must each appear in the output. With none, no line may have
	// a hint.
	Hints []string
}

// CheckOutput compares a grader's standard output with w: with names,
// one line per check, "OK   n/n  NAME" or "FAIL 0/n  NAME  hint: ..."
// (for a stretch goal "OK   stretch  NAME", "FAIL stretch  NAME  hint:
// ..." or "SKIP stretch  NAME  (...)"), in the order of names, and a score
// line that adds up the required ones; then the score line and the hints.
func CheckOutput(t testing.TB, names []string, stdout string, w Want) {
	t.Helper()
	lines := strings.Split(strings.TrimSuffix(stdout, "\n"), "\n")
	last := lines[len(lines)-1]
	if names != nil {
		if len(lines) != len(names)+1 {
			t.Fatalf("got %d lines, want one per check and the score\n%s", len(lines), stdout)
		}
		var gotOK, gotSkipped []string
		score, total := 0, 0
		for i, name := range names {
			var got, points int
			switch {
			case !strings.Contains(lines[i], "  "+name):
				t.Errorf("line %q does not name check %q", lines[i], name)
			case strings.HasPrefix(lines[i], stretchOK):
				gotOK = append(gotOK, name)
			case strings.HasPrefix(lines[i], stretchFail):
			case strings.HasPrefix(lines[i], stretchSkip):
				gotSkipped = append(gotSkipped, name)
			case scan(lines[i], "OK   %d/%d  ", &got, &points) && got == points:
				if !slices.Contains(w.Maybe, name) {
					gotOK = append(gotOK, name)
				}
			case scan(lines[i], "FAIL %d/%d  ", &got, &points) && got == 0:
			default:
				t.Errorf("line %q is neither OK n/n, FAIL 0/n nor a stretch goal's line", lines[i])
			}
			score, total = score+got, total+points
		}
		wantOK := slices.DeleteFunc(slices.Clone(w.OK), func(n string) bool { return slices.Contains(w.Maybe, n) })
		if diff := cmp.Diff(wantOK, gotOK); diff != "" {
			t.Errorf("checks that pass (-want +got):\n%s\n%s", diff, stdout)
		}
		if diff := cmp.Diff(w.Skipped, gotSkipped); diff != "" {
			t.Errorf("stretch goals skipped (-want +got):\n%s\n%s", diff, stdout)
		}
		if sum := fmt.Sprintf("Score: %d/%d", score, total); last != sum {
			t.Errorf("last line %q, but the checks add up to %q", last, sum)
		}
	}
	if w.Score != "" && last != w.Score {
		t.Errorf("last line %q, want %q", last, w.Score)
	}
	for _, h := range w.Hints {
		if !strings.Contains(stdout, h) {
			t.Errorf("no hint %q in\n%s", h, stdout)
		}
	}
	if w.Hints == nil && strings.Contains(stdout, "hint:") {
		t.Errorf("a hint with every check passing:\n%s", stdout)
	}
}

// scan tells whether line starts with format's fields, parsing them into
// args.
func scan(line, format string, args ...any) bool {
	n, err := fmt.Sscanf(line, format, args...)
	return err == nil && n == len(args)
}

// CheckHint fails t unless a check's hint contains want or, with want "",
// unless the check passed: the hint is "".
func CheckHint(t testing.TB, hint, want string) {
	t.Helper()
	if want == "" && hint != "" || !strings.Contains(hint, want) {
		t.Errorf("hint %q, want one containing %q", hint, want)
	}
}
