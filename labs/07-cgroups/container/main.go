// Command container is lab 07's program: it runs a command in a cgroup of
// its own with a memory and a pids limit, like steps/07-cgroups.
//
// usage:
//
//	container MEMORY PIDS CMD [ARG...]    e.g. container 32M 10 sh
//
// This file makes the node and cleans up; limits.go is yours: write the
// limits and move the process in (and, for the stretch goal, have the
// command born in the node). The grader builds limits_solution.go instead
// with -solution.
package main

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"syscall"
)

func main() {
	if len(os.Args) < 4 {
		fmt.Fprintln(os.Stderr, "usage: container MEMORY PIDS CMD [ARG...]")
		os.Exit(2)
	}
	code, err := run(os.Args[1], os.Args[2], os.Args[3:])
	if err != nil {
		fmt.Fprintln(os.Stderr, "container:", err)
		os.Exit(1)
	}
	os.Exit(code)
}

// Node is where the node's memory and pids files are, and their names on
// this host's layout.
type Node struct {
	MemDir, PidsDir string
	// MemLimit is memory.limit_in_bytes (v1) or memory.max (v2).
	MemLimit string
	// Unified is the node's directory on the cgroup v2 hierarchy: the
	// same as MemDir on a v2 host, one of its own under
	// /sys/fs/cgroup/unified on a hybrid host, "" on a v1 host that has
	// no v2 hierarchy. It is for the stretch goal: only a v2 directory
	// can take a process as clone3(2) creates it.
	Unified string
}

// NodeFor lays out the node lab07-PID on a v2, hybrid or v1 host.
func NodeFor(pid int) Node {
	name := "lab07-" + strconv.Itoa(pid)
	if _, err := os.Stat("/sys/fs/cgroup/cgroup.controllers"); err == nil {
		dir := filepath.Join("/sys/fs/cgroup", name)
		return Node{dir, dir, "memory.max", dir}
	}
	n := Node{filepath.Join("/sys/fs/cgroup/memory", name), filepath.Join("/sys/fs/cgroup/pids", name), "memory.limit_in_bytes", ""}
	if _, err := os.Stat("/sys/fs/cgroup/unified/cgroup.controllers"); err == nil {
		n.Unified = filepath.Join("/sys/fs/cgroup/unified", name)
	}
	return n
}

// dirs returns the node's directories, each once.
func (n Node) dirs() []string {
	var ds []string
	for _, d := range []string{n.MemDir, n.PidsDir, n.Unified} {
		if d != "" && !slices.Contains(ds, d) {
			ds = append(ds, d)
		}
	}
	return ds
}

func run(memory, pids string, args []string) (int, error) {
	n := NodeFor(os.Getpid())
	if n.MemDir == n.PidsDir {
		if err := os.WriteFile("/sys/fs/cgroup/cgroup.subtree_control", []byte("+memory +pids"), 0); err != nil {
			return 0, err
		}
	}
	for _, d := range n.dirs() {
		if err := os.MkdirAll(d, 0o755); err != nil {
			return 0, err
		}
		defer os.Remove(d)
	}
	if err := writeLimits(n, memory, pids); err != nil {
		return 0, err
	}
	if err := join(n, os.Getpid()); err != nil {
		return 0, err
	}
	cmd := exec.Command(args[0], args[1:]...)
	cmd.Stdin, cmd.Stdout, cmd.Stderr = os.Stdin, os.Stdout, os.Stderr
	if err := intoCgroup(n, cmd); err != nil {
		return 0, err
	}
	err := cmd.Run()
	// Leave the node so that it can be removed.
	for _, d := range n.dirs() {
		os.WriteFile(filepath.Join(filepath.Dir(d), "cgroup.procs"), []byte(strconv.Itoa(os.Getpid())), 0)
	}
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		if ws, ok := ee.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
			return 128 + int(ws.Signal()), nil
		}
		return ee.ExitCode(), nil
	}
	return 0, err
}
