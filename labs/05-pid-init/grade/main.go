// Command grade checks lab 05. It builds your container
// (labs/05-pid-init/container), runs four commands under your init and
// prints one line per check, a hint drawn from what happened for each
// failure, and the score:
//
//	go run ./labs/05-pid-init/grade            grade init.go
//	go run ./labs/05-pid-init/grade -solution  grade the reference instead
//
// It exits 0 only with the full score. Every container is bounded in time,
// so that an init that never returns fails its check instead of hanging.
package main

import (
	"fmt"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"time"

	"github.com/contain-dev/contain/labs/internal/grading"
)

// The commands the grader runs under your init. orphanScript makes an
// orphan (its parent exits at once) and watches its /proc entry, which
// stays, as a zombie, until pid 1 reaps it. It looks 30 times, 0.1 s
// apart: few enough forks that a slow (emulated) machine still finishes
// well inside the limit.
const (
	exitScript   = "exit 3"
	signalScript = "kill -TERM $$"
	orphanScript = `p=$(sh -c 'sleep 0 & echo $!'); i=0
while [ -e /proc/$p ] && [ $i -lt 30 ]; do sleep 0.1; i=$((i+1)); done
[ -e /proc/$p ] && echo "zombie: pid $p, stat $(cut -d" " -f2-4 /proc/$p/stat)" || echo gone`
	termScript = `trap 'echo got TERM; exit 5' TERM; echo ready; while :; do sleep 0.1; done`
	// deafScript ignores SIGTERM, and so do the sleeps it starts: only
	// SIGKILL ends it (the stretch goal).
	deafScript = `trap '' TERM; echo ready; while :; do sleep 0.1; done`
)

// stopTimeout is the container's (see its main.go).
const stopTimeout = 2 * time.Second

// containerPkg is the learner's program, as go build names it.
const containerPkg = "./labs/05-pid-init/container"

// limit bounds each container.
const limit = 10 * time.Second

func main() {
	grading.Main("grade the reference solution, init_solution.go, instead of init.go", "", grade)
}

// observation holds the runs.
type observation struct {
	exit, signal, orphan, term grading.Result
	// deaf is the stretch goal's run, and stopped how long after SIGTERM
	// it ended; skip says why it did not run, or "".
	deaf    grading.Result
	stopped time.Duration
	skip    string
}

// grade builds the container, observes it and reports.
func grade(solution bool, _ []string) (int, error) {
	s, err := grading.Start("lab05", "for namespaces")
	if err != nil {
		return 2, err
	}
	defer s.Close()
	bins, err := s.Build(s.Tmp, solution, containerPkg)
	if err != nil {
		return 1, err
	}
	o := &observation{
		exit:   runContainer(bins[0], exitScript, false),
		signal: runContainer(bins[0], signalScript, false),
		orphan: runContainer(bins[0], orphanScript, false),
	}
	o.term, _ = runTerm(bins[0], termScript)
	if o.skip, err = s.Stretch(solution, containerPkg); err != nil {
		return 2, err
	}
	if o.skip == "" {
		o.deaf, o.stopped = runTerm(bins[0], deafScript)
	}
	return grading.Report(os.Stdout, checks, o).Status(), nil
}

// runContainer runs script under the container. With term it waits for
// the line "ready" and then sends SIGTERM to the container. At the time
// limit it kills the container's runner, whose death kills the init
// (Pdeathsig), and with it the PID namespace.
func runContainer(bin, script string, term bool) grading.Result {
	r, _ := run(bin, script, term)
	return r
}

// runTerm is runContainer with term, which also says how long after the
// SIGTERM the container ended.
func runTerm(bin, script string) (grading.Result, time.Duration) { return run(bin, script, true) }

func run(bin, script string, term bool) (grading.Result, time.Duration) {
	c := exec.Command(bin, "/bin/sh", "-c", script)
	var sent time.Time
	r, err := grading.RunWatch(c, limit, func(line string) {
		if term && line == "ready" {
			sent = time.Now()
			c.Process.Signal(syscall.SIGTERM)
		}
	})
	if err != nil {
		r.Code, r.Stderr = -1, err.Error()
	}
	if sent.IsZero() {
		return r, 0
	}
	return r, time.Since(sent)
}

// checks are the lab's checks, in the order the report prints them.
var checks = []grading.Check[*observation]{
	{Name: "the command's exit status passes through", Points: 1, Run: checkExit},
	{Name: "a death by signal N gives 128+N", Points: 2, Run: checkSignal},
	{Name: "an orphan is reaped", Points: 3, Run: checkOrphan},
	{Name: "SIGTERM sent to the container reaches the command", Points: 3, Run: checkTerm},
	{Name: "a command that ignores SIGTERM is killed after stopTimeout", Stretch: true, Skip: func(o *observation) string { return o.skip }, Run: checkDeaf},
}

func checkExit(o *observation) string {
	if o.exit.Code != 3 {
		return fmt.Sprintf("`sh -c 'exit 3'` made the container exit with %d (%s): return the command's exit status", o.exit.Code, strings.TrimSpace(o.exit.Stderr))
	}
	return ""
}

func checkSignal(o *observation) string {
	if o.signal.Code != 128+int(syscall.SIGTERM) {
		return fmt.Sprintf("the command died of SIGTERM and the container exited with %d, want 143: WaitStatus.ExitStatus() is -1 for a death by signal; check Signaled() and return 128+Signal()", o.signal.Code)
	}
	return ""
}

func checkOrphan(o *observation) string {
	out := strings.TrimSpace(o.orphan.Stdout)
	switch {
	case out == "gone":
		return ""
	case strings.HasPrefix(out, "zombie"):
		return fmt.Sprintf("the orphan stayed a zombie for 3 s (%s): it was re-parented to pid 1, your init; wait4(-1, ..., WNOHANG) on every SIGCHLD, in a loop", out)
	case o.orphan.TimedOut:
		return fmt.Sprintf("the orphan test was still running after %v: does your init return once the command has ended?", limit)
	}
	return fmt.Sprintf("the orphan test printed %q (exit status %d)", out, o.orphan.Code)
}

func checkTerm(o *observation) string {
	switch {
	case o.term.TimedOut:
		return fmt.Sprintf("the command never got SIGTERM: the container was still running %v after it. pid 1 received it (it has a handler), so forward what arrives on sigs to the command with unix.Kill", limit)
	case !strings.Contains(o.term.Stdout, "got TERM") || o.term.Code != 5:
		return fmt.Sprintf("after SIGTERM the container exited with %d and printed %q, want the command's trap (got TERM, status 5)", o.term.Code, strings.TrimSpace(o.term.Stdout))
	}
	return ""
}

func checkDeaf(o *observation) string {
	r := o.deaf
	switch {
	case r.TimedOut:
		return fmt.Sprintf("the command ignores SIGTERM, and it was still running %v after it: arm a timer when you forward SIGTERM, and SIGKILL the command when it fires (select on the timer and on sigs)", limit)
	case r.Code != 128+int(syscall.SIGKILL):
		return fmt.Sprintf("after SIGTERM the container exited with %d (%q), want 137: the command dead of SIGKILL", r.Code, strings.TrimSpace(r.Stderr))
	case o.stopped < stopTimeout*3/4:
		return fmt.Sprintf("the command was killed %v after SIGTERM: give it stopTimeout (%v) to end by itself first", o.stopped.Round(10*time.Millisecond), stopTimeout)
	}
	return ""
}
