package rootfs

import (
	"fmt"
	"os"
	"path/filepath"

	"golang.org/x/sys/unix"
)

// MakePrivate stops mount events from propagating between this mount
// namespace and its peers, recursively from "/". It must come first: on a
// systemd host "/" is shared (mount_namespaces(7), "MS_SHARED"), so without
// it every mount below, and the unmount of the old root, would reach the
// host's own mount table.
//
// Equivalent to: mount --make-rprivate /
func MakePrivate() error {
	if err := unix.Mount("", "/", "", unix.MS_REC|unix.MS_PRIVATE, ""); err != nil {
		return fmt.Errorf("make / private: %w", err)
	}
	return nil
}

// BindSelf bind-mounts dir onto itself. pivot_root(2) requires new_root to
// be a mount point, and a plain directory is not one.
//
// Equivalent to: mount --rbind $dir $dir
func BindSelf(dir string) error {
	if err := unix.Mount(dir, dir, "", unix.MS_BIND|unix.MS_REC, ""); err != nil {
		return fmt.Errorf("bind %s onto itself: %w", dir, err)
	}
	return nil
}

// MountProc mounts a new procfs at root/proc. The kernel fills it from the
// PID namespace of the mounting process (proc(5)), so this must run inside
// the container's PID namespace or /proc would list the host's processes.
//
// Equivalent to: mount -t proc -o nosuid,nodev,noexec proc $root/proc
func MountProc(root string) error {
	target := filepath.Join(root, "proc")
	if err := unix.Mount("proc", target, "proc", unix.MS_NOSUID|unix.MS_NODEV|unix.MS_NOEXEC, ""); err != nil {
		return fmt.Errorf("mount proc on %s: %w", target, err)
	}
	return nil
}

// MountSys mounts sysfs read-only at root/sys: a container may read the
// kernel's view of devices but must not write knobs that change the host.
//
// Equivalent to: mount -t sysfs -o ro,nosuid,nodev,noexec sysfs $root/sys
func MountSys(root string) error {
	target := filepath.Join(root, "sys")
	flags := uintptr(unix.MS_RDONLY | unix.MS_NOSUID | unix.MS_NODEV | unix.MS_NOEXEC)
	if err := unix.Mount("sysfs", target, "sysfs", flags, ""); err != nil {
		return fmt.Errorf("mount sysfs on %s: %w", target, err)
	}
	return nil
}

// PivotRoot makes root the root of this mount namespace and detaches the old
// one, so that nothing of the host's tree stays reachable. It uses the
// pivot_root(".", ".") form documented in pivot_root(2): the old root is
// stacked on top of the new one at "/", and unmounting "/" once takes it
// away.
//
// Equivalent to: cd $root && pivot_root . . && umount -l .
func PivotRoot(root string) error {
	if err := unix.Chdir(root); err != nil {
		return fmt.Errorf("chdir %s: %w", root, err)
	}
	if err := unix.PivotRoot(".", "."); err != nil {
		return fmt.Errorf("pivot_root %s: %w", root, err)
	}
	// MNT_DETACH: processes may still hold the old root open (our own
	// executable does); a lazy unmount detaches it now and frees it later.
	if err := unix.Unmount(".", unix.MNT_DETACH); err != nil {
		return fmt.Errorf("unmount old root: %w", err)
	}
	if err := unix.Chdir("/"); err != nil {
		return fmt.Errorf("chdir /: %w", err)
	}
	return nil
}

// Chroot changes the root directory to dir and moves into it. It changes
// nothing else: mounts, pids and the hostname stay the host's, and a process
// that keeps CAP_SYS_CHROOT can climb back out (chapter 02, steps/02-chroot).
//
// Equivalent to: chroot $dir
func Chroot(dir string) error {
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

// Setup builds the container's filesystem view inside a new mount namespace
// and enters it. The order matters:
//
//  1. make "/" private, before any mount, so nothing propagates to the host;
//  2. bind root onto itself, because pivot_root needs a mount point;
//  3. mount /proc, /dev and /sys while their targets are still reachable
//     by their host paths;
//  4. pivot_root into root and drop the old root.
func Setup(root string) error {
	if err := MakePrivate(); err != nil {
		return err
	}
	if err := BindSelf(root); err != nil {
		return err
	}
	if err := MountProc(root); err != nil {
		return err
	}
	if err := MountDev(root); err != nil {
		return err
	}
	if err := MountSys(root); err != nil {
		return err
	}
	if err := PivotRoot(root); err != nil {
		return err
	}
	// The old root is gone; make sure nothing still names it.
	if _, err := os.Stat("/proc/self"); err != nil {
		return fmt.Errorf("after pivot_root, /proc is unusable: %w", err)
	}
	return nil
}
