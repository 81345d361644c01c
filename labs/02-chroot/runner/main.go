// Command runner is the program you finish in lab 02: contain chroot in
// small, a chroot(2) done by a re-executed child.
//
//	runner ROOTFS CMD [ARG...]
//
// It runs in two stages, as contain does (chapter 01):
//
//  1. The runner, start in stage.go, re-executes its own binary,
//     /proc/self/exe, in new PID and UTS namespaces, sends the child its
//     config as JSON over a pipe, fd 3, and returns once the command runs,
//     or with the child's failure, which comes back over a second pipe,
//     fd 4. It says "runner: CMD runs as pid N" and waits.
//  2. The child, initStage in stage.go, reads the config, sets the
//     hostname, changes root to ROOTFS (chapter 02) and execs CMD.
//
// This file is complete: the arguments, the config, what a failure looks
// like on fd 4, and the exit statuses, those of chroot(8): 125 when the
// runner fails, 126 when CMD cannot be executed, 127 when it is not
// found, otherwise CMD's own, 128+N for a death by signal N. The work of
// the lab is in stage.go (the lines marked TODO(lab)); stage_solution.go,
// built with `-tags solution`, is the reference. Run it through the
// grader, or by hand as root:
//
//	go run ./labs/02-chroot/runner /var/lib/contain/rootfs/busybox /bin/sh
package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
)

// initArg0 is the argv[0] the runner gives its re-executed child: it tells
// main which stage it is, without taking a name from the user's arguments.
const initArg0 = "runner-init"

// The descriptors of the two pipes in the child, as exec.Cmd.ExtraFiles
// numbers them: the config comes in on one, a failure goes out on the
// other.
const (
	configFD = 3
	errorFD  = 4
)

// Exit statuses for failures before CMD runs, as chroot(8) uses them.
const (
	exitUsage    = 2
	exitSetup    = 125
	exitNotExec  = 126
	exitNotFound = 127
)

// hostname is the container's, in its own UTS namespace.
const hostname = "lab02"

// path is where CMD is looked up, in the container's own directories.
const path = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

// config is what the runner tells the init stage, as JSON on fd 3: nothing
// goes through the command line or the environment, which CMD would see.
type config struct {
	// Rootfs is the absolute path of the root filesystem on the host.
	Rootfs   string   `json:"rootfs"`
	Hostname string   `json:"hostname"`
	Args     []string `json:"args"`
	// Env is the whole environment of CMD.
	Env []string `json:"env"`
}

// failure is what the init stage writes on fd 4 when CMD cannot run, and
// what start returns then.
type failure struct {
	Msg  string `json:"msg"`
	Code int    `json:"code"`
}

func (f *failure) Error() string { return f.Msg }

func main() {
	if os.Args[0] == initArg0 {
		initStage() // never returns
	}
	if len(os.Args) < 3 {
		fmt.Fprintln(os.Stderr, "usage: runner ROOTFS CMD [ARG...]")
		os.Exit(exitUsage)
	}
	if os.Geteuid() != 0 {
		fmt.Fprintln(os.Stderr, "runner: needs root, for chroot(2) and namespaces: run it as root")
		os.Exit(exitUsage)
	}
	rootfs, err := filepath.Abs(os.Args[1])
	if st, serr := os.Stat(rootfs); err != nil || serr != nil || !st.IsDir() {
		fmt.Fprintf(os.Stderr, "runner: rootfs %s is not a directory: build one with scripts/mkrootfs.sh DIR\n", os.Args[1])
		os.Exit(exitUsage)
	}
	cmd, err := start(config{
		Rootfs:   rootfs,
		Hostname: hostname,
		Args:     os.Args[2:],
		Env:      []string{"PATH=" + path, "HOME=/root", "TERM=" + os.Getenv("TERM")},
	})
	var f *failure
	switch {
	case errors.As(err, &f):
		fmt.Fprintln(os.Stderr, "runner:", f.Msg)
		os.Exit(f.Code)
	case err != nil:
		fmt.Fprintln(os.Stderr, "runner:", err)
		os.Exit(exitSetup)
	}
	fmt.Fprintf(os.Stderr, "runner: %s runs as pid %d\n", os.Args[2], cmd.Process.Pid)
	os.Exit(wait(cmd))
}

// wait waits for the command and returns its exit status, 128+N for a
// death by signal N, as the shells report it.
func wait(cmd *exec.Cmd) int {
	err := cmd.Wait()
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		if ws, ok := ee.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
			return 128 + int(ws.Signal())
		}
		return ee.ExitCode()
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "runner: wait:", err)
		return exitSetup
	}
	return 0
}

// fail is the init stage's way out before CMD runs: it writes the failure
// to the error pipe, for start to return, and exits with code.
func fail(errPipe *os.File, code int, format string, args ...any) {
	json.NewEncoder(errPipe).Encode(failure{Msg: fmt.Sprintf(format, args...), Code: code})
	os.Exit(code)
}
