package network

import (
	"fmt"
	"runtime"
	"unsafe"

	"github.com/vishvananda/netns"
	"golang.org/x/sys/unix"
)

// ethtool(8) talks to drivers with the SIOCETHTOOL ioctl
// (include/uapi/linux/ethtool.h); x/sys/unix has no setter for this one.
const (
	siocEthtool      = 0x8946
	ethtoolSTxCsum   = 0x00000017 // ETHTOOL_STXCSUM: set TX checksum offload
	ifreqNameSize    = unix.IFNAMSIZ
	ifreqUnionPadded = 24 // struct ifreq's union is 24 bytes on 64-bit
)

// DisableTxChecksum turns off TX checksum offload on the link ifname in
// the network namespace of pid. A veth with offload on hands its packets
// on with the checksum still to be computed (CHECKSUM_PARTIAL); the
// kernel's own bridge copes, but Open vSwitch's userspace datapath reads
// them with AF_PACKET and forwards them as they are, so TCP arrives with
// bad checksums and is dropped. Ping still works, which makes this
// confusing.
//
// Equivalent to: nsenter --net --target $pid ethtool -K $ifname tx off
func DisableTxChecksum(pid int, ifname string) error {
	fd, err := socketIn(pid)
	if err != nil {
		return err
	}
	defer unix.Close(fd)
	value := struct{ cmd, data uint32 }{ethtoolSTxCsum, 0}
	var ifr struct {
		name [ifreqNameSize]byte
		data unsafe.Pointer
		_    [ifreqUnionPadded - 8]byte
	}
	copy(ifr.name[:], ifname)
	ifr.data = unsafe.Pointer(&value)
	if _, _, e := unix.Syscall(unix.SYS_IOCTL, uintptr(fd), siocEthtool, uintptr(unsafe.Pointer(&ifr))); e != 0 {
		return fmt.Errorf("ethtool -K %s tx off: %w", ifname, e)
	}
	runtime.KeepAlive(&value)
	return nil
}

// socketIn opens a socket in the network namespace of pid: an ioctl on a
// socket acts on the links of the socket's namespace. Only the one locked
// thread enters the namespace, and it comes back before it is unlocked.
func socketIn(pid int) (int, error) {
	type result struct {
		fd  int
		err error
	}
	ch := make(chan result)
	go func() {
		runtime.LockOSThread()
		orig, err := netns.Get()
		if err != nil {
			ch <- result{-1, err}
			return
		}
		defer orig.Close()
		ns, err := netns.GetFromPid(pid)
		if err != nil {
			ch <- result{-1, err}
			return
		}
		defer ns.Close()
		if err := netns.Set(ns); err != nil {
			ch <- result{-1, err}
			return
		}
		fd, serr := unix.Socket(unix.AF_INET, unix.SOCK_DGRAM|unix.SOCK_CLOEXEC, 0)
		if err := netns.Set(orig); err != nil {
			// Leave the thread locked: it dies with this goroutine
			// rather than run other goroutines in the wrong namespace.
			ch <- result{fd, serr}
			return
		}
		runtime.UnlockOSThread()
		ch <- result{fd, serr}
	}()
	r := <-ch
	return r.fd, r.err
}
