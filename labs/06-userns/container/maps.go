//go:build !solution

package main

// writeMaps gives the child pid, a process in a new user namespace that
// waits for it, its maps: uid 0 and gid 0 inside are uid and gid, the ids
// of the parent, outside. The parent is an ordinary user (the grader runs
// it as nobody), so the kernel lets it map only its own ids, one range of
// length 1 each, and gid_map only under one more condition.
//
// Each map is one write(2) of "INSIDE OUTSIDE LENGTH\n" to a file in
// /proc/PID/, and the kernel takes each once.
func writeMaps(pid, uid, gid int) error {
	// TODO(lab): write /proc/PID/uid_map: root inside is uid outside.
	// Read: user_namespaces(7), "User and group ID mappings: uid_map and
	// gid_map". os.WriteFile makes one write(2) of the whole text.

	// TODO(lab): write /proc/PID/gid_map in the same way, for gid. For a
	// writer without CAP_SETGID in the parent namespace the kernel wants
	// one more file written first, or it answers EPERM.
	// Read: user_namespaces(7), "Interaction with system calls that
	// change process UIDs or GIDs", and /proc/PID/setgroups.
	return nil
}

// writeRanges gives the child pid root and sub.Count more ids: 0 inside is
// uid (and gid) outside, as in writeMaps, and 1 to sub.Count inside are
// sub.Start onward outside, the range /etc/subuid and /etc/subgid grant
// this user. As handed out, it maps root alone.
func writeRanges(pid, uid, gid int, sub idRange) error {
	// TODO(stretch): map both ranges, in both maps. The kernel lets an
	// ordinary user write only the one line of writeMaps; more take a
	// writer with CAP_SETUID (CAP_SETGID) over the parent namespace,
	// which is what the setuid helpers newuidmap and newgidmap are, once
	// they have checked the ranges against /etc/subuid and /etc/subgid.
	// Delete this TODO line when you start: the grader grades the
	// stretch goal from then on. Read: newuidmap(1), subuid(5).
	return writeMaps(pid, uid, gid)
}
