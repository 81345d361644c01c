// Command uts-ipc-time is the step program of chapter 04: three namespaces
// that each isolate one small piece of global state, shown from inside and
// from outside.
//
// usage:
//
//	uts-ipc-time uts NAME             set the hostname in a new UTS namespace
//	uts-ipc-time ipc                  make a System V shared memory segment in a new IPC namespace
//	uts-ipc-time time SECONDS CMD...  run CMD in a new time namespace, CLOCK_BOOTTIME SECONDS ahead
//	uts-ipc-time time-late SECONDS    try to set the offset after clone(2): too late
//
// All need root. As in chapter 01, the part that runs inside new
// namespaces is this program re-executed (/proc/self/exe), named by an
// argument that starts with "-".
package main

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"unsafe"

	"golang.org/x/sys/unix"
)

// stages maps the first argument to what runs.
var stages = map[string]func(args []string) error{
	"uts":       uts,
	"-uts":      utsInside,
	"ipc":       ipc,
	"-ipc":      ipcInside,
	"time":      timeNS,
	"time-late": timeLate,
}

// init keeps main on the process's main thread: /proc/self/timens_offsets
// belongs to it (see timeNS).
func init() { runtime.LockOSThread() }

func main() {
	if len(os.Args) < 2 || stages[os.Args[1]] == nil {
		fmt.Fprintln(os.Stderr, "usage: uts-ipc-time uts NAME | ipc | time SECONDS CMD [ARG...] | time-late SECONDS")
		os.Exit(2)
	}
	if err := stages[os.Args[1]](os.Args[2:]); err != nil {
		var ee *exec.ExitError
		if errors.As(err, &ee) {
			os.Exit(ee.ExitCode())
		}
		fmt.Fprintln(os.Stderr, "uts-ipc-time:", err)
		os.Exit(1)
	}
}

// reexec runs this program again as stage, in new namespaces, and waits.
func reexec(flags uintptr, stage string, args ...string) error {
	cmd := exec.Command("/proc/self/exe", append([]string{stage}, args...)...)
	cmd.Stdin, cmd.Stdout, cmd.Stderr = os.Stdin, os.Stdout, os.Stderr
	cmd.SysProcAttr = &syscall.SysProcAttr{Cloneflags: flags}
	return cmd.Run()
}

// uts sets the hostname in a new UTS namespace and shows that the host's
// is unchanged.
//
// Equivalent to: unshare --uts sh -c 'hostname NAME; hostname'; hostname
func uts(args []string) error {
	if len(args) != 1 {
		return errors.New("usage: uts-ipc-time uts NAME")
	}
	if err := reexec(unix.CLONE_NEWUTS, "-uts", args[0]); err != nil {
		return err
	}
	fmt.Printf("outside: hostname %s, %s\n", hostname(), nsLink("uts"))
	return nil
}

// utsInside runs in the new UTS namespace.
func utsInside(args []string) error {
	// excerpt: sethostname
	// sethostname(2) changes the name of the caller's UTS namespace
	// only; the new namespace started with a copy of the host's.
	if err := unix.Sethostname([]byte(args[0])); err != nil {
		return fmt.Errorf("sethostname: %w", err)
	}
	// end excerpt
	fmt.Printf("inside:  hostname %s, %s\n", hostname(), nsLink("uts"))
	return nil
}

// ipc creates a shared memory segment in a new IPC namespace and counts
// the segments on each side, from /proc/sysvipc/shm, which lists those of
// the reader's IPC namespace.
//
// Equivalent to: unshare --ipc sh -c 'ipcmk -M 1024; ipcs -m'; ipcs -m
func ipc(args []string) error {
	if err := reexec(unix.CLONE_NEWIPC, "-ipc"); err != nil {
		return err
	}
	fmt.Printf("outside: %d segment(s) with key 0x%08x, %s\n", countShm(shmKey), shmKey, nsLink("ipc"))
	return nil
}

// shmKey is the System V key of the demonstration's segment.
const shmKey = 0x0c04

// ipcInside runs in the new IPC namespace.
func ipcInside(args []string) error {
	// excerpt: shmget
	// shmget(2) with IPC_CREAT: the segment exists in this IPC
	// namespace, and goes away with it (ipc_namespaces(7)).
	id, err := unix.SysvShmGet(shmKey, 1024, unix.IPC_CREAT|0o600)
	if err != nil {
		return fmt.Errorf("shmget: %w", err)
	}
	// end excerpt
	fmt.Printf("inside:  created segment %d; %d segment(s) with key 0x%08x, %s\n", id, countShm(shmKey), shmKey, nsLink("ipc"))
	return nil
}

// countShm counts the segments with key in /proc/sysvipc/shm.
func countShm(key int) int {
	b, err := os.ReadFile("/proc/sysvipc/shm")
	if err != nil {
		return -1
	}
	n := 0
	for _, line := range strings.Split(string(b), "\n")[1:] {
		f := strings.Fields(line)
		if len(f) > 0 && f[0] == strconv.Itoa(key) {
			n++
		}
	}
	return n
}

