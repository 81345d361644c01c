package rootfs

import (
	"testing"

	"github.com/google/go-cmp/cmp"
	"golang.org/x/sys/unix"
)

// TestDevicesNumbers checks Devices against the numbers the kernel assigns
// in Documentation/admin-guide/devices.txt:
//
//	1 char	Memory devices
//		  3 = /dev/null		Null device
//		  5 = /dev/zero		Null byte source
//		  7 = /dev/full		Returns ENOSPC on write
//		  8 = /dev/random	Nondeterministic random number gen.
//		  9 = /dev/urandom	Faster, less secure random number gen.
//	5 char	Alternate TTY devices
//		  0 = /dev/tty		Current TTY device
func TestDevicesNumbers(t *testing.T) {
	want := []Device{
		{"null", 1, 3, 0o666},
		{"zero", 1, 5, 0o666},
		{"full", 1, 7, 0o666},
		{"random", 1, 8, 0o666},
		{"urandom", 1, 9, 0o666},
		{"tty", 5, 0, 0o666},
	}
	if diff := cmp.Diff(want, Devices); diff != "" {
		t.Errorf("Devices (-want +got):\n%s", diff)
	}
}

// TestDevicesMatchHost compares Devices with the nodes the kernel itself
// made in the host's devtmpfs, a second witness beside devices.txt.
func TestDevicesMatchHost(t *testing.T) {
	for _, d := range Devices {
		var st unix.Stat_t
		if err := unix.Stat("/dev/"+d.Name, &st); err != nil {
			t.Errorf("host /dev/%s: %v", d.Name, err)
			continue
		}
		if st.Mode&unix.S_IFMT != unix.S_IFCHR {
			t.Errorf("host /dev/%s is not a character device (mode %o)", d.Name, st.Mode)
			continue
		}
		got := [2]uint32{unix.Major(st.Rdev), unix.Minor(st.Rdev)}
		if want := [2]uint32{d.Major, d.Minor}; got != want {
			t.Errorf("/dev/%s: host has %d,%d, Devices says %d,%d", d.Name, got[0], got[1], want[0], want[1])
		}
	}
}
