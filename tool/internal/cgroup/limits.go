package cgroup

import (
	"fmt"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/containerd/cgroups/v3/cgroup2"
	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"
)

// Limits are the resource limits of one container. A zero field sets
// nothing: the node inherits its parent's value, which is usually
// unlimited.
type Limits struct {
	// Memory caps RAM in bytes: memory.limit_in_bytes (v1), memory.max (v2).
	Memory int64 `json:"memory,omitempty"`
	// MemorySwap caps RAM plus swap in bytes, -1 for unlimited swap:
	// memory.memsw.limit_in_bytes (v1), memory.swap.max = MemorySwap-Memory (v2).
	MemorySwap int64 `json:"memory_swap,omitempty"`
	// CPUs is how many CPUs' worth of time the container may use per
	// period: cpu.cfs_quota_us/cpu.cfs_period_us (v1), cpu.max (v2).
	CPUs float64 `json:"cpus,omitempty"`
	// CPUShares is the v1 relative weight, 2..262144: cpu.shares.
	CPUShares uint64 `json:"cpu_shares,omitempty"`
	// CPUWeight is the v2 relative weight, 1..10000: cpu.weight.
	CPUWeight uint64 `json:"cpu_weight,omitempty"`
	// CpusetCPUs is the list of CPUs the container may run on, "0-1,3":
	// cpuset.cpus.
	CpusetCPUs string `json:"cpuset_cpus,omitempty"`
	// PidsLimit caps the number of tasks: pids.max.
	PidsLimit int64 `json:"pids_limit,omitempty"`
	// IOWeight is the relative disk weight, 10..1000: blkio.weight (v1),
	// io.bfq.weight (v2).
	IOWeight uint16 `json:"io_weight,omitempty"`
	// IOReadBPS and IOWriteBPS cap bytes per second per device:
	// blkio.throttle.{read,write}_bps_device (v1), io.max rbps/wbps (v2).
	IOReadBPS  []Throttle `json:"io_read_bps,omitempty"`
	IOWriteBPS []Throttle `json:"io_write_bps,omitempty"`
}

// Throttle is a rate on one block device.
type Throttle struct {
	Major int64  `json:"major"`
	Minor int64  `json:"minor"`
	Rate  uint64 `json:"rate"`
}

// MinMemory is the smallest --memory a container can start with: the
// init stage, a Go program, runs inside the limit before it execs the
// command. The kernel itself takes any value and rounds it to pages.
const MinMemory = 6 << 20

// CPUPeriod is the CFS period --cpus is expressed in, in microseconds:
// the kernel's default, 100ms.
const CPUPeriod = 100000

// ParseSize reads a size such as "512", "64k", "32M" or "1G" (powers of
// 1024, as memory.limit_in_bytes writes them) into bytes.
func ParseSize(s string) (int64, error) {
	t := strings.TrimSuffix(strings.TrimSuffix(strings.ToLower(strings.TrimSpace(s)), "b"), "i")
	mult := int64(1)
	if n := len(t); n > 0 {
		switch t[n-1] {
		case 'k':
			mult = 1 << 10
		case 'm':
			mult = 1 << 20
		case 'g':
			mult = 1 << 30
		case 't':
			mult = 1 << 40
		}
		if mult > 1 {
			t = t[:n-1]
		}
	}
	v, err := strconv.ParseFloat(t, 64)
	if err != nil || v < 0 || math.IsInf(v, 0) || v*float64(mult) > math.MaxInt64/2 {
		return 0, fmt.Errorf("%q is not a size: write a number with an optional k, M or G suffix, e.g. 64M", s)
	}
	return int64(v * float64(mult)), nil
}

// FormatSize writes n bytes the way ParseSize reads them, exact when it
// can be: 33554432 is "32M".
func FormatSize(n int64) string {
	for _, u := range []struct {
		suffix string
		size   int64
	}{{"G", 1 << 30}, {"M", 1 << 20}, {"k", 1 << 10}} {
		if n >= u.size && n%u.size == 0 {
			return fmt.Sprintf("%d%s", n/u.size, u.suffix)
		}
	}
	return strconv.FormatInt(n, 10)
}

