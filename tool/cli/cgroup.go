package cli

import (
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/contain-dev/contain/tool/internal/cgroup"
	"github.com/contain-dev/contain/tool/internal/state"
)

// CgroupCmd is `contain cgroup`: the cgroup files by hand, one subcommand
// per step of the chapter, plus the usage report lxc-info users know.
type CgroupCmd struct {
	Create CgroupCreateCmd `cmd:"" help:"Make contain/NAME in every hierarchy, with limits."`
	Set    CgroupSetCmd    `cmd:"" help:"Write limits into contain/NAME."`
	Add    CgroupAddCmd    `cmd:"" help:"Move a process into contain/NAME (writes cgroup.procs)."`
	Show   CgroupShowCmd   `cmd:"" help:"Show the directories and limit files of contain/NAME."`
	Stat   CgroupStatCmd   `cmd:"" help:"Show CPU, memory and pids use of contain/NAME, like lxc-info."`
	Ls     CgroupLsCmd     `cmd:"" help:"List the cgroups under contain/."`
	Rm     CgroupRmCmd     `cmd:"" help:"Remove contain/NAME (it must be empty, or give --force)."`
}

// CgroupCreateCmd is `contain cgroup create NAME [limits]`.
type CgroupCreateCmd struct {
	Name       string `arg:"" help:"Name of the cgroup: contain/NAME."`
	LimitFlags `embed:""`
}

// Run validates the limits, then creates the node.
func (c *CgroupCreateCmd) Run(g *Globals) error {
	if err := requireRoot("cgroup create", "cgroupfs is writable by root only"); err != nil {
		return err
	}
	if err := state.CheckName(c.Name); err != nil {
		return &ExitError{Code: 2, Err: err}
	}
	lay, err := cgroup.Detect()
	if err != nil {
		return err
	}
	l, err := c.limits(lay)
	if err != nil {
		return &ExitError{Code: 2, Err: err}
	}
	cg, err := cgroup.Create(lay, c.Name, l)
	if err != nil {
		return err
	}
	for _, d := range cg.Dirs {
		fmt.Fprintln(g.Stdout, d)
	}
	return nil
}

// CgroupSetCmd is `contain cgroup set NAME [limits]`.
type CgroupSetCmd struct {
	Name       string `arg:"" help:"Name of the cgroup."`
	LimitFlags `embed:""`
}

// Run writes the limits into an existing node.
func (c *CgroupSetCmd) Run(g *Globals) error {
	cg, lay, err := existingCgroup(c.Name)
	if err != nil {
		return err
	}
	l, err := c.limits(lay)
	if err != nil {
		return &ExitError{Code: 2, Err: err}
	}
	return cg.Set(l)
}

// CgroupAddCmd is `contain cgroup add NAME PID`.
type CgroupAddCmd struct {
	Name string `arg:"" help:"Name of the cgroup."`
	Pid  int    `arg:"" help:"Process to move, with all its threads."`
}

// Run moves the process.
func (c *CgroupAddCmd) Run(g *Globals) error {
	cg, _, err := existingCgroup(c.Name)
	if err != nil {
		return err
	}
	if _, err := os.Stat(fmt.Sprintf("/proc/%d", c.Pid)); err != nil {
		return &ExitError{Code: 2, Err: fmt.Errorf("no process %d: give the pid of a running process", c.Pid)}
	}
	return cg.Add(c.Pid)
}

// CgroupShowCmd is `contain cgroup show NAME`.
type CgroupShowCmd struct {
	Name string `arg:"" help:"Name of the cgroup."`
}

// shownFiles are the limit files show prints, where they exist.
var shownFiles = []string{
	"memory.limit_in_bytes", "memory.memsw.limit_in_bytes", "memory.max", "memory.swap.max",
	"cpu.shares", "cpu.cfs_quota_us", "cpu.cfs_period_us", "cpu.weight", "cpu.max",
	"cpuset.cpus", "pids.max", "blkio.weight", "blkio.throttle.read_bps_device",
	"blkio.throttle.write_bps_device", "io.max", "freezer.state", "cgroup.freeze", "cgroup.procs",
}

// Run prints each directory of the node and its limit files.
//
// Equivalent to: grep . /sys/fs/cgroup/*/contain/$name/{memory.limit_in_bytes,...}
func (c *CgroupShowCmd) Run(g *Globals) error {
	cg, _, err := existingCgroup(c.Name)
	if err != nil {
		return err
	}
	for _, d := range cg.Dirs {
		fmt.Fprintln(g.Stdout, d)
		for _, f := range shownFiles {
			b, err := os.ReadFile(filepath.Join(d, f))
			if err != nil {
				continue
			}
			v := strings.Join(strings.Fields(string(b)), " ")
			fmt.Fprintf(g.Stdout, "  %s: %s\n", f, v)
		}
	}
	return nil
}

