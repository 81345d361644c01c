// Package grading holds what the lab graders share, so that each lab's
// grader is only its lesson: the checks and their hints.
//
// A grader's main calls Main; its grade function calls Start for a
// workspace (root, the repository, a temporary directory), builds the
// learner's program there with Session.Build, runs it with Run, and
// prints the checks with Report. Its TestGrade describes the grader as a
// Grader and calls Grader.Test with a Case for the starter and one for
// the solution.
//
// Every lab has one stretch goal beyond the required checks: a check
// marked Stretch, graded only once the learner has deleted the line
// TODO(stretch) from the starter (Session.Stretch), reported on a line of
// its own and left out of the score. The reference solutions solve it.
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
	Name string
	// Points are what the check adds to the score; a stretch goal has
	// none.
	Points int
	// Stretch marks the lab's stretch goal: its line says "stretch"
	// where a required check's says its points, it adds nothing to the
	// score, and it is graded only when Skip says nothing.
	Stretch bool
	// Skip, for a stretch goal, says why it is not graded this time
	// ("not attempted: ...", see Session.Stretch), or "" to grade it.
	Skip func(o O) string
	Run  func(o O) string
}

// Tally is what a report adds up to.
type Tally struct {
	// Score and Total count the required checks' points.
	Score, Total int
	// StretchFailed tells that a stretch goal was attempted and failed.
	StretchFailed bool
}

// Status is the grader's exit status for t: 0 for the full score with no
// attempted stretch goal failing, 1 for anything else. A stretch goal not
// attempted changes nothing.
func (t Tally) Status() int {
	if t.Score < t.Total || t.StretchFailed {
		return 1
	}
	return 0
}

// The line formats of a report. A required check prints its points,
// "OK   2/2  NAME" or "FAIL 0/2  NAME  hint: ..."; a stretch goal prints
// the word stretch instead, and SKIP when it is not graded.
const (
	stretchOK   = "OK   stretch  "
	stretchFail = "FAIL stretch  "
	stretchSkip = "SKIP stretch  "
)

// Report prints one line per check, a hint after each failure, then
// "Score: n/m" for the required checks, and returns the tally.
func Report[O any](w io.Writer, checks []Check[O], o O) Tally {
	var t Tally
	for _, c := range checks {
		if c.Stretch {
			if c.Skip != nil {
				if why := c.Skip(o); why != "" {
					fmt.Fprintf(w, "%s%s  (%s)\n", stretchSkip, c.Name, why)
					continue
				}
			}
			if hint := c.Run(o); hint != "" {
				t.StretchFailed = true
				fmt.Fprintf(w, "%s%s  hint: %s\n", stretchFail, c.Name, hint)
				continue
			}
			fmt.Fprintf(w, "%s%s\n", stretchOK, c.Name)
			continue
		}
		t.Total += c.Points
		if hint := c.Run(o); hint != "" {
			fmt.Fprintf(w, "FAIL 0/%d  %s  hint: %s\n", c.Points, c.Name, hint)
			continue
		}
		t.Score += c.Points
		fmt.Fprintf(w, "OK   %d/%d  %s\n", c.Points, c.Points, c.Name)
	}
	fmt.Fprintf(w, "Score: %d/%d\n", t.Score, t.Total)
	return t
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