// ParseThrottle reads DEVICE:RATE, where DEVICE is a block device's path
// or MAJOR:MINOR and RATE a size per second: "/dev/vda:1M", "254:0:1M".
func ParseThrottle(s string) (Throttle, error) {
	i := strings.LastIndexByte(s, ':')
	if i < 0 {
		return Throttle{}, fmt.Errorf("%q: write DEVICE:RATE, e.g. /dev/vda:1M or 254:0:1M", s)
	}
	rate, err := ParseSize(s[i+1:])
	if err != nil || rate == 0 {
		return Throttle{}, fmt.Errorf("%q: the rate must be a size above 0, e.g. 1M", s)
	}
	dev := s[:i]
	var maj, min int64
	if _, err := fmt.Sscanf(dev, "%d:%d", &maj, &min); err == nil && !strings.HasPrefix(dev, "/") {
		return Throttle{Major: maj, Minor: min, Rate: uint64(rate)}, nil
	}
	var st unix.Stat_t
	if err := unix.Stat(dev, &st); err != nil || st.Mode&unix.S_IFMT != unix.S_IFBLK {
		return Throttle{}, fmt.Errorf("%q: %s is not a block device: see lsblk for one", s, dev)
	}
	return Throttle{Major: int64(unix.Major(st.Rdev)), Minor: int64(unix.Minor(st.Rdev)), Rate: uint64(rate)}, nil
}

// ParseCPUList reads a cpuset list such as "0-2,4" (cpuset(7), "List
// format").
func ParseCPUList(s string) ([]int, error) {
	var cpus []int
	for _, part := range strings.Split(strings.TrimSpace(s), ",") {
		lo, hi, isRange := strings.Cut(part, "-")
		a, err1 := strconv.Atoi(lo)
		b, err2 := a, error(nil)
		if isRange {
			b, err2 = strconv.Atoi(hi)
		}
		if err1 != nil || err2 != nil || a < 0 || b < a {
			return nil, fmt.Errorf("%q is not a CPU list: write CPUs like 0 or 0-1 or 0,2", s)
		}
		for c := a; c <= b; c++ {
			cpus = append(cpus, c)
		}
	}
	return cpus, nil
}

// OnlineCPUs returns the CPUs the kernel runs, from
// /sys/devices/system/cpu/online.
func OnlineCPUs() ([]int, error) {
	b, err := os.ReadFile("/sys/devices/system/cpu/online")
	if err != nil {
		return nil, err
	}
	return ParseCPUList(string(b))
}

// LimitError is a Limits that Validate refuses. Its message names each
// limit by its field's JSON name ("memory_swap"); Text names them the
// caller's way, as the CLI does by its flags ("--memory-swap").
type LimitError struct {
	// Controller is the cgroup controller that the message offers to
	// mount, if it does, so that the caller can say where that is shown.
	Controller string
	format     string
	args       []any // a limit among them is a name that Text renames
}

// limit marks an argument of a LimitError's message as the JSON name of
// a field of Limits, or of several joined by "/".
type limit string

// refuse returns a *LimitError whose message is format with args.
func refuse(format string, args ...any) *LimitError {
	return &LimitError{format: format, args: args}
}

func (e *LimitError) Error() string { return e.Text(func(name string) string { return name }) }

// Text is the message with each limit named by name(its JSON name).
func (e *LimitError) Text(name func(string) string) string {
	args := make([]any, len(e.args))
	for i, a := range e.args {
		if l, ok := a.(limit); ok {
			names := strings.Split(string(l), "/")
			for j, n := range names {
				names[j] = name(n)
			}
			a = strings.Join(names, "/")
		}
		args[i] = a
	}
	return fmt.Sprintf(e.format, args...)
}

