// Package namespace names the Linux namespaces and their clone(2) flags, so
// that the rest of contain, its flags and its output use one vocabulary: the
// names of /proc/PID/ns (see namespaces(7)).
package namespace

import (
	"fmt"
	"os"
	"sort"
	"strings"

	"golang.org/x/sys/unix"
)

// Kind is one namespace type.
type Kind struct {
	// Name is the entry in /proc/PID/ns, such as "mnt" or "uts".
	Name string
	// Flag is the CLONE_NEW* flag that creates it in clone(2) and unshare(2).
	Flag uintptr
	// Isolates says in a few words what a process in a new one gets its own
	// copy of, as namespaces(7) lists it.
	Isolates string
}

// Kinds lists every namespace type in the order of namespaces(7).
var Kinds = []Kind{
	{"cgroup", unix.CLONE_NEWCGROUP, "cgroup root directory"},
	{"ipc", unix.CLONE_NEWIPC, "System V IPC, POSIX message queues"},
	{"net", unix.CLONE_NEWNET, "network devices, stacks, ports"},
	{"mnt", unix.CLONE_NEWNS, "mount points"},
	{"pid", unix.CLONE_NEWPID, "process IDs"},
	{"time", unix.CLONE_NEWTIME, "boot and monotonic clocks"},
	{"user", unix.CLONE_NEWUSER, "user and group IDs"},
	{"uts", unix.CLONE_NEWUTS, "hostname and NIS domain name"},
}

// Lookup returns the Kind called name ("mnt", "uts", ...). "mount" is
// accepted for "mnt", as unshare(1) spells it.
func Lookup(name string) (Kind, error) {
	if name == "mount" {
		name = "mnt"
	}
	for _, k := range Kinds {
		if k.Name == name {
			return k, nil
		}
	}
	names := make([]string, len(Kinds))
	for i, k := range Kinds {
		names[i] = k.Name
	}
	sort.Strings(names)
	return Kind{}, fmt.Errorf("unknown namespace %q: use one of %s", name, strings.Join(names, ", "))
}

// Flags ORs together the clone flags of the named namespaces.
func Flags(names ...string) (uintptr, error) {
	var f uintptr
	for _, n := range names {
		k, err := Lookup(n)
		if err != nil {
			return 0, err
		}
		f |= k.Flag
	}
	return f, nil
}

// Supported tells whether this kernel has the namespace type: the link
// /proc/self/ns/NAME exists only when it does.
//
// Equivalent to: ls /proc/self/ns
func (k Kind) Supported() bool {
	_, err := os.Lstat("/proc/self/ns/" + k.Name)
	return err == nil
}

// Of returns the namespace of pid, as the target of its /proc/PID/ns link
// ("mnt:[4026531841]"). Two processes are in the same namespace exactly when
// these are equal.
//
// Equivalent to: readlink /proc/$pid/ns/$name
func (k Kind) Of(pid int) (string, error) {
	return os.Readlink(fmt.Sprintf("/proc/%d/ns/%s", pid, k.Name))
}
