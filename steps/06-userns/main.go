// Command 06-userns is the step program of chapter 06: a container in a
// user namespace of its own, where it is root, while outside it is uid
// 100000, nobody in particular.
//
//	06-userns run ROOTFS CMD [ARG...]   the container, root inside, 100000 outside
//	06-userns limits                    what root in a user namespace may not do, and what it may
//	06-userns idmapped DIR              DIR's owners through an idmapped mount of it
//
// Both re-execute the program in new namespaces. The parent writes the
// child's uid and gid maps while the child waits on a pipe; then the child
// becomes root of its namespace and goes on. Run it as root: writing a map
// of 65536 ids needs CAP_SETUID over the parent namespace (chapter 06 shows
// how an ordinary user gets there with newuidmap).
package main

import (
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"

	"golang.org/x/sys/unix"
)

// The map of both uids and gids: 0-65535 inside are 100000-165535 outside.
const (
	outside = 100000
	length  = 65536
)

func main() {
	if len(os.Args) < 2 {
		usage()
	}
	var err error
	switch os.Args[1] {
	case "run":
		if len(os.Args) < 4 {
			usage()
		}
		err = parent("-container", os.Args[2:]...)
	case "limits":
		err = parent("-limits")
	case "idmapped":
		if len(os.Args) != 3 {
			usage()
		}
		err = idmapped(os.Args[2])
	case "-container", "-limits":
		err = child(os.Args[1], os.Args[2:])
	default:
		usage()
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "06-userns:", err)
		os.Exit(1)
	}
}

func usage() {
	fmt.Fprintln(os.Stderr, "usage: 06-userns run ROOTFS CMD [ARG...] | limits | idmapped DIR")
	os.Exit(2)
}

// excerpt: parent
// parent starts this program again as stage in new namespaces, writes its
// maps and lets it go on.
func parent(stage string, args ...string) error {
	// The child blocks reading this pipe until its maps are written.
	r, w, err := os.Pipe()
	if err != nil {
		return err
	}
	caps, err := allCaps()
	if err != nil {
		return err
	}
	cmd := exec.Command("/proc/self/exe", append([]string{stage}, args...)...)
	cmd.Stdin, cmd.Stdout, cmd.Stderr = os.Stdin, os.Stdout, os.Stderr
	cmd.ExtraFiles = []*os.File{r} // fd 3 in the child
	cmd.SysProcAttr = &syscall.SysProcAttr{
		// CLONE_NEWUSER first among equals: the kernel creates the user
		// namespace before the others, and it owns them. The network
		// namespace is there for sysfs (see the chapter).
		Cloneflags: unix.CLONE_NEWUSER | unix.CLONE_NEWNS | unix.CLONE_NEWPID |
			unix.CLONE_NEWUTS | unix.CLONE_NEWIPC | unix.CLONE_NEWNET,
		// execve(2) takes every capability from a process that is not
		// uid 0 in its namespace, and the child is not, yet: ambient
		// capabilities survive the exec (capabilities(7)).
		AmbientCaps: caps,
	}
	if err := cmd.Start(); err != nil {
		return err
	}
	r.Close()
	// The maps, as root of the parent namespace writes them: once each,
	// whole, in one write(2). As root we may leave setgroups alone.
	pid := cmd.Process.Pid
	m := fmt.Sprintf("0 %d %d\n", outside, length)
	for _, file := range []string{"gid_map", "uid_map"} {
		p := fmt.Sprintf("/proc/%d/%s", pid, file)
		if err := os.WriteFile(p, []byte(m), 0); err != nil {
			cmd.Process.Kill()
			cmd.Wait()
			return fmt.Errorf("write %s: %w", p, err)
		}
	}
	w.Close() // EOF: go on
	return cmd.Wait()
}

// end excerpt

// allCaps lists every capability the kernel knows.
func allCaps() ([]uintptr, error) {
	b, err := os.ReadFile("/proc/sys/kernel/cap_last_cap")
	if err != nil {
		return nil, err
	}
	var last int
	fmt.Sscan(string(b), &last)
	var caps []uintptr
	for c := 0; c <= last; c++ {
		caps = append(caps, uintptr(c))
	}
	return caps, nil
}

