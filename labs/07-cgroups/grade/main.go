// Command grade checks lab 07. It builds your container
// (labs/07-cgroups/container), runs commands in it that read their own
// cgroup and then hit each limit, and prints one line per check, a hint
// drawn from what the kernel shows for each failure, and the score:
//
//	go run ./labs/07-cgroups/grade            grade limits.go
//	go run ./labs/07-cgroups/grade -solution  grade the reference instead
//
// It exits 0 only with the full score. A limit is only hit once it is
// known to be written: a memory hog without a limit would eat the host.
package main

import (
	"fmt"
	"os"
	"os/exec"
	"strings"
	"syscall"

	"github.com/contain-dev/contain/labs/internal/grading"
)

// containerPkg is the learner's program, as go build names it.
const containerPkg = "./labs/07-cgroups/container"

func main() {
	grading.Main("grade the reference solution, limits_solution.go, instead of limits.go", "", grade)
}

// layout is the host's cgroup layout, as the container's NodeFor sees it.
type layout struct {
	// v2 tells a pure cgroup v2 host from a v1 or hybrid one.
	v2 bool
	// unified tells whether there is a v2 hierarchy at all: on v2, and
	// at /sys/fs/cgroup/unified on a hybrid host.
	unified bool
}

// hostLayout reads the layout from the files NodeFor looks at.
func hostLayout() layout {
	_, err := os.Stat("/sys/fs/cgroup/cgroup.controllers")
	_, errUnified := os.Stat("/sys/fs/cgroup/unified/cgroup.controllers")
	return layout{v2: err == nil, unified: err == nil || errUnified == nil}
}

// memLimit is the name of the memory limit file on this layout.
func (l layout) memLimit() string {
	if l.v2 {
		return "memory.max"
	}
	return "memory.limit_in_bytes"
}

// ownFile is a shell expression for a file of the command's node, seen
// from the command: the node is named after its parent, the container.
func (l layout) ownFile(ctrl, file string) string {
	if l.v2 {
		return "/sys/fs/cgroup/lab07-$PPID/" + file
	}
	return "/sys/fs/cgroup/" + ctrl + "/lab07-$PPID/" + file
}

// cgroupLine returns the /proc/self/cgroup line of ctrl in text: the
// hierarchy whose controllers include ctrl on v1, the "0::" line on v2
// and for ctrl "" (the v2 hierarchy of a hybrid host).
func (l layout) cgroupLine(text, ctrl string) string {
	for _, line := range strings.Split(text, "\n") {
		f := strings.SplitN(line, ":", 3)
		if len(f) != 3 {
			continue
		}
		if (l.v2 || ctrl == "") && f[0] == "0" || !l.v2 && ctrl != "" && f[0] != "0" && f[1] == ctrl {
			return line
		}
	}
	return ""
}

// observation is what the grader saw of the container, run once per
// question; each check reads it and nothing else.
type observation struct {
	layout
	// self is `cat /proc/self/cgroup`; mem and pids print the limit
	// files of the command's own node, with 32M and 20.
	self, mem, pids grading.Result
	// hog is `tail /dev/zero` under 32M, bomb 40 background sleeps
	// under pids.max 20; each runs only when the limit it hits is in
	// place, and is nil otherwise.
	hog, bomb *grading.Result
	// born prints the command's /proc/self/cgroup, a line "--", and its
	// parent's: the stretch goal's run.
	born grading.Result
	// skip says why the stretch goal is not graded, or "".
	skip string
}

// inNode tells whether the command's /proc/self/cgroup line for ctrl
// names its own node.
func (o *observation) inNode(ctrl string) bool {
	return strings.Contains(o.cgroupLine(o.self.Stdout, ctrl), "/lab07-")
}

// memSet and pidsSet tell whether the limits read back as written.
func (o *observation) memSet() bool  { return strings.TrimSpace(o.mem.Stdout) == "33554432" }
func (o *observation) pidsSet() bool { return strings.TrimSpace(o.pids.Stdout) == "20" }

// grade builds the container, observes it and reports.
func grade(solution bool, _ []string) (int, error) {
	s, err := grading.Start("lab07", "to write cgroup files")
	if err != nil {
		return 2, err
	}
	defer s.Close()
	bins, err := s.Build(s.Tmp, solution, containerPkg)
	if err != nil {
		return 1, err
	}
	o := &observation{layout: hostLayout()}
	if o.skip, err = s.Stretch(solution, containerPkg); err != nil {
		return 2, err
	}
	o.observe(bins[0])
	return grading.Report(os.Stdout, checks, o).Status(), nil
}

// runContainer runs the container with args to its end.
func runContainer(bin string, args ...string) grading.Result {
	r, err := grading.Run(exec.Command(bin, args...), 0)
	if err != nil {
		r.Stderr = err.Error()
	}
	return r
}

