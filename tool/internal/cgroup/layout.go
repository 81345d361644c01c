// Package cgroup gives each container one cgroup node, named
// contain/NAME, in every cgroup hierarchy of the host, and sets its limits.
// It sits on github.com/containerd/cgroups/v3: cgroup1 for the v1
// hierarchies (one per controller, or a few co-mounted), cgroup2 for the
// unified one. One model covers the three layouts a host can have:
//
//	v1      every controller in its own hierarchy at /sys/fs/cgroup/CTRL
//	v2      one hierarchy at /sys/fs/cgroup with every controller
//	hybrid  v1 controllers, plus a cgroup2 at /sys/fs/cgroup/unified
//
// On a hybrid host each controller is used where it is mounted: a limit
// goes to the v1 hierarchy that carries its controller, or to the unified
// node when the controller is enabled there instead. See cgroups(7) and
// Documentation/admin-guide/cgroup-v2.rst.
package cgroup

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/contain-dev/contain/tool/probe"
	"github.com/containerd/cgroups/v3"
)

// Prefix is the directory every container's node lives under, in each
// hierarchy: contain/NAME. Orphans are found by it.
const Prefix = "contain"

// Layout is where the host mounts its cgroup hierarchies.
type Layout struct {
	// Mode is "v1", "v2" or "hybrid".
	Mode string
	// V1 maps each v1 controller ("memory", "cpu", "name=systemd", ...) to
	// the mount point of the hierarchy that carries it.
	V1 map[string]string
	// V2 is the mount point of the unified hierarchy, "" when there is none.
	V2 string
	// V2Controllers are the controllers available in the unified
	// hierarchy: its root's cgroup.controllers.
	V2Controllers []string
}

// The modes, as Layout.Mode holds them.
const (
	V1     = "v1"
	V2     = "v2"
	Hybrid = "hybrid"
)

// Detect reads the host's layout from /proc/self/mountinfo. It agrees with
// containerd's cgroups.Mode(), which only looks at /sys/fs/cgroup.
//
// Equivalent to: grep -E ' - cgroup2? ' /proc/self/mountinfo
func Detect() (*Layout, error) {
	b, err := os.ReadFile("/proc/self/mountinfo")
	if err != nil {
		return nil, err
	}
	l, err := ParseLayout(string(b), readControllers)
	if err != nil {
		return nil, err
	}
	if want := libraryMode(); want != "" && want != l.Mode {
		return nil, fmt.Errorf("cgroup layout: mountinfo says %s, /sys/fs/cgroup says %s: mount cgroups at /sys/fs/cgroup", l.Mode, want)
	}
	return l, nil
}

// libraryMode is containerd's view of the layout, in our words.
func libraryMode() string {
	switch cgroups.Mode() {
	case cgroups.Legacy:
		return V1
	case cgroups.Unified:
		return V2
	case cgroups.Hybrid:
		return Hybrid
	}
	return ""
}

// readControllers reads the controllers a cgroup2 mount offers.
func readControllers(mountpoint string) ([]string, error) {
	b, err := os.ReadFile(filepath.Join(mountpoint, "cgroup.controllers"))
	return strings.Fields(string(b)), err
}

// ParseLayout builds a Layout from the text of a mountinfo file (proc(5));
// controllers reads a cgroup2 mount's cgroup.controllers. A v1 mount's
// super options name its controllers: "rw,cpu,cpuacct" carries cpu and
// cpuacct, "rw,name=systemd" none but a name.
func ParseLayout(mountinfo string, controllers func(mountpoint string) ([]string, error)) (*Layout, error) {
	l := &Layout{V1: map[string]string{}}
	ms, err := probe.ParseMountinfo(strings.NewReader(mountinfo))
	if err != nil {
		return nil, err
	}
	for _, m := range ms {
		switch m.FSType {
		case "cgroup":
			for _, opt := range strings.Split(m.SuperOptions, ",") {
				if opt == "rw" || opt == "ro" || strings.Contains(opt, "=") && !strings.HasPrefix(opt, "name=") ||
					opt == "clone_children" || opt == "noprefix" || opt == "xattr" || opt == "cpuset_v2_mode" {
					continue
				}
				if _, seen := l.V1[opt]; !seen {
					l.V1[opt] = m.MountPoint
				}
			}
		case "cgroup2":
			if l.V2 != "" {
				continue
			}
			l.V2 = m.MountPoint
			cs, err := controllers(m.MountPoint)
			if err != nil {
				return nil, fmt.Errorf("cgroup2 at %s: %w", m.MountPoint, err)
			}
			l.V2Controllers = cs
		}
	}
	switch {
	case len(l.V1) > 0 && l.V2 != "":
		l.Mode = Hybrid
	case len(l.V1) > 0:
		l.Mode = V1
	case l.V2 != "":
		l.Mode = V2
	default:
		return nil, fmt.Errorf("no cgroup hierarchy is mounted: mount cgroup2 at /sys/fs/cgroup (mount -t cgroup2 none /sys/fs/cgroup)")
	}
	return l, nil
}

// Where tells where controller ctrl is mounted: "v1", "v2", or "" when
// nowhere. A controller bound to a v1 hierarchy cannot be enabled in the
// unified one at the same time (cgroup-v2.rst, "Deprecated v1 Core
// Features"), so the answer is unique.
func (l *Layout) Where(ctrl string) string {
	if _, ok := l.V1[ctrl]; ok {
		return V1
	}
	if slices.Contains(l.V2Controllers, ctrl) {
		return V2
	}
	return ""
}

// FileDir returns the directory that holds controller ctrl's files for a
// node at rel (relative to the hierarchy root), or "" when ctrl is not
// mounted.
func (l *Layout) FileDir(ctrl, rel string) string {
	switch l.Where(ctrl) {
	case V1:
		return filepath.Join(l.V1[ctrl], rel)
	case V2:
		return filepath.Join(l.V2, rel)
	}
	return ""
}