// CgroupStatCmd is `contain cgroup stat NAME`.
type CgroupStatCmd struct {
	Name     string        `arg:"" help:"Name of the container or cgroup."`
	Interval time.Duration `help:"How long to measure CPU % over." default:"1s"`
	JSON     bool          `name:"json" help:"Print JSON."`
	Watch    bool          `help:"Print again every interval until interrupted."`
}

// stat is what CgroupStatCmd prints.
type stat struct {
	Name       string       `json:"name"`
	Usage      cgroup.Usage `json:"usage"`
	CPUPercent float64      `json:"cpu_percent"`
	UserPct    float64      `json:"cpu_user_percent"`
	SystemPct  float64      `json:"cpu_system_percent"`
	IntervalMS int64        `json:"interval_ms"`
}

// Run reads the counters twice, Interval apart: CPU % is the CPU time
// used in between over the time that passed.
func (c *CgroupStatCmd) Run(g *Globals) error {
	cg, _, err := existingCgroup(c.Name)
	if err != nil {
		return err
	}
	if c.Interval <= 0 {
		return &ExitError{Code: 2, Err: fmt.Errorf("--interval %s: give a duration above 0, e.g. 1s", c.Interval)}
	}
	before, err := cg.Usage()
	if err != nil {
		return err
	}
	for {
		time.Sleep(c.Interval)
		after, err := cg.Usage()
		if err != nil {
			return err
		}
		s := stat{Name: c.Name, Usage: after, IntervalMS: after.At.Sub(before.At).Milliseconds()}
		s.CPUPercent, s.UserPct, s.SystemPct = cgroup.CPUPercent(before, after)
		if c.JSON {
			json.NewEncoder(g.Stdout).Encode(s)
		} else {
			printStat(g.Stdout, s)
		}
		if !c.Watch {
			return nil
		}
		before = after
	}
}

// printStat prints s the way lxc-info prints a container's use.
func printStat(w io.Writer, s stat) {
	fmt.Fprintf(w, "Name:           %s\n", s.Name)
	fmt.Fprintf(w, "CPU use:        %.2f seconds\n", s.Usage.CPU.Seconds())
	fmt.Fprintf(w, "CPU %%:          %.1f%% (user %.1f%%, sys %.1f%%, over %s)\n", s.CPUPercent, s.UserPct, s.SystemPct, (time.Duration(s.IntervalMS) * time.Millisecond).Round(100*time.Millisecond))
	fmt.Fprintf(w, "Memory use:     %s\n", cgroup.HumanBytes(s.Usage.Memory))
	if s.Usage.HasKMem {
		fmt.Fprintf(w, "KMem use:       %s\n", cgroup.HumanBytes(s.Usage.KMem))
	}
	fmt.Fprintf(w, "Pids:           %d\n", s.Usage.Pids)
}

// CgroupLsCmd is `contain cgroup ls`.
type CgroupLsCmd struct{}

// Run lists the names under contain/ with their process counts.
func (c *CgroupLsCmd) Run(g *Globals) error {
	lay, err := cgroup.Detect()
	if err != nil {
		return err
	}
	names := cgroup.Names(lay)
	sort.Strings(names)
	for _, n := range names {
		pids, _ := cgroup.Open(lay, n).Procs()
		fmt.Fprintf(g.Stdout, "%s\t%d processes\n", n, len(pids))
	}
	return nil
}

// CgroupRmCmd is `contain cgroup rm NAME`.
type CgroupRmCmd struct {
	Name  string `arg:"" help:"Name of the cgroup."`
	Force bool   `help:"Kill the processes in it first."`
}

// Run removes the node. The kernel refuses to remove a cgroup with
// processes (EBUSY), so without --force a busy node is an error.
func (c *CgroupRmCmd) Run(g *Globals) error {
	cg, _, err := existingCgroup(c.Name)
	if err != nil {
		return err
	}
	if c.Force {
		return cg.Kill()
	}
	if pids, _ := cg.Procs(); len(pids) > 0 {
		return &ExitError{Code: 1, Err: fmt.Errorf("cgroup %s has processes %s: stop them, or give --force to kill them", cgroup.Rel(c.Name), joinInts(pids))}
	}
	return cg.Delete()
}

func joinInts(v []int) string {
	s := make([]string, len(v))
	for i, n := range v {
		s[i] = strconv.Itoa(n)
	}
	return strings.Join(s, " ")
}

// existingCgroup is cgroupOf for the by-hand commands, which need root.
func existingCgroup(name string) (*cgroup.Cgroup, *cgroup.Layout, error) {
	if err := requireRoot("cgroup", "cgroupfs is writable by root only"); err != nil {
		return nil, nil, err
	}
	cg, err := cgroupOf(name)
	if err != nil {
		return nil, nil, err
	}
	lay, err := cgroup.Detect()
	return cg, lay, err
}