// Validate checks l against the host before anything is created: each
// limit in range, and each limit's controller mounted somewhere. online
// are the host's CPUs. What it refuses comes as a *LimitError.
func (l *Limits) Validate(lay *Layout, online []int) error {
	need := func(lim limit, ctrl string) error {
		if lay.Where(ctrl) == "" {
			e := refuse("%s needs the %s cgroup controller, which this host does not mount: drop %s, or mount it", lim, ctrl, lim)
			e.Controller = ctrl
			return e
		}
		return nil
	}
	if l.Memory != 0 {
		if l.Memory < MinMemory {
			return refuse("%s %s is below %s, the least a container starts in: give more", limit("memory"), FormatSize(l.Memory), FormatSize(MinMemory))
		}
		if err := need("memory", "memory"); err != nil {
			return err
		}
	}
	if l.MemorySwap != 0 {
		switch {
		case l.Memory == 0:
			return refuse("%s needs %s: it caps memory plus swap", limit("memory_swap"), limit("memory"))
		case l.MemorySwap != -1 && l.MemorySwap < l.Memory:
			return refuse("%s %s is below %s %s: it counts memory plus swap, so give at least as much", limit("memory_swap"), FormatSize(l.MemorySwap), limit("memory"), FormatSize(l.Memory))
		}
		if lay.Where("memory") == V1 {
			f := filepath.Join(lay.V1["memory"], "memory.memsw.limit_in_bytes")
			if _, err := os.Stat(f); err != nil {
				return refuse("%s needs swap accounting, and %s is missing: boot with swapaccount=1, or drop %s", limit("memory_swap"), f, limit("memory_swap"))
			}
		}
	}
	if l.CPUs != 0 || l.CPUShares != 0 || l.CPUWeight != 0 {
		if err := need("cpus/cpu_shares/cpu_weight", "cpu"); err != nil {
			return err
		}
	}
	if l.CPUs < 0 || l.CPUs != 0 && (l.CPUs*CPUPeriod < 1000 || l.CPUs > float64(len(online))) {
		return refuse("%s %g is out of range: give 0.01 to %d, the CPUs this host has", limit("cpus"), l.CPUs, len(online))
	}
	if l.CPUShares != 0 && l.CPUWeight != 0 {
		return refuse("%s and %s set the same thing: give one", limit("cpu_shares"), limit("cpu_weight"))
	}
	if l.CPUShares != 0 && (l.CPUShares < 2 || l.CPUShares > 262144) {
		return refuse("%s %d is out of range: give 2 to 262144 (1024 is the default)", limit("cpu_shares"), l.CPUShares)
	}
	if l.CPUWeight != 0 && l.CPUWeight > 10000 {
		return refuse("%s %d is out of range: give 1 to 10000 (100 is the default)", limit("cpu_weight"), l.CPUWeight)
	}
	if l.CpusetCPUs != "" {
		if err := need("cpuset_cpus", "cpuset"); err != nil {
			return err
		}
		cpus, err := ParseCPUList(l.CpusetCPUs)
		if err != nil {
			return refuse("%s: %v", limit("cpuset_cpus"), err)
		}
		for _, c := range cpus {
			if !containsInt(online, c) {
				return refuse("%s %s: CPU %d is not online; this host has CPUs %s", limit("cpuset_cpus"), l.CpusetCPUs, c, FormatCPUList(online))
			}
		}
	}
	if l.PidsLimit < 0 {
		return refuse("%s %d: give a number of tasks above 0", limit("pids_limit"), l.PidsLimit)
	}
	if l.PidsLimit != 0 {
		if err := need("pids_limit", "pids"); err != nil {
			return err
		}
	}
	return l.validateIO(lay)
}

// BFQLoaded tells whether the BFQ I/O scheduler is loaded: a block
// device then lists "bfq" among its schedulers, whichever one it uses.
//
// Equivalent to: grep -q bfq /sys/block/*/queue/scheduler
func BFQLoaded() bool {
	files, _ := filepath.Glob("/sys/block/*/queue/scheduler")
	for _, f := range files {
		if b, err := os.ReadFile(f); err == nil && strings.Contains(string(b), "bfq") {
			return true
		}
	}
	return false
}

// validateIO checks the io_* limits: v1 needs the blkio files, which
// depend on the I/O scheduler; v2 the io controller.
func (l *Limits) validateIO(lay *Layout) error {
	type file struct {
		lim    limit
		v1file string
		set    bool
	}
	for _, f := range []file{
		{"io_weight", "blkio.weight", l.IOWeight != 0},
		{"io_read_bps", "blkio.throttle.read_bps_device", len(l.IOReadBPS) > 0},
		{"io_write_bps", "blkio.throttle.write_bps_device", len(l.IOWriteBPS) > 0},
	} {
		if !f.set {
			continue
		}
		switch lay.Where("blkio") {
		case V1:
			if _, err := os.Stat(filepath.Join(lay.V1["blkio"], f.v1file)); err != nil {
				return refuse("%s needs %s, which this kernel does not offer (it depends on the I/O scheduler): drop %s", f.lim, f.v1file, f.lim)
			}
			continue
		}
		if lay.Where("io") == "" {
			return refuse("%s needs the blkio (v1) or io (v2) cgroup controller, which this host does not mount: drop %s", f.lim, f.lim)
		}
		// v2: the library writes the weight to io.bfq.weight, a file
		// only the BFQ scheduler adds to every non-root node, and only
		// while it is loaded. Without it the write fails after the node
		// is made.
		if f.lim == "io_weight" && !BFQLoaded() {
			return refuse("%s needs io.bfq.weight, which this kernel does not offer (it depends on the I/O scheduler: modprobe bfq): drop %s", f.lim, f.lim)
		}
	}
	if l.IOWeight != 0 && (l.IOWeight < 10 || l.IOWeight > 1000) {
		return refuse("%s %d is out of range: give 10 to 1000", limit("io_weight"), l.IOWeight)
	}
	return nil
}

