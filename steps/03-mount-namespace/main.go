// Command mount-namespace is the step program of chapter 03: a root
// filesystem of its own for a process, behind a mount namespace and
// pivot_root(2), with its own /proc, a minimal /dev and a read-only /sys.
//
// usage:
//
//	mount-namespace leak                 show what shared propagation does to the host's /proc
//	mount-namespace run ROOTFS CMD...    run CMD with ROOTFS as its root, as pid 1
//
// Both need root. Neither changes the host: every mount is made inside a
// mount namespace that disappears with its last process.
//
// A Go program cannot run code of its own between fork and exec, so every
// subcommand re-executes /proc/self/exe inside the new namespaces (chapter
// 01); the stages it re-executes are named in stages below.
package main

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"syscall"

	"golang.org/x/sys/unix"
)

// stages maps the first argument to what runs. The ones starting with "-"
// are the re-executed halves; nobody types them.
var stages = map[string]func(args []string) error{
	"leak":       leak,
	"-leak-host": leakHost,
	"-leak-proc": leakProc,
	"run":        run,
	"-container": container,
}

func main() {
	if len(os.Args) < 2 || stages[os.Args[1]] == nil {
		fmt.Fprintln(os.Stderr, "usage: mount-namespace leak | run ROOTFS CMD [ARG...]")
		os.Exit(2)
	}
	if err := stages[os.Args[1]](os.Args[2:]); err != nil {
		var ee *exec.ExitError
		if errors.As(err, &ee) {
			os.Exit(ee.ExitCode())
		}
		fmt.Fprintln(os.Stderr, "mount-namespace:", err)
		os.Exit(1)
	}
}

// reexec runs this program again as stage with args, in new namespaces
// (CLONE_NEW* flags), and waits for it. Cloneflags makes clone(2) create the
// child inside them, so that with CLONE_NEWPID the child is pid 1.
func reexec(flags uintptr, stage string, args ...string) error {
	cmd := exec.Command("/proc/self/exe", append([]string{stage}, args...)...)
	cmd.Stdin, cmd.Stdout, cmd.Stderr = os.Stdin, os.Stdout, os.Stderr
	cmd.SysProcAttr = &syscall.SysProcAttr{Cloneflags: flags}
	return cmd.Run()
}

// leak shows, without touching the host, why a container must make "/"
// private before it mounts anything. It builds a throwaway "host" (a mount
// namespace of its own whose "/" is shared, as systemd leaves it) and, in
// it, starts a container that mounts a new /proc twice: once as is, once
// after making its "/" private.
//
// Equivalent to: unshare --mount sh -c 'mount --make-rshared / && unshare --mount --propagation unchanged --pid --fork mount -t proc proc /proc'
func leak(args []string) error {
	return reexec(unix.CLONE_NEWNS, "-leak-host")
}

// leakHost is the throwaway host. It first cuts itself off from the real
// host, then mimics systemd.
func leakHost(args []string) error {
	// excerpt: throwaway
	// A new mount namespace starts with copies of the host's mounts in
	// the same peer groups: on a shared host, our mounts would still
	// reach it. So: private first, and only then shared again, in peer
	// groups that exist only in this namespace.
	if err := unix.Mount("", "/", "", unix.MS_REC|unix.MS_PRIVATE, ""); err != nil {
		return fmt.Errorf("make / rprivate: %w", err)
	}
	if err := unix.Mount("", "/", "", unix.MS_REC|unix.MS_SHARED, ""); err != nil {
		return fmt.Errorf("make / rshared: %w", err)
	}
	// end excerpt
	for _, private := range []string{"no", "yes"} {
		before, err := procDev()
		if err != nil {
			return err
		}
		if err := reexec(unix.CLONE_NEWNS|unix.CLONE_NEWPID, "-leak-proc", private); err != nil {
			return fmt.Errorf("container: %w", err)
		}
		after, err := procDev()
		if err != nil {
			return err
		}
		label := "without make-rprivate:"
		if private == "yes" {
			label = "with make-rprivate:   "
		}
		if after == before {
			fmt.Printf("%s host /proc unchanged: no leak\n", label)
			continue
		}
		fmt.Printf("%s host /proc replaced by the container's: LEAKED (%d pids listed, /proc/self %s)\n", label, countPids(), selfState())
		// Put this throwaway host's /proc back: the container's procfs
		// is stacked on top of ours, so one unmount uncovers it.
		if err := unix.Unmount("/proc", 0); err != nil {
			return fmt.Errorf("umount the leaked /proc: %w", err)
		}
	}
	return nil
}

