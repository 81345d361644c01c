package cli

import (
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"syscall"

	"github.com/contain-dev/contain/tool/internal/cgroup"
	"github.com/contain-dev/contain/tool/internal/rootfs"
	"github.com/contain-dev/contain/tool/internal/state"
)

// LimitFlags are the cgroup limits of run, cgroup create and cgroup set
// (chapter 07). Strings where 0 is a value to refuse rather than "unset".
type LimitFlags struct {
	Memory     string   `help:"Memory limit, e.g. 64M (memory.limit_in_bytes, memory.max); the OOM killer acts at it." placeholder:"SIZE" group:"cgroup"`
	MemorySwap string   `name:"memory-swap" help:"Memory plus swap limit, -1 for unlimited swap (memory.memsw.limit_in_bytes, memory.swap.max)." placeholder:"SIZE" group:"cgroup"`
	Cpus       string   `help:"CPU time, in CPUs per 100ms period, e.g. 0.5 (cpu.cfs_quota_us, cpu.max)." placeholder:"N" group:"cgroup"`
	CPUShares  uint64   `name:"cpu-shares" help:"Relative CPU weight, 2-262144, default 1024 (cpu.shares)." placeholder:"N" group:"cgroup"`
	CPUWeight  uint64   `name:"cpu-weight" help:"Relative CPU weight, 1-10000, default 100 (cpu.weight)." placeholder:"N" group:"cgroup"`
	CpusetCPUs string   `name:"cpuset-cpus" help:"CPUs to run on, e.g. 0 or 0-1 (cpuset.cpus)." placeholder:"LIST" group:"cgroup"`
	PidsLimit  string   `name:"pids-limit" help:"Most tasks at once (pids.max)." placeholder:"N" group:"cgroup"`
	IOWeight   uint16   `name:"io-weight" help:"Relative disk weight, 10-1000 (blkio.weight, io.bfq.weight)." placeholder:"N" group:"cgroup"`
	IOReadBPS  []string `name:"io-read-bps" help:"Read rate limit on a device, DEVICE:RATE (blkio.throttle.read_bps_device, io.max rbps)." placeholder:"DEV:RATE" group:"cgroup"`
	IOWriteBPS []string `name:"io-write-bps" help:"Write rate limit on a device, DEVICE:RATE (blkio.throttle.write_bps_device, io.max wbps)." placeholder:"DEV:RATE" group:"cgroup"`
}

// limits parses the flags and checks them against the host.
func (f *LimitFlags) limits(lay *cgroup.Layout) (*cgroup.Limits, error) {
	l := &cgroup.Limits{CPUShares: f.CPUShares, CPUWeight: f.CPUWeight, CpusetCPUs: f.CpusetCPUs, IOWeight: f.IOWeight}
	var err error
	if f.Memory != "" {
		if l.Memory, err = cgroup.ParseSize(f.Memory); err != nil {
			return nil, fmt.Errorf("--memory: %w", err)
		}
		if l.Memory == 0 {
			return nil, fmt.Errorf("--memory 0: give a limit, e.g. 64M")
		}
	}
	if f.MemorySwap == "-1" {
		l.MemorySwap = -1
	} else if f.MemorySwap != "" {
		if l.MemorySwap, err = cgroup.ParseSize(f.MemorySwap); err != nil {
			return nil, fmt.Errorf("--memory-swap: %w", err)
		}
	}
	if f.Cpus != "" {
		if l.CPUs, err = strconv.ParseFloat(f.Cpus, 64); err != nil || l.CPUs <= 0 {
			return nil, fmt.Errorf("--cpus %s: give a number of CPUs above 0, e.g. 0.5", f.Cpus)
		}
	}
	if f.PidsLimit != "" {
		if l.PidsLimit, err = strconv.ParseInt(f.PidsLimit, 10, 64); err != nil || l.PidsLimit <= 0 {
			return nil, fmt.Errorf("--pids-limit %s: give a number of tasks above 0", f.PidsLimit)
		}
	}
	for _, s := range f.IOReadBPS {
		t, err := cgroup.ParseThrottle(s)
		if err != nil {
			return nil, fmt.Errorf("--io-read-bps: %w", err)
		}
		l.IOReadBPS = append(l.IOReadBPS, t)
	}
	for _, s := range f.IOWriteBPS {
		t, err := cgroup.ParseThrottle(s)
		if err != nil {
			return nil, fmt.Errorf("--io-write-bps: %w", err)
		}
		l.IOWriteBPS = append(l.IOWriteBPS, t)
	}
	online, err := cgroup.OnlineCPUs()
	if err != nil {
		return nil, err
	}
	if err := l.Validate(lay, online); err != nil {
		return nil, err
	}
	return l, nil
}

