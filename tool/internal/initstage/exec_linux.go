package initstage

import (
	"fmt"
	"os"
	"os/exec"
	"runtime"
	"slices"

	"golang.org/x/sys/unix"

	"github.com/contain-dev/contain/tool/internal/namespace"
)

// Exec runs cfg's command, cfg.Mode ModeExec, in the namespaces names of
// the running process pid, a container's first process, and returns once
// the command has been exec'd; Process.Wait waits for it. opts gives the
// streams, Prepare hooks (placing it in the container's cgroup, say),
// SysProcAttr and StopTimeout; Exec creates no namespace and has no
// barrier. In order:
//
//  1. open every /proc/PID/ns/NAME here, while the process exists and our
//     /proc names it;
//  2. start the init stage born in the container's PID namespace
//     (startInPID): a process cannot change its own (pid_namespaces(7));
//  3. the stage joins the others itself, on its main thread, from those
//     descriptors (joinNamespaces), the mount namespace last: its program
//     was loaded from the host's filesystem by then, which a dynamically
//     linked contain needs (its ELF interpreter is not in a busybox
//     rootfs), as runc's nsexec joins them only once runc runs;
//  4. it looks the command up in the container's root and execs it.
//
// The user and time namespaces cannot be joined from Go (see
// namespace.NotJoinable): a name among them is refused. The command does
// not die with contain, as with nsenter(1); it dies with the container.
//
// Equivalent to: nsenter --target $pid --mount --uts --ipc --net --pid -- $cmd (runc exec)
func Exec(pid int, names []string, cfg Config, opts Options) (*Process, error) {
	switch {
	case cfg.Mode != ModeExec:
		return nil, &Failure{Msg: fmt.Sprintf("exec into pid %d: mode %s, want %s", pid, cfg.Mode, ModeExec), Code: ExitSetup}
	case opts.Cloneflags != 0 || opts.ExecFifo != "":
		return nil, &Failure{Msg: fmt.Sprintf("exec into pid %d: Cloneflags and ExecFifo are for Create", pid), Code: ExitSetup}
	}
	var kinds []string // names, spelled as namespace.Kinds spells them
	for _, name := range names {
		k, err := namespace.Lookup(name)
		if err != nil {
			return nil, &Failure{Msg: err.Error(), Code: ExitSetup}
		}
		if why := namespace.NotJoinable(k.Name); why != "" {
			return nil, &Failure{Msg: fmt.Sprintf("cannot enter the %s namespace of pid %d: %s", k.Name, pid, why), Code: ExitSetup}
		}
		kinds = append(kinds, k.Name)
	}
	// 1. The namespace files, in EnterOrder; the PID namespace apart.
	var pidNS *os.File
	var join []*os.File
	defer func() {
		for _, f := range append(join, pidNS) {
			f.Close()
		}
	}()
	cfg.JoinFDs = map[string]int{}
	for _, name := range namespace.EnterOrder {
		if !slices.Contains(kinds, name) {
			continue
		}
		f, err := os.Open(fmt.Sprintf("/proc/%d/ns/%s", pid, name))
		if err != nil {
			return nil, &Failure{Msg: fmt.Sprintf("exec into pid %d: %v", pid, err), Code: ExitSetup}
		}
		if name == "pid" {
			pidNS = f
			continue
		}
		// fd 5 and up: no barrier and no files to bind before them.
		cfg.JoinFDs[name] = 5 + len(join)
		join = append(join, f)
	}
	// 2. and 3. The stage, born in the PID namespace, given the others.
	p, err := create(cfg, opts, func(cmd *exec.Cmd) error {
		cmd.ExtraFiles = append(cmd.ExtraFiles, join...)
		// No parent-death signal: Go's child, having set it, kills
		// itself when getppid(2) is not its parent's pid, and a parent
		// outside the child's PID namespace shows as 0 there. (A new
		// container's first process ignores that SIGKILL: pid 1.)
		cmd.SysProcAttr.Pdeathsig = 0
		if pidNS == nil {
			return cmd.Start()
		}
		return startInPID(pidNS, cmd)
	})
	if err != nil {
		return nil, err
	}
	if err := p.Start(); err != nil {
		return nil, err
	}
	return p, nil
}

// startInPID starts cmd as a child born in the PID namespace ns. setns(2)
// of a PID namespace sets only the calling thread's pid_for_children,
// which its next child enters: so from a locked thread, which is set back
// to its own namespace afterwards and returns to the runtime unchanged.
// (namespace.Enter ends its thread instead, which a mount namespace
// needs; but a thread's end also kills the children it made with a
// parent-death signal, such as containers, see prctl(2).) Should the
// thread fail to go back, its goroutine ends locked and the runtime ends
// the thread.
func startInPID(ns *os.File, cmd *exec.Cmd) error {
	own, err := os.Open("/proc/thread-self/ns/pid")
	if err != nil {
		return err
	}
	defer own.Close()
	done := make(chan error, 1)
	go func() {
		runtime.LockOSThread()
		if err := unix.Setns(int(ns.Fd()), unix.CLONE_NEWPID); err != nil {
			runtime.UnlockOSThread()
			done <- fmt.Errorf("setns pid: %w", err)
			return
		}
		err := cmd.Start()
		if rerr := unix.Setns(int(own.Fd()), unix.CLONE_NEWPID); rerr != nil {
			done <- fmt.Errorf("setns back to our pid namespace: %w", rerr)
			return
		}
		runtime.UnlockOSThread()
		done <- err
	}()
	return <-done
}
