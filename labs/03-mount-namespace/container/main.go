// Command container is the program you finish in lab 03: a container runner
// small enough to read in one sitting.
//
//	container ROOTFS CMD [ARG...]
//
// It runs in two stages, as contain does (chapter 01 says why a Go program
// cannot simply fork):
//
//  1. The parent re-executes its own binary, /proc/self/exe, with clone(2)
//     flags for new mount, PID, UTS and IPC namespaces, and waits for it.
//  2. That child, the container's pid 1, sets the hostname to "lab", calls
//     setup(ROOTFS) and execs CMD inside the new root.
//
// This file is complete. The work of the lab is setup and its steps, in
// setup.go (the lines marked TODO(lab)); setup_solution.go, built with
// `-tags solution`, is the reference.
//
// Run it through the grader, which gives it a mount namespace of its own
// to spoil, instead of the host's:
//
//	go run ./labs/03-mount-namespace/grade /bin/sh
package main

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"os/signal"
	"syscall"

	"golang.org/x/sys/unix"
)

// initArg0 is the argv[0] the parent gives its re-executed child: it tells
// main which stage it is, without taking a name from the user's arguments.
const initArg0 = "container-init"

// Exit statuses for failures before CMD runs, as chroot(1) and contain use
// them.
const (
	exitUsage    = 2
	exitSetup    = 125
	exitNotFound = 127
)

// path is where CMD is looked up, in the container's own directories.
const path = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

// env is the whole environment of CMD: nothing of the host's but TERM, so
// that terminal programs draw right.
var env = []string{"PATH=" + path, "HOME=/root", "TERM=" + os.Getenv("TERM")}

func main() {
	if os.Args[0] == initArg0 {
		initMain(os.Args[1], os.Args[2:])
	}
	if len(os.Args) < 3 {
		fmt.Fprintln(os.Stderr, "usage: container ROOTFS CMD [ARG...]")
		os.Exit(exitUsage)
	}
	code, err := run(os.Args[1], os.Args[2:])
	if err != nil {
		fmt.Fprintln(os.Stderr, "container:", err)
	}
	os.Exit(code)
}

// run is the parent stage: it checks its arguments, starts the container's
// first process in new namespaces and returns its exit status.
//
// Equivalent to: unshare --mount --pid --uts --ipc --fork container-init ROOTFS CMD...
func run(rootfs string, args []string) (int, error) {
	if os.Geteuid() != 0 {
		return exitUsage, errors.New("needs root: run it as root, through the grader (go run ./labs/03-mount-namespace/grade /bin/sh)")
	}
	if err := refuseHostMountNamespace(); err != nil {
		return exitUsage, err
	}
	if st, err := os.Stat(rootfs); err != nil || !st.IsDir() {
		return exitUsage, fmt.Errorf("rootfs %s is not a directory: build one with scripts/mkrootfs.sh DIR", rootfs)
	}
	cmd := exec.Command("/proc/self/exe", append([]string{rootfs}, args...)...)
	cmd.Args[0] = initArg0
	cmd.Stdin, cmd.Stdout, cmd.Stderr = os.Stdin, os.Stdout, os.Stderr
	cmd.SysProcAttr = &syscall.SysProcAttr{
		// Cloneflags, not Unshareflags: clone(2) creates the child inside
		// the new PID namespace, so that it is pid 1 there.
		Cloneflags: unix.CLONE_NEWNS | unix.CLONE_NEWPID | unix.CLONE_NEWUTS | unix.CLONE_NEWIPC,
		// If this parent dies, the container dies with it.
		Pdeathsig: unix.SIGKILL,
	}
	// Ctrl-C reaches the whole foreground process group, the container
	// included. Catch it here, so that the container decides what it
	// means and this parent goes on waiting. (A caught signal is reset to
	// its default in the child by execve(2); an ignored one would stay
	// ignored there.)
	signal.Notify(make(chan os.Signal, 1), os.Interrupt, syscall.SIGQUIT)
	err := cmd.Run()
	var exit *exec.ExitError
	switch {
	case errors.As(err, &exit):
		if ws, ok := exit.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
			return 128 + int(ws.Signal()), nil
		}
		return exit.ExitCode(), nil
	case err != nil:
		return exitSetup, fmt.Errorf("start the container: %w", err)
	}
	return 0, nil
}

// sandboxEnv names the variable through which the grader tells this
// program the mount namespace it prepared for it.
const sandboxEnv = "LAB03_SANDBOX"

// refuseHostMountNamespace stops a run anywhere but in the throwaway mount
// namespace the grader prepares. While setup.go is unfinished, its mounts
// can propagate back into the namespace this program starts from: on a
// systemd host that is the host's own, and an rm -rf of the rootfs would
// then delete through a bind of the host's /dev.
func refuseHostMountNamespace() error {
	self, err := os.Readlink("/proc/self/ns/mnt")
	if err != nil {
		return fmt.Errorf("read my mount namespace: %w", err)
	}
	if os.Getenv(sandboxEnv) != self {
		return errors.New("refusing to start outside the grader's throwaway mount namespace, where a mistake in setup.go could mount over the host: run me through the grader (go run ./labs/03-mount-namespace/grade /bin/sh)")
	}
	return nil
}

// initMain is the child stage, pid 1 of the container. It never returns:
// it execs CMD or exits with a one-line error.
func initMain(rootfs string, args []string) {
	// The UTS namespace is ours alone, so this leaves the host's name be.
	if err := unix.Sethostname([]byte("lab")); err != nil {
		fail(exitSetup, "sethostname lab: %v", err)
	}
	if err := setup(rootfs); err != nil {
		// The working directory tells the grader (and you) what "."
		// meant to the step that failed.
		wd, _ := unix.Getwd()
		fail(exitSetup, "setup %s: %v (working directory %s)", rootfs, err, wd)
	}
	// Look CMD up only now, in the container's PATH and root, so that
	// /bin/sh means the rootfs's shell, not the host's.
	os.Setenv("PATH", path)
	file, err := exec.LookPath(args[0])
	if err != nil {
		fail(exitNotFound, "%s: not found in the container (is / the rootfs yet?)", args[0])
	}
	err = unix.Exec(file, args, env)
	fail(exitNotFound, "exec %s: %v", file, err)
}

// fail prints a one-line error and exits with code.
func fail(code int, format string, args ...any) {
	fmt.Fprintf(os.Stderr, "container: "+format+"\n", args...)
	os.Exit(code)
}
