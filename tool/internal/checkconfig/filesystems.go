package checkconfig

import (
	"fmt"
	"os"
	"slices"
	"strings"
	"syscall"

	"github.com/contain-dev/contain/tool/probe"
	"golang.org/x/sys/unix"
)

// filesystems reports the filesystems the chapters mount, /dev/fuse, and
// the root mount: its propagation and whether pivot_root(2) can move it.
// /proc/filesystems lists only what is registered now: a filesystem built
// as a module appears there after its first mount (the kernel loads the
// module then), so the kernel config has the last word.
func filesystems(h *Host, kc KernelConfig) []Finding {
	text, _ := h.read("/proc/filesystems")
	var known []string
	for _, l := range strings.Split(text, "\n") {
		// "nodev\toverlay" or "\text4": the name is the last field.
		if f := strings.Fields(l); len(f) > 0 {
			known = append(known, f[len(f)-1])
		}
	}
	var fs []Finding
	for _, fsys := range []struct{ name, opt, hint string }{
		{"overlay", "CONFIG_OVERLAY_FS", "snapshots and the overlay storage driver (the storage chapter, to come) need it"},
		{"fuse", "CONFIG_FUSE_FS", "the /proc views (a FUSE filesystem, as LXCFS is; a chapter to come) need it"},
		{"btrfs", "CONFIG_BTRFS_FS", "only the btrfs storage driver (the storage chapter, to come) needs it; the others work without"},
	} {
		if slices.Contains(known, fsys.name) {
			fs = append(fs, Finding{Section: SectionFilesystems, Name: fsys.name, Status: OK, Value: "enabled"})
			continue
		}
		fs = append(fs, option(h, kc, SectionFilesystems, fsys.name, fsys.opt, fsys.name, fsys.hint))
	}
	fs = append(fs, devFuse(h))

	mountinfo, _ := h.read("/proc/self/mountinfo")
	return append(fs, rootMount(parseMountinfo(mountinfo))...)
}

// devFuse checks that /dev/fuse is the FUSE character device, 10:229
// (see Documentation/admin-guide/devices.txt).
// Equivalent to: stat -c '%F %t:%T' /dev/fuse
func devFuse(h *Host) Finding {
	f := Finding{Section: SectionFilesystems, Name: "/dev/fuse"}
	st, err := os.Stat(h.path("/dev/fuse"))
	switch {
	case err != nil:
		f.Status, f.Value, f.Hint = Missing, "missing", "FUSE filesystems cannot be mounted: mknod -m 666 /dev/fuse c 10 229"
		return f
	case st.Mode()&os.ModeCharDevice == 0:
		f.Status, f.Value, f.Hint = Missing, "not a character device", "remove it and mknod -m 666 /dev/fuse c 10 229"
		return f
	}
	rdev := uint64(st.Sys().(*syscall.Stat_t).Rdev)
	f.Value = fmt.Sprintf("character device %d:%d", unix.Major(rdev), unix.Minor(rdev))
	if unix.Major(rdev) != 10 || unix.Minor(rdev) != 229 {
		f.Status, f.Hint = Warn, "FUSE is 10:229: mknod -m 666 /dev/fuse c 10 229"
		return f
	}
	f.Status = OK
	return f
}

// Propagation turns mountinfo's optional fields into the word findmnt(8)
// prints: "shared", "slave", "unbindable" or "private" (no tag), the
// propagation types of mount_namespaces(7).
func Propagation(optional string) string {
	var words []string
	for _, tag := range strings.Fields(optional) {
		switch {
		case strings.HasPrefix(tag, "shared:"):
			words = append(words, "shared")
		case strings.HasPrefix(tag, "master:"):
			words = append(words, "slave")
		case tag == "unbindable":
			words = append(words, "unbindable")
		}
	}
	if len(words) == 0 {
		return "private"
	}
	return strings.Join(words, ",")
}

// rootMount reports the propagation of / and its filesystem type. The last
// mount at "/" is the one in use when several are stacked.
func rootMount(ms []probe.Mount) []Finding {
	var root *probe.Mount
	for i := range ms {
		if ms[i].MountPoint == "/" {
			root = &ms[i]
		}
	}
	if root == nil {
		return []Finding{{Section: SectionFilesystems, Name: "Root mount", Status: Missing, Required: true,
			Value: "not in /proc/self/mountinfo", Hint: "is /proc mounted? contain reads the mount table to make / private"}}
	}
	prop := Finding{Section: SectionFilesystems, Name: "Propagation of /", Status: Info, Value: Propagation(root.Optional)}
	if strings.Contains(prop.Value, "shared") {
		prop.Value += " (" + root.Optional + ")"
		prop.Hint = "mounts made in a new mount namespace would show up here too: contain makes / private inside its own namespace first (mount --make-rprivate /)"
	} else {
		prop.Hint = "mounts do not propagate from /; systemd hosts have it shared, and contain makes it private in its namespace either way"
	}
	fstype := Finding{Section: SectionFilesystems, Name: "Root filesystem", Status: OK, Value: root.FSType, Required: true}
	if root.FSType == "rootfs" {
		fstype.Status = Missing
		fstype.Hint = "pivot_root(2) cannot move the initramfs root, so contain run fails: boot with root= on a real filesystem, or use contain chroot"
	}
	return []Finding{prop, fstype}
}
