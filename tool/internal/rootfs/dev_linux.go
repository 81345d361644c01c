package rootfs

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"

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
//	# (in a user namespace: touch $root/dev/null && mount --bind /dev/null $root/dev/null)
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
	// In a user namespace mknod(2) fails with EPERM, and a node on a tmpfs
	// mounted there would not open anyway (such mounts are nodev): bind
	// the host's own nodes instead, as runc and LXC do (chapter 06).
	makeDevice := mknodDevice
	if InUserNamespace() {
		makeDevice = bindDevice
	}
	for _, d := range Devices {
		if err := makeDevice(filepath.Join(dev, d.Name), d); err != nil {
			return err
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

// mknodDevice creates the node d at p.
//
// Equivalent to: mknod -m 666 $p c $major $minor
func mknodDevice(p string, d Device) error {
	if err := unix.Mknod(p, unix.S_IFCHR|d.Mode, int(unix.Mkdev(d.Major, d.Minor))); err != nil {
		return fmt.Errorf("mknod %s c %d %d: %w", p, d.Major, d.Minor, err)
	}
	return nil
}

// bindDevice makes p the host's node /dev/NAME, through a bind mount onto
// an empty file. The node keeps the host's owner (root, which shows as
// 65534 in a user namespace that does not map it) and mode.
//
// Equivalent to: touch $p && mount --bind /dev/$name $p
func bindDevice(p string, d Device) error {
	if err := os.WriteFile(p, nil, 0o666); err != nil {
		return fmt.Errorf("create %s: %w", p, err)
	}
	host := filepath.Join("/dev", d.Name)
	if err := unix.Mount(host, p, "", unix.MS_BIND, ""); err != nil {
		return fmt.Errorf("bind %s onto %s: %w", host, p, err)
	}
	return nil
}

// InUserNamespace tells whether the calling process runs in a user
// namespace other than the initial one, whose uid map is the identity
// "0 0 4294967295" (user_namespaces(7)).
//
// Equivalent to: cat /proc/self/uid_map
func InUserNamespace() bool {
	b, err := os.ReadFile("/proc/self/uid_map")
	if err != nil {
		return false
	}
	f := strings.Fields(string(b))
	return !(len(f) == 3 && f[0] == "0" && f[1] == "0" && f[2] == "4294967295")
}
