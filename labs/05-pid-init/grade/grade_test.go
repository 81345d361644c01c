package main

import (
	"testing"

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
			OK:    []string{"the command's exit status passes through"},
			Score: "Score: 1/9",
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