// cgroupFeature gives the container its own cgroup node with the limits,
// places it there before any container code runs, and gives it a cgroup
// namespace and a read-only view of its node at /sys/fs/cgroup.
type cgroupFeature struct {
	flags *LimitFlags
}

// setup runs before anything of the container exists. The order:
//
//  1. check every limit, before anything is created;
//  2. create contain/NAME in every hierarchy and write the limits;
//  3. have the child in the node before it runs: on v2 clone3(2) puts it
//     there (CLONE_INTO_CGROUP), so 2 comes before the clone; on v1 and
//     hybrid a Prepare hook does 2 and then moves the child, while the
//     child waits for its config;
//  4. have the init stage enter a new cgroup namespace, which must come
//     after 3 (the namespace's root is the cgroup the process is in at
//     that moment), and mount the hierarchies read-only inside.
//
// On v1 the node is made after the clone for speed: the parent writes
// its ten or so hierarchies while the init stage, a second Go program,
// is starting on another CPU, instead of before it (see bench/README.md).
func (f cgroupFeature) setup(spec *runSpec) error {
	if os.Geteuid() != 0 {
		// Rootless (chapter 06): nobody delegated a cgroup subtree to
		// this user, so there is no node to make. Without limits the
		// container runs in the caller's cgroup; with them, refuse.
		if f.flags.any() {
			return fmt.Errorf("cgroup limits need root: cgroupfs is writable by root only; drop the --memory, --cpus, --pids-limit... flags to run rootless")
		}
		return nil
	}
	lay, err := cgroup.Detect()
	if err != nil {
		return err
	}
	limits, err := f.flags.limits(lay)
	if err != nil {
		return err
	}
	// The record names the node before it exists: a contain killed from
	// here on leaves a record that cleanCgroup acts on.
	node := cgroup.Open(lay, spec.record.Name)
	if err := spec.record.SetExtra("cgroup", node); err != nil {
		return err
	}
	create := func() (*cgroup.Cgroup, error) {
		cg, err := cgroup.Create(lay, spec.record.Name, limits)
		if err != nil {
			return nil, err
		}
		stderr := spec.opts.Stderr
		spec.undo = append(spec.undo, func() error {
			reportOOM(stderr, cg, limits)
			return cg.Delete()
		})
		return cg, nil
	}
	if lay.Mode == cgroup.V2 {
		// Made now, before the clone: the record must name it first.
		if err := spec.record.Save(); err != nil {
			return err
		}
		cg, err := create()
		if err != nil {
			return err
		}
		dir, err := cg.OpenDir()
		if err != nil {
			return err
		}
		spec.undo = append(spec.undo, dir.Close)
		if spec.opts.SysProcAttr == nil {
			spec.opts.SysProcAttr = &syscall.SysProcAttr{}
		}
		spec.opts.SysProcAttr.UseCgroupFD = true
		spec.opts.SysProcAttr.CgroupFD = int(dir.Fd())
	} else {
		// Refuse a node of that name now, before there is a child.
		if err := node.CheckFree(); err != nil {
			return err
		}
		spec.opts.Prepare = append(spec.opts.Prepare, func(pid int) error {
			cg, err := create()
			if err != nil {
				return err
			}
			return cg.Add(pid)
		})
	}
	spec.cfg.CgroupNS = true
	// A v1 hierarchy can only be mounted with CAP_SYS_ADMIN in the initial
	// user namespace; in a user namespace (chapter 06) only cgroup2 can.
	if !spec.cfg.UserNS || lay.Mode == cgroup.V2 {
		spec.cfg.Cgroupfs = cgroupMounts(lay)
	}
	return nil
}

// any tells whether any limit flag is set.
func (f *LimitFlags) any() bool {
	return f.Memory != "" || f.MemorySwap != "" || f.Cpus != "" || f.CPUShares != 0 || f.CPUWeight != 0 ||
		f.CpusetCPUs != "" || f.PidsLimit != "" || f.IOWeight != 0 || len(f.IOReadBPS) > 0 || len(f.IOWriteBPS) > 0
}

