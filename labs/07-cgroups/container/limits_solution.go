//go:build solution

package main

import (
	"fmt"
	"os"
	"path/filepath"
	"strconv"
)

// writeLimits writes the memory limit (n.MemLimit in n.MemDir) and
// pids.max (in n.PidsDir). The values are as given: the kernel parses
// "32M" itself.
func writeLimits(n Node, memory, pids string) error {
	if err := write(filepath.Join(n.MemDir, n.MemLimit), memory); err != nil {
		return err
	}
	return write(filepath.Join(n.PidsDir, "pids.max"), pids)
}

// join moves process pid into the node, in both directories, before the
// command is started: a child is born in its parent's cgroup.
func join(n Node, pid int) error {
	for _, d := range []string{n.MemDir, n.PidsDir} {
		if err := write(filepath.Join(d, "cgroup.procs"), strconv.Itoa(pid)); err != nil {
			return err
		}
	}
	return nil
}

func write(file, value string) error {
	if err := os.WriteFile(file, []byte(value), 0); err != nil {
		return fmt.Errorf("echo %s > %s: %w", value, file, err)
	}
	return nil
}
