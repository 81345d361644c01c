package grading

import (
	"bytes"
	"fmt"
	"runtime"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// obs stands for a lab's observation in these tests: the hint each check
// returns, by name.
type obs map[string]string

// hinted is a check that returns o's hint for its name.
func hinted(name string, points int) Check[obs] {
	return Check[obs]{Name: name, Points: points, Run: func(o obs) string { return o[name] }}
}

// stretch is a stretch goal that returns o's hint for its name, skipped
// when o has a hint for "skip".
func stretch(name string) Check[obs] {
	return Check[obs]{Name: name, Stretch: true, Skip: func(o obs) string { return o["skip"] }, Run: func(o obs) string { return o[name] }}
}

func TestReport(t *testing.T) {
	checks := []Check[obs]{hinted("runs", 1), hinted("maps", 2), hinted("file", 3), stretch("ranges")}
	tests := []struct {
		name       string
		o          obs
		want       string
		wantTally  Tally
		wantStatus int
	}{{
		name: "all pass",
		o:    obs{},
		want: "OK   1/1  runs\nOK   2/2  maps\nOK   3/3  file\nOK   stretch  ranges\nScore: 6/6\n",
		// The full score is the only one that exits 0.
		wantTally: Tally{Score: 6, Total: 6}, wantStatus: 0,
	}, {
		name:      "one fails",
		o:         obs{"maps": "write it"},
		want:      "OK   1/1  runs\nFAIL 0/2  maps  hint: write it\nOK   3/3  file\nOK   stretch  ranges\nScore: 4/6\n",
		wantTally: Tally{Score: 4, Total: 6}, wantStatus: 1,
	}, {
		name:      "all fail",
		o:         obs{"runs": "a", "maps": "b", "file": "c", "ranges": "d"},
		want:      "FAIL 0/1  runs  hint: a\nFAIL 0/2  maps  hint: b\nFAIL 0/3  file  hint: c\nFAIL stretch  ranges  hint: d\nScore: 0/6\n",
		wantTally: Tally{Score: 0, Total: 6, StretchFailed: true}, wantStatus: 1,
	}, {
		// A stretch goal not attempted is no failure: full score, 0.
		name:      "stretch skipped",
		o:         obs{"skip": "not attempted: delete the line", "ranges": "never run"},
		want:      "OK   1/1  runs\nOK   2/2  maps\nOK   3/3  file\nSKIP stretch  ranges  (not attempted: delete the line)\nScore: 6/6\n",
		wantTally: Tally{Score: 6, Total: 6}, wantStatus: 0,
	}, {
		// One attempted and failing is: the full score exits 1.
		name:      "stretch fails",
		o:         obs{"ranges": "map more"},
		want:      "OK   1/1  runs\nOK   2/2  maps\nOK   3/3  file\nFAIL stretch  ranges  hint: map more\nScore: 6/6\n",
		wantTally: Tally{Score: 6, Total: 6, StretchFailed: true}, wantStatus: 1,
	}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var b bytes.Buffer
			tally := Report(&b, checks, tt.o)
			if diff := cmp.Diff(tt.want, b.String()); diff != "" {
				t.Errorf("report (-want +got):\n%s", diff)
			}
			if tally != tt.wantTally {
				t.Errorf("tally %+v, want %+v", tally, tt.wantTally)
			}
			if got := tally.Status(); got != tt.wantStatus {
				t.Errorf("%+v.Status() = %d, want %d", tally, got, tt.wantStatus)
			}
		})
	}
	if diff := cmp.Diff([]string{"runs", "maps", "file", "ranges"}, Names(checks)); diff != "" {
		t.Errorf("Names (-want +got):\n%s", diff)
	}
}

