// Command 02-chroot runs a command with another root directory, and nothing
// else: the step program of chapter 02, a small chroot(8).
//
// usage: go run ./steps/02-chroot [-sysprocattr] DIR [CMD [ARG...]]
//
// It changes its own root and then execs the command, as chroot(8) does;
// there is no child process and no namespace. With -sysprocattr it takes
// the tempting shortcut instead, exec.Cmd with SysProcAttr.Chroot, to show
// why that shortcut runs the wrong program or none at all.
//
// Exit status: the command's own, or 125 when the root cannot be changed,
// 126 when the command cannot be executed, 127 when it is not found, 2 for
// a usage error (the statuses chroot(8) and env(1) use).
package main

import (
	"errors"
	"flag"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"syscall"

	"golang.org/x/sys/unix"
)

// searchPath is the PATH inside the new root. The caller's PATH names
// directories of the host, which may not exist in DIR.
const searchPath = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

// enterRoot makes dir the root directory of this process, and its working
// directory. The order matters:
//
//  1. chdir(dir) first, so that chroot(".") uses the very directory we
//     stand in: dir is resolved once, on the host.
//  2. chroot(".") changes the root, and nothing else (chroot(2)): not the
//     mounts, not the pids, not the hostname, not the user.
//  3. chdir("/") names the new root; after 1 and 2 it is where we already
//     are, but it states the rule that chroot(2) leaves to the caller:
//     never keep a working directory outside the root. A "." outside it is
//     a door out, as the escape program shows.
//
// In Go, chroot(2) applies to the whole process: the runtime creates its
// threads with CLONE_FS, so they share one root and one working directory.
//
// Equivalent to: cd $dir && chroot . (chroot(8) does chroot($dir) and chdir("/"))
func enterRoot(dir string) error {
	if err := unix.Chdir(dir); err != nil {
		return fmt.Errorf("chdir %s: %w", dir, err)
	}
	if err := unix.Chroot("."); err != nil {
		return fmt.Errorf("chroot %s: %w", dir, err)
	}
	if err := unix.Chdir("/"); err != nil {
		return fmt.Errorf("chdir /: %w", err)
	}
	return nil
}

// execInRoot replaces this process with argv, looked up in the new root.
// It must run after enterRoot: exec.LookPath stats the PATH directories,
// and only now do "/bin" and "/usr/local/bin" mean the rootfs's.
//
// Equivalent to: exec "$@"
func execInRoot(argv []string) (code int, err error) {
	os.Setenv("PATH", searchPath)
	file, err := exec.LookPath(argv[0])
	if err != nil {
		if errors.Is(err, fs.ErrPermission) {
			return 126, err
		}
		return 127, err
	}
	err = syscall.Exec(file, argv, os.Environ())
	return 126, fmt.Errorf("exec %s: %w", file, err)
}

// viaSysProcAttr is the shortcut that looks right and is not: Go's
// fork/exec calls chroot(2) in the child, but exec.Command has already
// looked argv[0] up in the host's PATH, in the parent, before the fork.
// "escape" is not on the host, so it is "not found"; "cat" is found as the
// host's /usr/bin/cat, and the child then execs /usr/bin/cat inside DIR,
// where busybox put cat in /bin only. Dir must be set too: without it the
// child keeps the parent's working directory, outside the new root.
func viaSysProcAttr(dir string, argv []string) (code int, err error) {
	cmd := exec.Command(argv[0], argv[1:]...)
	cmd.SysProcAttr = &syscall.SysProcAttr{Chroot: dir}
	cmd.Dir = "/" // chdir after chroot, in the child
	cmd.Stdin, cmd.Stdout, cmd.Stderr = os.Stdin, os.Stdout, os.Stderr
	err = cmd.Run()
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		return ee.ExitCode(), nil
	}
	if err != nil {
		return 127, err
	}
	return 0, nil
}

func main() {
	shortcut := flag.Bool("sysprocattr", false, "use exec.Cmd with SysProcAttr.Chroot (and see it fail)")
	flag.Usage = func() {
		fmt.Fprintln(os.Stderr, "usage: 02-chroot [-sysprocattr] DIR [CMD [ARG...]]")
	}
	flag.Parse()
	if flag.NArg() < 1 {
		flag.Usage()
		os.Exit(2)
	}
	dir, argv := flag.Arg(0), flag.Args()[1:]
	if len(argv) == 0 {
		argv = []string{"/bin/sh"}
	}
	if *shortcut {
		code, err := viaSysProcAttr(dir, argv)
		if err != nil {
			fmt.Fprintln(os.Stderr, "02-chroot:", err)
		}
		os.Exit(code)
	}
	if err := enterRoot(dir); err != nil {
		if errors.Is(err, unix.EPERM) {
			err = fmt.Errorf("%w: chroot(2) needs CAP_SYS_CHROOT, run as root", err)
		}
		fmt.Fprintln(os.Stderr, "02-chroot:", err)
		os.Exit(125)
	}
	code, err := execInRoot(argv)
	fmt.Fprintln(os.Stderr, "02-chroot:", err)
	os.Exit(code)
}
