package rootfs

import (
	"fmt"
	"os"
	"path/filepath"
	"sort"

	"golang.org/x/sys/unix"
)

// BindFiles puts host files over files of the container, such as the
// /etc/resolv.conf and /etc/hosts of chapter 08, without writing to the
// rootfs they may share with other containers. files maps a path in the
// container to a host file. It runs before Setup, in the container's mount
// namespace: "/" is made private first, and Setup's recursive bind of root
// onto itself carries these mounts along. A missing target is created
// empty, as runc does for the targets of its bind mounts.
//
// Equivalent to: touch $root$target; mount --bind $source $root$target
func BindFiles(root string, files map[string]string) error {
	if len(files) == 0 {
		return nil
	}
	if err := MakePrivate(); err != nil {
		return err
	}
	targets := make([]string, 0, len(files))
	for t := range files {
		targets = append(targets, t)
	}
	sort.Strings(targets)
	for _, t := range targets {
		dst := filepath.Join(root, filepath.Clean("/"+t))
		st, err := os.Lstat(dst)
		if err == nil && !st.Mode().IsRegular() {
			// mount(2) follows a symlink: it could point anywhere.
			return fmt.Errorf("%s in the rootfs is not a regular file: replace it with one", t)
		}
		if os.IsNotExist(err) {
			if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
				return err
			}
			f, err := os.OpenFile(dst, os.O_CREATE|os.O_WRONLY, 0o644)
			if err != nil {
				return fmt.Errorf("create %s in the rootfs: %w", t, err)
			}
			f.Close()
		}
		if err := unix.Mount(files[t], dst, "", unix.MS_BIND, ""); err != nil {
			return fmt.Errorf("bind %s on %s: %w", files[t], t, err)
		}
	}
	return nil
}
