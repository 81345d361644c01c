// Command container is lab 05's container runner:
//
//	container CMD [ARG...]
//
// runs CMD under an init of yours: the re-executed runner is pid 1 of new
// PID and mount namespaces, mounts a /proc of its own, starts CMD as its
// child and hands over to supervise, in init.go. This file is complete.
// Run it as root, through the grader or by hand.
package main

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"os/signal"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

// initArg0 marks the re-executed half, pid 1 of the new PID namespace.
const initArg0 = "lab05-init"

// stopTimeout is how long, for the stretch goal, the command may take to
// end after a SIGTERM has been forwarded to it, before the init kills it.
const stopTimeout = 2 * time.Second

func main() {
	if len(os.Args) < 2 {
		fmt.Fprintln(os.Stderr, "usage: container CMD [ARG...]")
		os.Exit(2)
	}
	if os.Args[0] == initArg0 {
		os.Exit(initMain(os.Args[1:]))
	}
	os.Exit(run())
}

// run starts this program again as pid 1 of new PID and mount namespaces,
// passes SIGTERM and SIGINT on to it, and returns its exit status.
func run() int {
	c := exec.Command("/proc/self/exe", os.Args[1:]...)
	c.Args[0] = initArg0
	c.Stdin, c.Stdout, c.Stderr = os.Stdin, os.Stdout, os.Stderr
	c.SysProcAttr = &syscall.SysProcAttr{Cloneflags: unix.CLONE_NEWPID | unix.CLONE_NEWNS, Pdeathsig: unix.SIGKILL}
	sigs := make(chan os.Signal, 1)
	signal.Notify(sigs, unix.SIGTERM, unix.SIGINT)
	if err := c.Start(); err != nil {
		fail("start: %v", err)
	}
	go func() {
		for s := range sigs {
			c.Process.Signal(s)
		}
	}()
	err := c.Wait()
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		if ws, ok := ee.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
			return 128 + int(ws.Signal())
		}
		return ee.ExitCode()
	}
	return 0
}

// initMain is pid 1: its own /proc, then the command as a child, then
// supervise.
func initMain(args []string) int {
	if err := unix.Mount("", "/", "", unix.MS_REC|unix.MS_PRIVATE, ""); err != nil {
		fail("make / private: %v", err)
	}
	if err := unix.Mount("proc", "/proc", "proc", 0, ""); err != nil {
		fail("mount proc: %v", err)
	}
	// Subscribe before the child exists, so that no signal is lost.
	sigs := make(chan os.Signal, 32)
	signal.Notify(sigs, unix.SIGCHLD, unix.SIGTERM, unix.SIGINT, unix.SIGHUP, unix.SIGUSR1, unix.SIGUSR2)
	path, err := exec.LookPath(args[0])
	if err != nil {
		fail("%s: not found", args[0])
	}
	child, err := syscall.ForkExec(path, args, &syscall.ProcAttr{Env: os.Environ(), Files: []uintptr{0, 1, 2}})
	if err != nil {
		fail("start %s: %v", path, err)
	}
	return supervise(child, sigs)
}

// fail prints a one-line error and exits with 125.
func fail(format string, args ...any) {
	fmt.Fprintf(os.Stderr, "container: "+format+"\n", args...)
	os.Exit(125)
}
