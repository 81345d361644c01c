//go:build !solution

package main

import (
	"fmt"
	"path/filepath"

	"golang.org/x/sys/unix"
)

// setup turns rootfs into the container's root filesystem. It runs in the
// container's first process, which clone(2) has already placed in new
// mount, PID, UTS and IPC namespaces; main execs the command as soon as it
// returns.
//
// As handed out, it is chapter 02's chroot with the host's /proc, /dev and
// /sys bound into the rootfs, the way chroot recipes on the web do it. Each
// step below is marked TODO(lab): replace it with the real thing. The
// grader tells you, step by step, what the container still shows:
//
//	go run ./labs/03-mount-namespace/grade
//
// The order of the steps matters too. Keep it, or change it if a step needs
// another to have run first.
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
	return pivotRoot(rootfs)
}

// makePrivate should cut this mount namespace off from the host's.
func makePrivate() error {
	// TODO(lab): clone(2) gave us a copy of the host's mounts, but on a
	// host whose / is shared (systemd makes it so) each copy stays a
	// peer of the original, and every mount made below appears on the
	// host as well. Change the propagation type of every mount, from /
	// down, before anything else is mounted.
	// Read: mount_namespaces(7) "Shared subtrees"; mount(2) "Changing the
	// propagation type of an existing mount".
	return nil
}

// bindRoot should make rootfs a mount point.
func bindRoot(rootfs string) error {
	// TODO(lab): pivot_root(2) wants new_root to be a mount point, and a
	// directory built by mkrootfs.sh is only a directory. Turn it into a
	// mount of its own without changing what it shows.
	// Read: pivot_root(2), the list of requirements under "EINVAL";
	// mount(2) "Creating a bind mount".
	return nil
}

// mountProc gives the container a /proc.
func mountProc(rootfs string) error {
	// TODO(lab): a bind of the host's /proc shows the host's processes,
	// whatever PID namespace the reader is in. A procfs lists the PID
	// namespace of the process that mounted it. Mount a new one, from
	// in here. Read: proc(5); pid_namespaces(7) "/proc and PID namespaces".
	return bind("/proc", filepath.Join(rootfs, "proc"))
}

// mountDev gives the container a /dev.
func mountDev(rootfs string) error {
	// TODO(lab): a bind of the host's /dev hands the container every disk,
	// /dev/mem and /dev/kmsg. Give it an empty tmpfs instead, holding only
	// the character devices programs expect: null, zero, full, random,
	// urandom and tty, mode 0666 (their numbers are in `ls -l /dev` on the
	// host, or the kernel's Documentation/admin-guide/devices.txt; and
	// mknod applies the umask). Then a devpts of its own on dev/pts, whose
	// ptmx anyone may open, and dev/ptmx as a symlink to pts/ptmx.
	// Read: mknod(2), umask(2), the kernel's
	// Documentation/filesystems/devpts.rst.
	return bind("/dev", filepath.Join(rootfs, "dev"))
}

// mountSys gives the container a /sys.
func mountSys(rootfs string) error {
	// TODO(lab): the container may read the kernel's view of devices, but a
	// writable /sys lets it change settings of the whole machine. Mount a
	// sysfs that cannot be written. Read: sysfs(5); mount(2) MS_RDONLY.
	return bind("/sys", filepath.Join(rootfs, "sys"))
}

// pivotRoot enters the new root.
func pivotRoot(rootfs string) error {
	// TODO(lab): chroot(2) only changes where this process starts paths
	// from. The host's tree is still there, a loop of chdir("..") away:
	// that is the escape of chapter 02. Switch the root of the whole mount
	// namespace with pivot_root(2) instead, then get rid of the old root
	// so that nothing of the host stays reachable, even while something
	// still uses it. Read: pivot_root(2), its NOTES on pivot_root(".",
	// "."); umount(2) MNT_DETACH.
	if err := unix.Chroot(rootfs); err != nil {
		return fmt.Errorf("chroot %s: %w", rootfs, err)
	}
	return unix.Chdir("/")
}

// readOnlyRoot should make the container's / read-only, and nothing else:
// /dev, /proc and the terminals stay as they are. setup does not call it
// yet.
func readOnlyRoot(rootfs string) error {
	// TODO(stretch): call this from setup, where it belongs, and make the
	// mount that becomes the container's / read-only. The bind of
	// bindRoot ignores MS_RDONLY (mount(2), "Creating a bind mount"): a
	// bind takes no flag but MS_REC at first. Delete this TODO line when
	// you start: the grader grades the stretch goal from then on.
	// Read: mount(2) "Remounting an existing mount", MS_BIND there.
	return nil
}

// bind mounts the host's directory src on dst, as chroot recipes do with
// /proc, /dev and /sys. The lab replaces all of its callers.
//
// Equivalent to: mount --bind $src $dst
func bind(src, dst string) error {
	if err := unix.Mount(src, dst, "", unix.MS_BIND, ""); err != nil {
		return fmt.Errorf("bind %s on %s: %w", src, dst, err)
	}
	return nil
}
