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
	"io"
	"os"
	"os/exec"
	"strings"
	"syscall"

	"github.com/contain-dev/contain/labs/internal/grading"
)

func main() {
	grading.Main("grade the reference solution, limits_solution.go, instead of limits.go", "", mainErr)
}

// mainErr builds the container, grades it and returns the exit status.
func mainErr(solution bool, _ []string) (int, error) {
	s, err := grading.Start("lab07", "to write cgroup files")
	if err != nil {
		return 2, err
	}
	defer s.Close()
	bins, err := s.Build(s.Tmp, solution, "./labs/07-cgroups/container")
	if err != nil {
		return 1, err
	}
	score, total := grade(os.Stdout, bins[0])
	fmt.Printf("Score: %d/%d\n", score, total)
	return grading.Status(score, total), nil
}

// runContainer runs the container with args to its end.
func runContainer(bin string, args ...string) grading.Result {
	r, _ := grading.Run(exec.Command(bin, args...), 0)
	return r
}

// v2 tells whether the host is pure cgroup v2.
func v2() bool {
	_, err := os.Stat("/sys/fs/cgroup/cgroup.controllers")
	return err == nil
}

// ownFile is a shell expression for a file of the command's node, seen
// from the command: the node is named after its parent, the container.
func ownFile(ctrl, file string) string {
	if v2() {
		return "/sys/fs/cgroup/lab07-$PPID/" + file
	}
	return "/sys/fs/cgroup/" + ctrl + "/lab07-$PPID/" + file
}

// cgroupLine returns the /proc/self/cgroup line of ctrl ("0::" on v2).
func cgroupLine(text, ctrl string) string {
	for _, l := range strings.Split(text, "\n") {
		f := strings.SplitN(l, ":", 3)
		if len(f) == 3 && (v2() && f[0] == "0" || !v2() && f[1] == ctrl) {
			return l
		}
	}
	return ""
}

// grade runs the checks and prints them; it returns the score.
func grade(w io.Writer, bin string) (score, total int) {
	check := func(name string, ok bool, hint string) bool {
		total++
		if ok {
			score++
			fmt.Fprintf(w, "OK    %s\n", name)
		} else {
			fmt.Fprintf(w, "FAIL  %s\n      hint: %s\n", name, hint)
		}
		return ok
	}
	memLimit := "memory.limit_in_bytes"
	if v2() {
		memLimit = "memory.max"
	}

	self := runContainer(bin, "64M", "50", "cat", "/proc/self/cgroup")
	memLine, pidsLine := cgroupLine(self.Stdout, "memory"), cgroupLine(self.Stdout, "pids")
	inMem := check("the command starts in its own memory cgroup", strings.Contains(memLine, "/lab07-"),
		fmt.Sprintf("/proc/self/cgroup says %q: the pid is not in the cgroup's cgroup.procs: write it before exec", memLine))
	inPids := check("the command starts in its own pids cgroup", strings.Contains(pidsLine, "/lab07-"),
		fmt.Sprintf("/proc/self/cgroup says %q: write the pid to the pids node's cgroup.procs too", pidsLine))

	mem := runContainer(bin, "32M", "50", "sh", "-c", "cat "+ownFile("memory", memLimit))
	got := strings.TrimSpace(mem.Stdout)
	memSet := check("the memory limit is 32M", got == "33554432",
		fmt.Sprintf("%s is %s: the limit was never written (echo 32M > %s)", memLimit, got, memLimit))
	pids := runContainer(bin, "64M", "20", "sh", "-c", "cat "+ownFile("pids", "pids.max"))
	got = strings.TrimSpace(pids.Stdout)
	pidsSet := check("pids.max is 20", got == "20",
		fmt.Sprintf("pids.max is %s: the limit was never written (echo 20 > pids.max)", got))

	hog := "not run: the hog only runs once the limit is written and the command is inside"
	if inMem && memSet {
		r := runContainer(bin, "32M", "50", "tail", "/dev/zero")
		hog = fmt.Sprintf("tail /dev/zero exited %d, want 137 (SIGKILL from the OOM killer)", r.Code)
		check("a memory hog is OOM-killed at 32M", r.Code == 128+int(syscall.SIGKILL), hog)
	} else {
		check("a memory hog is OOM-killed at 32M", false, hog)
	}
	bomb := "not run: forks are only tried once pids.max is written and the command is inside"
	if inPids && pidsSet {
		r := runContainer(bin, "64M", "20", "bash", "-c", "for i in $(seq 40); do sleep 0.2 & done; wait")
		bomb = "40 background sleeps never waited for a free pid: is pids.max in the node the command runs in?"
		check("forks wait at pids.max", strings.Contains(r.Stderr, "fork: retry"), bomb)
	} else {
		check("forks wait at pids.max", false, bomb)
	}
	return score, total
}
