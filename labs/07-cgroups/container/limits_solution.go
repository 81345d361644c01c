//go:build solution

package main

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"syscall"

	"golang.org/x/sys/unix"
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

// join moves process pid into the node before the command is started (a
// child is born in its parent's cgroup), in every directory but the v2
// one: there intoCgroup has the command born in the node, and the runner
// stays out.
func join(n Node, pid int) error {
	for _, d := range n.dirs() {
		if d == n.Unified {
			continue
		}
		if err := write(filepath.Join(d, "cgroup.procs"), strconv.Itoa(pid)); err != nil {
			return err
		}
	}
	return nil
}

// intoCgroup has cmd born in the node's v2 directory: os/exec then
// creates it with clone3(2) and CLONE_INTO_CGROUP, so there is no moment
// at which it runs elsewhere, and no process has to be moved. The
// descriptor stays open for the life of this runner, which is the
// command's; close-on-exec keeps it from the command.
//
// Equivalent to: nothing in a shell; the closest is
// echo $$ > $Unified/cgroup.procs && exec CMD, which moves the shell.
func intoCgroup(n Node, cmd *exec.Cmd) error {
	if n.Unified == "" {
		return nil // cgroup v1 alone: no CLONE_INTO_CGROUP
	}
	fd, err := unix.Open(n.Unified, unix.O_PATH|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		return fmt.Errorf("open %s: %w", n.Unified, err)
	}
	cmd.SysProcAttr = &syscall.SysProcAttr{UseCgroupFD: true, CgroupFD: fd}
	return nil
}

func write(file, value string) error {
	if err := os.WriteFile(file, []byte(value), 0); err != nil {
		return fmt.Errorf("echo %s > %s: %w", value, file, err)
	}
	return nil
}
