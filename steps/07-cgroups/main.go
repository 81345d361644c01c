// Command cgroups is the step program of chapter 07: it puts a command in
// a cgroup of its own with a memory and a pids limit, by writing the
// cgroup files by hand, on a v1, v2 or hybrid host.
//
// usage:
//
//	cgroups MEMORY PIDS CMD [ARG...]    e.g. cgroups 32M 10 sh -c '...'
//
// It makes a node called step-PID in the memory and pids hierarchies,
// writes the limits, joins the node itself, starts CMD (a child is born
// in its parent's cgroup, see cgroups(7)), waits for it, reports an OOM
// kill, and removes the node. Needs root.
package main

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// node is the cgroup of one controller: its directory and the names of
// the files it writes there, which differ between v1 and v2.
type node struct {
	dir    string // /sys/fs/cgroup/memory/step-PID or /sys/fs/cgroup/step-PID
	limit  string // memory.limit_in_bytes or memory.max; pids.max on both
	events string // where the kernel counts OOM kills
}

func main() {
	if len(os.Args) < 4 {
		fmt.Fprintln(os.Stderr, "usage: cgroups MEMORY PIDS CMD [ARG...]   e.g. cgroups 32M 10 sh")
		os.Exit(2)
	}
	code, err := run(os.Args[1], os.Args[2], os.Args[3:])
	if err != nil {
		fmt.Fprintln(os.Stderr, "cgroups:", err)
		os.Exit(1)
	}
	os.Exit(code)
}

// unified tells whether /sys/fs/cgroup is cgroup2 (pure v2): it then
// has cgroup.controllers at its top. On v1 and hybrid hosts it is a
// tmpfs with one directory per hierarchy.
func unified() bool {
	_, err := os.Stat("/sys/fs/cgroup/cgroup.controllers")
	return err == nil
}

// nodes returns the memory and pids nodes for name, v1 or v2.
func nodes(name string) (memory, pids node) {
	if unified() {
		dir := filepath.Join("/sys/fs/cgroup", name)
		return node{dir, "memory.max", "memory.events"}, node{dir, "pids.max", ""}
	}
	return node{filepath.Join("/sys/fs/cgroup/memory", name), "memory.limit_in_bytes", "memory.oom_control"},
		node{filepath.Join("/sys/fs/cgroup/pids", name), "pids.max", ""}
}

// write writes value into a cgroup file, as echo VALUE > FILE does.
func write(file, value string) error {
	if err := os.WriteFile(file, []byte(value), 0); err != nil {
		return fmt.Errorf("echo %s > %s: %w", value, file, err)
	}
	return nil
}

func run(memory, pids string, args []string) (int, error) {
	name := "step-" + strconv.Itoa(os.Getpid())
	mem, pid := nodes(name)
	// 1. On v2, a node gets only the controllers its parent lists in
	//    cgroup.subtree_control. The root is exempt from the "no internal
	//    processes" rule, so enabling them there is allowed.
	if unified() {
		if err := write("/sys/fs/cgroup/cgroup.subtree_control", "+memory +pids"); err != nil {
			return 0, err
		}
	}
	// 2. mkdir makes the node; the kernel fills it with its files.
	for _, n := range []node{mem, pid} {
		if err := os.Mkdir(n.dir, 0o755); err != nil && !errors.Is(err, os.ErrExist) {
			return 0, fmt.Errorf("mkdir %s: %w", n.dir, err)
		}
		defer os.Remove(n.dir) // rmdir, once nothing is in it
	}
	// 3. The limits. The kernel parses "32M" itself (memparse).
	if err := write(filepath.Join(mem.dir, mem.limit), memory); err != nil {
		return 0, err
	}
	if err := write(filepath.Join(pid.dir, pid.limit), pids); err != nil {
		return 0, err
	}
	// 4. Join the node ourselves, before the child exists: fork(2) puts a
	//    child in its parent's cgroup, so the command cannot run a single
	//    instruction outside. cgroup.procs moves the whole process, every
	//    thread; v1's tasks file would move only the thread that writes.
	self := strconv.Itoa(os.Getpid())
	for _, n := range []node{mem, pid} {
		if err := write(filepath.Join(n.dir, "cgroup.procs"), self); err != nil {
			return 0, err
		}
	}
	// 5. Run the command, then read the OOM kill count while the node is
	//    still there.
	cmd := exec.Command(args[0], args[1:]...)
	cmd.Stdin, cmd.Stdout, cmd.Stderr = os.Stdin, os.Stdout, os.Stderr
	err := cmd.Run()
	if kills := oomKills(filepath.Join(mem.dir, mem.events)); kills > 0 {
		fmt.Fprintf(os.Stderr, "cgroups: the OOM killer killed %d process(es) at %s\n", kills, memory)
	}
	// 6. What the command left running in the background keeps the node
	//    busy: kill it, as the kernel does to a PID namespace whose init
	//    dies. Equivalent to: kill -9 $(cat cgroup.procs), but ourselves.
	killRest(filepath.Join(pid.dir, "cgroup.procs"), os.Getpid())
	// 7. Leave the node, or rmdir fails with EBUSY: move back to the
	//    root of each hierarchy.
	for _, n := range []node{mem, pid} {
		if err := write(filepath.Join(filepath.Dir(n.dir), "cgroup.procs"), self); err != nil {
			return 0, err
		}
	}
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		if ws, ok := ee.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
			return 128 + int(ws.Signal()), nil // as a shell reports it
		}
		return ee.ExitCode(), nil
	}
	return 0, err
}

// killRest sends SIGKILL to every process listed in procs but self, and
// waits, a few seconds at most, until self is the only one left.
func killRest(procs string, self int) {
	for try := 0; try < 100; try++ {
		b, err := os.ReadFile(procs)
		if err != nil {
			return
		}
		left := 0
		for _, f := range strings.Fields(string(b)) {
			if p, err := strconv.Atoi(f); err == nil && p != self {
				syscall.Kill(p, syscall.SIGKILL)
				left++
			}
		}
		if left == 0 {
			return
		}
		time.Sleep(30 * time.Millisecond)
	}
}

// oomKills reads the "oom_kill N" line of memory.oom_control (v1) or
// memory.events (v2).
func oomKills(file string) int {
	b, _ := os.ReadFile(file)
	for _, line := range strings.Split(string(b), "\n") {
		if n, ok := strings.CutPrefix(line, "oom_kill "); ok {
			k, _ := strconv.Atoi(n)
			return k
		}
	}
	return 0
}
