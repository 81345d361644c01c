package main

import (
	"fmt"
	"slices"
	"strings"

	"github.com/contain-dev/contain/labs/internal/grading"
)

// What the runner promises, as its main.go says: the container's
// hostname, the descriptors of its two pipes in the child, the status of a
// command not found.
const (
	hostname     = "lab02"
	configFD     = 3
	errorFD      = 4
	exitNotFound = 127
)

// observation is everything the grader saw of the learner's runner; each
// check reads it and nothing else.
type observation struct {
	// rootfs is the rootfs's path, symbolic links resolved, as
	// /proc/PID/root shows it.
	rootfs    string
	hostPidNS string
	// hold ran holdScript: said is the command's first line, "PID
	// HOSTNAME", and cmd what the host saw of it, nil when it never
	// printed.
	hold result
	said string
	cmd  *process
	// missing ran a command the rootfs does not have, escape the escape.
	missing, escape result
	// interrupt is the stretch goal's run, and intCmd its command as
	// the host saw it; skip says why it did not run, or "".
	interrupt result
	intCmd    *process
	skip      string
	// renamed is the name a run gave the host, "" when none did.
	renamed string
}

// checks are graded in the order the runner meets them.
var checks = []grading.Check[*observation]{
	{Name: "the runner re-executes itself and the command runs", Points: 1, Run: checkRuns},
	{Name: "the command is pid 1 of a new PID namespace, with the hostname lab02", Points: 2, Run: checkNamespaces},
	{Name: "the runner says the command runs while it runs", Points: 2, Run: checkStarted},
	{Name: "a failure before exec reaches the runner through fd 4", Points: 1, Run: checkFailure},
	{Name: "the command inherits only fds 0, 1 and 2", Points: 1, Run: checkFDs},
	{Name: "the command's root and working directory are the rootfs", Points: 2, Run: checkRoot},
	{Name: "the command is looked up inside the rootfs", Points: 1, Run: checkLookup},
	{Name: "chapter 02's escape stays inside", Points: 2, Run: checkEscape},
	{Name: "Ctrl-C: the command decides, the runner reports its status", Stretch: true, Skip: func(o *observation) string { return o.skip }, Run: checkInterrupt},
}

// noCommand is the hint of the checks that need the command to have run.
const noCommand = "the command never ran, so there is nothing to look at: see the first check"

// crashed tells whether the init stage of r died in the Go runtime, before
// any of its own code: see checkRuns.
func crashed(r result) bool { return strings.Contains(r.Stderr, "failed to create new OS thread") }

// escapeSaid returns the first line the escape program printed, which
// starts "escape: ", or "" when it never ran.
func escapeSaid(r result) string {
	for _, l := range strings.Split(r.Stderr, "\n") {
		if strings.HasPrefix(l, "escape: ") {
			return l
		}
	}
	return ""
}

// hungHint is the hint of the checks whose run the grader had to end
// because the runner waited on with no child left.
const hungHint = "the runner went on waiting after its init stage had gone, and the grader killed it: see the fd 4 check"

// noInit is the hint of the checks whose run never got to the init
// stage's code.
const noInit = "the init stage died before it could run anything: see the first check"

// said is the first line of what the runner (or its child) printed on
// standard error, with the rootfs as ROOTFS.
func (o *observation) saidErr(r result) string {
	return grading.FirstLine(strings.ReplaceAll(r.Stderr, o.rootfs, "ROOTFS"))
}

func checkRuns(o *observation) string {
	r := o.hold
	switch {
	case o.cmd != nil:
		return ""
	case crashed(r):
		return "the init stage died in the Go runtime (\"failed to create new OS thread\", errno 22): with Unshareflags the child itself stays outside its new PID namespace, and the kernel refuses a thread to a process whose pid_for_children differs from its own PID namespace. Cloneflags create the child inside"
	case o.said != "":
		return fmt.Sprintf("the command printed %q, but the grader found no single child of the runner to look at", o.said)
	case r.Killed == "hung":
		return fmt.Sprintf("the command never printed, and the runner waited on with no child left: %q", o.saidErr(r))
	}
	return fmt.Sprintf("the command never printed: exit status %d, %q", r.Code, o.saidErr(r))
}

func checkNamespaces(o *observation) string {
	switch {
	case o.renamed != "":
		return fmt.Sprintf("the runner renamed the host to %q (the grader put the name back): sethostname(2) ran outside a UTS namespace of the container's own", o.renamed)
	case o.cmd == nil:
		return noCommand
	case o.said == "1 "+hostname:
		return ""
	case o.cmd.PidNS == o.hostPidNS:
		return fmt.Sprintf("the command printed %q and is in the host's PID namespace: CLONE_NEWPID, in Cloneflags", o.said)
	}
	return fmt.Sprintf("the command printed %q (its pid and hostname), want \"1 %s\"", o.said, hostname)
}

// pipeFDs returns the descriptors of p that are pipes.
func pipeFDs(p *process) []int {
	var fds []int
	for fd, what := range p.FDs {
		if strings.HasPrefix(what, "pipe:") && fd > 2 {
			fds = append(fds, fd)
		}
	}
	slices.Sort(fds)
	return fds
}

func checkStarted(o *observation) string {
	switch {
	case o.hold.Started:
		return ""
	case o.cmd == nil:
		return noCommand
	case o.cmd.FDs[errorFD] != "":
		return fmt.Sprintf("the command ran for %v and the runner still waited for EOF on the error pipe: the command holds fd 4 (%s), which a successful execve(2) closes only when it is close-on-exec (unix.CloseOnExec)", startedLimit, o.cmd.FDs[errorFD])
	}
	return fmt.Sprintf("the command ran for %v and the runner still waited for EOF on the error pipe, although the command does not hold fd 4: a writer is still open elsewhere. After cmd.Start the runner holds copies of the child's ends; close them", startedLimit)
}

