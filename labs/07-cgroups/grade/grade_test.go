package main

import (
	"testing"

	"github.com/contain-dev/contain/labs/internal/grading"
)

// TestGrade is the lab's proof: the starter fails with the hints a
// learner should see, and the reference solution passes. The report puts
// a failure's hint on a line of its own, so only the score and the hints
// are compared.
func TestGrade(t *testing.T) {
	g := grading.Grader{Pkg: "./labs/07-cgroups/grade"}
	g.Test(t, grading.Case{
		Name: "starter",
		Code: 1,
		Want: grading.Want{
			Score: "Score: 0/6",
			Hints: []string{
				"the pid is not in the cgroup's cgroup.procs: write it before exec",
				"the limit was never written",
				"not run: the hog only runs once the limit is written",
			},
		},
	}, grading.Case{
		Name: "solution",
		Args: []string{"-solution"},
		Want: grading.Want{Score: "Score: 6/6"},
	})
}
