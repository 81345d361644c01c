package cli

import (
	"encoding/json"
	"fmt"
	"io"
	"os"
	"strings"

	"golang.org/x/sys/unix"

	"github.com/contain-dev/contain/tool/internal/checkconfig"
)

// CheckconfigCmd is `contain checkconfig` (chapter 00): what
// lxc-checkconfig reports, plus the cgroup mode, the propagation of /, the
// user-namespace sysctls, missing capabilities, /dev/fuse and the iptables
// backend.
type CheckconfigCmd struct {
	JSON bool `help:"Print the findings as JSON, for scripts." name:"json"`
}

// Run prints the host's findings. It exits 0 even with warnings, and 1
// only when something contain run needs is missing.
func (c *CheckconfigCmd) Run(g *Globals) error {
	fs := checkconfig.Check(checkconfig.Real())
	var err error
	if c.JSON {
		enc := json.NewEncoder(g.Stdout)
		enc.SetIndent("", "  ")
		err = enc.Encode(fs)
	} else {
		err = checkconfig.WriteText(g.Stdout, fs, useColour(g.Stdout))
	}
	if err != nil {
		return err
	}
	if missing := checkconfig.MissingRequired(fs); len(missing) > 0 {
		return &ExitError{Code: 1, Err: fmt.Errorf("this host lacks what contain run needs: %s (see the hints above)", strings.Join(missing, ", "))}
	}
	return nil
}

// useColour tells whether w is a terminal and NO_COLOR (no-color.org) is
// unset: colours in a pipe or a file are noise. A terminal is what answers
// the TCGETS ioctl, as isatty(3) checks.
func useColour(w io.Writer) bool {
	if os.Getenv("NO_COLOR") != "" {
		return false
	}
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	_, err := unix.IoctlGetTermios(int(f.Fd()), unix.TCGETS)
	return err == nil
}
