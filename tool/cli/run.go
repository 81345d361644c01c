package cli

import (
	"errors"
	"os"

	"github.com/contain-dev/contain/tool/internal/initstage"
	"github.com/contain-dev/contain/tool/internal/namespace"
	"github.com/contain-dev/contain/tool/internal/rootfs"
)

// RunCmd is `contain run`: a command in new mount, UTS, IPC and PID
// namespaces, with its own root filesystem behind pivot_root.
type RunCmd struct {
	Rootfs   string   `help:"Root filesystem directory (build one with scripts/mkrootfs.sh DIR)." required:"" type:"path" placeholder:"DIR"`
	Hostname string   `help:"Hostname inside the container (its own UTS namespace)." placeholder:"NAME"`
	Command  []string `arg:"" optional:"" passthrough:"" help:"Command and arguments to run (default /bin/sh)." placeholder:"-- CMD [ARG...]"`
}

// Namespaces are the namespaces every container gets in this chapter.
var runNamespaces = []string{"mnt", "uts", "ipc", "pid"}

// Run validates everything it can before creating anything, then starts the
// container and waits for it.
func (c *RunCmd) Run(g *Globals) error {
	if err := requireRoot("run", "namespaces, mounts and pivot_root need CAP_SYS_ADMIN"); err != nil {
		return err
	}
	if len(c.Hostname) > 64 {
		return &ExitError{Code: 2, Err: errors.New("--hostname is longer than 64 bytes, the kernel's limit (HOST_NAME_MAX): shorten it")}
	}
	root, err := rootfs.Validate(c.Rootfs)
	if err != nil {
		return &ExitError{Code: initstage.ExitSetup, Err: err}
	}
	flags, err := namespace.Flags(runNamespaces...)
	if err != nil {
		return err
	}
	return start(initstage.Config{
		Mode:     initstage.ModeRun,
		Rootfs:   root,
		Hostname: c.Hostname,
		Args:     commandOrShell(c.Command),
		Env:      initstage.DefaultEnv(os.Getenv("TERM")),
	}, flags, g)
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
func start(cfg initstage.Config, flags uintptr, g *Globals) error {
	p, err := initstage.Start(cfg, flags, g.Stdin, g.Stdout, g.Stderr)
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
