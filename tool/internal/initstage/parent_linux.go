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

// Process is a started container: the init stage, which became the user's
// command when it exec'd.
type Process struct {
	cmd *exec.Cmd
	// sigs receives the signals Wait forwards, from before the start.
	sigs chan os.Signal
	// stopTimeout is Options.StopTimeout (chapter 05).
	stopTimeout time.Duration
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
	// the child is killed and Start returns the error.
	Prepare []func(pid int) error
	// SysProcAttr, when not nil, is the starting point for the child's
	// attributes (for example UseCgroupFD); Start sets Cloneflags and
	// Pdeathsig on it.
	SysProcAttr *syscall.SysProcAttr
	// StopTimeout (chapter 05) is how long Wait gives the container after
	// forwarding SIGTERM or SIGINT before it sends SIGKILL; zero waits
	// forever.
	StopTimeout time.Duration
}

// Start runs `/proc/self/exe init` in new namespaces, runs the Prepare
// hooks, sends it cfg and waits until it has exec'd the command. A failure
// of the init stage comes back as a *Failure.
//
// Equivalent to: unshare --fork $flags contain init
func Start(cfg Config, opts Options) (*Process, error) {
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
	defer errR.Close()
	defer errW.Close()

	cmd := exec.Command("/proc/self/exe", "init")
	cmd.Stdin, cmd.Stdout, cmd.Stderr = opts.Stdin, opts.Stdout, opts.Stderr
	cmd.ExtraFiles = []*os.File{cfgR, errW} // fd 3 and fd 4 in the child
	// (chapter 08) The host files to bind, opened here and passed as fd 5
	// and up: the init stage may be root of a user namespace mapped to an
	// unprivileged uid, which cannot reach them (see rootfs.OpenTree).
	trees, err := openTrees(&cfg, len(cmd.ExtraFiles))
	for _, f := range trees {
		defer f.Close()
	}
	if err != nil {
		return nil, err
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
	sigs := make(chan os.Signal, 8)
	signal.Notify(sigs, forwarded...)
	started := false
	defer func() {
		if !started {
			signal.Stop(sigs)
		}
	}()
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("start init stage: %w", err)
	}
	// Our copies of the child's ends must go, or we would never read EOF.
	cfgR.Close()
	errW.Close()

	for _, prepare := range opts.Prepare {
		if err := prepare(cmd.Process.Pid); err != nil {
			cmd.Process.Kill()
			cmd.Wait()
			return nil, err
		}
	}
	if err := json.NewEncoder(cfgW).Encode(cfg); err != nil {
		cmd.Process.Kill()
		cmd.Wait()
		return nil, fmt.Errorf("send config to init stage: %w", err)
	}
	cfgW.Close()

	msg, err := io.ReadAll(errR)
	if err != nil {
		cmd.Process.Kill()
		cmd.Wait()
		return nil, fmt.Errorf("read init stage: %w", err)
	}
	if len(msg) > 0 {
		cmd.Wait()
		var f Failure
		if err := json.Unmarshal(msg, &f); err != nil {
			return nil, &Failure{Msg: fmt.Sprintf("init stage: %s", msg), Code: ExitSetup}
		}
		return nil, &f
	}
	started = true
	return &Process{cmd: cmd, sigs: sigs, stopTimeout: opts.StopTimeout}, nil
}

// forwarded are the signals that contain passes on to the container instead
// of dying of them itself.
var forwarded = []os.Signal{unix.SIGINT, unix.SIGTERM, unix.SIGHUP, unix.SIGQUIT, unix.SIGUSR1, unix.SIGUSR2, unix.SIGWINCH}

// Wait forwards signals to the container until it exits and returns its
// exit status, 128+N when signal N killed it, as the shells report it.
func (p *Process) Wait() (int, error) {
	sigs := p.sigs
	defer signal.Stop(sigs)
	done := make(chan error, 1)
	go func() { done <- p.cmd.Wait() }()
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
