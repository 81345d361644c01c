// Package grading holds what the lab graders share, so that each lab's
// grader is only its lesson: the checks and their hints.
//
// A grader's main calls Main; its grade function calls Start for a
// workspace (root, the repository, a temporary directory), builds the
// learner's program there with Session.Build, runs it with Run, and
// prints the checks with Report. Its TestGrade describes the grader as a
// Grader and calls Grader.Test with a Case for the starter and one for
// the solution.
package grading

import (
	"fmt"
	"io"
	"strings"
)

// Check is one line of a grade report. Run looks at what the container
// showed (an observation of the lab's own type) and returns a hint drawn
// from it, or "" when the check passes.
type Check[O any] struct {
	Name   string
	Points int
	Run    func(o O) string
}

// Report prints one line per check, "OK   n/n  name" or "FAIL 0/n  name
// hint: ...", then "Score: n/m", and returns the score.
func Report[O any](w io.Writer, checks []Check[O], o O) (score, total int) {
	for _, c := range checks {
		total += c.Points
		if hint := c.Run(o); hint != "" {
			fmt.Fprintf(w, "FAIL 0/%d  %s  hint: %s\n", c.Points, c.Name, hint)
			continue
		}
		score += c.Points
		fmt.Fprintf(w, "OK   %d/%d  %s\n", c.Points, c.Points, c.Name)
	}
	fmt.Fprintf(w, "Score: %d/%d\n", score, total)
	return score, total
}

// Status is the grader's exit status for a score: 0 for the full score,
// 1 for anything less.
func Status(score, total int) int {
	if score < total {
		return 1
	}
	return 0
}

// Names returns the names of checks, in order.
func Names[O any](checks []Check[O]) []string {
	var names []string
	for _, c := range checks {
		names = append(names, c.Name)
	}
	return names
}

// FirstLine returns the first non-empty line of s, trimmed: the part of
// an error message that fits in a hint.
func FirstLine(s string) string {
	for _, l := range strings.Split(s, "\n") {
		if l = strings.TrimSpace(l); l != "" {
			return l
		}
	}
	return ""
}
