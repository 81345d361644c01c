package cli

import (
	"fmt"
	"os"
	"strconv"

	"github.com/contain-dev/contain/tool/internal/cgroup"
	"github.com/contain-dev/contain/tool/internal/container"
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

// limits parses the flags and checks them against the host, for the
// contain cgroup commands.
func (f *LimitFlags) limits(lay *cgroup.Layout) (*cgroup.Limits, error) {
	l, err := f.parse()
	if err != nil {
		return nil, err
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

// parse reads the flags into limits, checking what needs no host.
func (f *LimitFlags) parse() (*cgroup.Limits, error) {
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
	return l, nil
}

// apply gives the container a cgroup node of its own with the limits, as
// root; without root (chapter 06) nobody delegated a cgroup subtree to
// this user, so there is no node to make: without limits the container
// runs in the caller's cgroup, with them the run is refused. The node
// itself is the container package's (see container's setupCgroup).
func (f *LimitFlags) apply(cfg *container.Config) error {
	if os.Geteuid() != 0 {
		if f.any() {
			return fmt.Errorf("cgroup limits need root: cgroupfs is writable by root only; drop the --memory, --cpus, --pids-limit... flags to run rootless")
		}
		return nil
	}
	l, err := f.parse()
	if err != nil {
		return err
	}
	cfg.Cgroup = l
	return nil
}

// any tells whether any limit flag is set.
func (f *LimitFlags) any() bool {
	return f.Memory != "" || f.MemorySwap != "" || f.Cpus != "" || f.CPUShares != 0 || f.CPUWeight != 0 ||
		f.CpusetCPUs != "" || f.PidsLimit != "" || f.IOWeight != 0 || len(f.IOReadBPS) > 0 || len(f.IOWriteBPS) > 0
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
