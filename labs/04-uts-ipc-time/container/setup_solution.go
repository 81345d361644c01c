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
