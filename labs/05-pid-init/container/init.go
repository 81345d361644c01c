//go:build !solution

package main

import (
	"os"

	"golang.org/x/sys/unix"
)

// supervise is pid 1's work once the command, pid child, runs. sigs
// receives SIGCHLD and the signals to forward (see initMain). It returns
// the exit status for the whole container: the command's, or 128+N when
// signal N killed it. When it returns, the process exits and the kernel
// kills everything left in the PID namespace.
//
// As handed out, it waits for the command and nothing else.
func supervise(child int, sigs chan os.Signal) int {
	// TODO(lab): three jobs, all in one loop over sigs.
	//  1. A signal other than SIGCHLD is for the command: forward it with
	//     unix.Kill. (pid 1 only gets signals it has a handler for, and
	//     initMain installed one for each; now pass them on.)
	//  2. On SIGCHLD, reap every child that has ended: unix.Wait4(-1, ...,
	//     unix.WNOHANG, nil) in a loop until it returns 0 or an error.
	//     Orphans are re-parented to pid 1 and are yours to reap too;
	//     until then they are zombies.
	//  3. When the child that ended is the command, return its status,
	//     128+N if signal N killed it (WaitStatus.Signaled, .Signal).
	// Read: wait4(2), pid_namespaces(7), signal(7).
	//
	// TODO(stretch): a command that ignores SIGTERM (sh's trap '' TERM)
	// never ends, and the container with it. Once a SIGTERM has been
	// forwarded, give the command stopTimeout to end; then SIGKILL it,
	// which it cannot ignore. Your loop then waits for two things at
	// once. Delete this TODO line when you start: the grader grades the
	// stretch goal from then on. Read: go doc time.After; the Go spec,
	// "Select statements".
	var ws unix.WaitStatus
	unix.Wait4(child, &ws, 0, nil)
	return ws.ExitStatus()
}
