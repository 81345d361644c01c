// Package initstage is the hidden second stage of contain. A Go program
// cannot fork and keep running Go code in the child (the runtime's other
// threads do not follow, see chapter 01), so contain re-executes its own
// binary, /proc/self/exe, as `contain init` inside the new namespaces. The
// parent sends this stage a Config over a pipe; the stage builds the
// container's view of the system, waits at a barrier until it is told to
// start, and then execs the user's command.
//
// The stage receives these files:
//
//	fd 3   config    parent -> init   JSON Config, then EOF
//	fd 4   errors    init -> parent   close-on-exec: "ready" at the barrier,
//	                                  or a Failure; EOF after it means exec succeeded
//	fd 5   barrier   a fifo (O_PATH)  the init blocks on it until Release or Start
//	fd 6+  binds     detached mounts  chapter 08's files, see Config.BindFiles
//
// Exec's stage has no barrier and no files to bind: its fd 5 and up are
// the namespaces it joins (Config.JoinFDs).
//
// The close-on-exec pipe is the trick runc and LXC use too: if execve(2)
// succeeds the kernel closes the pipe and the parent reads EOF; if anything
// fails first, the stage writes a Failure and the parent reports it as one
// line. The barrier is runc's exec.fifo: it lets one process create the
// container and another start it.
package initstage

import (
	"fmt"
	"path/filepath"
	"reflect"

	"github.com/contain-dev/contain/tool/internal/namespace"
	"github.com/contain-dev/contain/tool/internal/rootfs"
)

// Mode says how much isolation the init stage sets up: each mode is one
// recipe of init_linux.go.
type Mode string

const (
	// ModeChroot only changes the root directory (contain chroot,
	// chapter 02).
	ModeChroot Mode = "chroot"
	// ModeRun builds a full root filesystem and pivots into it (contain
	// run, chapter 03 on).
	ModeRun Mode = "run"
	// ModeNS keeps the host's filesystem and only enters the namespaces
	// (contain ns, like unshare(1), chapter 05).
	ModeNS Mode = "ns"
	// ModeExec runs a command in a container that is running already: the
	// parent started the stage inside the container's namespaces (see
	// Exec), and it only prepares the command, as runc's setns init does.
	ModeExec Mode = "exec"
)

// Config is what the parent tells the init stage. The command (Args, Env,
// Cwd) is every mode's; Rootfs is for the modes that change root; the
// embedded parts belong to the modes their comments name, and later
// chapters add their fields there, each marked with its chapter.
type Config struct {
	Mode Mode `json:"mode"`
	// Args is the command to exec; Args[0] is looked up in the container's
	// PATH after the root has changed.
	Args []string `json:"args"`
	// Env is the whole environment of the command.
	Env []string `json:"env"`
	// Cwd is the command's working directory in the container. Empty means
	// "/" in ModeRun, ModeChroot and ModeExec, and the caller's own in
	// ModeNS, as with unshare(1).
	Cwd string `json:"cwd,omitempty"`
	// Rootfs is the absolute path of the root filesystem on the host, for
	// ModeChroot and ModeRun.
	Rootfs string `json:"rootfs,omitempty"`

	// NamespaceSetup is for ModeRun and ModeNS (chapters 04 and 06).
	NamespaceSetup
	// RunSetup is for ModeRun only (chapters 04 to 08).
	RunSetup
	// NSSetup is for ModeNS only (chapter 05).
	NSSetup
	// ExecSetup is for ModeExec only.
	ExecSetup
}

// NamespaceSetup is what the init stage does for the namespaces that
// clone(2) alone cannot finish, in ModeRun and ModeNS.
type NamespaceSetup struct {
	// UserNS says that the init stage runs in a new user namespace whose
	// maps the parent has written (chapter 06; see Options.UserNS): it
	// becomes root there before it mounts anything.
	UserNS bool `json:"userns,omitempty"`
	// Time, when not nil, gives the command a new time namespace whose
	// clocks are these offsets ahead of the host's (chapter 04; see
	// namespace.NewTime).
	Time *namespace.TimeOffsets `json:"time,omitempty"`
}

