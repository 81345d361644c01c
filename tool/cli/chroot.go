package cli

import (
	"os"

	"github.com/contain-dev/contain/tool/internal/initstage"
	"github.com/contain-dev/contain/tool/internal/rootfs"
)

// ChrootCmd is `contain chroot DIR -- CMD`: chroot(2) and nothing else, the
// starting point of chapter 02, and a jail that the escape program leaves.
type ChrootCmd struct {
	Dir     string   `arg:"" help:"New root directory." type:"path"`
	Command []string `arg:"" optional:"" passthrough:"" help:"Command and arguments to run (default /bin/sh)." placeholder:"-- CMD [ARG...]"`
}

// Run changes root in a re-executed child, so that the command is looked up
// inside DIR, and waits for it. No namespace is created.
func (c *ChrootCmd) Run(g *Globals) error {
	if err := requireRoot("chroot", "chroot(2) needs CAP_SYS_CHROOT"); err != nil {
		return err
	}
	root, err := rootfs.Dir(c.Dir)
	if err != nil {
		return &ExitError{Code: initstage.ExitSetup, Err: err}
	}
	return start(initstage.Config{
		Mode:   initstage.ModeChroot,
		Rootfs: root,
		Args:   commandOrShell(c.Command),
		Env:    initstage.DefaultEnv(os.Getenv("TERM")),
	}, initstage.Options{Stdin: g.Stdin, Stdout: g.Stdout, Stderr: g.Stderr})
}
