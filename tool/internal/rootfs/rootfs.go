// Package rootfs turns a directory into a container's root filesystem: it
// checks the directory, mounts /proc, a minimal /dev and a read-only /sys
// inside it, and switches to it with pivot_root(2), or with plain chroot(2)
// for chapter 02.
package rootfs

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
)

// MountPoints are the directories inside a rootfs that contain mounts over.
// Each must be a real directory: a symlink there would let the rootfs point
// the mount at any path of the host (runc guards the same way, with
// securejoin).
var MountPoints = []string{"proc", "dev", "sys"}

// Why Dir refuses a directory, for errors.Is: each comes in a *DirError.
var (
	ErrNoDir    = errors.New("no rootfs given")
	ErrMissing  = errors.New("does not exist")
	ErrNotDir   = errors.New("is not a directory")
	ErrHostRoot = errors.New("is the host's own root")
)

// DirError is a directory that Dir refuses. It says what is wrong and no
// more: where a rootfs comes from is the caller's to say (the CLI names
// scripts/mkrootfs.sh, an OCI bundle its config.json).
type DirError struct {
	Dir string // as the caller gave it; "/" for the host's root
	Err error  // ErrNoDir, ErrMissing, ErrNotDir or ErrHostRoot
}

func (e *DirError) Error() string {
	if e.Err == ErrNoDir {
		return e.Err.Error()
	}
	return fmt.Sprintf("rootfs %s %v", e.Dir, e.Err)
}

func (e *DirError) Unwrap() error { return e.Err }

// Dir checks that dir is an existing directory other than the host's "/"
// and returns its absolute path. It is all that chroot needs.
func Dir(dir string) (string, error) {
	if dir == "" {
		return "", &DirError{Err: ErrNoDir}
	}
	abs, err := filepath.Abs(dir)
	if err != nil {
		return "", fmt.Errorf("rootfs %s: %w", dir, err)
	}
	st, err := os.Stat(abs)
	if errors.Is(err, fs.ErrNotExist) {
		return "", &DirError{Dir: dir, Err: ErrMissing}
	}
	if err != nil {
		return "", fmt.Errorf("rootfs %s: %w", dir, err)
	}
	if !st.IsDir() {
		return "", &DirError{Dir: dir, Err: ErrNotDir}
	}
	if abs == "/" {
		return "", &DirError{Dir: abs, Err: ErrHostRoot}
	}
	return abs, nil
}

// Validate checks, before anything is created or mounted, that dir can serve
// as a root filesystem for contain run, and returns its absolute path. Every
// mount point is checked first; only when all pass are missing ones created,
// so a refused rootfs is left exactly as it was. A symlinked mount point is
// refused.
func Validate(dir string) (string, error) {
	abs, err := Dir(dir)
	if err != nil {
		return "", err
	}
	var missing []string
	for _, name := range MountPoints {
		p := filepath.Join(abs, name)
		st, err := os.Lstat(p)
		switch {
		case errors.Is(err, fs.ErrNotExist):
			missing = append(missing, name)
		case err != nil:
			return "", fmt.Errorf("rootfs %s: %w", dir, err)
		case st.Mode()&fs.ModeSymlink != 0:
			return "", fmt.Errorf("rootfs %s: /%s is a symlink, which could aim the mount at the host: replace it with a directory (rm %s && mkdir %s)", dir, name, p, p)
		case !st.IsDir():
			return "", fmt.Errorf("rootfs %s: /%s is not a directory: replace it with one (mkdir %s)", dir, name, p)
		}
	}
	for _, name := range missing {
		if err := os.Mkdir(filepath.Join(abs, name), 0o755); err != nil {
			return "", fmt.Errorf("rootfs %s: create mount point /%s: %w", dir, name, err)
		}
	}
	return abs, nil
}
