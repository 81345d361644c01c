package initstage

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"os/signal"
	"runtime"
	"sort"
	"strconv"
	"syscall"
	"time"

	"golang.org/x/sys/unix"

	"github.com/contain-dev/contain/tool/internal/rootfs"
)

// Process is a container's first process: the init stage, which becomes
// the user's command when it execs it.
type Process struct {
	cmd *exec.Cmd
	// sigs receives the signals Wait forwards, from before the start.
	sigs chan os.Signal
	// stopTimeout is Options.StopTimeout (chapter 05).
	stopTimeout time.Duration
	// reports decodes fd 4 of the init stage, the pipe errR.
	reports *json.Decoder
	errR    *os.File
	// barrier holds the fifo the init stage waits on (O_PATH, or the
	// write end of a pipe), until Start; nil for Exec. fifo is its name,
	// when Options.ExecFifo gave one.
	barrier *os.File
	fifo    string
	// started tells that Start has read the init stage's last report.
	started bool
}

// Pid returns the host pid of the container's first process.
func (p *Process) Pid() int { return p.cmd.Process.Pid }

// Options say how the parent starts the init stage.
type Options struct {
	// Cloneflags are the CLONE_NEW* flags of the namespaces to create.
	Cloneflags uintptr
	// Stdin, Stdout and Stderr are the container's standard streams.
	Stdin          io.Reader
	Stdout, Stderr io.Writer
	// Prepare runs in the parent, in order, once the child exists in its
	// new namespaces and before it receives its Config. Until then the
	// child blocks reading fd 3, so nothing of the container runs yet:
	// this is where a later chapter writes uid/gid maps, places the pid in
	// a cgroup or moves a network link into the namespace. When one fails
	// the child is killed and Create returns the error.
	Prepare []func(pid int) error
	// SysProcAttr, when not nil, is the starting point for the child's
	// attributes (for example UseCgroupFD); Create sets Cloneflags and
	// Pdeathsig on it.
	SysProcAttr *syscall.SysProcAttr
	// StopTimeout (chapter 05) is how long Wait gives the container after
	// forwarding SIGTERM or SIGINT before it sends SIGKILL; zero waits
	// forever.
	StopTimeout time.Duration
	// ExecFifo is the path at which Create makes the barrier's fifo, so
	// that another process can start the container (Release), in a
	// directory that only its owner may enter, as /run/contain is. Empty,
	// the barrier is a pipe without a name, which only Process.Start
	// releases.
	ExecFifo string
}

// Start runs cfg's command in a new container and returns once it has
// been exec'd: Create, then Process.Start. contain run, ns and chroot
// start containers this way.
//
// Equivalent to: unshare --fork $flags contain init
func Start(cfg Config, opts Options) (*Process, error) {
	p, err := Create(cfg, opts)
	if err != nil {
		return nil, err
	}
	if err := p.Start(); err != nil {
		return nil, err
	}
	return p, nil
}

// Create runs `/proc/self/exe init` in new namespaces, runs the Prepare
// hooks and sends it cfg. It returns once the init stage has done all of
// its setup, found the command, and waits at its barrier: nothing of the
// command has run yet, and Process.Start, or Release from another
// process, starts it. A failure up to there comes back as a *Failure with
// the stage's status, and leaves no process and no fifo behind.
//
// Equivalent to: runc create, or unshare --fork $flags contain init held
// before its execve(2)
func Create(cfg Config, opts Options) (*Process, error) {
	return create(cfg, opts, (*exec.Cmd).Start)
}

