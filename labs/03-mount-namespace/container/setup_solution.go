//go:build solution

package main

import (
	"fmt"
	"os"
	"path/filepath"

	"golang.org/x/sys/unix"
)

// setup turns rootfs into the container's root filesystem. It runs in the
// container's first process, which clone(2) has already placed in new
// mount, PID, UTS and IPC namespaces; main execs the command as soon as it
// returns. The order is the point:
//
//  1. make / private, before any mount, so that nothing reaches the host;
//  2. bind rootfs onto itself, because pivot_root needs a mount point, and
//     before the mounts below, which then land on that bind;
//  3. mount /proc, /dev and /sys while rootfs still has its host path;
//  4. pivot_root into rootfs and detach the old root;
//  5. (the stretch goal) remount the new / read-only, which only the mount
//     that holds it can be, once it is a mount of its own.
func setup(rootfs string) error {
	if err := makePrivate(); err != nil {
		return err
	}
	if err := bindRoot(rootfs); err != nil {
		return err
	}
	if err := mountProc(rootfs); err != nil {
		return err
	}
	if err := mountDev(rootfs); err != nil {
		return err
	}
	if err := mountSys(rootfs); err != nil {
		return err
	}
	if err := pivotRoot(rootfs); err != nil {
		return err
	}
	return readOnlyRoot("/")
}

// makePrivate stops mount events from propagating between this mount
// namespace and the one it was copied from, recursively from /. On a host
// whose / is shared (systemd's default), the copies clone(2) made are peers
// of the host's mounts (mount_namespaces(7), "Shared subtrees"): without
// this, every mount below would show up on the host too, and pivot_root
// would fail with EINVAL.
//
// Equivalent to: mount --make-rprivate /
func makePrivate() error {
	if err := unix.Mount("", "/", "", unix.MS_REC|unix.MS_PRIVATE, ""); err != nil {
		return fmt.Errorf("make / private: %w", err)
	}
	return nil
}

// bindRoot makes rootfs a mount point by bind-mounting it onto itself:
// pivot_root(2) refuses a new_root that is not one.
//
// Equivalent to: mount --rbind $rootfs $rootfs
func bindRoot(rootfs string) error {
	if err := unix.Mount(rootfs, rootfs, "", unix.MS_BIND|unix.MS_REC, ""); err != nil {
		return fmt.Errorf("bind %s onto itself: %w", rootfs, err)
	}
	return nil
}

// mountProc mounts a new procfs on rootfs/proc. A procfs shows the PID
// namespace of the process that mounts it (pid_namespaces(7)), and this one
// runs as pid 1 of the container's, so /proc lists the container's
// processes only.
//
// Equivalent to: mount -t proc -o nosuid,nodev,noexec proc $rootfs/proc
func mountProc(rootfs string) error {
	target := filepath.Join(rootfs, "proc")
	if err := unix.Mount("proc", target, "proc", unix.MS_NOSUID|unix.MS_NODEV|unix.MS_NOEXEC, ""); err != nil {
		return fmt.Errorf("mount proc on %s: %w", target, err)
	}
	return nil
}

// device is a character device node for the container's /dev.
type device struct {
	name         string
	major, minor uint32
}

// devices are the nodes programs expect in /dev, with the numbers the
// kernel gives them in Documentation/admin-guide/devices.txt: the same set
// runc and LXC create.
var devices = []device{
	{"null", 1, 3},
	{"zero", 1, 5},
	{"full", 1, 7},
	{"random", 1, 8},
	{"urandom", 1, 9},
	{"tty", 5, 0},
}