func TestFirstLine(t *testing.T) {
	tests := []struct{ in, want string }{
		{"", ""},
		{"one", "one"},
		{"\n\n  container: failed \nusage: ...\n", "container: failed"},
		{"a\nb", "a"},
	}
	for _, tt := range tests {
		if got := FirstLine(tt.in); got != tt.want {
			t.Errorf("FirstLine(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

// recorder is a testing.TB that keeps the failures it is told of, so
// that the checking functions can be checked; Fatalf ends the goroutine,
// as it does in a test.
type recorder struct {
	testing.TB
	failures []string
}

func (r *recorder) Helper() {}

func (r *recorder) Errorf(format string, args ...any) {
	r.failures = append(r.failures, fmt.Sprintf(format, args...))
}

func (r *recorder) Fatalf(format string, args ...any) {
	r.Errorf(format, args...)
	runtime.Goexit()
}

// record runs f with a recorder, in a goroutine of its own for Fatalf,
// and returns the failures.
func record(f func(t testing.TB)) []string {
	r := &recorder{}
	done := make(chan struct{})
	go func() {
		defer close(done)
		f(r)
	}()
	<-done
	return r.failures
}

func TestCheckOutput(t *testing.T) {
	names := []string{"runs", "maps", "forward"}
	const starter = "OK   1/1  runs\nFAIL 0/2  maps  hint: write it\nFAIL 0/1  forward  hint: sysctl\nScore: 1/4\n"
	tests := []struct {
		name   string
		names  []string
		stdout string
		want   Want
		// wantFailures are parts of the failures expected, one each.
		wantFailures []string
	}{{
		name:   "starter as expected",
		names:  names,
		stdout: starter,
		want:   Want{OK: []string{"runs"}, Score: "Score: 1/4", Hints: []string{"write it"}},
	}, {
		name:   "solution as expected",
		names:  names,
		stdout: "OK   1/1  runs\nOK   2/2  maps\nOK   1/1  forward\nScore: 4/4\n",
		want:   Want{OK: names, Score: "Score: 4/4"},
	}, {
		name:         "other checks pass",
		names:        names,
		stdout:       starter,
		want:         Want{OK: []string{"runs", "maps"}, Score: "Score: 1/4", Hints: []string{"write it"}},
		wantFailures: []string{"checks that pass (-want +got)"},
	}, {
		name:   "maybe passes",
		names:  names,
		stdout: strings.NewReplacer("FAIL 0/1  forward  hint: sysctl", "OK   1/1  forward", "Score: 1/4", "Score: 2/4").Replace(starter),
		want:   Want{OK: []string{"runs"}, Maybe: []string{"forward"}, Hints: []string{"write it"}},
	}, {
		name:   "maybe fails",
		names:  names,
		stdout: starter,
		want:   Want{OK: []string{"runs", "forward"}, Maybe: []string{"forward"}, Hints: []string{"write it"}},
	}, {
		name:         "score does not add up",
		names:        names,
		stdout:       strings.Replace(starter, "Score: 1/4", "Score: 2/4", 1),
		want:         Want{OK: []string{"runs"}, Hints: []string{"write it"}},
		wantFailures: []string{`last line "Score: 2/4", but the checks add up to "Score: 1/4"`},
	}, {
		name:         "wrong score",
		names:        names,
		stdout:       starter,
		want:         Want{OK: []string{"runs"}, Score: "Score: 0/4", Hints: []string{"write it"}},
		wantFailures: []string{`last line "Score: 1/4", want "Score: 0/4"`},
	}, {
		name:         "missing hint",
		names:        names,
		stdout:       starter,
		want:         Want{OK: []string{"runs"}, Score: "Score: 1/4", Hints: []string{"write it", "mount it"}},
		wantFailures: []string{`no hint "mount it"`},
	}, {
		name:         "hint where none is wanted",
		names:        names,
		stdout:       starter,
		want:         Want{OK: []string{"runs"}, Score: "Score: 1/4"},
		wantFailures: []string{"a hint with every check passing"},
	}, {
		name:         "a line too many",
		names:        names,
		stdout:       "wire failed: exit status 1\n" + starter,
		want:         Want{OK: []string{"runs"}, Score: "Score: 1/4", Hints: []string{"write it"}},
		wantFailures: []string{"got 5 lines, want one per check and the score"},
	}, {
		name:         "checks out of order",
		names:        []string{"maps", "runs", "forward"},
		stdout:       starter,
		want:         Want{OK: []string{"runs"}, Score: "Score: 1/4", Hints: []string{"write it"}},
		wantFailures: []string{`does not name check "maps"`, `does not name check "runs"`, "checks that pass", "add up to"},
	}, {
		name:         "not a check line",
		names:        names,
		stdout:       strings.Replace(starter, "OK   1/1  runs", "OK   0/1  runs", 1),
		want:         Want{Score: "Score: 1/4", Hints: []string{"write it"}},
		wantFailures: []string{`line "OK   0/1  runs" is neither OK n/n, FAIL 0/n`, "add up to"},
	}, {
		name:   "stretch skipped",
		names:  append(names, "ranges"),
		stdout: strings.Replace(starter, "Score:", "SKIP stretch  ranges  (not attempted: delete the line)\nScore:", 1),
		want:   Want{OK: []string{"runs"}, Skipped: []string{"ranges"}, Score: "Score: 1/4", Hints: []string{"write it"}},
	}, {
		name:   "stretch passes",
		names:  append(names, "ranges"),
		stdout: strings.Replace(starter, "Score:", "OK   stretch  ranges\nScore:", 1),
		want:   Want{OK: []string{"runs", "ranges"}, Score: "Score: 1/4", Hints: []string{"write it"}},
	}, {
		name:   "stretch fails",
		names:  append(names, "ranges"),
		stdout: strings.Replace(starter, "Score:", "FAIL stretch  ranges  hint: map more\nScore:", 1),
		want:   Want{OK: []string{"runs"}, Score: "Score: 1/4", Hints: []string{"write it", "map more"}},
	}, {
		name:         "stretch skipped, not wanted so",
		names:        append(names, "ranges"),
		stdout:       strings.Replace(starter, "Score:", "SKIP stretch  ranges  (not attempted: delete the line)\nScore:", 1),
		want:         Want{OK: []string{"runs", "ranges"}, Score: "Score: 1/4", Hints: []string{"write it"}},
		wantFailures: []string{"checks that pass (-want +got)", "stretch goals skipped (-want +got)"},
	}, {
		name:   "no names: score and hints only",
		stdout: "OK    runs\nFAIL  maps\n      hint: write it\nScore: 1/2\n",
		want:   Want{Score: "Score: 1/2", Hints: []string{"write it"}},
	}, {
		name:         "no names, wrong score",
		stdout:       "OK    runs\nFAIL  maps\n      hint: write it\nScore: 1/2\n",
		want:         Want{Score: "Score: 2/2", Hints: []string{"write it"}},
		wantFailures: []string{`want "Score: 2/2"`},
	}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := record(func(r testing.TB) { CheckOutput(r, tt.names, tt.stdout, tt.want) })
			if len(got) != len(tt.wantFailures) {
				t.Fatalf("%d failures, want %d (%q):\n%s", len(got), len(tt.wantFailures), tt.wantFailures, strings.Join(got, "\n"))
			}
			for i, w := range tt.wantFailures {
				if !strings.Contains(got[i], w) {
					t.Errorf("failure %d is %q, want one containing %q", i, got[i], w)
				}
			}
		})
	}
}

func TestCheckHint(t *testing.T) {
	tests := []struct {
		hint, want string
		wantFail   bool
	}{
		{"", "", false},
		{"mount a tmpfs first", "tmpfs", false},
		{"mount a tmpfs first", "", true},
		{"", "tmpfs", true},
		{"mount proc", "tmpfs", true},
	}
	for _, tt := range tests {
		got := record(func(r testing.TB) { CheckHint(r, tt.hint, tt.want) })
		if (len(got) > 0) != tt.wantFail {
			t.Errorf("CheckHint(%q, %q) failures %q, want failure: %v", tt.hint, tt.want, got, tt.wantFail)
		}
	}
}
