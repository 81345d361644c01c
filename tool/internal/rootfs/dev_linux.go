package rootfs

import (
	"fmt"
	"os"
	"path/filepath"

	"golang.org/x/sys/unix"
)

// Device is one character device node that a container's /dev receives.
type Device struct {
	Name         string
	Major, Minor uint32
	Mode         uint32
}

// Devices is the minimal set of device nodes that programs expect, the same
// list that runc and LXC create by default (see also
// Documentation/admin-guide/devices.txt in the kernel tree).
var Devices = []Device{
	{"null", 1, 3, 0o666},
	{"zero", 1, 5, 0o666},
	{"full", 1, 7, 0o666},
	{"random", 1, 8, 0o666},
	{"urandom", 1, 9, 0o666},
	{"tty", 5, 0, 0o666},
}

// devLinks are the symlinks that userland expects in /dev.
var devLinks = [][2]string{
	{"/proc/self/fd", "fd"},
	{"/proc/self/fd/0", "stdin"},
	{"/proc/self/fd/1", "stdout"},
	{"/proc/self/fd/2", "stderr"},
	{"pts/ptmx", "ptmx"},
}

// MountDev gives root a minimal /dev: a tmpfs holding only the nodes in
// Devices, a private devpts instance for pseudo-terminals, and /dev/shm.
// Binding the host's /dev instead would hand the container every disk.
//
// Equivalent to:
//
//	mount -t tmpfs -o nosuid,mode=755 tmpfs $root/dev
//	mknod -m 666 $root/dev/null c 1 3   # and zero, full, random, urandom, tty
//	mkdir $root/dev/pts && mount -t devpts -o newinstance,ptmxmode=0666,mode=620 devpts $root/dev/pts
//	ln -s pts/ptmx $root/dev/ptmx
func MountDev(root string) error {
	dev := filepath.Join(root, "dev")
	if err := unix.Mount("tmpfs", dev, "tmpfs", unix.MS_NOSUID|unix.MS_STRICTATIME, "mode=755,size=65536k"); err != nil {
		return fmt.Errorf("mount tmpfs on %s: %w", dev, err)
	}
	// mknod(2) applies the umask; clear it so the modes are exact.
	old := unix.Umask(0)
	defer unix.Umask(old)
	for _, d := range Devices {
		p := filepath.Join(dev, d.Name)
		if err := unix.Mknod(p, unix.S_IFCHR|d.Mode, int(unix.Mkdev(d.Major, d.Minor))); err != nil {
			return fmt.Errorf("mknod %s c %d %d: %w", p, d.Major, d.Minor, err)
		}
	}
	pts := filepath.Join(dev, "pts")
	if err := os.Mkdir(pts, 0o755); err != nil {
		return fmt.Errorf("mkdir %s: %w", pts, err)
	}
	// newinstance: a devpts of its own, so the container sees only its
	// own terminals and cannot open the host's (devpts in the kernel docs).
	if err := unix.Mount("devpts", pts, "devpts", unix.MS_NOSUID|unix.MS_NOEXEC, "newinstance,ptmxmode=0666,mode=620"); err != nil {
		return fmt.Errorf("mount devpts on %s: %w", pts, err)
	}
	shm := filepath.Join(dev, "shm")
	if err := os.Mkdir(shm, 0o1777); err != nil {
		return fmt.Errorf("mkdir %s: %w", shm, err)
	}
	if err := unix.Mount("shm", shm, "tmpfs", unix.MS_NOSUID|unix.MS_NODEV|unix.MS_NOEXEC, "mode=1777,size=65536k"); err != nil {
		return fmt.Errorf("mount tmpfs on %s: %w", shm, err)
	}
	for _, l := range devLinks {
		if err := os.Symlink(l[0], filepath.Join(dev, l[1])); err != nil {
			return fmt.Errorf("symlink /dev/%s: %w", l[1], err)
		}
	}
	return nil
}