// create is Create and Exec. start starts the init stage: Create's
// clones it into new namespaces, Exec's gives it the container's
// namespace files and has it born in the container's PID namespace.
func create(cfg Config, opts Options, start func(*exec.Cmd) error) (*Process, error) {
	if err := cfg.validate(); err != nil {
		return nil, &Failure{Msg: err.Error(), Code: ExitSetup}
	}
	cfgR, cfgW, err := os.Pipe()
	if err != nil {
		return nil, fmt.Errorf("config pipe: %w", err)
	}
	defer cfgR.Close()
	defer cfgW.Close()
	errR, errW, err := os.Pipe()
	if err != nil {
		return nil, fmt.Errorf("error pipe: %w", err)
	}
	defer errW.Close()

	cmd := exec.Command("/proc/self/exe", "init")
	cmd.Stdin, cmd.Stdout, cmd.Stderr = opts.Stdin, opts.Stdout, opts.Stderr
	cmd.ExtraFiles = []*os.File{cfgR, errW} // fd 3 and fd 4 in the child
	p := &Process{cmd: cmd, stopTimeout: opts.StopTimeout, reports: json.NewDecoder(errR), errR: errR}
	// The barrier, fd 5; Exec's stage has none.
	if cfg.Mode != ModeExec {
		if p.barrier, err = newBarrier(opts.ExecFifo); err != nil {
			errR.Close()
			return nil, err
		}
		p.fifo = opts.ExecFifo
		cmd.ExtraFiles = append(cmd.ExtraFiles, p.barrier)
	}
	// (chapter 08) The host files to bind, opened here and passed as fd 6
	// and up: the init stage may be root of a user namespace mapped to an
	// unprivileged uid, which cannot reach them (see rootfs.OpenTree).
	trees, err := openTrees(&cfg, len(cmd.ExtraFiles))
	for _, f := range trees {
		defer f.Close()
	}
	if err != nil {
		return p.abort(err)
	}
	cmd.ExtraFiles = append(cmd.ExtraFiles, trees...)
	// The init stage's own environment, not the container's (that is in
	// cfg.Env, set after os.Clearenv). GOMAXPROCS spares the second Go
	// runtime working it out again from the cgroup's CPU limit files on
	// every container start: it gets the value contain has.
	cmd.Env = []string{"GOMAXPROCS=" + strconv.Itoa(runtime.GOMAXPROCS(0))}
	// Cloneflags, not Unshareflags: the child is created inside the new
	// namespaces by clone(2), so it is pid 1 of a new PID namespace. With
	// Unshareflags Go would unshare(2) in the child after fork, which
	// leaves the child itself outside the new PID namespace.
	attr := opts.SysProcAttr
	if attr == nil {
		attr = &syscall.SysProcAttr{}
	}
	attr.Cloneflags = opts.Cloneflags
	// If contain dies, so does the container: nothing is left running
	// that nobody waits for.
	attr.Pdeathsig = unix.SIGKILL
	cmd.SysProcAttr = attr
	// Catch the signals meant for the container before it can run
	// anything, so that none kills contain instead; Wait forwards them.
	p.sigs = make(chan os.Signal, 8)
	signal.Notify(p.sigs, forwarded...)
	if err := start(cmd); err != nil {
		return p.abort(fmt.Errorf("start init stage: %w", err))
	}
	// Our copies of the child's ends must go, or we would never read EOF.
	cfgR.Close()
	errW.Close()

	for _, prepare := range opts.Prepare {
		if err := prepare(cmd.Process.Pid); err != nil {
			return p.abort(err)
		}
	}
	if err := json.NewEncoder(cfgW).Encode(cfg); err != nil {
		return p.abort(fmt.Errorf("send config to init stage: %w (it ended: %v)", err, cmd.Wait()))
	}
	cfgW.Close()
	if p.barrier == nil {
		return p, nil // Exec: Start reads on
	}
	// The first report: ready at the barrier, or what failed before it.
	ready, err := p.readReport()
	if err == nil && !ready {
		err = fmt.Errorf("init stage ended before its barrier: %v", cmd.Wait())
	}
	if err != nil {
		return p.abort(err)
	}
	return p, nil
}

// Start releases the barrier of a Process made by Create and returns once
// the command has been exec'd, or with the init stage's *Failure, the
// process then reaped.
//
// Equivalent to: runc start
func (p *Process) Start() error {
	if p.started {
		return errors.New("the container has started already")
	}
	if p.barrier != nil {
		// No need to wait for the stage to leave the barrier: fd 4 says
		// more, next.
		err := release(fmt.Sprintf("/proc/self/fd/%d", p.barrier.Fd()), false)
		p.removeBarrier()
		if err != nil {
			_, err = p.abort(err)
			return err
		}
	}
	// EOF: the command runs. Or a Failure of its execve(2).
	ready, err := p.readReport()
	if err == nil && ready {
		err = errors.New("init stage: reported ready twice")
	}
	if err != nil {
		_, err = p.abort(err)
		return err
	}
	p.started = true
	p.errR.Close()
	return nil
}

