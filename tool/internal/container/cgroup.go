package container

import (
	"errors"
	"path/filepath"
	"sort"
	"strings"
	"syscall"

	"github.com/contain-dev/contain/tool/internal/cgroup"
	"github.com/contain-dev/contain/tool/internal/rootfs"
	"github.com/contain-dev/contain/tool/internal/state"
)

// ErrCgroupNeedsRoot is setupCgroup's answer to a cgroup asked for
// without root: nobody delegated a cgroup subtree to this user, and
// cgroupfs is writable by root only.
var ErrCgroupNeedsRoot = errors.New("cgroup limits need root: cgroupfs is writable by root only")

// setupCgroup gives the container its own cgroup node with the limits,
// places it there before any container code runs, and gives it a cgroup
// namespace and a read-only view of its node at /sys/fs/cgroup. The
// order:
//
//  1. check every limit against the host, before anything is created;
//  2. name the node in the record, then create contain/NAME in every
//     hierarchy and write the limits;
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
func setupCgroup(b *build) error {
	limits := b.cfg.Cgroup
	if limits == nil {
		return nil // rootless without limits: the caller's cgroup
	}
	if b.rootless {
		return ErrCgroupNeedsRoot
	}
	lay, err := cgroup.Detect()
	if err != nil {
		return err
	}
	online, err := cgroup.OnlineCPUs()
	if err != nil {
		return err
	}
	if err := limits.Validate(lay, online); err != nil {
		return err
	}
	name := b.rec.Name
	b.rec.Cgroup = &CgroupPart{Name: name, Memory: limits.Memory}
	if lay.Mode == cgroup.V2 {
		// Made now, before the clone: the record names it first.
		if err := b.save(); err != nil {
			return err
		}
		cg, err := cgroup.Create(lay, name, limits)
		if err != nil {
			return err
		}
		dir, err := cg.OpenDir()
		if err != nil {
			return err
		}
		b.closers = append(b.closers, dir.Close)
		if b.opts.SysProcAttr == nil {
			b.opts.SysProcAttr = &syscall.SysProcAttr{}
		}
		b.opts.SysProcAttr.UseCgroupFD = true
		b.opts.SysProcAttr.CgroupFD = int(dir.Fd())
	} else {
		// Refuse a node of that name now, before there is a child.
		if err := cgroup.Open(lay, name).CheckFree(); err != nil {
			return err
		}
		b.opts.Prepare = append(b.opts.Prepare, func(pid int) error {
			cg, err := cgroup.Create(lay, name, limits)
			if err != nil {
				return err
			}
			return cg.Add(pid)
		})
	}
	b.init.CgroupNS = true
	// A v1 hierarchy can only be mounted with CAP_SYS_ADMIN in the initial
	// user namespace; in a user namespace (chapter 06) only cgroup2 can.
	if !b.init.UserNS || lay.Mode == cgroup.V2 {
		b.init.Cgroupfs = cgroupMounts(lay)
	}
	return nil
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

// oomKills is how many processes of the container's node the OOM killer
// killed; 0 when it cannot tell.
func oomKills(p *CgroupPart) uint64 {
	lay, err := cgroup.Detect()
	if err != nil {
		return 0
	}
	n, _ := cgroup.Open(lay, p.Name).OOMKills()
	return n
}

// destroyCgroup removes the container's node. Its processes have died
// with the first one (the kernel kills the rest of a PID namespace when
// its pid 1 ends); what is left after a creator's death is killed (see
// cgroup.Cgroup.Kill).
func destroyCgroup(r *Record) error {
	if r.Cgroup == nil {
		return nil
	}
	lay, err := cgroup.Detect()
	if err != nil {
		return err
	}
	return cgroup.Open(lay, r.Cgroup.Name).Kill()
}

// scanCgroups finds nodes under contain/ that no record accounts for, and
// removes the empty ones: those a creator left when its record was lost,
// and those made by hand with contain cgroup create. A node with
// processes is reported, not touched.
func scanCgroups() ([]Finding, error) {
	lay, err := cgroup.Detect()
	if err != nil {
		return nil, err
	}
	var found []Finding
	for _, name := range cgroup.Names(lay) {
		if state.Exists(name) {
			continue // a record exists: CleanOrphans decides
		}
		cg := cgroup.Open(lay, name)
		pids, _ := cg.Procs()
		if len(pids) == 0 {
			if err := cg.Delete(); err != nil {
				return found, err
			}
		}
		found = append(found, Finding{Concern: "cgroup", Name: name, Pids: pids})
	}
	return found, nil
}
