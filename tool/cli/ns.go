package cli

import (
	"os"

	"github.com/contain-dev/contain/tool/internal/idmap"
	"github.com/contain-dev/contain/tool/internal/initstage"
	"github.com/contain-dev/contain/tool/internal/namespace"
)

// NsCmd is `contain ns`, unshare(1) in contain's terms: a command in the
// new namespaces named by its flags, with the host's filesystem. Unlike
// run it makes no root filesystem and no pivot_root.
type NsCmd struct {
	Mount       bool           `short:"m" help:"New mount namespace."`
	UTS         bool           `short:"u" name:"uts" help:"New UTS namespace (hostname)."`
	IPC         bool           `short:"i" name:"ipc" help:"New IPC namespace (System V IPC, POSIX message queues)."`
	PID         bool           `short:"p" name:"pid" help:"New PID namespace: for the command's children, or with --fork for the command itself."`
	Net         bool           `short:"n" help:"New network namespace."`
	User        bool           `short:"U" help:"New user namespace (needs no root)."`
	Cgroup      bool           `short:"C" help:"New cgroup namespace."`
	Time        bool           `short:"T" help:"New time namespace (see --time-offset)."`
	Fork        bool           `short:"f" help:"With --pid, make the command pid 1 of the new PID namespace, as unshare --fork does."`
	MountProc   bool           `help:"Mount a new /proc (implies --mount), showing the new PID namespace with --pid --fork."`
	MapRootUser bool           `short:"r" help:"Map your uid and gid to 0 in the new user namespace (implies --user), writing setgroups deny first."`
	TimeOffset  timeOffsetFlag `help:"Clock offsets for the new time namespace (implies --time): boottime=86400,monotonic=3600." placeholder:"CLOCK=SECS,..."`
	Command     []string       `arg:"" optional:"" passthrough:"partial" help:"Command and arguments (default $SHELL, or /bin/sh)." placeholder:"-- CMD [ARG...]"`
}

// names returns the namespaces c asks for, implied ones included.
func (c *NsCmd) names() []string {
	c.Mount = c.Mount || c.MountProc
	c.User = c.User || c.MapRootUser
	c.Time = c.Time || c.TimeOffset.Set
	var names []string
	for _, n := range []struct {
		on   bool
		name string
	}{{c.Cgroup, "cgroup"}, {c.IPC, "ipc"}, {c.Net, "net"}, {c.Mount, "mnt"}, {c.PID, "pid"}, {c.Time, "time"}, {c.User, "user"}, {c.UTS, "uts"}} {
		if n.on {
			names = append(names, n.name)
		}
	}
	return names
}

// Run starts the init stage in the namespaces and waits for the command.
//
// Two namespaces are not created by clone(2) flags. The PID namespace
// without --fork is unshared by the init stage right before exec, so that
// it is the command's children that enter it. The time namespace is
// unshared by the init stage too, because its offsets must be written
// before a process is in it (namespace.NewTime).
func (c *NsCmd) Run(g *Globals) error {
	names := c.names()
	if !c.User {
		if err := requireRoot("ns", "namespaces other than user need CAP_SYS_ADMIN; or add --user"); err != nil {
			return err
		}
	}
	cfg := initstage.Config{
		Mode:    initstage.ModeNS,
		Args:    c.command(),
		Env:     os.Environ(),
		NSSetup: initstage.NSSetup{MountProc: c.MountProc},
	}
	opts := initstage.Options{Stdin: g.Stdin, Stdout: g.Stdout, Stderr: g.Stderr}
	for _, name := range names {
		k, err := namespace.Lookup(name)
		if err != nil {
			return err
		}
		switch {
		case name == "time":
			cfg.Time = &c.TimeOffset.Offsets
		case name == "pid" && !c.Fork:
			cfg.UnsharePID = true
		default:
			opts.Cloneflags |= k.Flag
		}
	}
	if c.MapRootUser {
		// Your own uid and gid, one id each, as 0 inside.
		uid := idmap.Map{{Inside: 0, Outside: uint32(os.Geteuid()), Length: 1}}
		gid := idmap.Map{{Inside: 0, Outside: uint32(os.Getegid()), Length: 1}}
		if err := opts.UserNS(&cfg, uid, gid); err != nil {
			return err
		}
	}
	return start(cfg, opts)
}

// command returns the command to run: the arguments, or the user's shell.
func (c *NsCmd) command() []string {
	if len(c.Command) > 0 && c.Command[0] == "--" {
		c.Command = c.Command[1:]
	}
	if len(c.Command) > 0 {
		return c.Command
	}
	if sh := os.Getenv("SHELL"); sh != "" {
		return []string{sh}
	}
	return []string{"/bin/sh"}
}
