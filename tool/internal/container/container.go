package container

import (
	"errors"
	"fmt"
	"io"
	"os"
	"syscall"
	"time"

	"golang.org/x/sys/unix"

	"github.com/contain-dev/contain/tool/internal/cgroup"
	"github.com/contain-dev/contain/tool/internal/initstage"
	"github.com/contain-dev/contain/tool/internal/namespace"
	"github.com/contain-dev/contain/tool/internal/rootfs"
	"github.com/contain-dev/contain/tool/internal/state"
)

// Container is one container, made by Create in this process or found by
// Load from another.
type Container struct {
	rec *Record
	// owner is the lock of the process that created the container (see
	// state.Create); nil in one that only loaded it.
	owner *state.Owner
	// proc is the init stage, in the process that created it.
	proc *initstage.Process
}

// IO are the standard streams of a container's command.
type IO struct {
	Stdin          io.Reader
	Stdout, Stderr io.Writer
}

// build is what the concerns' setups fill in for Create: the init
// stage's config and options, the record, and what to close once the
// init stage has started.
type build struct {
	cfg      *Config
	rec      *Record
	init     initstage.Config
	opts     initstage.Options
	rootless bool
	// closers run once the init stage has started, or failed to.
	closers []func() error
	// save writes the record, for a concern that must have it on disk
	// before it makes what the record names.
	save func() error
}

// Create makes the container cfg describes, in this order:
//
//  1. validate cfg and the rootfs, before anything exists;
//  2. write the record under cfg.Name and become its owner (state.Create),
//     so that from here on a killed creator leaves a record Destroy acts on;
//  3. set up each concern, in the order of concerns;
//  4. start the init stage in the new namespaces (initstage.Create); its
//     first Prepare hook records the pid, before any concern's hook acts
//     on it. Create returns when the init stage has built the container
//     and waits at the barrier before execve(2): the status is Created,
//     and nothing of the command has run.
//
// When any step fails, Destroy removes what the record names, and the
// error is returned: an *initstage.Failure for the init stage's own.
func Create(cfg *Config, stdio IO) (c *Container, err error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	root, err := rootfs.Validate(cfg.Rootfs)
	if err != nil {
		return nil, err
	}
	flags, err := namespace.Flags(cfg.Namespaces...)
	if err != nil {
		return nil, err
	}
	rec := &Record{Name: cfg.Name, Status: Creating, Bundle: cfg.Bundle, Rootfs: root, Created: time.Now().UTC(), Config: cfg}
	owner, err := state.Create(cfg.Name, rec)
	if err != nil {
		return nil, err
	}
	c = &Container{rec: rec, owner: owner}
	defer func() {
		if err != nil {
			err = errors.Join(err, c.Destroy())
		}
	}()
	b := &build{
		cfg:      cfg,
		rec:      rec,
		rootless: os.Geteuid() != 0,
		init: initstage.Config{
			Mode:     initstage.ModeRun,
			Rootfs:   root,
			Args:     cfg.Process.Args,
			Env:      cfg.Process.Env,
			RunSetup: initstage.RunSetup{Hostname: cfg.Hostname, Init: cfg.Process.Init},
		},
		opts: initstage.Options{
			Cloneflags:  flags,
			Stdin:       stdio.Stdin,
			Stdout:      stdio.Stdout,
			Stderr:      stdio.Stderr,
			StopTimeout: cfg.Process.StopTimeout,
			// The barrier, beside the record, so that another process
			// could start the container (initstage.Release).
			ExecFifo: state.File(cfg.Name, "fifo"),
		},
		save: c.save,
	}
	for _, k := range concerns {
		if k.setup == nil {
			continue
		}
		if err := k.setup(b); err != nil {
			return c, err
		}
	}
	if err := c.save(); err != nil {
		return c, err
	}
	// The pid first, so that every later hook is covered by the record.
	b.opts.Prepare = append([]func(int) error{c.recordPid}, b.opts.Prepare...)
	p, err := initstage.Create(b.init, b.opts)
	for _, close := range b.closers {
		err = errors.Join(err, close())
	}
	if err != nil {
		return c, err
	}
	c.proc = p
	c.rec.Status = Created
	return c, c.save()
}

// recordPid is the first Prepare hook: the pid of the init stage and its
// start time go in the record before anything acts on the process.
func (c *Container) recordPid(pid int) error {
	start, err := state.StartTime(pid)
	if err != nil {
		return err
	}
	c.rec.Pid, c.rec.Start = pid, start
	return c.save()
}