// leakProc is the container: pid 1 of a new PID namespace, in a mount
// namespace copied from the throwaway host with propagation unchanged (Go's
// Cloneflags leave it as it was, like unshare --propagation unchanged).
func leakProc(args []string) error {
	// excerpt: leakproc
	if args[0] == "yes" {
		if err := unix.Mount("", "/", "", unix.MS_REC|unix.MS_PRIVATE, ""); err != nil {
			return fmt.Errorf("make / rprivate: %w", err)
		}
	}
	// A procfs shows the PID namespace of the process that mounts it.
	if err := unix.Mount("proc", "/proc", "proc", 0, ""); err != nil {
		return fmt.Errorf("mount proc: %w", err)
	}
	// end excerpt
	return nil
}

// procDev identifies the filesystem mounted at /proc by its device number.
func procDev() (uint64, error) {
	var st unix.Stat_t
	if err := unix.Stat("/proc", &st); err != nil {
		return 0, fmt.Errorf("stat /proc: %w", err)
	}
	return st.Dev, nil
}

// countPids counts the numeric entries of /proc: the processes it shows.
func countPids() int {
	ents, _ := os.ReadDir("/proc")
	n := 0
	for _, e := range ents {
		if e.Name()[0] >= '0' && e.Name()[0] <= '9' {
			n++
		}
	}
	return n
}

// selfState says whether /proc/self resolves. It does not in a procfs of
// another PID namespace, where this process has no pid.
func selfState() string {
	if _, err := os.Stat("/proc/self"); err != nil {
		return "missing"
	}
	return "present"
}

// run starts CMD in new mount, PID, UTS and IPC namespaces with ROOTFS as
// its root, and exits with CMD's status.
//
// Equivalent to: unshare --mount --pid --fork --uts --ipc sh -c '...' (the by-hand part of the chapter)
func run(args []string) error {
	if len(args) < 2 {
		return errors.New("usage: mount-namespace run ROOTFS CMD [ARG...]")
	}
	root, err := filepath.Abs(args[0])
	if err != nil {
		return err
	}
	// excerpt: flags
	flags := uintptr(unix.CLONE_NEWNS | unix.CLONE_NEWPID | unix.CLONE_NEWUTS | unix.CLONE_NEWIPC)
	return reexec(flags, "-container", append([]string{root}, args[1:]...)...)
	// end excerpt
}

// container runs as pid 1 inside the new namespaces: it builds the root
// filesystem, pivots into it and becomes CMD. The order is the recipe.
func container(args []string) error {
	root, argv := args[0], args[1:]
	// excerpt: recipe
	// 1. Nothing we mount may reach the host (mount_namespaces(7)).
	if err := unix.Mount("", "/", "", unix.MS_REC|unix.MS_PRIVATE, ""); err != nil {
		return fmt.Errorf("make / rprivate: %w", err)
	}
	// 2. pivot_root(2) wants new_root to be a mount point.
	if err := unix.Mount(root, root, "", unix.MS_BIND|unix.MS_REC, ""); err != nil {
		return fmt.Errorf("bind %s: %w", root, err)
	}
	// 3. /proc, from inside the new PID namespace (we are its pid 1).
	if err := unix.Mount("proc", filepath.Join(root, "proc"), "proc", unix.MS_NOSUID|unix.MS_NODEV|unix.MS_NOEXEC, ""); err != nil {
		return fmt.Errorf("mount proc: %w", err)
	}
	// 4. A /dev with a handful of nodes, never the host's.
	if err := mountDev(filepath.Join(root, "dev")); err != nil {
		return err
	}
	// 5. /sys, read-only.
	if err := unix.Mount("sysfs", filepath.Join(root, "sys"), "sysfs", unix.MS_RDONLY|unix.MS_NOSUID|unix.MS_NODEV|unix.MS_NOEXEC, ""); err != nil {
		return fmt.Errorf("mount sysfs: %w", err)
	}
	// 6. Swap roots and throw the old one away.
	if err := pivotRoot(root); err != nil {
		return err
	}
	// end excerpt
	// 7. Become the command, looked up in the new root.
	env := []string{"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", "HOME=/root"}
	os.Setenv("PATH", env[0][len("PATH="):])
	path, err := exec.LookPath(argv[0])
	if err != nil {
		return err
	}
	return unix.Exec(path, argv, env)
}