// observe runs the container once per question, the hog and the fork
// burst only once what they hit is known to be in place.
func (o *observation) observe(bin string) {
	o.self = runContainer(bin, "64M", "50", "cat", "/proc/self/cgroup")
	o.mem = runContainer(bin, "32M", "50", "sh", "-c", "cat "+o.ownFile("memory", o.memLimit()))
	o.pids = runContainer(bin, "64M", "20", "sh", "-c", "cat "+o.ownFile("pids", "pids.max"))
	if o.inNode("memory") && o.memSet() {
		r := runContainer(bin, "32M", "50", "tail", "/dev/zero")
		o.hog = &r
	}
	if o.inNode("pids") && o.pidsSet() {
		r := runContainer(bin, "64M", "20", "bash", "-c", "for i in $(seq 40); do sleep 0.2 & done; wait")
		o.bomb = &r
	}
	if o.skip == "" && o.unified {
		o.born = runContainer(bin, "64M", "50", "sh", "-c", "cat /proc/self/cgroup; echo --; cat /proc/$PPID/cgroup")
	}
}

// checks are the lab's checks, in the order the report prints them.
var checks = []grading.Check[*observation]{
	{Name: "the command starts in its own memory cgroup", Points: 1, Run: checkInMem},
	{Name: "the command starts in its own pids cgroup", Points: 1, Run: checkInPids},
	{Name: "the memory limit is 32M", Points: 1, Run: checkMemLimit},
	{Name: "pids.max is 20", Points: 1, Run: checkPidsMax},
	{Name: "a memory hog is OOM-killed at 32M", Points: 1, Run: checkHog},
	{Name: "forks wait at pids.max", Points: 1, Run: checkBomb},
	{Name: "the command is born in the v2 node, the runner stays out", Stretch: true, Skip: skipBorn, Run: checkBorn},
}

func checkInMem(o *observation) string {
	if o.inNode("memory") {
		return ""
	}
	return fmt.Sprintf("/proc/self/cgroup says %q: the pid is not in the cgroup's cgroup.procs: write it before exec", o.cgroupLine(o.self.Stdout, "memory"))
}

func checkInPids(o *observation) string {
	if o.inNode("pids") {
		return ""
	}
	return fmt.Sprintf("/proc/self/cgroup says %q: write the pid to the pids node's cgroup.procs too", o.cgroupLine(o.self.Stdout, "pids"))
}

func checkMemLimit(o *observation) string {
	if o.memSet() {
		return ""
	}
	return fmt.Sprintf("%s is %s: the limit was never written (echo 32M > %s)", o.memLimit(), strings.TrimSpace(o.mem.Stdout), o.memLimit())
}

func checkPidsMax(o *observation) string {
	if o.pidsSet() {
		return ""
	}
	return fmt.Sprintf("pids.max is %s: the limit was never written (echo 20 > pids.max)", strings.TrimSpace(o.pids.Stdout))
}

func checkHog(o *observation) string {
	switch {
	case o.hog == nil:
		return "not run: the hog only runs once the limit is written and the command is inside"
	case o.hog.Code != 128+int(syscall.SIGKILL):
		return fmt.Sprintf("tail /dev/zero exited %d, want 137 (SIGKILL from the OOM killer)", o.hog.Code)
	}
	return ""
}

func checkBomb(o *observation) string {
	switch {
	case o.bomb == nil:
		return "not run: forks are only tried once pids.max is written and the command is inside"
	case !strings.Contains(o.bomb.Stderr, "fork: retry"):
		return "40 background sleeps never waited for a free pid: is pids.max in the node the command runs in?"
	}
	return ""
}

func skipBorn(o *observation) string {
	if o.skip == "" && !o.unified {
		return "not on this host: it has cgroup v1 alone, and CLONE_INTO_CGROUP takes a v2 directory"
	}
	return o.skip
}

func checkBorn(o *observation) string {
	self, parent, ok := strings.Cut(o.born.Stdout, "--\n")
	if !ok {
		return fmt.Sprintf("the container failed: exit status %d, %q", o.born.Code, grading.FirstLine(o.born.Stderr))
	}
	cmd, runner := o.cgroupLine(self, ""), o.cgroupLine(parent, "")
	switch {
	case !strings.Contains(cmd, "/lab07-"):
		return fmt.Sprintf("the command's v2 cgroup is %q, not the node: set UseCgroupFD and CgroupFD (a descriptor of Node.Unified) in cmd.SysProcAttr", cmd)
	case strings.Contains(runner, "/lab07-"):
		return fmt.Sprintf("the command is born in the node, but the runner is in it too (%q): with CLONE_INTO_CGROUP, join need not write Node.Unified's cgroup.procs", runner)
	}
	return ""
}
