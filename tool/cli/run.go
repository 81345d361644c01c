package cli

import (
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"strings"

	"github.com/contain-dev/contain/tool/internal/cgroup"
	"github.com/contain-dev/contain/tool/internal/container"
	"github.com/contain-dev/contain/tool/internal/initstage"
	"github.com/contain-dev/contain/tool/internal/rootfs"
	"github.com/contain-dev/contain/tool/internal/state"
)

// RunCmd is `contain run`: a command in new mount, UTS, IPC and PID
// namespaces, with its own root filesystem behind pivot_root. Later
// chapters add their flags as embedded structs, each in its own file
// (run_*.go), which fill their part of the container's config; the work
// is the container package's.
type RunCmd struct {
	Rootfs      string   `help:"Root filesystem directory (build one with scripts/mkrootfs.sh DIR)." required:"" type:"path" placeholder:"DIR"`
	Hostname    string   `help:"Hostname inside the container (its own UTS namespace)." placeholder:"NAME"`
	Name        string   `help:"Name of the container, for the commands that find it later (default: a random one)." placeholder:"NAME"`
	Command     []string `arg:"" optional:"" passthrough:"" help:"Command and arguments to run (default /bin/sh)." placeholder:"-- CMD [ARG...]"`
	UserNSFlags `embed:""`
	TimeFlags   `embed:""`
	InitFlags   `embed:""`
	NetFlags    `embed:""`
	LimitFlags  `embed:""`
}

// runNamespaces are the namespaces every container gets.
var runNamespaces = []string{"mnt", "uts", "ipc", "pid"}

// config turns the flags into the container's config: each chapter's
// flags fill their part, in the order of the chapters (the network's
// checks ask whether there is a user namespace).
func (c *RunCmd) config(name, root string) (*container.Config, error) {
	cfg := &container.Config{
		Name:       name,
		Rootfs:     root,
		Hostname:   c.Hostname,
		Process:    container.Process{Args: commandOrShell(c.Command), Env: initstage.DefaultEnv(os.Getenv("TERM"))},
		Namespaces: runNamespaces,
	}
	for _, part := range []func(*container.Config) error{
		c.UserNSFlags.apply, // chapter 06
		c.TimeFlags.apply,   // chapter 04
		c.InitFlags.apply,   // chapter 05
		c.LimitFlags.apply,  // chapter 07
		c.NetFlags.apply,    // chapter 08
	} {
		if err := part(cfg); err != nil {
			return nil, err
		}
	}
	return cfg, nil
}

// Run checks the flags before anything exists, then creates the
// container, starts it, waits for it and destroys it: contain run is an
// anonymous container's whole life in one process.
func (c *RunCmd) Run(g *Globals) (err error) {
	if !c.usernsEnabled() { // a user namespace needs no root (chapter 06)
		if err := requireRoot("run", "namespaces, mounts and pivot_root need CAP_SYS_ADMIN"); err != nil {
			return err
		}
	}
	if len(c.Hostname) > 64 {
		return &ExitError{Code: 2, Err: errors.New("--hostname is longer than 64 bytes, the kernel's limit (HOST_NAME_MAX): shorten it")}
	}
	name := c.Name
	if name == "" {
		name = randomName()
	}
	if err := state.CheckName(name); err != nil {
		return &ExitError{Code: 2, Err: err}
	}
	root, err := rootfs.Validate(c.Rootfs)
	if err != nil {
		return &ExitError{Code: initstage.ExitSetup, Err: err}
	}
	cfg, err := c.config(name, root)
	if err != nil {
		return &ExitError{Code: initstage.ExitSetup, Err: err}
	}
	// Failures are reported but do not stop the new container.
	if _, err := container.CleanOrphans(); err != nil {
		fmt.Fprintln(g.Stderr, "contain: warning:", strings.ReplaceAll(err.Error(), "\n", "; "))
	}
	ct, err := container.Create(cfg, container.IO{Stdin: g.Stdin, Stdout: g.Stdout, Stderr: g.Stderr})
	if err != nil {
		return exitError(err)
	}
	defer func() {
		if derr := ct.Destroy(); derr != nil && err == nil {
			err = &ExitError{Code: initstage.ExitSetup, Err: derr}
		}
	}()
	if err := ct.Start(); err != nil {
		return exitError(err)
	}
	exit, err := ct.Wait()
	reportOOM(g.Stderr, exit)
	if err != nil {
		return &ExitError{Code: exit.Code, Err: err}
	}
	if exit.Code != 0 {
		return &ExitError{Code: exit.Code}
	}
	return nil
}

// exitError gives a failure to create or start a container its exit
// status: the init stage's own (126 and 127 for a command it cannot run),
// or 125 for contain's.
func exitError(err error) error {
	var f *initstage.Failure
	if errors.As(err, &f) {
		return &ExitError{Code: f.Code, Err: err}
	}
	return &ExitError{Code: initstage.ExitSetup, Err: err}
}

// reportOOM tells, once the container has ended, whether the OOM killer
// killed one of its processes: the exit status alone (137, SIGKILL)
// does not say who sent the signal.
func reportOOM(w io.Writer, exit container.Exit) {
	if exit.OOMKills == 0 {
		return
	}
	limit := "no --memory"
	if exit.MemoryLimit != 0 {
		limit = "memory limit " + cgroup.FormatSize(exit.MemoryLimit)
	}
	fmt.Fprintf(w, "contain: the OOM killer killed %d process(es) of the container (%s)\n", exit.OOMKills, limit)
}

// randomName makes a container name when --name is not given.
func randomName() string {
	// math/rand, not crypto/rand: a name needs no secrecy, and crypto's
	// package initialisation would slow the start of every contain.
	return fmt.Sprintf("c-%08x", rand.Uint32())
}

// commandOrShell drops the "--" separator kong keeps in a passthrough
// argument and falls back to a shell.
func commandOrShell(args []string) []string {
	if len(args) > 0 && args[0] == "--" {
		args = args[1:]
	}
	if len(args) == 0 {
		return []string{"/bin/sh"}
	}
	return args
}

// start runs the init stage and turns its outcome into contain's exit
// status, for the demos that use no container (contain ns, contain
// chroot).
func start(cfg initstage.Config, opts initstage.Options) error {
	p, err := initstage.Start(cfg, opts)
	if err != nil {
		return exitError(err)
	}
	code, err := p.Wait()
	if err != nil {
		return &ExitError{Code: code, Err: err}
	}
	if code != 0 {
		return &ExitError{Code: code}
	}
	return nil
}
