//go:build !solution

package main

// setHostname should give the container the hostname name. main calls it
// in the container's own UTS namespace, which clone(2) made.
func setHostname(name string) error {
	// TODO(lab): one system call changes the name of this UTS namespace,
	// and only of this one. Read: sethostname(2), uts_namespaces(7).
	return nil
}

// newTimeNamespace should make the command's CLOCK_BOOTTIME run boottime
// seconds ahead of the host's. main forks the command right after it
// returns, from this same thread, the process's main thread.
func newTimeNamespace(boottime int64) error {
	// TODO(lab): two steps, in this order. First create a time namespace
	// for what this process forks next (unshare(2), CLONE_NEWTIME: it
	// does not move the caller, only its time_for_children). Then, while
	// no process is in it yet, write the offset to
	// /proc/self/timens_offsets, in the format "boottime SECONDS 0".
	// Read: time_namespaces(7).
	return nil
}

// freshBoottime should return the boot clock offset that makes the
// command's CLOCK_BOOTTIME start at 0, as if the container had just
// booted: what `uptime` in a container shows with LXCFS. main passes it to
// newTimeNamespace when BOOTTIME is "fresh".
func freshBoottime() (int64, error) {
	// TODO(stretch): the offset is added to the host's clock, so it is
	// negative here, and it depends on when you ask. The kernel refuses
	// (ERANGE) an offset that makes the clock negative, even by a
	// nanosecond. Delete this TODO line when you start: the grader
	// grades the stretch goal from then on. Read: clock_gettime(2),
	// time_namespaces(7) "/proc/PID/timens_offsets".
	return 0, nil
}
