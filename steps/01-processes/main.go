// Command 01-processes shows how a Go program starts processes, and why
// container runtimes written in Go re-execute their own binary instead of
// forking. Each subcommand is one experiment of chapter 01:
//
//	fork-exec       fork+exec of /bin/sh with syscall.ForkExec: the child's pid and ppid
//	threads         unshare(2) on one locked OS thread: only that thread changes namespace
//	reexec          /proc/self/exe in new UTS and PID namespaces: the child is pid 1
//	reexec-unshare  the same with Unshareflags: the child is not pid 1, and Go fails in it
//	unshareflags    Unshareflags remounts / private behind your back; Cloneflags does not
//
// The roles "child", "setup" and "show-root" are the re-executed children;
// they are not meant to be run by hand. Run it as root:
//
//	go run ./steps/01-processes threads
package main

import (
	"bufio"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"syscall"

	"golang.org/x/sys/unix"
)

func main() {
	if len(os.Args) < 2 {
		fail("usage: 01-processes fork-exec|threads|reexec|reexec-unshare|unshareflags")
	}
	var err error
	switch os.Args[1] {
	case "fork-exec":
		err = forkExec()
	case "threads":
		err = threads()
	case "reexec":
		err = reexec(false)
	case "reexec-unshare":
		err = reexec(true)
	case "child":
		err = child()
	case "unshareflags":
		err = unshareflags()
	case "setup":
		err = setup()
	case "show-root":
		err = showRoot()
	default:
		fail("unknown subcommand %q: use fork-exec, threads, reexec, reexec-unshare or unshareflags", os.Args[1])
	}
	if err != nil {
		fail("%v", err)
	}
}

func fail(format string, args ...any) {
	fmt.Fprintf(os.Stderr, "01-processes: "+format+"\n", args...)
	os.Exit(1)
}

// forkExec starts /bin/sh the way every os/exec.Cmd does underneath:
// syscall.ForkExec clones the process and, in the child, runs only raw
// system calls up to execve(2). Go offers no plain fork(2): the child would
// have a single thread, and the runtime's other threads (the scheduler, the
// garbage collector, the goroutines' threads) would be missing in it.
//
// Equivalent to: sh -c 'echo child pid=$$ ppid=$PPID'
func forkExec() error {
	fmt.Printf("parent pid=%d\n", os.Getpid())
	argv := []string{"sh", "-c", `echo "child  pid=$$ ppid=$PPID"`}
	pid, err := syscall.ForkExec("/bin/sh", argv, &syscall.ProcAttr{
		Env:   os.Environ(),
		Files: []uintptr{0, 1, 2}, // the child's fd 0, 1, 2
	})
	if err != nil {
		return fmt.Errorf("fork+exec /bin/sh: %w", err)
	}
	// wait4(2) reaps the child; without it the child stays a zombie until
	// we exit.
	var ws syscall.WaitStatus
	if _, err := syscall.Wait4(pid, &ws, 0, nil); err != nil {
		return fmt.Errorf("wait4 %d: %w", pid, err)
	}
	fmt.Printf("parent reaped pid=%d, exit status %d\n", pid, ws.ExitStatus())
	return nil
}

// threads moves one OS thread, and only that one, into a new UTS namespace
// and lists the UTS namespace of every thread of the process. Namespaces
// belong to threads (tasks), not to processes: unshare(2) changes the
// calling thread only. Go moves goroutines between threads at will, so the
// goroutine must stay on its thread with runtime.LockOSThread first.
//
// Equivalent to: nothing: a shell has one thread.
func threads() error {
	// Every thread but the locked one stays in this namespace.
	old, err := os.Readlink("/proc/thread-self/ns/uts")
	if err != nil {
		return err
	}
	ready := make(chan error)
	done := make(chan struct{})
	go func() {
		// Never unlocked: when this goroutine returns, the runtime ends the
		// thread instead of giving it, in its odd namespace, to another
		// goroutine.
		runtime.LockOSThread()
		// excerpt: unshareThread
		if err := unix.Unshare(unix.CLONE_NEWUTS); err != nil {
			ready <- fmt.Errorf("unshare(CLONE_NEWUTS): %w", err)
			return
		}
		if err := unix.Sethostname([]byte("thread-ns")); err != nil {
			ready <- fmt.Errorf("sethostname: %w", err)
			return
		}
		fmt.Printf("locked thread %d: hostname %s\n", unix.Gettid(), hostname())
		// A user namespace cannot be entered by one thread of many:
		// unshare(2) says EINVAL when the caller is multithreaded.
		err := unix.Unshare(unix.CLONE_NEWUSER)
		fmt.Printf("locked thread %d: unshare(CLONE_NEWUSER): %v\n", unix.Gettid(), err)
		// end excerpt
		ready <- nil
		<-done
	}()
	if err := <-ready; err != nil {
		return err
	}
	defer close(done)
	// The main goroutine never runs on the locked thread, so it sees the
	// old hostname.
	mainTid := strconv.Itoa(unix.Gettid())
	fmt.Printf("main goroutine, thread %s: hostname %s\n", mainTid, hostname())

	// excerpt: listThreads
	tasks, err := filepath.Glob("/proc/self/task/*/ns/uts")
	if err != nil {
		return err
	}
	// The threads that matter first: the one in the new namespace, then
	// the one the main goroutine ran on, then the runtime's others.
	var byRole [3][]string
	for _, link := range tasks {
		ns, err := os.Readlink(link)
		if err != nil {
			return err
		}
		tid := filepath.Base(filepath.Dir(filepath.Dir(link)))
		role, note := 2, ""
		switch {
		case ns != old:
			role, note = 0, "  <- new UTS namespace: the locked thread"
		case tid == mainTid:
			role, note = 1, "  <- the main goroutine's thread"
		}
		byRole[role] = append(byRole[role], fmt.Sprintf("task %-7s %s%s", tid, ns, note))
	}
	for _, lines := range byRole {
		for _, l := range lines {
			fmt.Println(l)
		}
	}
	// end excerpt
	return nil
}

