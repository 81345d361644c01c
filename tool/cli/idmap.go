package cli

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"text/tabwriter"

	"github.com/contain-dev/contain/tool/internal/idmap"
)

// IdmapCmd is `contain idmap PID`: the uid and gid maps of a process's user
// namespace, with the outside ids named.
type IdmapCmd struct {
	Pid int `arg:"" help:"Process whose user namespace to show, as the host numbers it (contain run's container: see ps)."`
}

// Run prints one line per range of the uid map, then of the gid map.
//
// Equivalent to: cat /proc/$pid/uid_map /proc/$pid/gid_map
func (c *IdmapCmd) Run(g *Globals) error {
	if c.Pid <= 0 {
		return &ExitError{Code: 2, Err: fmt.Errorf("pid %d: give the pid of a running process (ps -e lists them)", c.Pid)}
	}
	maps := map[idmap.Kind]idmap.Map{}
	for _, kind := range []idmap.Kind{idmap.UID, idmap.GID} {
		m, err := idmap.Read(c.Pid, kind)
		if errors.Is(err, fs.ErrNotExist) {
			return &ExitError{Code: 1, Err: fmt.Errorf("no process %d: give the pid of a running process (ps -e lists them)", c.Pid)}
		}
		if err != nil {
			return err
		}
		maps[kind] = m
	}
	names, err := idmap.HostNames()
	if err != nil {
		return err
	}
	tw := tabwriter.NewWriter(g.Stdout, 0, 8, 2, ' ', 0)
	fmt.Fprintln(tw, "MAP\tINSIDE\tOUTSIDE\tLENGTH\tOUTSIDE IS")
	for _, kind := range []idmap.Kind{idmap.UID, idmap.GID} {
		for _, r := range maps[kind] {
			fmt.Fprintf(tw, "%s\t%d\t%d\t%d\t%s\n", kind, r.Inside, r.Outside, r.Length, names.Outside(kind, r))
		}
	}
	if _, err := os.Stat(fmt.Sprintf("/proc/%d", c.Pid)); err != nil {
		return &ExitError{Code: 1, Err: fmt.Errorf("process %d ended while its maps were read", c.Pid)}
	}
	return tw.Flush()
}
