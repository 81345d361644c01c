package namespace

import (
	"errors"
	"fmt"
	"os"

	"golang.org/x/sys/unix"
)

// NewTime creates a time namespace for the calling process's future
// children and gives its clocks the offsets o. Two rules of
// time_namespaces(7) decide how:
//
//   - unshare(CLONE_NEWTIME) does not move the caller: it sets
//     /proc/self/ns/time_for_children, which a child created by fork then
//     enters. Kernel 6.18 also moves the caller there at execve(2); 6.1
//     (Debian 12) does not, and refuses the caller any clone with CLONE_VM
//     (threads, vfork) from then on. So the command must be forked, by a
//     real fork, not exec'd in place (initstage's forkExec);
//   - the offsets can be written only while no process is in the new
//     namespace; afterwards /proc/PID/timens_offsets says EACCES.
//
// So the window is between the unshare and the first fork. The file is
// per process and names the namespace of the thread group leader, so the
// caller must run on the process's main thread (tid == pid), with that
// goroutine locked to it.
//
// Equivalent to: unshare --time --fork --boottime $b --monotonic $m (which
// does the same: unshare, write the offsets, then fork).
func NewTime(o TimeOffsets) error {
	if unix.Gettid() != os.Getpid() {
		return errors.New("new time namespace: not on the main thread, whose namespace /proc/self/timens_offsets sets: lock the main goroutine to it in an init function")
	}
	if err := unix.Unshare(unix.CLONE_NEWTIME); err != nil {
		return fmt.Errorf("unshare(CLONE_NEWTIME): %w", err)
	}
	if o == (TimeOffsets{}) {
		return nil
	}
	if err := os.WriteFile("/proc/self/timens_offsets", []byte(o.File()), 0); err != nil {
		return fmt.Errorf("write time offsets %s: %w", o, err)
	}
	return nil
}
