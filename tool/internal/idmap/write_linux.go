package idmap

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"strings"

	"golang.org/x/sys/unix"
)

// File returns the path of the map of kind for pid: /proc/PID/uid_map or
// /proc/PID/gid_map.
func File(pid int, kind Kind) string {
	return fmt.Sprintf("/proc/%d/%s_map", pid, kind)
}

// Read returns the map of kind of pid as the caller sees it: the outside
// ids are those of the caller's own user namespace (user_namespaces(7)).
//
// Equivalent to: cat /proc/$pid/uid_map
func Read(pid int, kind Kind) (Map, error) {
	b, err := os.ReadFile(File(pid, kind))
	if err != nil {
		return nil, err
	}
	return ParseProc(string(b))
}

// Write writes m to the map of kind of pid, in one write(2): the kernel
// takes the whole map from a single write and refuses any later one. The
// writer needs CAP_SETUID (CAP_SETGID for a gid map) over the parent of
// pid's user namespace, unless m is one range mapping the writer's own id
// (and, for gid maps, setgroups is "deny", see DenySetgroups).
//
// Equivalent to: printf '0 100000 65536\n' > /proc/$pid/uid_map
func Write(pid int, kind Kind, m Map) error {
	f, err := os.OpenFile(File(pid, kind), os.O_WRONLY, 0)
	if err != nil {
		return fmt.Errorf("open %s: %w", File(pid, kind), err)
	}
	defer f.Close()
	if _, err := f.Write([]byte(m.String())); err != nil {
		return explain(pid, kind, err)
	}
	return nil
}

// explain adds to a failed map write the rule of user_namespaces(7) that
// the kernel's errno stands for.
func explain(pid int, kind Kind, err error) error {
	err = fmt.Errorf("write %s: %w", File(pid, kind), errors.Unwrap(err))
	written, _ := os.ReadFile(File(pid, kind))
	switch {
	case errors.Is(err, unix.EPERM) && len(bytes.TrimSpace(written)) > 0:
		return fmt.Errorf("%w: the map was already written, and the kernel takes it once", err)
	case errors.Is(err, unix.EPERM) && kind == GID:
		return fmt.Errorf("%w: without CAP_SETGID over the parent namespace, write deny to /proc/%d/setgroups first, and map only your own gid", err, pid)
	case errors.Is(err, unix.EPERM):
		return fmt.Errorf("%w: without CAP_SETUID over the parent namespace, a process may map only its own uid", err)
	case errors.Is(err, unix.EINVAL):
		return fmt.Errorf("%w: the kernel refused the map (ranges overlap, a length is 0, or an id is out of range)", err)
	}
	return err
}

// DenySetgroups writes "deny" to /proc/PID/setgroups, which an unprivileged
// writer must do before it writes gid_map: otherwise a process could map
// its own gid and then drop a supplementary group with setgroups(2), and
// escape a "deny by group" permission of the host (CVE-2014-8989). It can
// only be done while gid_map is still empty.
//
// Equivalent to: echo deny > /proc/$pid/setgroups
func DenySetgroups(pid int) error {
	p := fmt.Sprintf("/proc/%d/setgroups", pid)
	if err := os.WriteFile(p, []byte("deny"), 0); err != nil {
		if errors.Is(err, unix.EPERM) {
			return fmt.Errorf("write %s: %w: gid_map is written already, setgroups must come first", p, unix.EPERM)
		}
		return fmt.Errorf("write %s: %w", p, errors.Unwrap(err))
	}
	return nil
}

// Helpers are the setuid-root programs of shadow (Debian package uidmap)
// that write maps for an ordinary user, within the ranges /etc/subuid and
// /etc/subgid grant that user.
var Helpers = map[Kind]string{UID: "newuidmap", GID: "newgidmap"}

// WriteWithHelper writes m to the map of kind of pid through newuidmap or
// newgidmap, for a caller who is not root. The helper checks m against
// /etc/subuid or /etc/subgid and leaves setgroups as it is when m maps
// more than the caller's own id.
//
// Equivalent to: newuidmap $pid 0 100000 65536
func WriteWithHelper(pid int, kind Kind, m Map) error {
	helper, err := exec.LookPath(Helpers[kind])
	if err != nil {
		return fmt.Errorf("%s not found: install Debian's uidmap package (apt-get install uidmap)", Helpers[kind])
	}
	args := []string{strconv.Itoa(pid)}
	for _, r := range m {
		args = append(args, strconv.FormatUint(uint64(r.Inside), 10), strconv.FormatUint(uint64(r.Outside), 10), strconv.FormatUint(uint64(r.Length), 10))
	}
	out, err := exec.Command(helper, args...).CombinedOutput()
	if err != nil {
		msg := strings.Join(strings.Fields(string(out)), " ")
		return fmt.Errorf("%s %s: %v: %s", Helpers[kind], strings.Join(args, " "), err, msg)
	}
	return nil
}

// Apply gives pid, a process in a new user namespace that waits for its
// maps, its gid map and then its uid map. Root writes them itself; anyone
// else goes through newgidmap and newuidmap. gid_map comes first out of
// habit shared with runc and LXC: the order matters only for the
// unprivileged single-range case, where setgroups must be denied before
// gid_map and either may come before uid_map.
func Apply(pid int, uid, gid Map) error {
	write := Write
	if os.Geteuid() != 0 {
		write = WriteWithHelper
	}
	if err := write(pid, GID, gid); err != nil {
		return err
	}
	return write(pid, UID, uid)
}
