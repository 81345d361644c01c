//go:build solution

package main

import (
	"os"
	"time"

	"golang.org/x/sys/unix"
)

// supervise forwards signals to the command, reaps every child that ends
// and returns the command's status, 128+N for a death by signal N. After
// a SIGTERM it gives the command stopTimeout to end, then kills it: the
// stop of docker stop and lxc-stop, from inside.
//
// Equivalent to: what tini does after it has started the command, with
// tini -g's kill left to a timer.
func supervise(child int, sigs chan os.Signal) int {
	// kill is nil, a channel that never delivers, until a SIGTERM arms
	// it: select then waits on sigs alone.
	var kill <-chan time.Time
	for {
		select {
		case <-kill:
			unix.Kill(child, unix.SIGKILL)
			kill = nil
		case s := <-sigs:
			if s != unix.SIGCHLD {
				unix.Kill(child, s.(unix.Signal))
				if s == unix.SIGTERM && kill == nil {
					kill = time.After(stopTimeout)
				}
				continue
			}
			for {
				var ws unix.WaitStatus
				pid, err := unix.Wait4(-1, &ws, unix.WNOHANG, nil)
				if err != nil || pid <= 0 {
					break
				}
				if pid != child {
					continue // an orphan, reaped
				}
				if ws.Signaled() {
					return 128 + int(ws.Signal())
				}
				return ws.ExitStatus()
			}
		}
	}
}
