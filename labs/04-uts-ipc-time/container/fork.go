package main

import (
	"syscall"
	"unsafe"
)

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
