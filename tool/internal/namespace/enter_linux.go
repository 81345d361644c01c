package namespace

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"runtime"
	"strings"
	"syscall"

	"golang.org/x/sys/unix"
)

// EnterOrder is the order in which Enter joins namespaces: nsenter(1)'s,
// with mnt last so that the others are joined while /proc is still ours.
var EnterOrder = []string{"user", "cgroup", "ipc", "uts", "net", "pid", "time", "mnt"}

// NotJoinable says why a Go program cannot join the namespace name with
// setns(2), or "" when it can. A Go process always has several threads,
// and the kernel lets only a single-threaded process into another user
// namespace (EINVAL) or time namespace (EUSERS): a user namespace changes
// the credentials every thread shares, a time namespace the clock page
// the whole address space shares (setns(2)). runc and nsenter(1) join
// them from C, before any second thread exists.
func NotJoinable(name string) string {
	switch name {
	case "user":
		return "setns(2) refuses a multithreaded process (EINVAL), and a Go program always is one"
	case "time":
		return "setns(2) refuses a process whose memory other threads share (EUSERS), and a Go program always is one"
	}
	return ""
}

// Enter starts cmd inside the namespaces names of the process pid and
// returns with it started. It cannot move the calling process, whose other
// threads stay where they are; it moves one thread and starts cmd from it.
// The order matters:
//
//  1. open every /proc/PID/ns/NAME first: once the thread is in the
//     target's mount namespace, /proc is the target's, where pid means
//     another process or none;
//  2. lock the goroutine to its thread, so that the setns calls and the
//     fork that follows happen on the same one;
//  3. unshare(CLONE_FS) before joining a mount namespace: setns(2) wants
//     the caller's root and working directory (its fs_struct) unshared,
//     and Go's threads are created with CLONE_FS, all sharing one;
//  4. setns(2) each namespace, which also moves root and working
//     directory to the target's "/" for mnt;
//  5. start cmd: the clone(2) behind it copies the calling thread's
//     namespaces, and pid joins as pid_for_children, which the child
//     enters.
//
// The thread is never unlocked: its goroutine ends it when it returns, so
// that no other goroutine ever runs in the target's namespaces.
//
// Equivalent to: nsenter --target $pid --mount --uts ... -- $cmd
func Enter(pid int, names []string, cmd *exec.Cmd) error {
	fds := map[string]*os.File{}
	defer func() {
		for _, f := range fds {
			f.Close()
		}
	}()
	// excerpt: open
	for _, name := range names {
		k, err := Lookup(name)
		if err != nil {
			return err
		}
		if why := NotJoinable(k.Name); why != "" {
			return fmt.Errorf("cannot enter the %s namespace of pid %d: %s", k.Name, pid, why)
		}
		f, err := os.Open(fmt.Sprintf("/proc/%d/ns/%s", pid, k.Name))
		if errors.Is(err, os.ErrNotExist) {
			return fmt.Errorf("no process %d: check the pid (ps, or contain's own output)", pid)
		}
		if err != nil {
			return fmt.Errorf("open the %s namespace of pid %d: %w", k.Name, pid, err)
		}
		fds[k.Name] = f
	}
	// end excerpt
	done := make(chan error, 1)
	go func() {
		// excerpt: join
		runtime.LockOSThread()
		// No UnlockOSThread: this thread is changed for good.
		if fds["mnt"] != nil {
			if err := unix.Unshare(unix.CLONE_FS); err != nil {
				done <- fmt.Errorf("unshare(CLONE_FS): %w", err)
				return
			}
		}
		for _, name := range EnterOrder {
			f := fds[name]
			if f == nil {
				continue
			}
			k, _ := Lookup(name)
			if err := unix.Setns(int(f.Fd()), int(k.Flag)); err != nil {
				done <- fmt.Errorf("setns %s of pid %d: %w", name, pid, err)
				return
			}
		}
		// end excerpt
		// exec.Command looked the command up in our mount namespace;
		// look again in the one this thread is in now.
		if !strings.Contains(cmd.Args[0], "/") {
			cmd.Path, cmd.Err = exec.LookPath(cmd.Args[0])
		}
		done <- cmd.Start()
	}()
	return <-done
}

// ProcessExists reports whether pid names a process.
//
// Equivalent to: kill -0 $pid
func ProcessExists(pid int) bool {
	err := unix.Kill(pid, 0)
	return err == nil || errors.Is(err, syscall.EPERM)
}

// Others returns the namespaces of pid that the calling process does not
// share, in Kinds order, split into those a Go program can join and
// those it cannot (NotJoinable): what nsenter --all would enter.
//
// Equivalent to: for n in /proc/$pid/ns/*; do [ $n -ef /proc/self/ns/${n##*/} ] || echo ${n##*/}; done
func Others(pid int) (joinable, skipped []string, err error) {
	for _, k := range Kinds {
		theirs, err := k.Of(pid)
		if err != nil {
			return nil, nil, fmt.Errorf("no process %d: %v", pid, err)
		}
		ours, err := k.Of(os.Getpid())
		if err != nil || theirs == ours {
			continue
		}
		if NotJoinable(k.Name) != "" {
			skipped = append(skipped, k.Name)
			continue
		}
		joinable = append(joinable, k.Name)
	}
	return joinable, skipped, nil
}
