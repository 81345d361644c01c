package initstage

import (
	"fmt"
	"os"
	"time"

	"golang.org/x/sys/unix"
)

// stopTimer is the escalation of Process.Wait, as docker stop, podman stop
// and lxc-stop do it: SIGTERM first, SIGKILL when the container has not
// ended after the stop timeout. It is needed because pid 1 of a PID
// namespace ignores every signal it has no handler for, even from the
// host (pid_namespaces(7)); busybox sh as pid 1 ignores SIGTERM that way.
// Only SIGKILL is always delivered from an ancestor namespace, and when
// pid 1 dies the kernel kills every other process in the namespace.
type stopTimer struct {
	sig     os.Signal
	timeout time.Duration
	timer   *time.Timer
}

// start arms the timer for a signal that asks the container to stop,
// once; t is nil until then.
func (t *stopTimer) start(s os.Signal, timeout time.Duration) *stopTimer {
	if t != nil || timeout <= 0 || (s != unix.SIGTERM && s != unix.SIGINT) {
		return t
	}
	return &stopTimer{sig: s, timeout: timeout, timer: time.NewTimer(timeout)}
}

// expired fires when the stop timeout has passed; never for a nil timer.
func (t *stopTimer) expired() <-chan time.Time {
	if t == nil {
		return nil
	}
	return t.timer.C
}

// killed returns the status of a container that Wait killed with SIGKILL
// after the stop timeout (137), and says why. waitErr is what
// exec.Cmd.Wait returned for it.
func (t *stopTimer) killed(waitErr error) (int, error) {
	code, err := ExitStatus(waitErr)
	if err != nil {
		return code, err
	}
	return code, fmt.Errorf("the container did not stop within %v of %s: killed it with SIGKILL", t.timeout, unix.SignalName(t.sig.(unix.Signal)))
}