func containsInt(s []int, v int) bool {
	for _, x := range s {
		if x == v {
			return true
		}
	}
	return false
}

// FormatCPUList writes CPUs as a cpuset list: [0 1 2 4] is "0-2,4".
func FormatCPUList(cpus []int) string {
	var parts []string
	for i := 0; i < len(cpus); {
		j := i
		for j+1 < len(cpus) && cpus[j+1] == cpus[j]+1 {
			j++
		}
		if i == j {
			parts = append(parts, strconv.Itoa(cpus[i]))
		} else {
			parts = append(parts, fmt.Sprintf("%d-%d", cpus[i], cpus[j]))
		}
		i = j + 1
	}
	return strings.Join(parts, ",")
}

// v1Resources turns l into the OCI form containerd's cgroup1 writes.
func (l *Limits) v1Resources() *specs.LinuxResources {
	r := &specs.LinuxResources{}
	if l.Memory != 0 {
		r.Memory = &specs.LinuxMemory{Limit: &l.Memory}
		if l.MemorySwap != 0 {
			r.Memory.Swap = &l.MemorySwap
		}
	}
	if l.CPUs != 0 || l.CPUShares != 0 || l.CPUWeight != 0 || l.CpusetCPUs != "" {
		r.CPU = &specs.LinuxCPU{Cpus: l.CpusetCPUs}
		if l.CPUs != 0 {
			quota, period := int64(l.CPUs*CPUPeriod), uint64(CPUPeriod)
			r.CPU.Quota, r.CPU.Period = &quota, &period
		}
		shares := l.CPUShares
		if l.CPUWeight != 0 {
			// The inverse of cgroup2.ConvertCPUSharesToCgroupV2Value.
			shares = 2 + (l.CPUWeight-1)*262142/9999
		}
		if shares != 0 {
			r.CPU.Shares = &shares
		}
	}
	if l.PidsLimit != 0 {
		r.Pids = &specs.LinuxPids{Limit: &l.PidsLimit}
	}
	if l.IOWeight != 0 || len(l.IOReadBPS) > 0 || len(l.IOWriteBPS) > 0 {
		r.BlockIO = &specs.LinuxBlockIO{}
		if l.IOWeight != 0 {
			r.BlockIO.Weight = &l.IOWeight
		}
		for _, t := range l.IOReadBPS {
			r.BlockIO.ThrottleReadBpsDevice = append(r.BlockIO.ThrottleReadBpsDevice, specs.LinuxThrottleDevice{Rate: t.Rate, LinuxBlockIODevice: specs.LinuxBlockIODevice{Major: t.Major, Minor: t.Minor}})
		}
		for _, t := range l.IOWriteBPS {
			r.BlockIO.ThrottleWriteBpsDevice = append(r.BlockIO.ThrottleWriteBpsDevice, specs.LinuxThrottleDevice{Rate: t.Rate, LinuxBlockIODevice: specs.LinuxBlockIODevice{Major: t.Major, Minor: t.Minor}})
		}
	}
	return r
}

// v2Resources turns l into what containerd's cgroup2 writes, keeping
// only the controllers lay has in the unified hierarchy: on a hybrid host
// the others are v1's.
func (l *Limits) v2Resources(lay *Layout) *cgroup2.Resources {
	r := cgroup2.ToResources(l.v1Resources())
	if l.CPUWeight != 0 && r.CPU != nil {
		w := l.CPUWeight
		r.CPU.Weight = &w
	}
	if l.MemorySwap == -1 && r.Memory != nil {
		r.Memory.Swap = nil // unlimited is memory.swap.max's default, "max"
	}
	if lay.Where("cpu") != V2 && r.CPU != nil {
		r.CPU.Weight, r.CPU.Max = nil, ""
	}
	if lay.Where("cpuset") != V2 && r.CPU != nil {
		r.CPU.Cpus = ""
	}
	if r.CPU != nil && r.CPU.Weight == nil && r.CPU.Max == "" && r.CPU.Cpus == "" {
		r.CPU = nil
	}
	if lay.Where("memory") != V2 {
		r.Memory = nil
	}
	if lay.Where("pids") != V2 {
		r.Pids = nil
	}
	if lay.Where("io") != V2 {
		r.IO = nil
	}
	r.HugeTlb, r.RDMA = nil, nil
	return r
}
