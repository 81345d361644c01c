package initstage

import (
	"fmt"
	"os"
	"os/signal"
	"runtime"
	"syscall"
	"unsafe"

	"golang.org/x/sys/unix"

	"github.com/contain-dev/contain/tool/internal/rootfs"
)

// init locks the init stage's main goroutine to the process's main thread
// before main runs (runtime.LockOSThread: called from an init function, it
// makes main run on the main thread). Steps of the recipes need that
// thread: /proc/self/timens_offsets names the time namespace of the main
// thread (namespace.NewTime), and the command must be forked or exec'd
// from the thread that unshared the time and PID namespaces for its
// children, or that joined a running container's (ModeExec).
func init() {
	if len(os.Args) > 1 && os.Args[1] == "init" {
		runtime.LockOSThread()
	}
}

// runInit is the container's pid 1 with --init, as tini and lxc-init are:
//
//  1. it subscribes to signals before the command exists, so that none is
//     lost in between;
//  2. it starts the command as its child, from this (main) thread, and
//     closes the error pipe: the parent's signal that the command runs
//     (realFork: by fork(2) proper, into a time namespace; see forkExec);
//  3. it forwards every signal in forwarded to the command. Only signals
//     pid 1 has a handler for reach it (pid_namespaces(7)); having one for
//     each is what lets `kill -TERM` from the host work at all;
//  4. on SIGCHLD it reaps every child that has ended, the command and the
//     orphans the kernel re-parents to pid 1 alike: a process nobody
//     waits for stays a zombie, holding its pid, until pid 1 does;
//  5. when the command has ended it exits with its status, 128+N for
//     signal N. The kernel then kills what is left in the PID namespace.
//
// It returns only when the command could not be started.
//
// Equivalent to: tini -- $cmd (or docker run --init).
func runInit(path string, args, env []string, errPipe *os.File, realFork bool) error {
	// excerpt: subscribe
	sigs := make(chan os.Signal, 32)
	signal.Notify(sigs, append([]os.Signal{unix.SIGCHLD}, forwarded...)...)
	// ps in the container shows pid 1 as "init", not as "exe".
	unix.Prctl(unix.PR_SET_NAME, uintptr(unsafe.Pointer(&[]byte("init\x00")[0])), 0, 0, 0)
	var pid int
	var err error
	if realFork { // (chapter 04) into a time namespace: see forkExec
		pid, err = forkExec(path, args, env)
	} else {
		pid, err = syscall.ForkExec(path, args, &syscall.ProcAttr{
			Env:   env,
			Files: []uintptr{0, 1, 2},
		})
	}
	if err != nil {
		return err
	}
	errPipe.Close()
	// end excerpt
	// excerpt: loop
	for s := range sigs {
		if s != unix.SIGCHLD {
			unix.Kill(pid, s.(unix.Signal))
			continue
		}
		for {
			var ws unix.WaitStatus
			got, err := unix.Wait4(-1, &ws, unix.WNOHANG, nil)
			if err != nil || got <= 0 {
				break // no child left, or none has ended yet
			}
			if got != pid {
				continue // an orphan: reaped, nothing more to do
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

// mountProcHere gives contain ns --mount-proc its /proc: "/" made private
// first, so that the new procfs stays in this mount namespace (chapter 03).
//
// Equivalent to: mount --make-rprivate / && mount -t proc proc /proc
func mountProcHere(mount bool) error {
	if !mount {
		return nil
	}
	if err := rootfs.MakePrivate(); err != nil {
		return err
	}
	return rootfs.MountProc("/")
}

// unsharePID puts the command's future children, not the command, into a
// new PID namespace, as unshare --pid without --fork does: the command's
// first child becomes pid 1. It runs on the locked main thread (see init),
// so that the clone(2) of new runtime threads, which must not cross PID
// namespaces, happens on another thread (Go clones from a template thread
// while a goroutine is locked).
//
// Equivalent to: unshare --pid $cmd
func unsharePID(do bool) error {
	if !do {
		return nil
	}
	if err := unix.Unshare(unix.CLONE_NEWPID); err != nil {
		return fmt.Errorf("unshare(CLONE_NEWPID): %w", err)
	}
	return nil
}