// hostname returns the hostname as the calling thread's UTS namespace has it.
func hostname() string {
	var u unix.Utsname
	if err := unix.Uname(&u); err != nil {
		return "?"
	}
	return unix.ByteSliceToString(u.Nodename[:])
}

// reexec runs this same program again, as "child", in new UTS and PID
// namespaces, and prints the parent's view beside the child's. With
// unshare set it asks Go for unshare(2) in the child instead of clone(2)
// flags, and the child is left outside its new PID namespace.
//
// Equivalent to: unshare --uts --pid --fork 01-processes child
func reexec(unshare bool) error {
	cmd := exec.Command("/proc/self/exe", "child")
	cmd.Stdout, cmd.Stderr = os.Stdout, os.Stderr
	cmd.SysProcAttr = &syscall.SysProcAttr{
		// clone(2) creates the child inside the new namespaces.
		Cloneflags: syscall.CLONE_NEWUTS | syscall.CLONE_NEWPID,
	}
	if unshare {
		cmd.SysProcAttr = &syscall.SysProcAttr{
			// unshare(2) after the fork: the child's own PID does not
			// change, only the PID namespace of its future children.
			Unshareflags: syscall.CLONE_NEWUTS | syscall.CLONE_NEWPID,
		}
	}
	fmt.Printf("parent pid=%d hostname=%s %s %s\n", os.Getpid(), hostname(), ns("uts"), ns("pid"))
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("child: %w", err)
	}
	// One process, two pids: each PID namespace numbers it on its own.
	fmt.Printf("parent: the child was pid %d in the parent's namespace\n", cmd.Process.Pid)
	return nil
}

// child is the re-executed program: fresh Go runtime, all threads in the
// namespaces it was started in. It sets the hostname of its own UTS
// namespace and reports where it is.
func child() error {
	if err := unix.Sethostname([]byte("container")); err != nil {
		return fmt.Errorf("sethostname: %w", err)
	}
	fmt.Printf("child  pid=%d hostname=%s %s %s\n", os.Getpid(), hostname(), ns("uts"), ns("pid"))
	return nil
}

// ns returns the calling process's namespace of the given kind, such as
// "uts:[4026531838]".
func ns(kind string) string {
	s, err := os.Readlink("/proc/self/ns/" + kind)
	if err != nil {
		return kind + ":?"
	}
	return s
}

// unshareflags shows the remount that Go does for Unshareflags and not for
// Cloneflags. So that the difference shows whether the host's / is shared
// (Debian with systemd) or private, it first starts a "setup" child in a
// mount namespace of its own and marks / shared there; the host's / is not
// touched.
//
// Equivalent to: unshare --mount --propagation unchanged sh -c 'mount --make-rshared /; ...'
func unshareflags() error {
	return run("setup", &syscall.SysProcAttr{Cloneflags: syscall.CLONE_NEWNS})
}

// setup runs in its own mount namespace, makes / shared there and starts
// two children, each in a new mount namespace of its own, once with each
// kind of flag.
func setup() error {
	// Equivalent to: mount --make-rshared /
	if err := unix.Mount("", "/", "", unix.MS_REC|unix.MS_SHARED, ""); err != nil {
		return fmt.Errorf("mount --make-rshared /: %w", err)
	}
	fmt.Printf("setup                       / %s\n", rootPropagation())
	// excerpt: twoChildren
	if err := run("show-root", &syscall.SysProcAttr{
		Cloneflags: syscall.CLONE_NEWNS,
	}, "Cloneflags:   CLONE_NEWNS"); err != nil {
		return err
	}
	return run("show-root", &syscall.SysProcAttr{
		Unshareflags: syscall.CLONE_NEWNS,
	}, "Unshareflags: CLONE_NEWNS")
	// end excerpt
}

// showRoot prints how "/" propagates in the caller's mount namespace.
func showRoot() error {
	fmt.Printf("%-27s / %s\n", os.Args[2], rootPropagation())
	return nil
}

// run re-executes this program as role with attr and waits for it.
func run(role string, attr *syscall.SysProcAttr, args ...string) error {
	cmd := exec.Command("/proc/self/exe", append([]string{role}, args...)...)
	cmd.Stdout, cmd.Stderr = os.Stdout, os.Stderr
	cmd.SysProcAttr = attr
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("%s: %w", role, err)
	}
	return nil
}

// rootPropagation returns the optional fields of the "/" line of
// /proc/self/mountinfo ("shared:1", "master:3"), or "private" when there
// are none. See proc_pid_mountinfo(5).
//
// Equivalent to: findmnt -o TARGET,PROPAGATION /
func rootPropagation() string {
	f, err := os.Open("/proc/self/mountinfo")
	if err != nil {
		return "?"
	}
	defer f.Close()
	prop := "?"
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		// 36 35 98:0 /mnt1 /mnt2 rw,noatime master:1 - ext3 /dev/root rw
		fields := strings.Fields(sc.Text())
		if len(fields) < 7 || fields[4] != "/" {
			continue
		}
		var opt []string
		for _, f := range fields[6:] {
			if f == "-" {
				break
			}
			opt = append(opt, f)
		}
		prop = "private"
		if len(opt) > 0 {
			prop = strings.Join(opt, " ")
		}
		// The last "/" line wins: it is the one on top.
	}
	return prop
}