// child is the re-executed program, in the new namespaces.
func child(stage string, args []string) error {
	// excerpt: becomeRoot
	// 1. Wait until the parent has written the maps.
	if _, err := io.Copy(io.Discard, os.NewFile(3, "maps")); err != nil {
		return err
	}
	// 2. Become root of the namespace: gid first, while we may still
	//    change it. syscall's versions change every thread of the runtime.
	if err := syscall.Setgroups(nil); err != nil {
		return fmt.Errorf("setgroups: %w", err)
	}
	if err := syscall.Setresgid(0, 0, 0); err != nil {
		return fmt.Errorf("setresgid: %w", err)
	}
	if err := syscall.Setresuid(0, 0, 0); err != nil {
		return fmt.Errorf("setresuid: %w", err)
	}
	// end excerpt
	if err := unix.Mount("", "/", "", unix.MS_REC|unix.MS_PRIVATE, ""); err != nil {
		return fmt.Errorf("make / rprivate: %w", err)
	}
	if stage == "-limits" {
		return limits()
	}
	root, argv := args[0], args[1:]
	if err := setupRoot(root); err != nil {
		return err
	}
	path, err := exec.LookPath(argv[0])
	if err != nil {
		return err
	}
	return unix.Exec(path, argv, []string{"PATH=/bin:/usr/bin:/sbin:/usr/sbin:/usr/local/bin", "HOME=/root"})
}

// setupRoot is chapter 03's recipe, with one change for the user
// namespace: the devices are the host's, bound in.
func setupRoot(root string) error {
	if err := unix.Mount(root, root, "", unix.MS_BIND|unix.MS_REC, ""); err != nil {
		return fmt.Errorf("bind %s: %w", root, err)
	}
	if err := unix.Mount("proc", filepath.Join(root, "proc"), "proc", unix.MS_NOSUID|unix.MS_NODEV|unix.MS_NOEXEC, ""); err != nil {
		return fmt.Errorf("mount proc: %w", err)
	}
	dev := filepath.Join(root, "dev")
	if err := unix.Mount("tmpfs", dev, "tmpfs", unix.MS_NOSUID, "mode=755"); err != nil {
		return fmt.Errorf("mount tmpfs on %s: %w", dev, err)
	}
	// excerpt: bindDevices
	// mknod(2) is refused in a user namespace: bind the host's nodes
	// onto empty files instead.
	for _, name := range []string{"null", "zero", "full", "random", "urandom", "tty"} {
		p := filepath.Join(dev, name)
		if err := os.WriteFile(p, nil, 0o666); err != nil {
			return err
		}
		if err := unix.Mount("/dev/"+name, p, "", unix.MS_BIND, ""); err != nil {
			return fmt.Errorf("bind /dev/%s: %w", name, err)
		}
	}
	// end excerpt
	if err := unix.Mount("sysfs", filepath.Join(root, "sys"), "sysfs", unix.MS_RDONLY|unix.MS_NOSUID|unix.MS_NODEV|unix.MS_NOEXEC, ""); err != nil {
		return fmt.Errorf("mount sysfs: %w", err)
	}
	if err := unix.Chdir(root); err != nil {
		return err
	}
	if err := unix.PivotRoot(".", "."); err != nil {
		return fmt.Errorf("pivot_root: %w", err)
	}
	if err := unix.Unmount(".", unix.MNT_DETACH); err != nil {
		return fmt.Errorf("umount old root: %w", err)
	}
	return unix.Chdir("/")
}

// excerpt: limits
// limits tries, as root of a user namespace, what needs privilege over the
// host, and what only needs it over the namespace, and prints the
// kernel's answer to each. It runs in a private mount namespace, on a
// tmpfs over /tmp that nobody else sees.
func limits() error {
	if err := unix.Mount("tmpfs", "/tmp", "tmpfs", 0, ""); err != nil {
		return fmt.Errorf("mount tmpfs on /tmp: %w", err)
	}
	os.Mkdir("/tmp/a", 0o755)
	os.Mkdir("/tmp/b", 0o755)
	try := func(what string, err error) { fmt.Printf("%-42s %s\n", what, errnoName(err)) }
	try("mount tmpfs", nil) // it just worked, above
	try("mount proc", unix.Mount("proc", "/tmp/a", "proc", 0, ""))
	try("bind mount", unix.Mount("/etc", "/tmp/b", "", unix.MS_BIND, ""))
	try("mknod /tmp/null c 1 3", unix.Mknod("/tmp/null", unix.S_IFCHR|0o666, int(unix.Mkdev(1, 3))))
	try("mount ext4 (a block device filesystem)", unix.Mount("/dev/null", "/tmp/a", "ext4", 0, ""))
	try("mount cgroup2", unix.Mount("cgroup2", "/tmp/a", "cgroup2", 0, ""))
	try("mkdir in the host's cgroup tree", os.Mkdir(filepath.Join(cgroupRoot(), "06-userns"), 0o755))
	var rl unix.Rlimit
	unix.Getrlimit(unix.RLIMIT_NOFILE, &rl)
	rl.Max++
	try("raise the hard RLIMIT_NOFILE", unix.Setrlimit(unix.RLIMIT_NOFILE, &rl))
	try("idmapped mount of /etc", idmapTree("/etc"))
	return nil
}

