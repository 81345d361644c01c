package main

import (
	"testing"

	"github.com/contain-dev/contain/labs/internal/grading"
)

// TestGrade is the lab's proof: the starter as handed out fails, with the
// hints a learner should see first, and the reference solution passes.
func TestGrade(t *testing.T) {
	g := grading.Grader{Pkg: "./labs/04-uts-ipc-time/grade", Checks: grading.Names(checks)}
	g.Test(t, grading.Case{
		Name: "starter",
		Code: 1,
		Want: grading.Want{
			OK:      []string{"the container runs the command", "the host's hostname is unchanged"},
			Skipped: []string{checks[len(checks)-1].Name},
			Score:   "Score: 2/9",
			Hints: []string{
				"the container still has the host's name",
				"the command is in the host's time namespace",
				"no offset. Write \"boottime 315360000 0\" to /proc/self/timens_offsets",
			},
		},
	}, grading.Case{
		Name: "solution",
		Args: []string{"-solution"},
		Want: grading.Want{OK: grading.Names(checks), Score: "Score: 9/9"},
	})
}

// TestHints feeds the stretch goal's check the runs of wrong offsets. It
// needs no root: checks only read observations.
func TestHints(t *testing.T) {
	tests := []struct {
		name     string
		fresh    grading.Result
		wantHint string // "" means the check passes
	}{
		{"fresh", grading.Result{Stdout: "0\n"}, ""},
		{"no offset", grading.Result{Stdout: "86412\n"}, "uptime inside is 86412 s, the host's was 86400 s: no offset, or a positive one"},
		{"rounded up", grading.Result{Code: 125, Stderr: "container: time namespace: write /proc/self/timens_offsets: numerical result out of range\n"},
			"round the host's seconds down"},
		{"stale", grading.Result{Stdout: "60\n"}, "want 0 to 5"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			grading.CheckHint(t, checkFresh(&observation{hostUptime: 86400, fresh: tt.fresh}), tt.wantHint)
		})
	}
}
