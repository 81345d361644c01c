// Package initstage is the hidden second stage of contain. A Go program
// cannot fork and keep running Go code in the child (the runtime's other
// threads do not follow, see chapter 01), so contain re-executes its own
// binary, /proc/self/exe, as `contain init` inside the new namespaces. The
// parent sends this stage a Config over a pipe; the stage builds the
// container's view of the system and then execs the user's command.
//
// Two pipes join the stages, both passed as extra files:
//
//	fd 3  config   parent -> init   JSON Config, then EOF
//	fd 4  errors   init -> parent   close-on-exec: EOF alone means exec succeeded
//
// The second is the trick runc and LXC use too: if execve(2) succeeds the
// kernel closes the pipe and the parent reads EOF; if anything fails first,
// the stage writes a Failure and the parent reports it as one line.
package initstage

import (
	"fmt"

	"github.com/contain-dev/contain/tool/internal/namespace"
	"github.com/contain-dev/contain/tool/internal/rootfs"
)

// Mode says how much isolation the init stage sets up.
type Mode string

const (
	// ModeChroot only changes the root directory (contain chroot).
	ModeChroot Mode = "chroot"
	// ModeRun builds a full root filesystem and pivots into it (contain run).
	ModeRun Mode = "run"
	// ModeNS keeps the host's filesystem and only enters the namespaces
	// (contain ns, like unshare(1)).
	ModeNS Mode = "ns"
)

// Config is what the parent tells the init stage.
type Config struct {
	Mode Mode `json:"mode"`
	// Rootfs is the absolute path of the root filesystem on the host.
	Rootfs string `json:"rootfs"`
	// Hostname is set in the new UTS namespace when not empty.
	Hostname string `json:"hostname,omitempty"`
	// Args is the command to exec; Args[0] is looked up in the container's
	// PATH after the root has changed.
	Args []string `json:"args"`
	// Env is the whole environment of the command.
	Env []string `json:"env"`
	// UserNS says that the init stage runs in a new user namespace whose
	// maps the parent has written (chapter 06): it becomes root there
	// before it mounts anything.
	UserNS bool `json:"userns,omitempty"`
	// LoopbackUp asks the init stage to bring up lo in its new network
	// namespace itself, after it became root in its user namespace: a
	// parent without root may not enter that namespace (chapter 08).
	LoopbackUp bool `json:"loopback_up,omitempty"`

	// Chapters 04 and 05.

	// Time, when not nil, gives the command a new time namespace whose
	// clocks are these offsets ahead of the host's (see namespace.NewTime).
	Time *namespace.TimeOffsets `json:"time,omitempty"`
	// Init keeps the init stage as pid 1: it starts the command as its
	// child, forwards signals to it, reaps every process that ends up its
	// child and exits with the command's status (contain run --init).
	Init bool `json:"init,omitempty"`
	// MountProc mounts a new /proc, for ModeNS (unshare --mount-proc).
	MountProc bool `json:"mount_proc,omitempty"`
	// UnsharePID creates the new PID namespace only for the command's
	// children, right before exec, as unshare(1) without --fork does.
	UnsharePID bool `json:"unshare_pid,omitempty"`

	// Chapter 07.

	// CgroupNS makes the init stage enter a new cgroup namespace first
	// thing, once the parent has moved it into its cgroup, so that the
	// container's own node is the namespace's root.
	CgroupNS bool `json:"cgroupns,omitempty"`
	// Cgroupfs lists the cgroup hierarchies to mount read-only at
	// /sys/fs/cgroup after pivot_root (see rootfs.MountCgroupfs).
	Cgroupfs []rootfs.CgroupMount `json:"cgroupfs,omitempty"`

	// Chapter 08.

	// BindFiles maps a path in the container to a host file bind-mounted
	// over it before pivot_root: /etc/resolv.conf and /etc/hosts. Start
	// opens each source on the host, as a detached mount the init stage
	// receives as a file descriptor (see rootfs.OpenTree), and fills
	// BindFDs.
	BindFiles map[string]string `json:"bind_files,omitempty"`
	// BindFDs maps the same paths to those descriptors in the init stage
	// (5 and up, after the two pipes); it is Start's to set.
	BindFDs map[string]int `json:"bind_fds,omitempty"`
}

// Exit statuses for failures before the command runs, as chroot(1),
// env(1), podman and the shells use them.
const (
	ExitSetup         = 125 // contain itself failed
	ExitNotExecutable = 126 // found, but not executable
	ExitNotFound      = 127 // not found
)

// Failure is what the init stage reports over the error pipe.
type Failure struct {
	Msg  string `json:"msg"`
	Code int    `json:"code"`
}

func (f *Failure) Error() string { return f.Msg }

// DefaultEnv is the environment a container's command gets when the caller
// gives none: a PATH covering the usual directories, HOME for root, and the
// caller's TERM so that terminal programs draw correctly.
func DefaultEnv(term string) []string {
	env := []string{
		"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
		"HOME=/root",
	}
	if term != "" {
		env = append(env, "TERM="+term)
	}
	return env
}

func (c Config) validate() error {
	if len(c.Args) == 0 || c.Args[0] == "" {
		return fmt.Errorf("no command given")
	}
	if c.Mode != ModeChroot && c.Mode != ModeRun && c.Mode != ModeNS {
		return fmt.Errorf("unknown mode %q", c.Mode)
	}
	return nil
}
