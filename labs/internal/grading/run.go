package grading

import (
	"bytes"
	"errors"
	"os/exec"
	"time"
)

// Result is what one run of a program left for the checks to look at.
type Result struct {
	// Code is the exit status, -1 when a signal killed the program.
	Code           int
	Stdout, Stderr string
	// TimedOut tells that the program was still running at the time
	// limit, and was killed.
	TimedOut bool
}

// Run runs c with its output captured, killing it when it is still
// running after timeout (0 means no limit), so that a container that
// hangs fails its checks instead of hanging the grader. An exit status
// other than 0 is no error: the error says that c did not run at all.
func Run(c *exec.Cmd, timeout time.Duration) (Result, error) {
	return RunWatch(c, timeout, nil)
}

// RunWatch is Run that calls watch, when not nil, with each line of c's
// standard output (without its newline) as soon as it is printed; watch
// may signal c.Process.
func RunWatch(c *exec.Cmd, timeout time.Duration, watch func(line string)) (Result, error) {
	var stdout, stderr bytes.Buffer
	c.Stdout, c.Stderr = &lineWriter{buf: &stdout, watch: watch}, &stderr
	// Should a process of the container outlive it while holding its
	// output, give up waiting for the pipe soon after it is gone.
	c.WaitDelay = time.Second
	if err := c.Start(); err != nil {
		return Result{Code: -1}, err
	}
	var timer *time.Timer
	if timeout > 0 {
		timer = time.AfterFunc(timeout, func() { c.Process.Kill() })
	}
	err := c.Wait()
	// Stop reports false once the timer has fired, that is, killed c.
	r := Result{TimedOut: timer != nil && !timer.Stop()}
	r.Code, err = ExitStatus(err)
	r.Stdout, r.Stderr = stdout.String(), stderr.String()
	return r, err
}

// ExitStatus returns the exit status in err, an error from exec.Cmd's Run
// or Wait: 0 for nil, the status of an *exec.ExitError (-1 for a death
// by signal), or err itself when the program did not run.
func ExitStatus(err error) (int, error) {
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		return ee.ExitCode(), nil
	}
	return 0, err
}

// lineWriter appends what it is given to buf, and calls watch with each
// complete line.
type lineWriter struct {
	buf   *bytes.Buffer
	watch func(line string)
	// done is how much of buf watch has seen.
	done int
}

func (w *lineWriter) Write(p []byte) (int, error) {
	w.buf.Write(p)
	if w.watch == nil {
		return len(p), nil
	}
	for {
		rest := w.buf.Bytes()[w.done:]
		i := bytes.IndexByte(rest, '\n')
		if i < 0 {
			return len(p), nil
		}
		w.done += i + 1
		w.watch(string(rest[:i]))
	}
}