// devices are the character devices of a minimal /dev, with the numbers
// that the kernel's Documentation/admin-guide/devices.txt assigns them.
var devices = []struct {
	name         string
	major, minor uint32
}{
	{"null", 1, 3}, {"zero", 1, 5}, {"full", 1, 7},
	{"random", 1, 8}, {"urandom", 1, 9}, {"tty", 5, 0},
}

// mountDev puts a tmpfs on dev, creates the devices in it and mounts a
// devpts of the container's own.
//
// Equivalent to:
//
//	mount -t tmpfs -o nosuid,mode=755 tmpfs $dev
//	mknod -m 666 $dev/null c 1 3    # and the others
//	mkdir $dev/pts && mount -t devpts -o newinstance,ptmxmode=0666 devpts $dev/pts
//	ln -s pts/ptmx $dev/ptmx
func mountDev(dev string) error {
	if err := unix.Mount("tmpfs", dev, "tmpfs", unix.MS_NOSUID, "mode=755"); err != nil {
		return fmt.Errorf("mount tmpfs on %s: %w", dev, err)
	}
	// mknod(2) applies the umask; we want 0666 exactly. The umask is
	// inherited across execve(2) (umask(2)), so put the old one back on
	// the way out: the command must start with the umask it was given
	// (0022, usually), not 0000, or every file it makes is world-writable.
	old := unix.Umask(0)
	defer unix.Umask(old)
	for _, d := range devices {
		p := filepath.Join(dev, d.name)
		if err := unix.Mknod(p, unix.S_IFCHR|0o666, int(unix.Mkdev(d.major, d.minor))); err != nil {
			return fmt.Errorf("mknod %s: %w", p, err)
		}
	}
	pts := filepath.Join(dev, "pts")
	if err := os.Mkdir(pts, 0o755); err != nil {
		return err
	}
	// newinstance: a new set of terminals, not the host's (devpts in the
	// kernel's Documentation/filesystems/devpts.rst).
	if err := unix.Mount("devpts", pts, "devpts", unix.MS_NOSUID|unix.MS_NOEXEC, "newinstance,ptmxmode=0666,mode=620"); err != nil {
		return fmt.Errorf("mount devpts: %w", err)
	}
	return os.Symlink("pts/ptmx", filepath.Join(dev, "ptmx"))
}

// pivotRoot makes root the new "/" and detaches the old one.
//
// Equivalent to: cd $root && pivot_root . . && umount -l .
func pivotRoot(root string) error {
	if err := unix.Chdir(root); err != nil {
		return err
	}
	// pivot_root(2), "pivot_root(".", ".")": the old root ends up mounted
	// on top of the new one, at "/", where the next unmount finds it.
	if err := unix.PivotRoot(".", "."); err != nil {
		return fmt.Errorf("pivot_root %s: %w", root, err)
	}
	// MNT_DETACH: our own executable still lives in the old root, so a
	// plain unmount would fail with EBUSY.
	if err := unix.Unmount(".", unix.MNT_DETACH); err != nil {
		return fmt.Errorf("umount old root: %w", err)
	}
	return unix.Chdir("/")
}