// RunSetup is what only a container of contain run gets.
type RunSetup struct {
	// Hostname is set in the new UTS namespace when not empty (chapter 04).
	Hostname string `json:"hostname,omitempty"`
	// Init keeps the init stage as pid 1: it starts the command as its
	// child, forwards signals to it, reaps every process that ends up its
	// child and exits with the command's status (contain run --init,
	// chapter 05).
	Init bool `json:"init,omitempty"`

	// Chapter 07.

	// CgroupNS makes the init stage enter a new cgroup namespace first
	// thing, once the parent has moved it into its cgroup, so that the
	// container's own node is the namespace's root.
	CgroupNS bool `json:"cgroupns,omitempty"`
	// Cgroupfs lists the cgroup hierarchies to mount read-only at
	// /sys/fs/cgroup after pivot_root (see rootfs.MountCgroupfs).
	Cgroupfs []rootfs.CgroupMount `json:"cgroupfs,omitempty"`

	// Chapter 08.

	// LoopbackUp asks the init stage to bring up lo in its new network
	// namespace itself, after it became root in its user namespace: a
	// parent without root may not enter that namespace.
	LoopbackUp bool `json:"loopback_up,omitempty"`
	// BindFiles maps a path in the container to a host file bind-mounted
	// over it once the new root is complete, /proc and /sys included:
	// /etc/resolv.conf and /etc/hosts. Create opens each source on the
	// host, as a detached mount the init stage receives as a file
	// descriptor (see rootfs.OpenTree), and fills BindFDs.
	BindFiles map[string]string `json:"bind_files,omitempty"`
	// BindFDs maps the same paths to those descriptors in the init stage
	// (6 and up, after the two pipes and the barrier); it is Create's to
	// set.
	BindFDs map[string]int `json:"bind_fds,omitempty"`
}

// NSSetup is what only contain ns does, as unshare(1) does it.
type NSSetup struct {
	// MountProc mounts a new /proc (unshare --mount-proc).
	MountProc bool `json:"mount_proc,omitempty"`
	// UnsharePID creates the new PID namespace only for the command's
	// children, right before exec, as unshare(1) without --fork does.
	UnsharePID bool `json:"unshare_pid,omitempty"`
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

// ExecSetup is what the init stage of Exec needs to join a running
// container.
type ExecSetup struct {
	// JoinFDs maps the namespaces the stage joins itself, "mnt" and
	// "net" say, to its descriptors of the container's /proc/PID/ns
	// files (5 and up, after the two pipes); it is Exec's to set. The PID
	// namespace is not among them: the stage is born in it.
	JoinFDs map[string]int `json:"join_fds,omitempty"`
}

// validate checks what the init stage cannot do without: a command, a
// known mode, and a rootfs exactly for the modes that change root. A part
// that is not its mode's is refused rather than ignored, so that a field
// set for the wrong mode shows at once.
func (c Config) validate() error {
	if len(c.Args) == 0 || c.Args[0] == "" {
		return fmt.Errorf("no command given")
	}
	changesRoot := c.Mode == ModeChroot || c.Mode == ModeRun
	switch {
	case c.Mode != ModeChroot && c.Mode != ModeRun && c.Mode != ModeNS && c.Mode != ModeExec:
		return fmt.Errorf("unknown mode %q", c.Mode)
	case changesRoot && !filepath.IsAbs(c.Rootfs):
		return fmt.Errorf("mode %s needs the rootfs as an absolute path, not %q", c.Mode, c.Rootfs)
	case !changesRoot && c.Rootfs != "":
		return fmt.Errorf("mode %s takes no rootfs", c.Mode)
	case c.Mode != ModeRun && c.Mode != ModeNS && !reflect.ValueOf(c.NamespaceSetup).IsZero():
		return fmt.Errorf("mode %s takes no user or time namespace setup (NamespaceSetup)", c.Mode)
	case c.Mode != ModeRun && !reflect.ValueOf(c.RunSetup).IsZero():
		return fmt.Errorf("mode %s takes no RunSetup, which is for mode run", c.Mode)
	case c.Mode != ModeNS && c.NSSetup != (NSSetup{}):
		return fmt.Errorf("mode %s takes no NSSetup, which is for mode ns", c.Mode)
	case c.Mode != ModeExec && c.JoinFDs != nil:
		return fmt.Errorf("mode %s takes no ExecSetup, which is for mode exec", c.Mode)
	}
	return nil
}