func checkFailure(o *observation) string {
	r := o.missing
	switch {
	case r.Code == exitNotFound && strings.HasPrefix(r.Stderr, "runner: ") && strings.Contains(r.Stderr, "no-such-command"):
		return ""
	case crashed(r):
		return noInit
	case r.Killed == "hung":
		return "for a command that does not exist, the init stage wrote its failure and exited, and the runner went on waiting on fd 4: ReadAll sees EOF only once every write end is closed, the runner's own copy too. After cmd.Start, close the child's ends in the runner"
	}
	return fmt.Sprintf("for a command that does not exist the runner exited with %d, %q; want 127 and the init stage's message, after \"runner: \"", r.Code, o.saidErr(r))
}

func checkFDs(o *observation) string {
	if o.cmd == nil {
		return noCommand
	}
	var extra []string
	for fd, what := range o.cmd.FDs {
		if fd > 2 {
			extra = append(extra, fmt.Sprintf("%d (%s)", fd, what))
		}
	}
	slices.Sort(extra)
	switch {
	case len(extra) == 0:
		return ""
	case o.cmd.FDs[configFD] != "":
		return fmt.Sprintf("the command holds %s: fd 3 is the config pipe, which os.NewFile leaves without close-on-exec; close it once the config is read", strings.Join(extra, ", "))
	}
	return fmt.Sprintf("the command holds %s: close what the command has no use for, or mark it close-on-exec", strings.Join(extra, ", "))
}

// under tells whether path is dir or below it.
func under(path, dir string) bool {
	return path == dir || strings.HasPrefix(path, dir+"/")
}

func checkRoot(o *observation) string {
	if o.cmd == nil {
		return noCommand
	}
	root := o.rootfs
	switch {
	case o.cmd.Root != root:
		return fmt.Sprintf("the command's root is %s, not the rootfs", o.cmd.Root)
	case !under(o.cmd.Cwd, root):
		return fmt.Sprintf("the command's working directory is %s, on the host, outside its root: chroot(2) changes the root and not the working directory, and \"..\" from there walks the host's tree (no escape program needed). chdir into the rootfs", o.cmd.Cwd)
	}
	return ""
}

func checkLookup(o *observation) string {
	r := o.escape
	switch {
	case escapeSaid(r) != "":
		return ""
	case crashed(r):
		return noInit
	case r.Killed == "hung":
		return hungHint
	case r.Code == exitNotFound:
		return fmt.Sprintf("`escape`, which only the rootfs has (in /usr/local/bin), was not found: %q. It was looked up before the chroot, in the host's directories: look it up after", o.saidErr(r))
	}
	return fmt.Sprintf("the runner did not run escape: exit status %d, %q", r.Code, o.saidErr(r))
}

// capSysChroot is CAP_SYS_CHROOT's bit in a capability set.
const capSysChroot = 1 << 18

func checkEscape(o *observation) string {
	r := o.escape
	said := escapeSaid(r)
	switch {
	case strings.HasPrefix(said, "escape: out of the chroot"):
		return "escape climbed out to the host's / and ran a command there: root in the chroot still has CAP_SYS_CHROOT, and one more chroot(2) leaves its working directory outside the root. Take the capability out of the bounding set (prctl PR_CAPBSET_DROP) before the exec, on the thread that execs"
	case strings.HasPrefix(said, "escape: chroot") && strings.Contains(said, "operation not permitted"):
		if o.cmd != nil && o.cmd.CapBnd&capSysChroot != 0 {
			return fmt.Sprintf("escape failed, but the command of the first run still has CAP_SYS_CHROOT in its bounding set (CapBnd %x): drop it on the thread that calls execve(2)", o.cmd.CapBnd)
		}
		return ""
	case strings.Contains(r.Stderr, "chroot") && strings.Contains(r.Stderr, "operation not permitted"):
		return fmt.Sprintf("the runner's own chroot failed: %q. It needs CAP_SYS_CHROOT in the init stage's effective set: take the capability from the bounding set alone (PR_CAPBSET_DROP), which limits what the exec gives the command and leaves the init stage what it has", o.saidErr(r))
	case crashed(r):
		return noInit
	case r.Killed == "hung":
		return hungHint
	case said == "":
		return fmt.Sprintf("escape did not run (exit status %d, %q): see the check above", r.Code, o.saidErr(r))
	}
	return fmt.Sprintf("escape said %q (exit status %d), want it to fail at its chroot(2)", said, r.Code)
}

// sigintBit is SIGINT's bit in SigIgn.
const sigintBit = 1 << (2 - 1)

func checkInterrupt(o *observation) string {
	r := o.interrupt
	switch {
	case r.Code == 7 && strings.Contains(r.Stdout, "got INT"):
		return ""
	case o.intCmd != nil && o.intCmd.SigIgn&sigintBit != 0:
		return "the command started with SIGINT ignored, so its trap did nothing: an ignored signal stays ignored through execve(2), and a shell cannot trap a signal that was ignored when it started. Catch SIGINT in the runner with signal.Notify instead of ignoring it: a caught signal is reset to its default in the child"
	case r.Killed != "":
		return fmt.Sprintf("after Ctrl-C the container was still running %v later", runLimit)
	case r.Code == 130:
		return "Ctrl-C killed the runner (exit status 130, SIGINT), and the command with it through Pdeathsig, before it could report: have the runner catch SIGINT (signal.Notify) and go on waiting"
	}
	return fmt.Sprintf("after Ctrl-C the runner exited with %d and printed %q, want the command's trap: got INT, status 7", r.Code, strings.TrimSpace(r.Stdout))
}
