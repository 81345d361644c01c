package cli

import (
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"strings"
	"time"

	"github.com/contain-dev/contain/tool/internal/initstage"
	"github.com/contain-dev/contain/tool/internal/namespace"
	"github.com/contain-dev/contain/tool/internal/rootfs"
	"github.com/contain-dev/contain/tool/internal/state"
)

// RunCmd is `contain run`: a command in new mount, UTS, IPC and PID
// namespaces, with its own root filesystem behind pivot_root. Later
// chapters add their flags as embedded structs, each in its own file
// (run_*.go), and their work as a feature.
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

// runSpec is what RunCmd assembles before it starts the container.
type runSpec struct {
	cfg    initstage.Config
	opts   initstage.Options
	record *state.Container
	// undo holds what removes the host resources made for this container,
	// run in reverse order when it ends or when starting it fails.
	undo []func() error
}

// feature is one chapter's addition to run. setup runs before anything is
// started; what it creates on the host it records in spec.record (so that
// an orphan can be cleaned after a SIGKILL) and undoes in spec.undo.
type feature interface {
	setup(spec *runSpec) error
}

// orphanCleaners remove, by concern, what a container whose contain died
// without cleaning up left on the host. Each feature file registers its own
// in an init function.
var orphanCleaners = map[string]func(c *state.Container) error{}

// features lists the features of c in the order they set up.
func (c *RunCmd) features() []feature {
	var fs []feature
	if c.usernsEnabled() {
		fs = append(fs, userNSFeature{&c.UserNSFlags})
	}
	fs = append(fs, timeFeature{&c.TimeFlags}, initFeature{&c.InitFlags})
	fs = append(fs, cgroupFeature{&c.LimitFlags})
	fs = append(fs, netFeature{&c.NetFlags})
	return fs
}

// Run validates everything it can before creating anything, then starts the
// container, waits for it and removes what was made for it.
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
	flags, err := namespace.Flags(runNamespaces...)
	if err != nil {
		return err
	}
	// Failures are reported but do not stop the new container.
	if err := cleanOrphans(nil); err != nil {
		fmt.Fprintln(g.Stderr, "contain: warning:", strings.ReplaceAll(err.Error(), "\n", "; "))
	}
	spec := &runSpec{
		cfg: initstage.Config{
			Mode:     initstage.ModeRun,
			Rootfs:   root,
			Args:     commandOrShell(c.Command),
			Env:      initstage.DefaultEnv(os.Getenv("TERM")),
			RunSetup: initstage.RunSetup{Hostname: c.Hostname},
		},
		opts:   initstage.Options{Cloneflags: flags, Stdin: g.Stdin, Stdout: g.Stdout, Stderr: g.Stderr},
		record: &state.Container{Name: name, Rootfs: root, Created: time.Now().UTC()},
	}
	defer func() {
		for i := len(spec.undo) - 1; i >= 0; i-- {
			if uerr := spec.undo[i](); uerr != nil && err == nil {
				err = &ExitError{Code: initstage.ExitSetup, Err: uerr}
			}
		}
	}()
	// The record exists before the container, with no pid yet, so that a
	// contain killed halfway leaves a record cleanOrphans can act on.
	if err := state.Create(spec.record); err != nil {
		return &ExitError{Code: initstage.ExitSetup, Err: err}
	}
	spec.undo = append(spec.undo, func() error { return state.Remove(name) })
	for _, f := range c.features() {
		if err := f.setup(spec); err != nil {
			return &ExitError{Code: initstage.ExitSetup, Err: err}
		}
	}
	if err := spec.record.Save(); err != nil {
		return &ExitError{Code: initstage.ExitSetup, Err: err}
	}
	spec.opts.Prepare = append([]func(int) error{func(pid int) error {
		// Record the pid first, so every later step is covered.
		start, err := state.StartTime(pid)
		if err != nil {
			return err
		}
		spec.record.Pid, spec.record.Start = pid, start
		return spec.record.Save()
	}}, spec.opts.Prepare...)
	return start(spec.cfg, spec.opts)
}

// cleanOrphans removes what containers whose contain died left behind:
// their records, and through orphanCleaners, their cgroups, links and
// rules. A record is an orphan as soon as no process holds its lock
// (state.Create), at once after a SIGKILL; one whose contain lives,
// starting or running, is never touched. Each removed container is
// reported on removed, when not nil. It returns the cleaners' failures,
// joined, after trying them all.
func cleanOrphans(removed io.Writer) error {
	cs, err := state.List()
	if err != nil {
		return err
	}
	var errs []error
	for _, c := range cs {
		release, err := c.Claim()
		if errors.Is(err, state.ErrOwned) {
			continue // running, or being started by another contain
		}
		if err != nil {
			errs = append(errs, err)
			continue
		}
		for _, concern := range sortedKeys(orphanCleaners) {
			if err := orphanCleaners[concern](c); err != nil {
				errs = append(errs, fmt.Errorf("clean %s of dead container %s: %w", concern, c.Name, err))
			}
		}
		err = state.Remove(c.Name)
		release()
		if err != nil {
			errs = append(errs, err)
		} else if removed != nil {
			fmt.Fprintf(removed, "removed dead container %s\n", c.Name)
		}
	}
	return errors.Join(errs...)
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
// status.
func start(cfg initstage.Config, opts initstage.Options) error {
	p, err := initstage.Start(cfg, opts)
	var f *initstage.Failure
	if errors.As(err, &f) {
		return &ExitError{Code: f.Code, Err: f}
	}
	if err != nil {
		return &ExitError{Code: initstage.ExitSetup, Err: err}
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
