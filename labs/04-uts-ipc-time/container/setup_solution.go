//go:build solution

package main

import (
	"fmt"
	"os"

	"golang.org/x/sys/unix"
)

// setHostname gives the container the hostname name.
//
// Equivalent to: hostname $name
func setHostname(name string) error {
	return unix.Sethostname([]byte(name))
}

// newTimeNamespace makes the command's CLOCK_BOOTTIME run boottime seconds
// ahead: unshare first, then write the offset while the namespace is
// still empty; the child main forks next enters it.
//
// Equivalent to: unshare --time --boottime $boottime
func newTimeNamespace(boottime int64) error {
	if err := unix.Unshare(unix.CLONE_NEWTIME); err != nil {
		return fmt.Errorf("unshare(CLONE_NEWTIME): %w", err)
	}
	offsets := fmt.Sprintf("boottime %d 0\n", boottime)
	return os.WriteFile("/proc/self/timens_offsets", []byte(offsets), 0)
}

// freshBoottime returns minus the host's CLOCK_BOOTTIME in whole seconds:
// the command's boot clock then starts at the fraction of a second cut
// off, plus the moments until it runs, and never below 0. Rounding up
// instead would make it start a little negative, which the kernel refuses
// with ERANGE.
//
// Equivalent to: unshare --time --boottime -$(cut -d. -f1 /proc/uptime)
func freshBoottime() (int64, error) {
	var ts unix.Timespec
	if err := unix.ClockGettime(unix.CLOCK_BOOTTIME, &ts); err != nil {
		return 0, fmt.Errorf("clock_gettime(CLOCK_BOOTTIME): %w", err)
	}
	return -ts.Sec, nil
}
