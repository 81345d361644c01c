//go:build solution

package main

import (
	"os"

	"golang.org/x/sys/unix"
)

// supervise forwards signals to the command, reaps every child that ends
// and returns the command's status, 128+N for a death by signal N.
//
// Equivalent to: what tini does after it has started the command.
func supervise(child int, sigs chan os.Signal) int {
	for s := range sigs {
		if s != unix.SIGCHLD {
			unix.Kill(child, s.(unix.Signal))
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
	return 125
}
