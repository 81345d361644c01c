//go:build solution

package main

import (
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/exec"
	"os/signal"
	"runtime"
	"strings"
	"syscall"

	"golang.org/x/sys/unix"
)

// start is the runner's half. It re-executes this program as the init
// stage, in new PID and UTS namespaces, with two pipes: the child reads c
// from fd 3, and writes a failure to fd 4, or nothing. start returns the
// running command, once it runs, or the init stage's *failure.
//
// Equivalent to: unshare --pid --uts --fork runner-init 3<config 4>errors,
// then cat errors, which ends when the command runs.
func start(c config) (*exec.Cmd, error) {
	cfgR, cfgW, err := os.Pipe()
	if err != nil {
		return nil, err
	}
	defer cfgW.Close()
	errR, errW, err := os.Pipe()
	if err != nil {
		return nil, err
	}
	defer errR.Close()
	cmd := exec.Command("/proc/self/exe")
	cmd.Args[0] = initArg0
	cmd.Stdin, cmd.Stdout, cmd.Stderr = os.Stdin, os.Stdout, os.Stderr
	cmd.ExtraFiles = []*os.File{cfgR, errW} // fd 3 and fd 4 of the child
	cmd.SysProcAttr = &syscall.SysProcAttr{
		// Cloneflags, not Unshareflags: clone(2) creates the child in
		// the new namespaces. unshare(2) after the fork would leave it
		// outside its new PID namespace, where the kernel refuses its
		// Go runtime a thread (chapter 01, Break it 1).
		Cloneflags: unix.CLONE_NEWPID | unix.CLONE_NEWUTS,
		// If the runner dies, so does the container.
		Pdeathsig: unix.SIGKILL,
	}
	// Ctrl-C reaches the whole foreground process group: catch it here,
	// so that the command decides what it means and the runner goes on
	// waiting. Caught, not ignored: execve(2) resets a caught signal to
	// its default in the child, but an ignored one stays ignored, and a
	// shell cannot trap a signal that was ignored when it started. And
	// before Start, so that a Ctrl-C while the container starts does not
	// kill the runner, and through Pdeathsig the container, either.
	signal.Notify(make(chan os.Signal, 1), os.Interrupt, syscall.SIGQUIT)
	if err := cmd.Start(); err != nil {
		cfgR.Close()
		errW.Close()
		return nil, fmt.Errorf("start the init stage: %w", err)
	}
	// The child's ends: their copies here must go, or ReadAll below
	// would wait for this very process to close errW.
	cfgR.Close()
	errW.Close()
	if err := json.NewEncoder(cfgW).Encode(c); err != nil {
		cmd.Process.Kill()
		cmd.Wait()
		return nil, fmt.Errorf("send the config: %w", err)
	}
	cfgW.Close()
	// EOF with nothing before it: the command runs.
	msg, err := io.ReadAll(errR)
	if err != nil {
		cmd.Process.Kill()
		cmd.Wait()
		return nil, fmt.Errorf("read the init stage's pipe: %w", err)
	}
	if len(msg) > 0 {
		cmd.Wait()
		var f failure
		if err := json.Unmarshal(msg, &f); err != nil {
			return nil, &failure{Msg: fmt.Sprintf("init stage: %s", msg), Code: exitSetup}
		}
		return nil, &f
	}
	return cmd, nil
}

// initStage is the child's half, the container's pid 1. It reads its
// config, sets the hostname, changes root, takes CAP_SYS_CHROOT from what
// the command will get, looks the command up and execs it. It never returns: on a failure it
// reports on fd 4 (see fail) and exits.
func initStage() {
	// Close-on-exec: a successful execve(2) closes fd 4, and that EOF is
	// the runner's sign that the command runs. A failure is written
	// before, while fd 4 is open.
	unix.CloseOnExec(errorFD)
	errPipe := os.NewFile(errorFD, "errors")
	cfgPipe := os.NewFile(configFD, "config")
	var c config
	if err := json.NewDecoder(cfgPipe).Decode(&c); err != nil {
		fail(errPipe, exitSetup, "read the config: %v (the init stage is started by the runner, not by hand)", err)
	}
	// The command has no business with fd 3: it would inherit it.
	cfgPipe.Close()
	if err := unix.Sethostname([]byte(c.Hostname)); err != nil {
		fail(errPipe, exitSetup, "sethostname %s: %v", c.Hostname, err)
	}
	if err := enterRoot(c.Rootfs); err != nil {
		fail(errPipe, exitSetup, "%v", err)
	}
	// The bounding set, like every capability set, belongs to a thread,
	// and the new program's come from the thread that calls execve(2):
	// the drop and the exec must happen on one thread. Never unlocked;
	// the exec ends the goroutine.
	runtime.LockOSThread()
	if err := dropChroot(); err != nil {
		fail(errPipe, exitSetup, "%v", err)
	}
	// Only now is CMD looked up: after the chroot, PATH names the
	// rootfs's directories.
	for _, kv := range c.Env {
		if k, v, ok := strings.Cut(kv, "="); ok {
			os.Setenv(k, v)
		}
	}
	file, err := exec.LookPath(c.Args[0])
	if err != nil {
		fail(errPipe, exitNotFound, "%s: not found in the container (PATH=%s)", c.Args[0], os.Getenv("PATH"))
	}
	err = unix.Exec(file, c.Args, c.Env)
	code := exitNotFound
	if err == unix.EACCES || err == unix.ENOEXEC {
		code = exitNotExec
	}
	fail(errPipe, code, "exec %s: %v", file, err)
}

// enterRoot makes dir the root directory and the working directory:
// chroot(2) leaves the working directory where it was, outside the new
// root, where ".." leads on into the host's tree.
//
// Equivalent to: cd $dir && chroot .
func enterRoot(dir string) error {
	if err := unix.Chdir(dir); err != nil {
		return fmt.Errorf("chdir %s: %w", dir, err)
	}
	if err := unix.Chroot("."); err != nil {
		return fmt.Errorf("chroot %s: %w", dir, err)
	}
	return unix.Chdir("/")
}

// dropChroot takes CAP_SYS_CHROOT out of this thread's bounding set:
// after execve(2) the command's permitted set, root's included, holds
// nothing the bounding set lacks (capabilities(7)), and without the
// capability no chroot(2), so no escape. This process keeps it in its
// effective set until the exec: the bounding set limits what an exec
// gives, not what a process has.
//
// Equivalent to: capsh --drop=cap_sys_chroot -- -c CMD
func dropChroot() error {
	if err := unix.Prctl(unix.PR_CAPBSET_DROP, unix.CAP_SYS_CHROOT, 0, 0, 0); err != nil {
		return fmt.Errorf("drop CAP_SYS_CHROOT from the bounding set: %w", err)
	}
	return nil
}