// end excerpt

// excerpt: idmapped
// idmapped shows dir's files through an idmapped mount (mount_setattr(2),
// MOUNT_ATTR_IDMAP): the same inodes, with the owners shifted by the
// map of a user namespace, here 0 -> 100000. Nothing is attached to the
// tree: the detached mount is read through its file descriptor.
func idmapped(dir string) error {
	// A user namespace to take the map from: a process in one, with
	// the map written, is enough; its /proc/PID/ns/user is the handle.
	cmd := exec.Command("sleep", "60")
	cmd.SysProcAttr = &syscall.SysProcAttr{Cloneflags: unix.CLONE_NEWUSER}
	if err := cmd.Start(); err != nil {
		return err
	}
	defer cmd.Wait()
	defer cmd.Process.Kill()
	m := fmt.Sprintf("0 %d %d\n", outside, length)
	for _, file := range []string{"uid_map", "gid_map"} {
		if err := os.WriteFile(fmt.Sprintf("/proc/%d/%s", cmd.Process.Pid, file), []byte(m), 0); err != nil {
			return err
		}
	}
	ns, err := os.Open(fmt.Sprintf("/proc/%d/ns/user", cmd.Process.Pid))
	if err != nil {
		return err
	}
	defer ns.Close()
	var st unix.Stat_t
	if err := unix.Stat(dir, &st); err != nil {
		return err
	}
	fmt.Printf("%s on disk:             owner %d:%d\n", dir, st.Uid, st.Gid)
	tree, err := idmapTreeFD(dir, int(ns.Fd()))
	if err != nil {
		return fmt.Errorf("idmapped mount of %s: %w", dir, err)
	}
	defer unix.Close(tree)
	if err := unix.Fstat(tree, &st); err != nil {
		return err
	}
	fmt.Printf("%s through the mount: owner %d:%d\n", dir, st.Uid, st.Gid)
	return nil
}

// idmapTreeFD clones the mount at dir, detached, and idmaps it with the
// map of the user namespace usernsFD. Only a process with CAP_SYS_ADMIN
// over the user namespace of the filesystem itself may do that: for a
// disk mounted by the host, root of the host.
//
// Equivalent to: mount --bind -o X-mount.idmap=0:100000:65536 $dir $target  (util-linux 2.39)
func idmapTreeFD(dir string, usernsFD int) (int, error) {
	tree, err := unix.OpenTree(unix.AT_FDCWD, dir, unix.OPEN_TREE_CLONE|unix.OPEN_TREE_CLOEXEC)
	if err != nil {
		return -1, fmt.Errorf("open_tree: %w", err)
	}
	attr := unix.MountAttr{Attr_set: unix.MOUNT_ATTR_IDMAP, Userns_fd: uint64(usernsFD)}
	if err := unix.MountSetattr(tree, "", unix.AT_EMPTY_PATH, &attr); err != nil {
		unix.Close(tree)
		return -1, fmt.Errorf("mount_setattr: %w", err)
	}
	return tree, nil
}

// end excerpt

// idmapTree is idmapTreeFD with this process's own user namespace, for
// limits, which only wants the error.
func idmapTree(dir string) error {
	ns, err := os.Open("/proc/self/ns/user")
	if err != nil {
		return err
	}
	defer ns.Close()
	tree, err := idmapTreeFD(dir, int(ns.Fd()))
	if err == nil {
		unix.Close(tree)
	}
	return errors.Unwrap(err)
}

// cgroupRoot returns where the host's cgroup2 tree is mounted: /sys/fs/cgroup
// on a pure v2 host, /sys/fs/cgroup/unified on a hybrid one.
func cgroupRoot() string {
	b, _ := os.ReadFile("/proc/self/mountinfo")
	for _, line := range strings.Split(string(b), "\n") {
		if f := strings.Fields(line); len(f) > 8 && strings.Contains(line, " - cgroup2 ") {
			return f[4]
		}
	}
	return "/sys/fs/cgroup"
}

// errnoName gives "ok" or the errno's name, "EPERM".
func errnoName(err error) string {
	var errno unix.Errno
	switch {
	case err == nil:
		return "ok"
	case errors.As(err, &errno):
		return unix.ErrnoName(errno) + " (" + errno.Error() + ")"
	}
	return err.Error()
}