func (c *Container) save() error { return state.Save(c.rec.Name, c.rec) }

// Load finds the container called name, made by Create in any process.
func Load(name string) (*Container, error) {
	var rec Record
	if err := state.Load(name, &rec); err != nil {
		return nil, err
	}
	return &Container{rec: &rec}, nil
}

// Name returns the container's name.
func (c *Container) Name() string { return c.rec.Name }

// Pid returns the host pid of the container's first process, 0 before
// it has one.
func (c *Container) Pid() int { return c.rec.Pid }

// Record returns a copy of the container's record, for a caller that
// shows it (contain info).
func (c *Container) Record() Record { return *c.rec }

// State returns the container's status: the recorded one, or Stopped once
// the recorded process is gone.
func (c *Container) State() Status {
	switch c.rec.Status {
	case Created, Running:
		if !state.Alive(c.rec.Pid, c.rec.Start) {
			return Stopped
		}
	}
	return c.rec.Status
}

// Exit is how a container ended.
type Exit struct {
	// Code is the exit status as the shells report it: 128+N when signal N
	// killed the first process.
	Code int
	// OOMKills is how many of its processes the OOM killer killed.
	OOMKills uint64
	// MemoryLimit is the limit they were killed at, 0 for none.
	MemoryLimit int64
}

// Wait waits for the container's first process to end, forwarding the
// signals contain receives to it (see initstage.Process.Wait), and
// returns how it ended. Only the process that created the container can
// wait for it.
func (c *Container) Wait() (Exit, error) {
	if c.proc == nil {
		return Exit{}, fmt.Errorf("container %s was not started by this process", c.rec.Name)
	}
	code, err := c.proc.Wait()
	exit := Exit{Code: code}
	if cg := c.rec.Cgroup; cg != nil {
		exit.OOMKills, exit.MemoryLimit = oomKills(cg), cg.Memory
	}
	c.rec.Status = Stopped
	return exit, errors.Join(err, c.save())
}

// Signal sends sig to the container's first process, from any process.
// It goes through a pidfd (pidfd_open(2), pidfd_send_signal(2)) opened
// before the start time is checked, so that it cannot reach another
// process that was given the pid after the container ended.
//
// Equivalent to: kill -$sig $pid
func (c *Container) Signal(sig syscall.Signal) error {
	fd, err := c.pidfd()
	if err != nil {
		return err
	}
	defer unix.Close(fd)
	if err := unix.PidfdSendSignal(fd, sig, nil, 0); err != nil {
		return fmt.Errorf("signal %v to container %s (pid %d): %w", sig, c.rec.Name, c.rec.Pid, err)
	}
	return nil
}

// ErrNotRunning is the answer of Signal and Stop for a container whose
// first process is gone.
var ErrNotRunning = errors.New("the container is not running")

// pidfd opens a pidfd of the container's first process and checks that it
// is the recorded one.
func (c *Container) pidfd() (int, error) {
	if c.rec.Pid <= 0 {
		return -1, fmt.Errorf("container %s: %w", c.rec.Name, ErrNotRunning)
	}
	fd, err := unix.PidfdOpen(c.rec.Pid, 0)
	if errors.Is(err, unix.ESRCH) {
		return -1, fmt.Errorf("container %s: %w", c.rec.Name, ErrNotRunning)
	}
	if err != nil {
		return -1, fmt.Errorf("pidfd_open %d: %w", c.rec.Pid, err)
	}
	// The pidfd holds the process now: if its start time is the
	// recorded one, it is the container's, and stays so.
	if !state.Alive(c.rec.Pid, c.rec.Start) {
		unix.Close(fd)
		return -1, fmt.Errorf("container %s: %w", c.rec.Name, ErrNotRunning)
	}
	return fd, nil
}

