package main

import (
	"testing"

	"github.com/contain-dev/contain/labs/internal/grading"
)

// stretchName is the name of the stretch goal's check.
var stretchName = checks[len(checks)-1].Name

// TestGrade is the lab's proof: the starter fails with the hints a
// learner should see and its stretch goal not graded, and the reference
// solution passes, the stretch goal included where the host has a v2
// hierarchy.
func TestGrade(t *testing.T) {
	required := grading.Names(checks[:len(checks)-1])
	solution := grading.Want{OK: append(required, stretchName), Score: "Score: 6/6"}
	if !hostLayout().unified {
		solution = grading.Want{OK: required, Skipped: []string{stretchName}, Score: "Score: 6/6"}
	}
	g := grading.Grader{Pkg: "./labs/07-cgroups/grade", Checks: grading.Names(checks)}
	g.Test(t, grading.Case{
		Name: "starter",
		Code: 1,
		Want: grading.Want{
			Skipped: []string{stretchName},
			Score:   "Score: 0/6",
			Hints: []string{
				"the pid is not in the cgroup's cgroup.procs: write it before exec",
				"the limit was never written",
				"not run: the hog only runs once the limit is written",
			},
		},
	}, grading.Case{
		Name: "solution",
		Args: []string{"-solution"},
		Want: solution,
	})
}

// passing is what a correct container shows on a hybrid host.
func passing() *observation {
	hog := grading.Result{Code: 137}
	bomb := grading.Result{Stderr: "bash: fork: retry: Resource temporarily unavailable\n"}
	return &observation{
		layout: layout{unified: true},
		self:   grading.Result{Stdout: "9:pids:/lab07-42\n4:memory:/lab07-42\n0::/\n"},
		mem:    grading.Result{Stdout: "33554432\n"},
		pids:   grading.Result{Stdout: "20\n"},
		hog:    &hog,
		bomb:   &bomb,
		born:   grading.Result{Stdout: "4:memory:/lab07-42\n0::/lab07-42\n--\n4:memory:/lab07-42\n0::/\n"},
	}
}

// TestHints feeds each check a container with one thing wrong, and checks
// that the hint names it. It needs no root: checks only read observations.
func TestHints(t *testing.T) {
	tests := []struct {
		name     string
		check    func(*observation) string
		spoil    func(o *observation)
		wantHint string // "" means the check passes
	}{
		{"in memory", checkInMem, func(o *observation) {}, ""},
		{"in pids", checkInPids, func(o *observation) {}, ""},
		{"memory limit", checkMemLimit, func(o *observation) {}, ""},
		{"pids.max", checkPidsMax, func(o *observation) {}, ""},
		{"hog", checkHog, func(o *observation) {}, ""},
		{"bomb", checkBomb, func(o *observation) {}, ""},
		{"born", checkBorn, func(o *observation) {}, ""},
		{"pids only", checkInMem, func(o *observation) { o.self.Stdout = "9:pids:/lab07-42\n4:memory:/\n0::/\n" },
			`/proc/self/cgroup says "4:memory:/": the pid is not in the cgroup's cgroup.procs`},
		{"memory only", checkInPids, func(o *observation) { o.self.Stdout = "9:pids:/\n4:memory:/lab07-42\n0::/\n" },
			"write the pid to the pids node's cgroup.procs too"},
		{"v2 line", checkInMem, func(o *observation) {
			o.v2, o.self.Stdout = true, "0::/lab07-42\n"
		}, ""},
		{"no limit", checkMemLimit, func(o *observation) { o.mem.Stdout = "9223372036854771712\n" },
			"memory.limit_in_bytes is 9223372036854771712: the limit was never written"},
		{"hog not run", checkHog, func(o *observation) { o.hog = nil }, "not run: the hog only runs once"},
		{"hog lives", checkHog, func(o *observation) { o.hog.Code = 0 }, "tail /dev/zero exited 0, want 137"},
		{"no retry", checkBomb, func(o *observation) { o.bomb.Stderr = "" }, "40 background sleeps never waited"},
		{"born outside", checkBorn, func(o *observation) {
			o.born.Stdout = "0::/\n--\n0::/\n"
		}, `the command's v2 cgroup is "0::/", not the node: set UseCgroupFD and CgroupFD`},
		{"runner inside", checkBorn, func(o *observation) {
			o.born.Stdout = "0::/lab07-42\n--\n0::/lab07-42\n"
		}, "the runner is in it too"},
		{"born run failed", checkBorn, func(o *observation) {
			o.born = grading.Result{Code: 1, Stderr: "container: open /sys/fs/cgroup/unified/lab07-42: no such file or directory\n"}
		}, "the container failed: exit status 1"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			o := passing()
			tt.spoil(o)
			grading.CheckHint(t, tt.check(o), tt.wantHint)
		})
	}
	skips := []struct {
		name string
		o    *observation
		want string
	}{
		{"attempted", &observation{layout: layout{unified: true}}, ""},
		{"marker left", &observation{layout: layout{unified: true}, skip: "not attempted: delete the line"}, "not attempted"},
		{"v1 alone", &observation{}, "not on this host"},
	}
	for _, s := range skips {
		grading.CheckHint(t, skipBorn(s.o), s.want)
	}
}
