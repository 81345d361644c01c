package main

import (
	"os/exec"
	"testing"

	"github.com/contain-dev/contain/labs/internal/grading"
)

// TestGrade is the lab's proof: the starter as handed out fails, with the
// hints a learner should see first, and the reference solution passes.
func TestGrade(t *testing.T) {
	g := grading.Grader{Pkg: "./labs/06-userns/grade", Checks: grading.Names(checks), Parallel: true}
	stretch := checks[len(checks)-1].Name
	solution := grading.Want{OK: grading.Names(checks), Score: "Score: 10/10"}
	if _, err := exec.LookPath("newuidmap"); err != nil {
		solution = grading.Want{OK: grading.Names(checks[:len(checks)-1]), Skipped: []string{stretch}, Score: "Score: 10/10"}
	}
	g.Test(t, grading.Case{
		Name: "starter",
		Code: 1,
		Want: grading.Want{
			Skipped: []string{stretch},
			Score:   "Score: 0/10",
			Hints: []string{
				"the child could not become gid 0: setresgid(2) fails with EINVAL",
				`/proc/PID/setgroups is still "allow"`,
				`gid_map is empty: the parent must write it before the child goes on ("0 65534 1" into /proc/PID/gid_map)`,
				`uid_map is empty: the parent must write it before the child goes on ("0 65534 1" into /proc/PID/uid_map)`,
			},
		},
	}, grading.Case{
		Name: "solution",
		Args: []string{"-solution"},
		Want: solution,
	})
}

// passing is what a correct container shows, the stretch goal's run
// included.
func passing() *observation {
	o := &observation{
		Stdout:  "uid_map: 0 65534 1\ngid_map: 0 65534 1\nsetgroups: deny\nids: 0 0\n",
		FileUID: nobody, FileGID: nobody,
	}
	o.parse()
	o.ranges = &observation{
		Stdout:  "uid_map:          0      65534          1;         1     200000      65536;\ngid_map: 0 65534 1;1 200000 65536;\nids: 0 0\n",
		FileUID: 200999, FileGID: 200999,
	}
	o.ranges.parse()
	return o
}

// withRanges is passing with the stretch goal's run replaced by r.
func withRanges(r *observation) *observation {
	o := passing()
	o.ranges = r
	return o
}

// failing is a container whose child or parent stopped with stderr.
func failing(stderr string) *observation {
	o := &observation{Code: 125, Stderr: stderr, FileUID: -1, FileGID: -1}
	o.parse()
	return o
}

// TestHints feeds each check a container with one thing wrong, as the
// usual mistakes leave it, and checks the hint. It needs no root.
func TestHints(t *testing.T) {
	tests := []struct {
		name     string
		check    func(*observation) string
		o        *observation
		wantHint string // "" means the check passes
	}{
		{"runs", checkRuns, passing(), ""},
		{"setgroups", checkSetgroups, passing(), ""},
		{"gid_map", checkGidMap, passing(), ""},
		{"uid_map", checkUidMap, passing(), ""},
		{"ids", checkIDs, passing(), ""},
		{"file", checkFile, passing(), ""},
		{"gid_map before setgroups", checkSetgroups,
			failing("container: writeMaps: open /proc/42/gid_map: write /proc/42/gid_map: operation not permitted\n"),
			"gid_map write failed with EPERM: write deny to /proc/PID/setgroups first"},
		{"setgroups after gid_map", checkSetgroups,
			failing("container: writeMaps: write /proc/42/setgroups: operation not permitted\n"),
			"the kernel takes deny only while gid_map is still empty"},
		{"two uids", checkUidMap,
			failing("container: writeMaps: write /proc/42/uid_map: operation not permitted\n"),
			"an ordinary user may map only its own uid"},
		{"uid_map forgotten", checkUidMap,
			failing(`container: become root: setresuid 0: invalid argument (uid 0 is not mapped; uid_map "", gid_map "0 65534 1", setgroups "deny")` + "\n"),
			"uid_map is empty: the parent must write it before the child goes on"},
		{"uid forgotten: gid fine", checkGidMap,
			failing(`container: become root: setresuid 0: invalid argument (uid 0 is not mapped; uid_map "", gid_map "0 65534 1", setgroups "deny")` + "\n"),
			""},
		{"map in two writes", checkRuns,
			failing("container: writeMaps: write /proc/42/gid_map: invalid argument\n"),
			"It takes each map in one write(2), at offset 0"},
		{"ranges", checkRanges, passing(), ""},
		{"one range only", checkRanges, withRanges(func() *observation {
			o := &observation{Stdout: "uid_map: 0 65534 1;\ngid_map: 0 65534 1;\nids: 0 0\n", FileUID: -1, FileGID: -1}
			o.parse()
			return o
		}()), `with -subids, uid_map is "0 65534 1;", want "0 65534 1; 1 200000 65536;"`},
		{"ranges written directly", checkRanges, withRanges(failing("container: writeRanges: write /proc/42/gid_map: operation not permitted\n")),
			"an ordinary user may write one line only"},
		{"beyond the range", checkRanges, withRanges(failing("container: writeRanges: newuidmap: exit status 1: newuidmap: uid range [1-65538) -> [200000-265537) not allowed\n")),
			"the grader's /etc/subuid and /etc/subgid grant nobody 200000:65536"},
		{"chown fails", checkRanges, func() *observation {
			o := passing()
			o.ranges.FileUID, o.ranges.FileGID = nobody, nobody
			return o
		}(), "the file chowned to 1000:1000 inside belongs to 65534:65534 outside, want 200999:200999"},
		{"wrong outside id", checkUidMap, func() *observation {
			o := passing()
			o.lines["uid_map"] = "0 0 1"
			return o
		}(), `uid_map is "0 0 1", want "0 65534 1"`},
		{"not root", checkIDs, func() *observation {
			o := passing()
			o.lines["ids"] = "65534 65534"
			return o
		}(), "id says uid and gid 65534 65534, want 0 0"},
		{"file of root", checkFile, func() *observation {
			o := passing()
			o.FileUID, o.FileGID = 0, 0
			return o
		}(), "the file belongs to 0:0 outside"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			grading.CheckHint(t, tt.check(tt.o), tt.wantHint)
		})
	}
}
