package main

import (
	"testing"
	"time"

	"github.com/contain-dev/contain/labs/internal/grading"
)

// TestGrade is the lab's proof: the starter as handed out fails, with the
// hints a learner should see first, and the reference solution passes.
func TestGrade(t *testing.T) {
	g := grading.Grader{Pkg: "./labs/05-pid-init/grade", Checks: grading.Names(checks)}
	g.Test(t, grading.Case{
		Name: "starter",
		Code: 1,
		Want: grading.Want{
			OK:      []string{"the command's exit status passes through"},
			Skipped: []string{checks[len(checks)-1].Name},
			Score:   "Score: 1/9",
			Hints: []string{
				"WaitStatus.ExitStatus() is -1 for a death by signal",
				"the orphan stayed a zombie",
				"the command never got SIGTERM",
			},
		},
	}, grading.Case{
		Name: "solution",
		Args: []string{"-solution"},
		Want: grading.Want{OK: grading.Names(checks), Score: "Score: 9/9"},
	})
}

// TestHints feeds the stretch goal's check the runs of inits that get it
// wrong. It needs no root: checks only read observations.
func TestHints(t *testing.T) {
	tests := []struct {
		name     string
		o        *observation
		wantHint string // "" means the check passes
	}{
		{"killed after the timeout", &observation{deaf: grading.Result{Code: 137}, stopped: 2100 * time.Millisecond}, ""},
		{"never killed", &observation{deaf: grading.Result{Code: -1, TimedOut: true}, stopped: limit}, "the command ignores SIGTERM, and it was still running 10s after it"},
		{"killed at once", &observation{deaf: grading.Result{Code: 137}, stopped: 30 * time.Millisecond}, "killed 30ms after SIGTERM: give it stopTimeout (2s)"},
		{"wrong status", &observation{deaf: grading.Result{Code: 255}, stopped: 2 * time.Second}, "exited with 255"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			grading.CheckHint(t, checkDeaf(tt.o), tt.wantHint)
		})
	}
}