// Stop asks the container to end with SIGTERM and, if it has not ended
// after timeout, kills it with SIGKILL, as lxc-stop does; it returns once
// the first process is gone. A pid 1 without a handler for SIGTERM
// ignores it (pid_namespaces(7)), so such a container always takes the
// whole timeout.
//
// Equivalent to: kill -TERM $pid; sleep $timeout; kill -KILL $pid
func (c *Container) Stop(timeout time.Duration) error {
	fd, err := c.pidfd()
	if err != nil {
		return err
	}
	defer unix.Close(fd)
	for _, step := range []struct {
		sig  syscall.Signal
		wait time.Duration
	}{{unix.SIGTERM, timeout}, {unix.SIGKILL, 10 * time.Second}} {
		if err := unix.PidfdSendSignal(fd, step.sig, nil, 0); err != nil && !errors.Is(err, unix.ESRCH) {
			return fmt.Errorf("signal %v to container %s: %w", step.sig, c.rec.Name, err)
		}
		if exited, err := waitPidfd(fd, step.wait); err != nil || exited {
			return err
		}
	}
	return fmt.Errorf("container %s (pid %d) did not end after SIGKILL", c.rec.Name, c.rec.Pid)
}

// waitPidfd waits up to d for the process of a pidfd to end: the pidfd
// becomes readable then (pidfd_open(2)), whoever its parent is.
func waitPidfd(fd int, d time.Duration) (bool, error) {
	deadline := time.Now().Add(d)
	for {
		ms := int(time.Until(deadline).Milliseconds())
		if ms < 0 {
			ms = 0
		}
		n, err := unix.Poll([]unix.PollFd{{Fd: int32(fd), Events: unix.POLLIN}}, ms)
		if errors.Is(err, unix.EINTR) {
			continue
		}
		if err != nil {
			return false, fmt.Errorf("poll pidfd: %w", err)
		}
		return n > 0, nil
	}
}

// Destroy removes everything the record names, in the reverse order of
// concerns, then the record: after it the host is as it was before
// Create. A first process still alive is killed first, and its end
// awaited. It is the only teardown: at the end of contain run, after a
// failed Create, and for an orphan whose creator died (CleanOrphans). It
// tries every part and returns their failures, joined.
func (c *Container) Destroy() error {
	var errs []error
	if c.rec.Pid > 0 && state.Alive(c.rec.Pid, c.rec.Start) {
		if err := c.Stop(0); err != nil && !errors.Is(err, ErrNotRunning) {
			errs = append(errs, err)
		}
	}
	for i := len(concerns) - 1; i >= 0; i-- {
		k := concerns[i]
		if k.destroy == nil {
			continue
		}
		if err := k.destroy(c.rec); err != nil {
			errs = append(errs, fmt.Errorf("remove the %s of container %s: %w", k.name, c.rec.Name, err))
		}
	}
	if err := state.Remove(c.rec.Name); err != nil {
		errs = append(errs, err)
	}
	c.owner.Release()
	return errors.Join(errs...)
}

// Start releases a created container from its barrier and returns once
// its command runs, or with the init stage's *initstage.Failure when the
// command could not be executed.
func (c *Container) Start() error {
	if c.proc == nil {
		return fmt.Errorf("container %s was not created by this process", c.rec.Name)
	}
	if err := c.proc.Start(); err != nil {
		return err
	}
	c.rec.Status = Running
	return c.save()
}

// Exec runs p in the running container, from any process, as runc exec
// does: the init stage in its exec mode, born in the container's PID
// namespace and joining its others (initstage.Exec), then placed in its
// cgroup, before it looks p's command up in the container's root and
// execs it. The user and time namespaces, which a Go program cannot join
// (namespace.NotJoinable), are left out. It returns the started process,
// whose Wait gives its exit status.
//
// Equivalent to: nsenter --target $pid --all -- $cmd
func (c *Container) Exec(p Process, stdio IO) (*initstage.Process, error) {
	if c.State() != Running {
		return nil, fmt.Errorf("container %s: %w", c.rec.Name, ErrNotRunning)
	}
	names, _, err := namespace.Others(c.rec.Pid)
	if err != nil {
		return nil, err
	}
	opts := initstage.Options{Stdin: stdio.Stdin, Stdout: stdio.Stdout, Stderr: stdio.Stderr, StopTimeout: p.StopTimeout}
	if cg := c.rec.Cgroup; cg != nil {
		lay, err := cgroup.Detect()
		if err != nil {
			return nil, err
		}
		node := cgroup.Open(lay, cg.Name)
		opts.Prepare = append(opts.Prepare, node.Add)
	}
	cfg := initstage.Config{Mode: initstage.ModeExec, Args: p.Args, Env: p.Env}
	return initstage.Exec(c.rec.Pid, names, cfg, opts)
}