// readReport reads the init stage's next report on fd 4: ready, at the
// barrier; or EOF (false, nil), when the stage exec'd the command or died
// without a word; or its Failure.
func (p *Process) readReport() (ready bool, err error) {
	var r report
	switch err := p.reports.Decode(&r); {
	case errors.Is(err, io.EOF):
		return false, nil
	case err != nil:
		return false, &Failure{Msg: fmt.Sprintf("init stage: read its report: %v", err), Code: ExitSetup}
	case r.Ready:
		return true, nil
	}
	return false, &r.Failure
}

// abort ends a container whose start failed with err: it kills the init
// stage, if it runs, and reaps it, and removes the barrier.
func (p *Process) abort(err error) (*Process, error) {
	if p.cmd.Process != nil {
		p.cmd.Process.Kill()
		p.cmd.Wait()
	}
	if p.sigs != nil {
		signal.Stop(p.sigs)
	}
	p.removeBarrier()
	p.errR.Close()
	return nil, err
}

// forwarded are the signals that contain passes on to the container instead
// of dying of them itself.
var forwarded = []os.Signal{unix.SIGINT, unix.SIGTERM, unix.SIGHUP, unix.SIGQUIT, unix.SIGUSR1, unix.SIGUSR2, unix.SIGWINCH}

// Wait forwards signals to the container until it exits and returns its
// exit status, 128+N when signal N killed it, as the shells report it. A
// container that another process started (Release) and whose command
// could not be exec'd returns the init stage's *Failure with its status.
func (p *Process) Wait() (int, error) {
	sigs := p.sigs
	defer signal.Stop(sigs)
	done := make(chan error, 1)
	var failed error
	go func() {
		// Released by another process (Release), the init stage may
		// still report a failed execve(2), as it would to Start.
		if !p.started {
			_, failed = p.readReport()
			p.errR.Close()
		}
		err := p.cmd.Wait()
		p.removeBarrier() // an ended container has nothing to start
		done <- err
	}()
	var stop *stopTimer
	for {
		select {
		case s := <-sigs:
			p.cmd.Process.Signal(s)
			stop = stop.start(s, p.stopTimeout) // chapter 05
		case <-stop.expired():
			p.cmd.Process.Kill()
			return stop.killed(<-done)
		case err := <-done:
			if f := (*Failure)(nil); errors.As(failed, &f) {
				return f.Code, f
			}
			return ExitStatus(err)
		}
	}
}

// ExitStatus turns the result of exec.Cmd.Wait into a shell-style status.
func ExitStatus(err error) (int, error) {
	if err == nil {
		return 0, nil
	}
	var ee *exec.ExitError
	if !errors.As(err, &ee) {
		return ExitSetup, err
	}
	ws, ok := ee.Sys().(syscall.WaitStatus)
	if ok && ws.Signaled() {
		return 128 + int(ws.Signal()), nil
	}
	return ee.ExitCode(), nil
}

// openTrees opens cfg.BindFiles as detached mounts, in the order of their
// targets, and sets cfg.BindFDs to the descriptors they get in the child,
// the first after the extra files it already has (fd 3 is ExtraFiles[0]).
func openTrees(cfg *Config, extra int) ([]*os.File, error) {
	targets := make([]string, 0, len(cfg.BindFiles))
	for t := range cfg.BindFiles {
		targets = append(targets, t)
	}
	sort.Strings(targets)
	var files []*os.File
	fds := map[string]int{}
	for _, t := range targets {
		// A missing target is made here, where the host's root may
		// write a rootfs the container's root cannot; an unprivileged
		// caller cannot, and its init stage, root over its own rootfs,
		// makes it instead (see rootfs.BindFiles).
		if os.Geteuid() == 0 {
			if err := rootfs.CreateTarget(cfg.Rootfs, t); err != nil {
				return files, err
			}
		}
		f, err := rootfs.OpenTree(cfg.BindFiles[t])
		if err != nil {
			return files, err
		}
		fds[t] = 3 + extra + len(files)
		files = append(files, f)
	}
	if len(fds) > 0 {
		cfg.BindFDs = fds
	}
	return files, nil
}
