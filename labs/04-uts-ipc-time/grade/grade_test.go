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
			OK:    []string{"the container runs the command", "the host's hostname is unchanged"},
			Score: "Score: 2/9",
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
