package rootfs

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"

	"golang.org/x/sys/unix"
)

// OpenTree makes a detached copy of the mount of a host file, to be
// attached inside a container by BindFiles. It runs on the host, where the
// source can be reached: a container's root may be the root of a user
// namespace mapped to an unprivileged uid, which cannot open a file under
// a closed directory such as /run/contain, and a file descriptor opened
// with O_PATH does not help, since mount(2) refuses (EINVAL) a bind whose
// source is a mount of another mount namespace. A detached mount belongs
// to no namespace yet, and move_mount(2) may attach it anywhere
// (open_tree(2), move_mount(2); runc passes its idmapped mounts the same
// way). Closing the file drops the copy if nobody attached it.
//
// Equivalent to: the first half of mount --bind $source $target
func OpenTree(source string) (*os.File, error) {
	fd, err := unix.OpenTree(unix.AT_FDCWD, source, unix.OPEN_TREE_CLONE|unix.OPEN_TREE_CLOEXEC)
	if err != nil {
		return nil, fmt.Errorf("open_tree %s: %w", source, err)
	}
	return os.NewFile(uintptr(fd), source), nil
}

// CreateTarget creates target, a path inside the rootfs root, as an empty
// regular file when it is missing, from the host, so that a container
// whose root cannot write the rootfs (a user namespace over a rootfs that
// belongs to the host's root) still has somewhere to bind a file. The
// rootfs is not to be trusted: openat2(2) with RESOLVE_IN_ROOT resolves
// its symlinks as if root were "/", so none can make the host write
// outside it, and O_EXCL leaves whatever exists alone, a symlink included.
// A missing parent directory is left to BindFiles. A target under one of
// MountPoints is left alone: it is a file of the /proc, /dev or /sys that
// Setup mounts there, which BindFiles finds in place, and a file made in
// the rootfs's empty mount point would only hide under that mount.
//
// Equivalent to: touch $root$target, without following a symlink out of $root
func CreateTarget(root, target string) error {
	target = filepath.Clean("/" + target)
	if top, _, _ := strings.Cut(target[1:], "/"); slices.Contains(MountPoints, top) {
		return nil
	}
	dir, err := unix.Open(root, unix.O_PATH|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		return fmt.Errorf("open rootfs %s: %w", root, err)
	}
	defer unix.Close(dir)
	fd, err := unix.Openat2(dir, target, &unix.OpenHow{
		Flags:   unix.O_CREAT | unix.O_EXCL | unix.O_WRONLY | unix.O_CLOEXEC,
		Mode:    0o644,
		Resolve: unix.RESOLVE_IN_ROOT | unix.RESOLVE_NO_MAGICLINKS,
	})
	if err == unix.EEXIST || err == unix.ENOENT {
		return nil // a file, a symlink BindFiles refuses, or no directory yet, which BindFiles makes
	}
	if err != nil {
		return fmt.Errorf("create %s in the rootfs: %w", target, err)
	}
	return unix.Close(fd)
}

// BindFiles puts host files over files of the container, such as the
// /etc/resolv.conf and /etc/hosts of chapter 08, without writing to the
// rootfs they may share with other containers. trees maps a path in the
// container to a file descriptor of the init stage holding a detached
// mount of the host file (see OpenTree). It runs last, after Setup's
// pivot_root(2) and every other mount of the new root: each target is
// found in the container's own root, as its processes will see it, and
// may be a file of the /proc or /sys mounted there (the /proc views
// chapter, still to come, covers /proc/meminfo). A missing target is
// created empty, as runc does for the targets of its bind mounts.
//
// Equivalent to: touch $target; the second half of mount --bind $source $target
func BindFiles(trees map[string]int) error {
	targets := make([]string, 0, len(trees))
	for t := range trees {
		targets = append(targets, t)
	}
	sort.Strings(targets)
	for _, t := range targets {
		dst := filepath.Clean("/" + t)
		st, err := os.Lstat(dst)
		if err == nil && !st.Mode().IsRegular() {
			// move_mount(2) follows a symlink, which the rootfs may aim
			// at any file of the container.
			return fmt.Errorf("%s in the rootfs is not a regular file: replace it with one", t)
		}
		if os.IsNotExist(err) {
			if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
				return err
			}
			f, err := os.OpenFile(dst, os.O_CREATE|os.O_WRONLY, 0o644)
			if err != nil {
				return fmt.Errorf("create %s in the container: %w", t, err)
			}
			f.Close()
		}
		if err := unix.MoveMount(trees[t], "", unix.AT_FDCWD, dst, unix.MOVE_MOUNT_F_EMPTY_PATH); err != nil {
			return fmt.Errorf("move_mount onto %s: %w", t, err)
		}
		unix.Close(trees[t])
		// A clone of a shared mount joins its peer group (open_tree(2)):
		// on a host whose /run is shared, as systemd makes it, the bound
		// file would stay a peer of the host's. The rest of the view was
		// made private before pivot_root; this comes after, so it is
		// made private here.
		if err := unix.Mount("", dst, "", unix.MS_PRIVATE, ""); err != nil {
			return fmt.Errorf("make %s private: %w", t, err)
		}
	}
	return nil
}
