package main

import (
	"testing"

	"github.com/contain-dev/contain/labs/internal/grading"
	"github.com/contain-dev/contain/tool/testkit"
)

// TestGrade is the lab's proof: the starter as handed out fails, with the
// state-aware hints a learner should see first, and the reference
// solution passes. The two run one after the other: they use the same
// names. Whether ip_forward is already 1 depends on the host.
func TestGrade(t *testing.T) {
	g := grading.Grader{Pkg: "./labs/08-network/grade", Checks: grading.Names(checks), After: checkRemoved}
	g.Test(t, grading.Case{
		Name: "starter",
		Code: 1,
		Want: grading.Want{
			OK:    []string{"the bridge lab08br exists and is up"},
			Maybe: []string{"net.ipv4.ip_forward is 1"},
			Hints: []string{
				"lab08br has the addresses []: give it 10.213.88.1/24",
				"the veth vlab08 exists but has no master: attach it to the bridge",
				"lo in the box is down",
				"the box has no default route via 10.213.88.1",
				"there is no table ip lab08",
			},
		},
	}, grading.Case{
		Name: "solution",
		Args: []string{"-solution"},
		Want: grading.Want{OK: grading.Names(checks), Score: "Score: 11/11"},
	})
}

// checkRemoved fails t if a link the grader or wire makes is still there.
func checkRemoved(t *testing.T) {
	for _, l := range []string{"lab08br", "vlab08", "hlab08"} {
		if res := testkit.Run(t, "ip", "link", "show", l); res.Code == 0 {
			t.Errorf("link %s left after grading", l)
		}
	}
}
