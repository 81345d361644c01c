package checkconfig

import (
	"bufio"
	"fmt"
	"os"
	"slices"
	"strings"

	"github.com/contain-dev/contain/tool/probe"
)

// parseMountinfo reads a /proc/self/mountinfo text with the parser the
// probe uses (see probe.ParseMountinfo). The kernel writes no malformed
// line; should one appear, the lines before it are still checked.
func parseMountinfo(text string) []probe.Mount {
	ms, _ := probe.ParseMountinfo(strings.NewReader(text))
	return ms
}

// The cgroup modes, as CgroupMode returns them.
const (
	CgroupV1     = "v1"
	CgroupV2     = "v2"
	CgroupHybrid = "hybrid"
	CgroupNone   = "none"
)

// CgroupMode tells the layout from the mount table: "v1" when only cgroup
// (v1) hierarchies are mounted, "v2" when only cgroup2 is (the unified
// hierarchy, usually at /sys/fs/cgroup), "hybrid" when both are (systemd's
// layout: v1 controllers and a cgroup2 at /sys/fs/cgroup/unified), "none".
// Equivalent to: grep -E ' - cgroup2? ' /proc/self/mountinfo
func CgroupMode(ms []probe.Mount) string {
	v1, v2 := false, false
	for _, m := range ms {
		v1 = v1 || m.FSType == "cgroup"
		v2 = v2 || m.FSType == "cgroup2"
	}
	switch {
	case v1 && v2:
		return CgroupHybrid
	case v1:
		return CgroupV1
	case v2:
		return CgroupV2
	}
	return CgroupNone
}

// v1Controllers returns the controllers a cgroup v1 hierarchy carries,
// from its super options: "rw,cpu,cpuacct" is cpu and cpuacct, and a named
// hierarchy such as "name=systemd" stays as it is.
func v1Controllers(superOptions string) []string {
	var cs []string
	for _, o := range strings.Split(superOptions, ",") {
		switch o {
		case "rw", "ro", "clone_children", "noprefix", "xattr", "cpuset_v2_mode", "favordynmods", "nsdelegate", "memory_recursiveprot":
			continue
		}
		if strings.HasPrefix(o, "release_agent=") {
			continue
		}
		cs = append(cs, o)
	}
	return cs
}

// cgroupControllers lists the controllers the later chapters use, with
// their v2 name and, for the three that v2 folds into its core, where v2
// keeps their job.
var cgroupControllers = []struct {
	v1, v2, v2core string
}{
	{"cpu", "cpu", ""},
	{"cpuacct", "", "cpu.stat, in every v2 cgroup"},
	{"cpuset", "cpuset", ""},
	{"memory", "memory", ""},
	{"devices", "", "an eBPF program (CONFIG_CGROUP_BPF)"},
	{"freezer", "", "cgroup.freeze, in every v2 cgroup"},
	{"blkio", "io", ""},
	{"pids", "pids", ""},
	{"hugetlb", "hugetlb", ""},
}

// cgroups reports the mode, every cgroup mount with its controllers, and
// where each controller contain uses can be found.
func cgroups(h *Host, kc KernelConfig) []Finding {
	mountinfo, _ := h.read("/proc/self/mountinfo")
	ms := parseMountinfo(mountinfo)
	mode := CgroupMode(ms)
	fs := []Finding{modeFinding(mode)}

	v1At := map[string]string{} // controller -> mount point
	var v2At string
	var v2Controllers []string
	for _, m := range ms {
		switch m.FSType {
		case "cgroup":
			cs := v1Controllers(m.SuperOptions)
			for _, c := range cs {
				if _, dup := v1At[c]; !dup {
					v1At[c] = m.MountPoint
				}
			}
			fs = append(fs, Finding{Section: SectionCgroups, Name: "v1 mount " + m.MountPoint, Status: OK, Value: strings.Join(cs, ",")})
		case "cgroup2":
			// cgroup.controllers in the root of the hierarchy lists
			// the controllers bound to v2 (see cgroups(7)); a
			// controller is on v1 or on v2, never on both.
			text, _ := h.read(m.MountPoint + "/cgroup.controllers")
			cs := strings.Fields(text)
			f := Finding{Section: SectionCgroups, Name: "v2 mount " + m.MountPoint, Status: OK, Value: strings.Join(cs, " ")}
			if len(cs) == 0 {
				f.Value = "(no controllers)"
			}
			if mode == CgroupHybrid && len(cs) > 0 {
				f.Status = Warn
				f.Hint = "crun refuses hybrid hosts while this cgroup2 has controllers (\"cgroups in hybrid mode not supported\"); runc and lxc do not mind"
			}
			if v2At == "" {
				v2At, v2Controllers = m.MountPoint, cs
			}
			fs = append(fs, f)
		}
	}

	known := procCgroups(h)
	for _, c := range cgroupControllers {
		f := Finding{Section: SectionCgroups, Name: c.v1 + " controller", Status: OK}
		switch {
		case v1At[c.v1] != "":
			f.Value = "v1 at " + v1At[c.v1]
		case v2At != "" && c.v2 != "" && slices.Contains(v2Controllers, c.v2):
			f.Value = fmt.Sprintf("v2 (%s) at %s", c.v2, v2At)
		case mode == CgroupV2 && c.v2core != "":
			f.Value = "v2: " + c.v2core
		case known[c.v1]:
			f.Status, f.Value = Warn, "enabled, not mounted"
			f.Hint = fmt.Sprintf("the kernel has it but no hierarchy carries it: mkdir /sys/fs/cgroup/%s && mount -t cgroup -o %s cgroup /sys/fs/cgroup/%s", c.v1, c.v1, c.v1)
		default:
			f.Status, f.Value = Missing, "missing"
			f.Hint = "limits on " + c.v1 + " (chapter 07) will not work: the kernel lacks it or boots with cgroup_disable=" + c.v1
		}
		fs = append(fs, f)
	}
	return append(fs, option(h, kc, SectionCgroups, "Cgroup BPF", "CONFIG_CGROUP_BPF", "",
		"cgroup v2 has no devices controller: its device allow-list is an eBPF program attached with it (the devices chapter, to come)"))
}

// modeFinding names the cgroup mode, with what it means for contain.
func modeFinding(mode string) Finding {
	f := Finding{Section: SectionCgroups, Name: "Cgroup mode", Status: Info, Value: mode}
	switch mode {
	case CgroupV1:
		f.Hint = "one hierarchy per controller, each with its own files (memory.limit_in_bytes ...); no cgroup2 mounted"
	case CgroupV2:
		f.Value = "v2 (unified)"
		f.Hint = "one hierarchy for all controllers (memory.max ...), enabled per subtree in cgroup.subtree_control"
	case CgroupHybrid:
		f.Hint = "v1 controllers, plus a cgroup2 hierarchy for what is not bound to v1: limits go to the v1 files"
	default:
		f.Status = Warn
		f.Hint = "no cgroup filesystem is mounted: mount -t cgroup2 none /sys/fs/cgroup, or boot with systemd"
	}
	return f
}

// procCgroups returns the controllers /proc/cgroups lists as enabled (the
// fourth column), whether or not they are mounted.
func procCgroups(h *Host) map[string]bool {
	enabled := map[string]bool{}
	f, err := os.Open(h.path("/proc/cgroups"))
	if err != nil {
		return enabled
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		fields := strings.Fields(sc.Text())
		if len(fields) == 4 && !strings.HasPrefix(fields[0], "#") {
			enabled[fields[0]] = fields[3] == "1"
		}
	}
	return enabled
}