// mountDev gives the container a /dev of its own: a tmpfs holding only the
// nodes in devices, a new devpts instance for its terminals, and the ptmx
// link into it. Binding the host's /dev instead would hand over every disk.
//
// Equivalent to:
//
//	mount -t tmpfs -o nosuid,mode=755 tmpfs $rootfs/dev
//	mknod -m 666 $rootfs/dev/null c 1 3    # and zero, full, random, urandom, tty
//	mkdir $rootfs/dev/pts
//	mount -t devpts -o newinstance,ptmxmode=0666,mode=0620 devpts $rootfs/dev/pts
//	ln -s pts/ptmx $rootfs/dev/ptmx
func mountDev(rootfs string) error {
	dev := filepath.Join(rootfs, "dev")
	if err := unix.Mount("tmpfs", dev, "tmpfs", unix.MS_NOSUID|unix.MS_STRICTATIME, "mode=755,size=65536k"); err != nil {
		return fmt.Errorf("mount tmpfs on %s: %w", dev, err)
	}
	// mknod(2) masks the mode with the umask; clear it so 0666 stays 0666.
	old := unix.Umask(0)
	defer unix.Umask(old)
	for _, d := range devices {
		p := filepath.Join(dev, d.name)
		if err := unix.Mknod(p, unix.S_IFCHR|0o666, int(unix.Mkdev(d.major, d.minor))); err != nil {
			return fmt.Errorf("mknod %s c %d %d: %w", p, d.major, d.minor, err)
		}
	}
	pts := filepath.Join(dev, "pts")
	if err := os.Mkdir(pts, 0o755); err != nil {
		return fmt.Errorf("mkdir %s: %w", pts, err)
	}
	// newinstance: a devpts of the container's own, which holds none of
	// the host's terminals; ptmxmode=0666 lets anyone allocate one (the
	// default, 0000, lets no one).
	if err := unix.Mount("devpts", pts, "devpts", unix.MS_NOSUID|unix.MS_NOEXEC, "newinstance,ptmxmode=0666,mode=0620"); err != nil {
		return fmt.Errorf("mount devpts on %s: %w", pts, err)
	}
	// Programs open /dev/ptmx: point it at this instance's multiplexer.
	if err := os.Symlink("pts/ptmx", filepath.Join(dev, "ptmx")); err != nil {
		return fmt.Errorf("symlink %s/ptmx: %w", dev, err)
	}
	return nil
}

// mountSys mounts sysfs read-only on rootfs/sys: the container may read
// the kernel's view of devices but not write settings of the whole machine.
//
// Equivalent to: mount -t sysfs -o ro,nosuid,nodev,noexec sysfs $rootfs/sys
func mountSys(rootfs string) error {
	target := filepath.Join(rootfs, "sys")
	flags := uintptr(unix.MS_RDONLY | unix.MS_NOSUID | unix.MS_NODEV | unix.MS_NOEXEC)
	if err := unix.Mount("sysfs", target, "sysfs", flags, ""); err != nil {
		return fmt.Errorf("mount sysfs on %s: %w", target, err)
	}
	return nil
}

// pivotRoot makes rootfs the root of the whole mount namespace and detaches
// the old root, so that no path leads back to the host's tree. It uses
// pivot_root(".", "."), from the NOTES of pivot_root(2): the old root ends
// up stacked on top of the new one at /, where one unmount of "." removes
// it, and no directory for it is needed inside the rootfs.
//
// Equivalent to: cd $rootfs && pivot_root . . && umount -l .
func pivotRoot(rootfs string) error {
	if err := unix.Chdir(rootfs); err != nil {
		return fmt.Errorf("chdir %s: %w", rootfs, err)
	}
	if err := unix.PivotRoot(".", "."); err != nil {
		return fmt.Errorf("pivot_root %s: %w", rootfs, err)
	}
	// MNT_DETACH: this process still runs a binary from the old root,
	// which keeps it busy; a lazy unmount detaches it now all the same.
	if err := unix.Unmount(".", unix.MNT_DETACH); err != nil {
		return fmt.Errorf("unmount the old root: %w", err)
	}
	if err := unix.Chdir("/"); err != nil {
		return fmt.Errorf("chdir /: %w", err)
	}
	return nil
}

// readOnlyRoot remounts the bind at root read-only: a bind is created with
// the flags of nothing but MS_REC, so MS_RDONLY needs a second mount(2),
// a remount of that one mount (MS_BIND with MS_REMOUNT changes the mount,
// not the filesystem it shows, which the host still writes). Mounts on
// top of it, /dev, /proc and /sys, keep their own flags. It runs after
// pivot_root: root is "/" by then.
//
// Equivalent to: mount -o remount,bind,ro /
func readOnlyRoot(root string) error {
	if err := unix.Mount("", root, "", unix.MS_REMOUNT|unix.MS_BIND|unix.MS_RDONLY, ""); err != nil {
		return fmt.Errorf("remount %s read-only: %w", root, err)
	}
	return nil
}