// reportOOM tells, once the container has ended, whether the OOM killer
// killed one of its processes: the exit status alone (137, SIGKILL)
// does not say who sent the signal.
func reportOOM(w io.Writer, cg *cgroup.Cgroup, l *cgroup.Limits) {
	n, err := cg.OOMKills()
	if err != nil || n == 0 || w == nil {
		return
	}
	limit := "no --memory"
	if l.Memory != 0 {
		limit = "memory limit " + cgroup.FormatSize(l.Memory)
	}
	fmt.Fprintf(w, "contain: the OOM killer killed %d process(es) of the container (%s)\n", n, limit)
}

// cgroupMounts describes the host's hierarchies as the init stage mounts
// them inside: one directory per v1 hierarchy under a tmpfs, or cgroup2
// alone on a pure v2 host.
func cgroupMounts(lay *cgroup.Layout) []rootfs.CgroupMount {
	if lay.Mode == cgroup.V2 {
		return []rootfs.CgroupMount{{Dir: "", Type: "cgroup2"}}
	}
	byMount := map[string][]string{}
	for ctrl, mnt := range lay.V1 {
		byMount[mnt] = append(byMount[mnt], ctrl)
	}
	var ms []rootfs.CgroupMount
	for mnt, ctrls := range byMount {
		sort.Strings(ctrls)
		opts := strings.Join(ctrls, ",")
		if strings.HasPrefix(opts, "name=") {
			opts = "none," + opts
		}
		ms = append(ms, rootfs.CgroupMount{Dir: filepath.Base(mnt), Type: "cgroup", Options: opts})
	}
	if lay.V2 != "" {
		ms = append(ms, rootfs.CgroupMount{Dir: filepath.Base(lay.V2), Type: "cgroup2"})
	}
	sort.Slice(ms, func(i, j int) bool { return ms[i].Dir < ms[j].Dir })
	return ms
}

func init() {
	orphanCleaners["cgroup"] = cleanCgroup
	orphanScanners["cgroup"] = scanCgroups
}

// cleanCgroup removes the node of a container whose contain died. Its
// processes died with it (Pdeathsig kills the container's pid 1, and the
// kernel then kills the rest of its PID namespace); a frozen one is
// thawed first, or its processes could not act on their SIGKILL.
func cleanCgroup(c *state.Container) error {
	var rec cgroup.Cgroup
	if ok, err := c.GetExtra("cgroup", &rec); !ok || err != nil {
		return err
	}
	lay, err := cgroup.Detect()
	if err != nil {
		return err
	}
	return removeNode(cgroup.Open(lay, rec.Name))
}

// removeNode kills what is left in a node and removes it.
func removeNode(cg *cgroup.Cgroup) error {
	if !cg.Exists() {
		return nil
	}
	cg.Thaw()
	pids, _ := cg.Procs()
	for _, pid := range pids {
		syscall.Kill(pid, syscall.SIGKILL)
	}
	return cg.Delete()
}

// scanCgroups finds nodes under contain/ by their prefix that no state
// record accounts for, and removes the empty ones: those a contain left
// when its record was lost, and those made by hand with contain cgroup
// create. A node with processes is reported, not touched.
func scanCgroups(w io.Writer) error {
	lay, err := cgroup.Detect()
	if err != nil {
		return err
	}
	for _, name := range cgroup.Names(lay) {
		if _, err := state.Load(name); err == nil {
			continue // a record exists: cleanOrphans decides
		}
		cg := cgroup.Open(lay, name)
		if pids, _ := cg.Procs(); len(pids) > 0 {
			fmt.Fprintf(w, "kept cgroup %s: it has processes %v (contain cgroup rm --force %s)\n", cgroup.Rel(name), pids, name)
			continue
		}
		if err := cg.Delete(); err != nil {
			return err
		}
		fmt.Fprintf(w, "removed cgroup %s\n", cgroup.Rel(name))
	}
	return nil
}

// cgroupOf is the node of a named container or hand-made cgroup, for the
// commands that act on one.
func cgroupOf(name string) (*cgroup.Cgroup, error) {
	if err := state.CheckName(name); err != nil {
		return nil, &ExitError{Code: 2, Err: err}
	}
	lay, err := cgroup.Detect()
	if err != nil {
		return nil, err
	}
	cg, err := cgroup.Attach(lay, name)
	if err != nil {
		return nil, &ExitError{Code: 1, Err: err}
	}
	return cg, nil
}
