//go:build !solution

package main

import (
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strings"
	"syscall"

	"golang.org/x/sys/unix"
)

// start is the runner's half. It re-executes this program as the init
// stage, in new PID and UTS namespaces, with two pipes: the child reads c
// from fd 3, and writes a failure to fd 4, or nothing. start returns the
// running command, once it runs, or the init stage's *failure.
//
// As handed out, it works on paper and not in the kernel: the TODO(lab)
// lines mark what to fix, and the grader's hints say what goes wrong.
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
		// TODO(lab): the command is to be pid 1 of a new PID namespace,
		// and the hostname its own. Which of SysProcAttr's two fields
		// for CLONE_NEW* flags puts the child itself into them?
		// Read: chapter 01, "What SysProcAttr does behind your back".
		Unshareflags: unix.CLONE_NEWPID | unix.CLONE_NEWUTS,
		// If the runner dies, so does the container.
		Pdeathsig: unix.SIGKILL,
	}
	// TODO(stretch): Ctrl-C in the terminal sends SIGINT to the whole
	// foreground process group: this runner and the command. The command
	// should decide what it means (a shell that traps it, say) and the
	// runner stay to report its exit status. Delete this TODO line when
	// you start: the grader grades the stretch goal from then on.
	// Read: go doc os/signal; signal(7); execve(2) on signal dispositions.
	if err := cmd.Start(); err != nil {
		cfgR.Close()
		errW.Close()
		return nil, fmt.Errorf("start the init stage: %w", err)
	}
	// TODO(lab): the child has its own copies of its ends of the pipes
	// now. A reader sees EOF only once every copy of the write end is
	// closed (pipe(7)): which copies does this process still hold?
	cfgR.Close()
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
// config, sets the hostname, changes root and execs the command. It never
// returns: on a failure it reports on fd 4 (see fail) and exits.
func initStage() {
	errPipe := os.NewFile(errorFD, "errors")
	// TODO(lab): start waits for EOF on this pipe to know that the
	// command runs. What closes it when execve(2) succeeds?
	cfgPipe := os.NewFile(configFD, "config")
	var c config
	if err := json.NewDecoder(cfgPipe).Decode(&c); err != nil {
		fail(errPipe, exitSetup, "read the config: %v (the init stage is started by the runner, not by hand)", err)
	}
	// TODO(lab): the command inherits every descriptor that is still
	// open here and not close-on-exec. os.NewFile sets no flag.
	if err := unix.Sethostname([]byte(c.Hostname)); err != nil {
		fail(errPipe, exitSetup, "sethostname %s: %v", c.Hostname, err)
	}
	for _, kv := range c.Env {
		if k, v, ok := strings.Cut(kv, "="); ok {
			os.Setenv(k, v)
		}
	}
	// TODO(lab): is this the right moment to look CMD up? PATH names
	// directories, and which directories those are depends on the root.
	file, err := exec.LookPath(c.Args[0])
	if err != nil {
		fail(errPipe, exitNotFound, "%s: not found in the container (PATH=%s)", c.Args[0], os.Getenv("PATH"))
	}
	// TODO(lab): chroot(2) changes the root directory and nothing else.
	// Read: chroot(2), NOTES.
	if err := unix.Chroot(c.Rootfs); err != nil {
		fail(errPipe, exitSetup, "chroot %s: %v", c.Rootfs, err)
	}
	// TODO(lab): root keeps CAP_SYS_CHROOT in here, and with it chapter
	// 02's escape climbs out. A capability missing from the bounding set
	// is never granted again by execve(2) (capabilities(7)), and prctl(2)
	// takes one out of it. Mind which thread you ask: chapter 01 says
	// what belongs to a thread.
	err = unix.Exec(file, c.Args, c.Env)
	code := exitNotFound
	if err == unix.EACCES || err == unix.ENOEXEC {
		code = exitNotExec
	}
	fail(errPipe, code, "exec %s: %v", file, err)
}
