// Command grade checks lab 04. It builds your container
// (labs/04-uts-ipc-time/container), runs it once with a script that reports
// what the container sees, and prints one line per check, a hint drawn
// from what the container showed for each failure, and the score:
//
//	go run ./labs/04-uts-ipc-time/grade            grade setup.go
//	go run ./labs/04-uts-ipc-time/grade -solution  grade the reference instead
//
// It exits 0 only with the full score. The container keeps the host's
// files and mounts nothing, so it needs no sandbox.
package main

import (
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"time"

	"github.com/contain-dev/contain/labs/internal/grading"
)

// containerPkg is the learner's program, as go build names it.
const containerPkg = "./labs/04-uts-ipc-time/container"

// The container's hostname and boot clock offset the grader asks for: ten
// years, more than any machine's uptime.
const (
	wantHostname = "lab04"
	offset       = 10 * 365 * 86400
)

// script prints, one a line: the hostname, the boot clock in seconds, and
// the time and UTS namespaces of the container.
const script = `hostname; cut -d. -f1 /proc/uptime; readlink /proc/self/ns/time /proc/self/ns/uts`

func main() {
	grading.Main("grade the reference solution, setup_solution.go, instead of setup.go", "", grade)
}

// observation is what the container showed, and the host around it.
type observation struct {
	code                        int
	stderr                      string
	lines                       []string
	hostHostname, hostHostname2 string
	hostTime, hostUTS           string
	hostUptime                  int64
	// fresh is the stretch goal's run, with BOOTTIME "fresh"; skip says
	// why it did not run, or "".
	fresh grading.Result
	skip  string
}

// grade builds the container, observes it and reports.
func grade(solution bool, _ []string) (int, error) {
	s, err := grading.Start("lab04", "for namespaces")
	if err != nil {
		return 2, err
	}
	defer s.Close()
	bins, err := s.Build(s.Tmp, solution, containerPkg)
	if err != nil {
		return 1, err
	}
	o := &observation{}
	o.hostHostname, _ = os.Hostname()
	o.hostTime, _ = os.Readlink("/proc/self/ns/time")
	o.hostUTS, _ = os.Readlink("/proc/self/ns/uts")
	o.hostUptime = uptime()
	r, err := grading.Run(exec.Command(bins[0], wantHostname, strconv.Itoa(offset), "/bin/sh", "-c", script), 30*time.Second)
	if err != nil {
		return 2, err
	}
	o.code, o.stderr = r.Code, r.Stderr
	o.lines = strings.Split(strings.TrimSpace(r.Stdout), "\n")
	o.hostHostname2, _ = os.Hostname()
	if o.skip, err = s.Stretch(solution, containerPkg); err != nil {
		return 2, err
	}
	if o.skip == "" {
		if o.fresh, err = grading.Run(exec.Command(bins[0], wantHostname, "fresh", "/bin/sh", "-c", "cut -d. -f1 /proc/uptime"), 30*time.Second); err != nil {
			return 2, err
		}
	}
	return grading.Report(os.Stdout, checks, o).Status(), nil
}

// uptime reads the host's CLOCK_BOOTTIME in whole seconds.
func uptime() int64 {
	b, _ := os.ReadFile("/proc/uptime")
	s, _, _ := strings.Cut(string(b), ".")
	n, _ := strconv.ParseInt(s, 10, 64)
	return n
}

// checks are the lab's checks, in the order the report prints them.
var checks = []grading.Check[*observation]{
	{Name: "the container runs the command", Points: 1, Run: checkRuns},
	{Name: "the hostname inside is lab04", Points: 2, Run: checkHostname},
	{Name: "the host's hostname is unchanged", Points: 1, Run: checkHostHostname},
	{Name: "the command is in a new time namespace", Points: 2, Run: checkTimeNS},
	{Name: "CLOCK_BOOTTIME inside is ten years ahead", Points: 3, Run: checkUptime},
	{Name: "with BOOTTIME fresh, the uptime inside starts at 0", Stretch: true, Skip: func(o *observation) string { return o.skip }, Run: checkFresh},
}

// line returns line i of the container's output, or "".
func (o *observation) line(i int) string {
	if i < len(o.lines) {
		return o.lines[i]
	}
	return ""
}

func checkRuns(o *observation) string {
	if o.code != 0 || len(o.lines) != 4 {
		return fmt.Sprintf("exit status %d, %q: the container stopped before the command finished", o.code, strings.TrimSpace(o.stderr))
	}
	return ""
}

func checkHostname(o *observation) string {
	switch got := o.line(0); {
	case got == wantHostname:
		return ""
	case got == o.hostHostname:
		return fmt.Sprintf("the container still has the host's name %q, the copy its new UTS namespace started with: set it with sethostname(2)", got)
	default:
		return fmt.Sprintf("the container's hostname is %q, want %q", got, wantHostname)
	}
}

func checkHostHostname(o *observation) string {
	if o.hostHostname2 != o.hostHostname {
		return fmt.Sprintf("the host is now called %q (it was %q): the name was set outside the container's UTS namespace", o.hostHostname2, o.hostHostname)
	}
	return ""
}

func checkTimeNS(o *observation) string {
	switch got := o.line(2); {
	case got == "":
		return "the container printed no time namespace"
	case got == o.hostTime:
		return fmt.Sprintf("the command is in the host's time namespace %s: unshare(2) with CLONE_NEWTIME before main forks it (a forked child enters time_for_children)", got)
	}
	return ""
}

func checkUptime(o *observation) string {
	up, err := strconv.ParseInt(o.line(1), 10, 64)
	switch {
	case err != nil:
		return fmt.Sprintf("the container printed %q for its uptime", o.line(1))
	case up >= offset:
		return ""
	case up <= o.hostUptime+60:
		return fmt.Sprintf("uptime inside is %d s, the host's %d s: no offset. Write \"boottime %d 0\" to /proc/self/timens_offsets after the unshare, before the fork", up, o.hostUptime, offset)
	default:
		return fmt.Sprintf("uptime inside is %d s, want at least %d", up, offset)
	}
}

// freshSlack is how far from 0 a fresh boot clock may be when the command
// reads it: the time to start it, on a slow machine.
const freshSlack = 5

func checkFresh(o *observation) string {
	said := grading.FirstLine(o.fresh.Stderr)
	if o.fresh.Code != 0 {
		if strings.Contains(said, "out of range") {
			return fmt.Sprintf("the container failed: %q. The kernel refuses an offset that makes the clock negative, even by a fraction of a second: round the host's seconds down", said)
		}
		return fmt.Sprintf("with BOOTTIME fresh the container failed: exit status %d, %q", o.fresh.Code, said)
	}
	up, err := strconv.ParseInt(strings.TrimSpace(o.fresh.Stdout), 10, 64)
	switch {
	case err != nil:
		return fmt.Sprintf("the container printed %q for its uptime", strings.TrimSpace(o.fresh.Stdout))
	case up >= 0 && up <= freshSlack:
		return ""
	case up >= o.hostUptime:
		return fmt.Sprintf("uptime inside is %d s, the host's was %d s: no offset, or a positive one. The offset is added to the host's clock: minus CLOCK_BOOTTIME now (clock_gettime(2)), in whole seconds", up, o.hostUptime)
	}
	return fmt.Sprintf("uptime inside is %d s, want 0 to %d: read the host's CLOCK_BOOTTIME just before you write the offset", up, freshSlack)
}