// timeNS runs CMD in a new time namespace whose CLOCK_BOOTTIME is seconds
// ahead, and waits for it. The order is the whole point:
//
//  1. unshare(CLONE_NEWTIME): the new namespace is only this thread's
//     time_for_children; nothing is in it yet;
//  2. write the offsets, which the kernel accepts only now, while the
//     namespace is empty;
//  3. fork(2): the child enters its parent's time_for_children, and execs
//     CMD there.
//
// Why fork and not exec in place: recent kernels also move the caller
// itself into time_for_children at execve(2), but older ones (Debian 12's
// 6.1) do not, and there the caller may not even clone with CLONE_VM any
// more (no new thread, no vfork: EINVAL). So the child is made by a real
// fork (forkExec), on every kernel.
//
// Equivalent to: unshare --time --fork --boottime SECONDS CMD
func timeNS(args []string) error {
	if len(args) < 2 {
		return errors.New("usage: uts-ipc-time time SECONDS CMD [ARG...]")
	}
	secs, err := strconv.ParseInt(args[0], 10, 64)
	if err != nil {
		return fmt.Errorf("seconds: %w", err)
	}
	path, err := exec.LookPath(args[1])
	if err != nil {
		return err
	}
	// excerpt: timens
	if err := unix.Unshare(unix.CLONE_NEWTIME); err != nil {
		return fmt.Errorf("unshare(CLONE_NEWTIME): %w", err)
	}
	fmt.Printf("after unshare: %s, for children %s\n", nsLink("time"), nsLink("time_for_children"))
	offsets := fmt.Sprintf("boottime %d 0\n", secs)
	if err := os.WriteFile("/proc/self/timens_offsets", []byte(offsets), 0); err != nil {
		return fmt.Errorf("write timens_offsets: %w", err)
	}
	pid, err := forkExec(path, args[1:], os.Environ())
	if err != nil {
		return fmt.Errorf("fork and exec %s: %w", path, err)
	}
	var ws unix.WaitStatus
	if _, err := unix.Wait4(pid, &ws, 0, nil); err != nil {
		return err
	}
	// end excerpt
	if ws.Signaled() {
		os.Exit(128 + int(ws.Signal()))
	}
	os.Exit(ws.ExitStatus())
	return nil
}

// The runtime's fork hooks, which package syscall calls around its own
// clone(2): before, they block signals and stop the stack from growing;
// in the child, they restore the signal handlers and mask that the exec'd
// program must start with (go.dev/issue/67401 keeps them available).
//
//go:linkname beforeFork syscall.runtime_BeforeFork
func beforeFork()

//go:linkname afterFork syscall.runtime_AfterFork
func afterFork()

//go:linkname afterForkInChild syscall.runtime_AfterForkInChild
func afterForkInChild()

// forkExec starts path as a child made by fork(2) proper: a clone(2)
// without CLONE_VM, where syscall.ForkExec and os/exec use vfork. Between
// the clone and the execve the child runs only raw system calls, as
// package syscall's does; a failed execve exits 127.
//
// Equivalent to: fork(), then execve(path, args, env) in the child.
func forkExec(path string, args, env []string) (int, error) {
	argv0, err := syscall.BytePtrFromString(path)
	if err != nil {
		return 0, err
	}
	argv, err := syscall.SlicePtrFromStrings(args)
	if err != nil {
		return 0, err
	}
	envv, err := syscall.SlicePtrFromStrings(env)
	if err != nil {
		return 0, err
	}
	beforeFork()
	pid, _, errno := syscall.RawSyscall(syscall.SYS_CLONE, uintptr(syscall.SIGCHLD), 0, 0)
	if errno == 0 && pid == 0 {
		afterForkInChild()
		syscall.RawSyscall(syscall.SYS_EXECVE, uintptr(unsafe.Pointer(argv0)),
			uintptr(unsafe.Pointer(&argv[0])), uintptr(unsafe.Pointer(&envv[0])))
		syscall.RawSyscall(syscall.SYS_EXIT_GROUP, 127, 0, 0)
	}
	afterFork()
	if errno != 0 {
		return 0, errno
	}
	return int(pid), nil
}

// timeLate does what Go's SysProcAttr offers: CLONE_NEWTIME in
// Cloneflags, which Go passes to clone3(2) (the flag's bit is taken by the
// exit signal in plain clone(2)). The child is born inside the new
// namespace, so the offsets can no longer be written.
func timeLate(args []string) error {
	if len(args) != 1 {
		return errors.New("usage: uts-ipc-time time-late SECONDS")
	}
	// excerpt: late
	cmd := exec.Command("/bin/sleep", "10")
	cmd.SysProcAttr = &syscall.SysProcAttr{Cloneflags: unix.CLONE_NEWTIME}
	if err := cmd.Start(); err != nil {
		return err
	}
	defer cmd.Wait()
	defer cmd.Process.Kill()
	file := fmt.Sprintf("/proc/%d/timens_offsets", cmd.Process.Pid)
	err := os.WriteFile(file, []byte("boottime "+args[0]+" 0\n"), 0)
	// end excerpt
	fmt.Printf("write %s after clone3(CLONE_NEWTIME): %v\n", "/proc/CHILD/timens_offsets", err)
	return nil
}

// hostname returns the name of the caller's UTS namespace.
func hostname() string {
	h, _ := os.Hostname()
	return h
}

// nsLink reads /proc/self/ns/name, "uts:[4026531838]".
func nsLink(name string) string {
	l, _ := os.Readlink("/proc/self/ns/" + name)
	return l
}
