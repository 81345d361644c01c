package initstage

import (
	"syscall"
	"unsafe"

	"golang.org/x/sys/unix"
)

// The runtime's fork hooks, which package syscall calls around its own
// clone(2): before, they block signals and stop the stack from growing
// (the child has no other threads to help); in the child, they restore the
// signal handlers and mask an exec'd program must start with. The runtime
// keeps them available under these names (go.dev/issue/67401).
//
//go:linkname beforeFork syscall.runtime_BeforeFork
func beforeFork()

//go:linkname afterFork syscall.runtime_AfterFork
func afterFork()

//go:linkname afterForkInChild syscall.runtime_AfterForkInChild
func afterForkInChild()

// forkExec starts path as a child made by a real fork(2), a clone(2) that
// copies the address space, where syscall.ForkExec and os/exec use vfork
// (CLONE_VM|CLONE_VFORK). It is how a command gets into the time namespace
// the caller has unshared (chapter 04), on every kernel:
//
//   - a child made by fork enters the caller's time_for_children;
//   - kernels before the exec-time switch (Debian 12's 6.1, for one)
//     refuse any clone with CLONE_VM, threads and vfork alike, from a
//     process whose time namespace differs from its time_for_children:
//     EINVAL. syscall.ForkExec would fail there, and so would a vfork by
//     the command (a shell's "Cannot fork") had it been exec'd in place.
//
// The child runs only raw system calls between the clone and the execve,
// as package syscall's does; a failed execve is reported through a
// close-on-exec pipe, whose EOF means the exec happened.
//
// Equivalent to: fork() followed by execve(path, args, env) in the child.
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
	var p [2]int
	if err := unix.Pipe2(p[:], unix.O_CLOEXEC); err != nil {
		return 0, err
	}
	defer unix.Close(p[0])
	var childErr syscall.Errno
	beforeFork()
	pid, _, errno := syscall.RawSyscall(syscall.SYS_CLONE, uintptr(syscall.SIGCHLD), 0, 0)
	if errno == 0 && pid == 0 {
		// The child: nothing but raw system calls until execve.
		afterForkInChild()
		_, _, childErr = syscall.RawSyscall(syscall.SYS_EXECVE,
			uintptr(unsafe.Pointer(argv0)), uintptr(unsafe.Pointer(&argv[0])), uintptr(unsafe.Pointer(&envv[0])))
		syscall.RawSyscall(syscall.SYS_WRITE, uintptr(p[1]), uintptr(unsafe.Pointer(&childErr)), unsafe.Sizeof(childErr))
		syscall.RawSyscall(syscall.SYS_EXIT_GROUP, 127, 0, 0)
	}
	afterFork()
	unix.Close(p[1])
	if errno != 0 {
		return 0, errno
	}
	// EOF: the exec happened. Otherwise the child wrote execve's errno.
	buf := (*[unsafe.Sizeof(childErr)]byte)(unsafe.Pointer(&childErr))[:]
	n, err := unix.Read(p[0], buf)
	for err == unix.EINTR {
		n, err = unix.Read(p[0], buf)
	}
	if n > 0 {
		var ws unix.WaitStatus
		unix.Wait4(int(pid), &ws, 0, nil)
		return 0, childErr
	}
	return int(pid), nil
}
