package cli

import (
	"fmt"
	"os"
	"os/exec"
	"os/signal"
	"strconv"

	"github.com/contain-dev/contain/tool/internal/container"
	"github.com/contain-dev/contain/tool/internal/initstage"
	"github.com/contain-dev/contain/tool/internal/namespace"
	"github.com/contain-dev/contain/tool/internal/state"
)

// EnterCmd is `contain enter`, nsenter(1) in contain's terms: a command in
// the namespaces of a running process, such as a container's pid 1.
type EnterCmd struct {
	Target  string   `arg:"" help:"The process whose namespaces to enter: a host pid, or the --name of a container started by contain run." placeholder:"PID|NAME"`
	Mount   bool     `short:"m" help:"Enter its mount namespace (its root and mounts)."`
	UTS     bool     `short:"u" name:"uts" help:"Enter its UTS namespace."`
	IPC     bool     `short:"i" name:"ipc" help:"Enter its IPC namespace."`
	PID     bool     `short:"p" name:"pid" help:"Enter its PID namespace (the command is a new process in it)."`
	Net     bool     `short:"n" help:"Enter its network namespace."`
	Cgroup  bool     `short:"C" help:"Enter its cgroup namespace."`
	All     bool     `short:"a" help:"Enter every namespace it does not share with contain, except user and time (the default without flags)."`
	Command []string `arg:"" optional:"" passthrough:"partial" help:"Command and arguments (default /bin/sh, looked up in the entered mount namespace)." placeholder:"-- CMD [ARG...]"`
}

// Run finds the target, enters its namespaces on a locked thread and runs
// the command from there (namespace.Enter), forwarding signals to it.
func (c *EnterCmd) Run(g *Globals) error {
	if err := requireRoot("enter", "setns(2) needs CAP_SYS_ADMIN"); err != nil {
		return err
	}
	pid, err := resolveTarget(c.Target)
	if err != nil {
		return &ExitError{Code: 1, Err: err}
	}
	names, skipped, err := c.names(pid)
	if err != nil {
		return &ExitError{Code: 1, Err: err}
	}
	for _, s := range skipped {
		fmt.Fprintf(g.Stderr, "contain: note: not entering the %s namespace of pid %d: %s\n", s, pid, namespace.NotJoinable(s))
	}
	args := commandOrShell(c.Command)
	cmd := exec.Command(args[0], args[1:]...)
	cmd.Stdin, cmd.Stdout, cmd.Stderr = g.Stdin, g.Stdout, g.Stderr
	sigs := make(chan os.Signal, 8)
	signal.Notify(sigs, os.Interrupt)
	defer signal.Stop(sigs)
	if err := namespace.Enter(pid, names, cmd); err != nil {
		return &ExitError{Code: initstage.ExitSetup, Err: err}
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	for {
		select {
		case s := <-sigs:
			cmd.Process.Signal(s)
		case err := <-done:
			code, err := initstage.ExitStatus(err)
			if code != 0 || err != nil {
				return &ExitError{Code: code, Err: err}
			}
			return nil
		}
	}
}

// resolveTarget turns a pid or a container name into a live pid.
func resolveTarget(target string) (int, error) {
	if pid, err := strconv.Atoi(target); err == nil {
		if pid <= 0 || !namespace.ProcessExists(pid) {
			return 0, fmt.Errorf("no process %s: give the host pid of a running process (ps) or a container name", target)
		}
		return pid, nil
	}
	if state.CheckName(target) != nil {
		return 0, fmt.Errorf("%q is neither a pid nor a container name", target)
	}
	ct, err := container.Load(target)
	if err != nil || ct.State() != container.Running {
		return 0, fmt.Errorf("no running container %s: see the --name given to contain run", target)
	}
	return ct.Pid(), nil
}

// names returns the namespaces to enter, in namespace.Kinds order, and for
// --all those it must leave out (see namespace.NotJoinable).
func (c *EnterCmd) names(pid int) (names, skipped []string, err error) {
	flags := map[string]bool{"mnt": c.Mount, "uts": c.UTS, "ipc": c.IPC, "pid": c.PID, "net": c.Net, "cgroup": c.Cgroup}
	if c.All || !(c.Mount || c.UTS || c.IPC || c.PID || c.Net || c.Cgroup) {
		return namespace.Others(pid)
	}
	for _, k := range namespace.Kinds {
		if flags[k.Name] {
			names = append(names, k.Name)
		}
	}
	return names, skipped, nil
}
