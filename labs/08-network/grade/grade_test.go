package main

import (
	"testing"

	"github.com/contain-dev/contain/labs/internal/grading"
	"github.com/contain-dev/contain/tool/testkit"
)

// TestGrade is the lab's proof: the starter as handed out fails, with the
// state-aware hints a learner should see first and the stretch goal not
// graded, and the reference solution passes, stretch goal included. Each
// run has namespaces of its own, the stand-in for the host among them, so
// that the two may run at once and neither depends on this machine's
// forwarding or firewall.
func TestGrade(t *testing.T) {
	g := grading.Grader{Pkg: "./labs/08-network/grade", Checks: grading.Names(checks), Parallel: true, After: checkRemoved}
	stretch := checks[len(checks)-1].Name
	g.Test(t, grading.Case{
		Name: "starter",
		Code: 1,
		Want: grading.Want{
			OK:      []string{"the bridge lab08br exists and is up"},
			Skipped: []string{stretch},
			Score:   "Score: 1/11",
			Hints: []string{
				"lab08br has the addresses []: give it 10.213.88.1/24",
				"the veth vlab08 exists but has no master: attach it to the bridge",
				"lo in the box is down",
				"the box has no default route via 10.213.88.1",
				"ip_forward is 0 (the grader's stand-in for the host starts with it off)",
				"the host forwards nothing while ip_forward is 0 (see above). Once it does, the outside still has no route back to 10.213.88.0/24, and there is no table ip lab08 yet",
			},
		},
	}, grading.Case{
		Name: "solution",
		Args: []string{"-solution"},
		Want: grading.Want{OK: grading.Names(checks), Score: "Score: 11/11"},
	})
}

// checkRemoved fails t if a link the grader or wire makes is on this
// machine: all of them belong in the grader's namespaces.
func checkRemoved(t *testing.T) {
	for _, l := range []string{"lab08br", "vlab08", "hlab08"} {
		if res := testkit.Run(t, "ip", "link", "show", l); res.Code == 0 {
			t.Errorf("link %s left after grading", l)
		}
	}
}
