package rootfs

import (
	"fmt"
	"os"
	"path/filepath"

	"golang.org/x/sys/unix"
)

// CgroupMount is one cgroup hierarchy to mount inside the container.
type CgroupMount struct {
	// Dir is where, under /sys/fs/cgroup: "memory", "unified", or "" for
	// /sys/fs/cgroup itself (a pure v2 host).
	Dir string `json:"dir"`
	// Type is "cgroup" (v1) or "cgroup2".
	Type string `json:"type"`
	// Options name a v1 hierarchy by its controllers ("cpu,cpuacct",
	// "none,name=systemd"); a mount with the same options joins the
	// host's hierarchy instead of making a new one.
	Options string `json:"options,omitempty"`
}

// MountCgroupfs mounts the cgroup hierarchies read-only at /sys/fs/cgroup,
// after pivot_root, the way the host lays them out: a tmpfs holding one
// directory per v1 hierarchy, or cgroup2 alone. It must run inside the
// container's cgroup namespace: a cgroup filesystem mounted there shows
// the namespace's root, the container's own node, as its root
// (cgroup_namespaces(7)), so the container sees its limits and nothing of
// the host's tree. Read-only, so that the container cannot raise them.
//
// Equivalent to: mount -t tmpfs -o nosuid,nodev,noexec,mode=755 tmpfs /sys/fs/cgroup &&
// mkdir /sys/fs/cgroup/memory && mount -t cgroup -o ro,memory cgroup /sys/fs/cgroup/memory &&
// ... && mount -o remount,ro,bind /sys/fs/cgroup
func MountCgroupfs(ms []CgroupMount) error {
	const base = "/sys/fs/cgroup"
	const flags = unix.MS_NOSUID | unix.MS_NODEV | unix.MS_NOEXEC
	if len(ms) == 1 && ms[0].Dir == "" {
		if err := unix.Mount("cgroup2", base, "cgroup2", flags|unix.MS_RDONLY, ""); err != nil {
			return fmt.Errorf("mount cgroup2 on %s: %w", base, err)
		}
		return nil
	}
	if err := unix.Mount("tmpfs", base, "tmpfs", flags, "mode=755"); err != nil {
		return fmt.Errorf("mount tmpfs on %s: %w", base, err)
	}
	for _, m := range ms {
		target := filepath.Join(base, m.Dir)
		if err := os.Mkdir(target, 0o755); err != nil {
			return fmt.Errorf("mkdir %s: %w", target, err)
		}
		if err := unix.Mount(m.Type, target, m.Type, flags|unix.MS_RDONLY, m.Options); err != nil {
			return fmt.Errorf("mount %s -o %s on %s: %w", m.Type, m.Options, target, err)
		}
	}
	// The tmpfs too: no new directories or mounts under it.
	if err := unix.Mount("", base, "", unix.MS_REMOUNT|unix.MS_BIND|unix.MS_RDONLY|flags, ""); err != nil {
		return fmt.Errorf("remount %s read-only: %w", base, err)
	}
	return nil
}
