package network

import (
	"fmt"

	"golang.org/x/sys/unix"
)

// LoopbackUpHere brings up lo in the calling process's own network
// namespace. The init stage of a rootless container uses it: root in its
// user namespace, it may configure the network namespace that namespace
// owns, while its unprivileged parent may not even enter it. It uses the
// old SIOCSIFFLAGS ioctl (netdevice(7)) rather than netlink: one flag on
// one link needs no more.
//
// Equivalent to: ip link set lo up   (run inside the container)
func LoopbackUpHere() error {
	fd, err := unix.Socket(unix.AF_INET, unix.SOCK_DGRAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return fmt.Errorf("ip link set lo up: socket: %w", err)
	}
	defer unix.Close(fd)
	ifr, err := unix.NewIfreq("lo")
	if err != nil {
		return err
	}
	if err := unix.IoctlIfreq(fd, unix.SIOCGIFFLAGS, ifr); err != nil {
		return fmt.Errorf("ip link set lo up: get flags: %w", err)
	}
	ifr.SetUint16(ifr.Uint16() | unix.IFF_UP)
	if err := unix.IoctlIfreq(fd, unix.SIOCSIFFLAGS, ifr); err != nil {
		return fmt.Errorf("ip link set lo up: %w", err)
	}
	return nil
}
