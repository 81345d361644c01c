package cgroup

import (
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

// Usage is what a node has used, read straight from its files. The tool
// reads these few files itself, rather than through containerd's Stat,
// because the chapter names each one and the reader can cat them.
type Usage struct {
	// CPU, CPUUser and CPUSystem are the CPU time used since the node
	// was made: cpuacct.usage, cpuacct.usage_user, cpuacct.usage_sys (v1,
	// in ns) or cpu.stat usage_usec, user_usec, system_usec (v2, in µs).
	CPU       time.Duration `json:"cpu_ns"`
	CPUUser   time.Duration `json:"cpu_user_ns"`
	CPUSystem time.Duration `json:"cpu_system_ns"`
	// Memory is the memory charged to the node, in bytes:
	// memory.usage_in_bytes (v1) or memory.current (v2).
	Memory uint64 `json:"memory_bytes"`
	// KMem is the kernel's share of Memory: memory.kmem.usage_in_bytes
	// (v1) or memory.stat's kernel (v2). HasKMem is false when the kernel
	// keeps no such count.
	KMem    uint64 `json:"kmem_bytes"`
	HasKMem bool   `json:"has_kmem"`
	// Pids is the number of tasks: pids.current.
	Pids uint64 `json:"pids"`
	// At is when the files were read.
	At time.Time `json:"at"`
}

// Usage reads the node's counters. A controller that is not mounted
// leaves its fields zero.
//
// Equivalent to: cat /sys/fs/cgroup/cpuacct/contain/$name/cpuacct.usage,
// and so on for each field.
func (c *Cgroup) Usage() (Usage, error) {
	return ReadUsage(c.lay, Rel(c.Name))
}

// ReadUsage reads the counters of the node at rel in lay.
func ReadUsage(lay *Layout, rel string) (Usage, error) {
	u := Usage{At: time.Now()}
	var err error
	// CPU: on v1 the cpuacct controller counts, in nanoseconds; on v2
	// cpu.stat is there in every node, in microseconds.
	switch lay.Where("cpuacct") {
	case V1:
		dir := lay.FileDir("cpuacct", rel)
		for _, f := range []struct {
			file string
			dst  *time.Duration
		}{{"cpuacct.usage", &u.CPU}, {"cpuacct.usage_user", &u.CPUUser}, {"cpuacct.usage_sys", &u.CPUSystem}} {
			n, e := readUint(filepath.Join(dir, f.file))
			if e != nil {
				err = e
			}
			*f.dst = time.Duration(n)
		}
	default:
		if lay.V2 != "" {
			kv, e := readKV(filepath.Join(lay.V2, rel, "cpu.stat"))
			if e != nil {
				err = e
			}
			u.CPU = time.Duration(kv["usage_usec"]) * time.Microsecond
			u.CPUUser = time.Duration(kv["user_usec"]) * time.Microsecond
			u.CPUSystem = time.Duration(kv["system_usec"]) * time.Microsecond
		}
	}
	// Memory, and the kernel's part of it.
	switch lay.Where("memory") {
	case V1:
		dir := lay.FileDir("memory", rel)
		n, e := readUint(filepath.Join(dir, "memory.usage_in_bytes"))
		if e != nil {
			err = e
		}
		u.Memory = n
		if k, e := readUint(filepath.Join(dir, "memory.kmem.usage_in_bytes")); e == nil {
			u.KMem, u.HasKMem = k, true
		}
	case V2:
		dir := lay.FileDir("memory", rel)
		n, e := readUint(filepath.Join(dir, "memory.current"))
		if e != nil {
			err = e
		}
		u.Memory = n
		if kv, e := readKV(filepath.Join(dir, "memory.stat")); e == nil {
			u.KMem, u.HasKMem = kv["kernel"], true
		}
	}
	if dir := lay.FileDir("pids", rel); dir != "" {
		n, e := readUint(filepath.Join(dir, "pids.current"))
		if e != nil {
			err = e
		}
		u.Pids = n
	}
	return u, err
}

// CPUPercent is the CPU use between two readings, as a percentage of one
// CPU (top's convention: two busy CPUs are 200%), in total and split into
// user and system time.
func CPUPercent(before, after Usage) (total, user, system float64) {
	wall := after.At.Sub(before.At)
	if wall <= 0 {
		return 0, 0, 0
	}
	pct := func(a, b time.Duration) float64 { return 100 * float64(b-a) / float64(wall) }
	return pct(before.CPU, after.CPU), pct(before.CPUUser, after.CPUUser), pct(before.CPUSystem, after.CPUSystem)
}

// HumanBytes writes n as lxc-info does: "1.20 MiB".
func HumanBytes(n uint64) string {
	units := []string{"bytes", "KiB", "MiB", "GiB", "TiB"}
	v := float64(n)
	i := 0
	for v >= 1024 && i < len(units)-1 {
		v /= 1024
		i++
	}
	if i == 0 {
		return strconv.FormatUint(n, 10) + " bytes"
	}
	return strconv.FormatFloat(v, 'f', 2, 64) + " " + units[i]
}

func readUint(path string) (uint64, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return 0, err
	}
	return strconv.ParseUint(strings.TrimSpace(string(b)), 10, 64)
}
