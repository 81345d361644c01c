package initstage

import (
	"fmt"
	"os"
	"runtime"
	"strings"
	"syscall"

	"golang.org/x/sys/unix"

	"github.com/contain-dev/contain/tool/internal/idmap"
)

// UserNS gives the container a new user namespace with the maps uid and
// gid, and has the init stage become root there: the one recipe of
// contain run --userns and contain ns --map-root-user. In order:
//
//  1. CLONE_NEWUSER among the clone flags: the child is born in the new
//     namespace, with every capability over it (user_namespaces(7));
//  2. every capability as an ambient one (see AllCaps), so that it keeps
//     them across its execve(2) of /proc/self/exe, which it makes before
//     any map exists, as a uid that is not 0 in the namespace;
//  3. a Prepare hook that writes the maps while the stage waits for its
//     config. A map of the caller's own uid and gid only, as unshare -r
//     makes, needs no privilege: "deny" to setgroups, then gid_map, then
//     uid_map, written directly (idmap.DenySetgroups). Any other goes
//     through idmap.Apply: root writes it, anyone else has newuidmap and
//     newgidmap check it against /etc/subuid and /etc/subgid;
//  4. cfg.UserNS: the stage makes itself uid and gid 0 of the namespace
//     (becomeRoot) before its first mount.
//
// Equivalent to: unshare --user --map-root-user (own ids), or
// unshare --user with newgidmap $pid ... && newuidmap $pid ... (any other)
func (o *Options) UserNS(cfg *Config, uid, gid idmap.Map) error {
	caps, err := AllCaps()
	if err != nil {
		return err
	}
	o.Cloneflags |= unix.CLONE_NEWUSER
	if o.SysProcAttr == nil {
		o.SysProcAttr = &syscall.SysProcAttr{}
	}
	o.SysProcAttr.AmbientCaps = caps
	cfg.UserNS = true
	own := ownID(uid, os.Geteuid()) && ownID(gid, os.Getegid())
	o.Prepare = append(o.Prepare, func(pid int) error {
		if err := writeMaps(pid, uid, gid, own); err != nil {
			return fmt.Errorf("user namespace of pid %d: %w", pid, err)
		}
		return nil
	})
	return nil
}

// ownID tells whether m maps one id, the caller's own id.
func ownID(m idmap.Map, id int) bool {
	return len(m) == 1 && m[0].Length == 1 && int64(m[0].Outside) == int64(id)
}

// writeMaps writes the maps of pid, step 3 of UserNS.
func writeMaps(pid int, uid, gid idmap.Map, own bool) error {
	if !own {
		return idmap.Apply(pid, uid, gid)
	}
	if err := idmap.DenySetgroups(pid); err != nil {
		return err
	}
	if err := idmap.Write(pid, idmap.GID, gid); err != nil {
		return err
	}
	return idmap.Write(pid, idmap.UID, uid)
}

// AllCaps returns every capability this kernel knows, for
// syscall.SysProcAttr.AmbientCaps.
//
// Why the init stage needs them: clone(2) with CLONE_NEWUSER gives the child
// every capability in the new namespace, but the child then execs
// /proc/self/exe, and execve(2) recomputes capabilities: a process that is
// not uid 0 in its namespace loses them all (user_namespaces(7),
// capabilities(7)). The maps are written only after that exec (see
// Options.Prepare), so the init stage would start with none, unable even to
// setresuid(2) to 0. Ambient capabilities survive execve(2) for a process
// that is not root; they are what carries the namespace's capabilities
// across. They are capabilities over the new user namespace only.
func AllCaps() ([]uintptr, error) {
	b, err := os.ReadFile("/proc/sys/kernel/cap_last_cap")
	if err != nil {
		return nil, err
	}
	var last int
	if _, err := fmt.Sscan(strings.TrimSpace(string(b)), &last); err != nil {
		return nil, fmt.Errorf("/proc/sys/kernel/cap_last_cap: %w", err)
	}
	caps := make([]uintptr, 0, last+1)
	for c := 0; c <= last; c++ {
		caps = append(caps, uintptr(c))
	}
	return caps, nil
}

// becomeRoot makes the init stage uid and gid 0 of its user namespace, in
// this order:
//
//  1. setgroups(2) to none, where the namespace allows it: the
//     supplementary groups are still the host's, which show as 65534
//     inside; with setgroups "deny" (an unprivileged gid_map) they stay;
//  2. setresgid(2) before setresuid(2), because after giving up a
//     non-root uid we could no longer change the gid;
//  3. clear the ambient capabilities that carried us here (AllCaps): uid 0
//     has its own from now on, and the command should not inherit extra;
//  4. arm the parent-death signal again: a change of effective uid clears
//     it (prctl(2), PR_SET_PDEATHSIG), and the container must still die
//     with contain.
//
// The ids are set on every thread of the Go runtime (package syscall does
// that); capabilities and the death signal are per thread, so this
// goroutine stays on its thread until it execs the command.
//
// Equivalent to: what unshare --map-root-user does after writing the maps.
func becomeRoot() error {
	runtime.LockOSThread()
	sg, err := os.ReadFile("/proc/self/setgroups")
	if err != nil {
		return fmt.Errorf("user namespace: %w", err)
	}
	if strings.TrimSpace(string(sg)) == "allow" {
		if err := syscall.Setgroups(nil); err != nil {
			return fmt.Errorf("user namespace: setgroups: %w", err)
		}
	}
	if err := syscall.Setresgid(0, 0, 0); err != nil {
		return fmt.Errorf("user namespace: setresgid 0: %w (is gid 0 in the gid map?)", err)
	}
	if err := syscall.Setresuid(0, 0, 0); err != nil {
		return fmt.Errorf("user namespace: setresuid 0: %w (is uid 0 in the uid map?)", err)
	}
	if err := unix.Prctl(unix.PR_CAP_AMBIENT, unix.PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0); err != nil {
		return fmt.Errorf("user namespace: clear ambient capabilities: %w", err)
	}
	if err := unix.Prctl(unix.PR_SET_PDEATHSIG, uintptr(unix.SIGKILL), 0, 0, 0); err != nil {
		return fmt.Errorf("user namespace: pdeathsig: %w", err)
	}
	return nil
}
