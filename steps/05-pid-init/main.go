// Command pid-init is the step program of chapter 05: a tiny init for a
// PID namespace, and the experiment that shows which namespaces a Go
// program can join with setns(2).
//
// usage:
//
//	pid-init run CMD...   run CMD under a tiny init, pid 1 of new PID and mount namespaces
//	pid-init setns PID    try setns(2) into each namespace of PID, from Go
//
// Both need root.
package main

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"os/signal"
	"runtime"
	"syscall"

	"golang.org/x/sys/unix"
)

func main() {
	if len(os.Args) < 3 {
		fmt.Fprintln(os.Stderr, "usage: pid-init run CMD [ARG...] | setns PID")
		os.Exit(2)
	}
	var err error
	switch os.Args[1] {
	case "run":
		err = run(os.Args[2:])
	case "-init":
		err = initMain(os.Args[2:])
	case "setns":
		err = setnsExperiment(os.Args[2])
	default:
		err = fmt.Errorf("unknown subcommand %q", os.Args[1])
	}
	var ee *exec.ExitError
	switch {
	case errors.As(err, &ee):
		os.Exit(ee.ExitCode())
	case err != nil:
		fmt.Fprintln(os.Stderr, "pid-init:", err)
		os.Exit(1)
	}
}

// run starts this program again as the init of new PID and mount
// namespaces and exits with its status.
//
// Equivalent to: unshare --pid --mount --fork --mount-proc tini -- CMD
func run(args []string) error {
	cmd := exec.Command("/proc/self/exe", append([]string{"-init"}, args...)...)
	cmd.Stdin, cmd.Stdout, cmd.Stderr = os.Stdin, os.Stdout, os.Stderr
	cmd.SysProcAttr = &syscall.SysProcAttr{Cloneflags: unix.CLONE_NEWPID | unix.CLONE_NEWNS}
	// Pass SIGTERM and SIGINT on instead of dying of them.
	sigs := make(chan os.Signal, 1)
	signal.Notify(sigs, unix.SIGTERM, unix.SIGINT)
	if err := cmd.Start(); err != nil {
		return err
	}
	go func() {
		for s := range sigs {
			cmd.Process.Signal(s)
		}
	}()
	return cmd.Wait()
}

// initMain is pid 1. It mounts a /proc of its PID namespace, starts CMD
// as its child and then does the two jobs of an init: forward signals to
// CMD, and reap every child that ends, CMD and orphans alike. It exits
// with CMD's status, 128+N for a death by signal N.
func initMain(args []string) error {
	if err := unix.Mount("", "/", "", unix.MS_REC|unix.MS_PRIVATE, ""); err != nil {
		return fmt.Errorf("make / private: %w", err)
	}
	if err := unix.Mount("proc", "/proc", "proc", 0, ""); err != nil {
		return fmt.Errorf("mount proc: %w", err)
	}
	// excerpt: start
	// Subscribe before the child exists, so that no signal is lost.
	// pid 1 receives only the signals it has a handler for
	// (pid_namespaces(7)): Notify installs one for each.
	sigs := make(chan os.Signal, 32)
	signal.Notify(sigs, unix.SIGCHLD, unix.SIGTERM, unix.SIGINT, unix.SIGHUP, unix.SIGUSR1, unix.SIGUSR2)
	path, err := exec.LookPath(args[0])
	if err != nil {
		return err
	}
	child, err := syscall.ForkExec(path, args, &syscall.ProcAttr{Env: os.Environ(), Files: []uintptr{0, 1, 2}})
	if err != nil {
		return err
	}
	// end excerpt
	// excerpt: reap
	for s := range sigs {
		if s != unix.SIGCHLD {
			fmt.Fprintf(os.Stderr, "init: forwarding %s to pid %d\n", unix.SignalName(s.(unix.Signal)), child)
			unix.Kill(child, s.(unix.Signal))
			continue
		}
		// One SIGCHLD may stand for several children: reap until
		// none is left that has ended.
		for {
			var ws unix.WaitStatus
			pid, err := unix.Wait4(-1, &ws, unix.WNOHANG, nil)
			if err != nil || pid <= 0 {
				break
			}
			if pid != child {
				fmt.Fprintf(os.Stderr, "init: reaped orphan pid %d\n", pid)
				continue
			}
			if ws.Signaled() {
				os.Exit(128 + int(ws.Signal()))
			}
			os.Exit(ws.ExitStatus())
		}
	}
	// end excerpt
	return nil
}

// setnsExperiment opens every namespace of pid and tries setns(2) into
// each from a locked thread of this (multithreaded, as every Go program)
// process. For mnt it tries twice: as is, and after unshare(CLONE_FS).
//
// Equivalent to what nsenter --target PID --all does, from Go.
func setnsExperiment(pid string) error {
	// excerpt: experiment
	names := []string{"user", "cgroup", "ipc", "uts", "net", "pid", "time", "mnt"}
	fds := map[string]int{}
	for _, n := range names {
		fd, err := unix.Open("/proc/"+pid+"/ns/"+n, unix.O_RDONLY|unix.O_CLOEXEC, 0)
		if err != nil {
			return fmt.Errorf("open %s namespace: %w", n, err)
		}
		fds[n] = fd
	}
	runtime.LockOSThread() // never unlocked: this thread is changed for good
	threads, _ := os.ReadDir("/proc/self/task")
	fmt.Printf("this process has %d threads\n", len(threads))
	for _, n := range names {
		err := unix.Setns(fds[n], 0)
		fmt.Printf("setns %-6s %s\n", n, errText(err))
		if n == "mnt" && err != nil {
			// The thread shares root and working directory (its
			// fs_struct) with the other threads: give it its own.
			if err := unix.Unshare(unix.CLONE_FS); err != nil {
				return fmt.Errorf("unshare(CLONE_FS): %w", err)
			}
			fmt.Printf("setns %-6s %s, after unshare(CLONE_FS)\n", n, errText(unix.Setns(fds[n], 0)))
		}
	}
	// end excerpt
	return nil
}

// errText is "ok" for nil and the errno's name otherwise.
func errText(err error) string {
	var errno unix.Errno
	if errors.As(err, &errno) {
		return unix.ErrnoName(errno) + " (" + err.Error() + ")"
	}
	if err != nil {
		return err.Error()
	}
	return "ok"
}
