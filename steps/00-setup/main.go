// Command setup checks by hand a few things a container runtime depends
// on, reading only /proc and statfs(2), and prints one "what: value" line
// for each:
//
//   - the namespace types this kernel has (the entries of /proc/self/ns);
//   - whether overlay, fuse and btrfs are in /proc/filesystems;
//   - the propagation of / (mountinfo's optional fields);
//   - the cgroup mode, v1, v2 or hybrid (/proc/mounts and statfs).
//
// It is chapter 00's step; `contain checkconfig` does the same and more.
//
// usage: setup
package main

import (
	"bufio"
	"fmt"
	"os"
	"slices"
	"strings"

	"golang.org/x/sys/unix"
)

// namespaces lists /proc/self/ns: one symlink per namespace type the kernel
// was built with (namespaces(7)). Equivalent to: ls /proc/self/ns
func namespaces() ([]string, error) {
	entries, err := os.ReadDir("/proc/self/ns")
	if err != nil {
		return nil, err
	}
	var names []string
	for _, e := range entries {
		names = append(names, e.Name())
	}
	return names, nil // ReadDir sorts by name
}

// filesystems returns the filesystem types the kernel can mount now, from
// /proc/filesystems: lines such as "nodev\toverlay" or "\text4", where
// "nodev" marks those that need no block device.
// Equivalent to: cut -f2 /proc/filesystems
func filesystems() ([]string, error) {
	b, err := os.ReadFile("/proc/filesystems")
	if err != nil {
		return nil, err
	}
	var types []string
	for _, l := range strings.Split(string(b), "\n") {
		if _, name, ok := strings.Cut(l, "\t"); ok {
			types = append(types, name)
		}
	}
	return types, nil
}

// rootPropagation reads the line of / in /proc/self/mountinfo. Its seventh
// field on holds optional tags up to a lone "-": "shared:N" (mount and
// unmount events spread to peer group N), "master:N" (received from N),
// none at all for a private mount (proc(5), mount_namespaces(7)).
// Equivalent to: findmnt -no PROPAGATION /
func rootPropagation() (string, error) {
	f, err := os.Open("/proc/self/mountinfo")
	if err != nil {
		return "", err
	}
	defer f.Close()
	prop := ""
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		fields := strings.Fields(sc.Text())
		if len(fields) < 7 || fields[4] != "/" {
			continue
		}
		// The last line for / wins: it is the mount on top.
		prop = "private"
		var tags []string
		for _, tag := range fields[6:] {
			if tag == "-" {
				break
			}
			switch {
			case strings.HasPrefix(tag, "shared:"):
				tags = append(tags, "shared")
			case strings.HasPrefix(tag, "master:"):
				tags = append(tags, "slave")
			case tag == "unbindable":
				tags = append(tags, "unbindable")
			}
		}
		if len(tags) > 0 {
			prop = strings.Join(tags, ",")
		}
	}
	if prop == "" {
		return "", fmt.Errorf("no mount at / in /proc/self/mountinfo")
	}
	return prop, sc.Err()
}

// cgroupMounts returns the mount points of cgroup (v1) and cgroup2
// filesystems, from /proc/mounts ("cgroup2 /sys/fs/cgroup cgroup2 rw 0 0").
// Equivalent to: awk '$3 ~ /^cgroup/' /proc/mounts
func cgroupMounts() (v1, v2 []string, err error) {
	b, err := os.ReadFile("/proc/mounts")
	if err != nil {
		return nil, nil, err
	}
	for _, l := range strings.Split(string(b), "\n") {
		f := strings.Fields(l)
		if len(f) < 3 {
			continue
		}
		switch f[2] {
		case "cgroup":
			v1 = append(v1, f[1])
		case "cgroup2":
			v2 = append(v2, f[1])
		}
	}
	return v1, v2, nil
}

// cgroupMode decides as systemd does: if /sys/fs/cgroup itself is a
// cgroup2 filesystem, the host is v2 (unified); if it is a tmpfs holding
// v1 hierarchies, the host is hybrid when a cgroup2 is mounted too and v1
// otherwise. Equivalent to: stat -f -c %T /sys/fs/cgroup
func cgroupMode(v1, v2 []string) (mode, fstype string, err error) {
	var st unix.Statfs_t
	if err := unix.Statfs("/sys/fs/cgroup", &st); err != nil {
		return "none", "", fmt.Errorf("statfs /sys/fs/cgroup: %w", err)
	}
	switch st.Type {
	case unix.CGROUP2_SUPER_MAGIC:
		return "v2", "cgroup2fs", nil
	case unix.TMPFS_MAGIC:
		fstype = "tmpfs"
	default:
		fstype = fmt.Sprintf("0x%x", st.Type)
	}
	switch {
	case len(v1) > 0 && len(v2) > 0:
		return "hybrid", fstype, nil
	case len(v1) > 0:
		return "v1", fstype, nil
	}
	return "none", fstype, nil
}

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "setup:", err)
		os.Exit(1)
	}
}

// run prints the facts in order, stopping at the first that cannot be read.
func run() error {
	ns, err := namespaces()
	if err != nil {
		return err
	}
	fmt.Printf("namespaces: %s\n", strings.Join(ns, " "))

	types, err := filesystems()
	if err != nil {
		return err
	}
	for _, t := range []string{"overlay", "fuse", "btrfs"} {
		fmt.Printf("%s: %v\n", t, slices.Contains(types, t))
	}

	prop, err := rootPropagation()
	if err != nil {
		return err
	}
	fmt.Printf("propagation of /: %s\n", prop)

	v1, v2, err := cgroupMounts()
	if err != nil {
		return err
	}
	mode, fstype, err := cgroupMode(v1, v2)
	if err != nil {
		return err
	}
	fmt.Printf("/sys/fs/cgroup: %s\n", fstype)
	fmt.Printf("cgroup v1 mounts: %d\n", len(v1))
	if len(v2) == 0 {
		v2 = []string{"(none)"}
	}
	fmt.Printf("cgroup2 mounts: %s\n", strings.Join(v2, " "))
	fmt.Printf("cgroup mode: %s\n", mode)
	return nil
}
