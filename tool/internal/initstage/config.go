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
)

// Mode says how much isolation the init stage sets up.
type Mode string

const (
	// ModeChroot only changes the root directory (contain chroot).
	ModeChroot Mode = "chroot"
	// ModeRun builds a full root filesystem and pivots into it (contain run).
	ModeRun Mode = "run"
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
	if c.Mode != ModeChroot && c.Mode != ModeRun {
		return fmt.Errorf("unknown mode %q", c.Mode)
	}
	return nil
}
