package cgroup

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/containerd/cgroups/v3/cgroup1"
	"github.com/containerd/cgroups/v3/cgroup2"
	"golang.org/x/sys/unix"
)

// Cgroup is one container's node, contain/NAME, in every hierarchy of a
// layout. It is what run records in the container's state, so the fields
// are plain data.
type Cgroup struct {
	// Name is the container's name, the node's last path element.
	Name string `json:"name"`
	// Dirs are the node's directories, one per hierarchy, as created.
	Dirs []string `json:"dirs"`

	lay *Layout
}

// Rel returns the node's path relative to each hierarchy's root.
func Rel(name string) string { return "/" + Prefix + "/" + name }

// Open returns the node of the container called name in lay, whether or
// not it exists.
func Open(lay *Layout, name string) *Cgroup {
	c := &Cgroup{Name: name, lay: lay}
	seen := map[string]bool{}
	for _, mnt := range lay.V1 {
		if !seen[mnt] {
			seen[mnt] = true
			c.Dirs = append(c.Dirs, filepath.Join(mnt, Rel(name)))
		}
	}
	sort.Strings(c.Dirs)
	if lay.V2 != "" {
		c.Dirs = append(c.Dirs, filepath.Join(lay.V2, Rel(name)))
	}
	return c
}

// Exists tells whether any of the node's directories exists.
func (c *Cgroup) Exists() bool {
	for _, d := range c.Dirs {
		if _, err := os.Stat(d); err == nil {
			return true
		}
	}
	return false
}

// NodeError is a node that exists when it should not, or is missing when
// it should be there. How to remove or find one is the caller's to say.
type NodeError struct {
	Node string // the node's path in its hierarchies, "contain/web"
	Err  error  // fs.ErrExist or fs.ErrNotExist
}

func (e *NodeError) Error() string {
	if e.Err == fs.ErrExist {
		return fmt.Sprintf("cgroup %s exists already", e.Node)
	}
	return fmt.Sprintf("no cgroup %s: is the container running?", e.Node)
}

func (e *NodeError) Unwrap() error { return e.Err }

// CheckFree returns a *NodeError when a node of that name exists already,
// in any hierarchy: left by a killed container, or made by hand.
func (c *Cgroup) CheckFree() error {
	if c.Exists() {
		return &NodeError{Node: Rel(c.Name), Err: fs.ErrExist}
	}
	return nil
}

// v1Path is the cgroup1 Path of the node: the same relative path in
// every v1 hierarchy.
func (c *Cgroup) v1Path() cgroup1.Path { return cgroup1.StaticPath(Rel(c.Name)) }

// v1 loads the node's v1 part, nil when the layout has no v1 hierarchy.
// AllowAny: a hierarchy that lacks the node is skipped, not an error.
func (c *Cgroup) v1() (cgroup1.Cgroup, error) {
	if len(c.lay.V1) == 0 {
		return nil, nil
	}
	return cgroup1.Load(c.v1Path(), cgroup1.WithHierarchy(cgroup1.Default), func(ic *cgroup1.InitConfig) error {
		ic.InitCheck = cgroup1.AllowAny
		return nil
	})
}

// v2 is the node's unified part, nil when there is no unified hierarchy.
func (c *Cgroup) v2() (*cgroup2.Manager, error) {
	if c.lay.V2 == "" {
		return nil, nil
	}
	return cgroup2.Load(Rel(c.Name), cgroup2.WithMountpoint(c.lay.V2))
}

// v2Controllers are the controllers contain enables for its nodes in the
// unified hierarchy, when the host offers them there.
var v2Controllers = []string{"cpu", "cpuset", "io", "memory", "pids"}

// Create makes the node of the container called name in every hierarchy
// of lay and writes l into it. On failure it removes what it made. l must
// have passed Validate.
//
// Equivalent to: mkdir /sys/fs/cgroup/{memory,cpu,...}/contain/$name and
// echo $limit > .../memory.limit_in_bytes, and so on.
func Create(lay *Layout, name string, l *Limits) (c *Cgroup, err error) {
	c = Open(lay, name)
	if err := c.CheckFree(); err != nil {
		return nil, err
	}
	defer func() {
		if err != nil {
			c.Delete()
		}
	}()
	// 1. v1: containerd's cgroup1 makes the directory in each hierarchy
	//    (copying cpuset.cpus and cpuset.mems from the parent, which a new
	//    cpuset node lacks) and writes each subsystem's files.
	if len(lay.V1) > 0 {
		_, err := cgroup1.New(c.v1Path(), l.v1Resources(), cgroup1.WithHierarchy(cgroup1.Default), func(ic *cgroup1.InitConfig) error {
			ic.InitCheck = cgroup1.AllowAny
			return nil
		})
		if err != nil {
			return c, fmt.Errorf("create cgroup %s (v1): %w", Rel(name), err)
		}
	}
	// 2. v2: the node, then its controllers enabled from the root down
	//    (a node only gets a controller its parent lists in
	//    cgroup.subtree_control), then the limits.
	if lay.V2 != "" {
		m, err := cgroup2.NewManager(lay.V2, Rel(name), &cgroup2.Resources{})
		if err != nil {
			return c, fmt.Errorf("create cgroup %s (v2): %w", Rel(name), err)
		}
		var enable []string
		for _, ctrl := range v2Controllers {
			if lay.Where(ctrl) == V2 {
				enable = append(enable, ctrl)
			}
		}
		if len(enable) > 0 {
			if err := m.ToggleControllers(enable, cgroup2.Enable); err != nil {
				return c, fmt.Errorf("enable controllers %v for %s: %w", enable, Rel(name), err)
			}
		}
		if err := m.Update(l.v2Resources(lay)); err != nil {
			return c, fmt.Errorf("set limits of cgroup %s (v2): %w", Rel(name), err)
		}
	}
	return c, nil
}

// Attach opens the node of the container called name that Create made,
// or returns a *NodeError when there is none.
func Attach(lay *Layout, name string) (*Cgroup, error) {
	c := Open(lay, name)
	if !c.Exists() {
		return nil, &NodeError{Node: Rel(name), Err: fs.ErrNotExist}
	}
	return c, nil
}

// Set writes l into an existing node.
func (c *Cgroup) Set(l *Limits) error {
	v1, err := c.v1()
	if err != nil {
		return err
	}
	if v1 != nil {
		if err := v1.Update(l.v1Resources()); err != nil {
			return fmt.Errorf("set limits of %s (v1): %w", Rel(c.Name), err)
		}
	}
	v2, err := c.v2()
	if err != nil || v2 == nil {
		return err
	}
	if err := v2.Update(l.v2Resources(c.lay)); err != nil {
		return fmt.Errorf("set limits of %s (v2): %w", Rel(c.Name), err)
	}
	return nil
}

// Add moves process pid, with all its threads, into the node in every
// hierarchy. It writes cgroup.procs, not tasks: tasks moves one thread,
// and a Go program has several.
//
// Equivalent to: echo $pid > /sys/fs/cgroup/$ctrl/contain/$name/cgroup.procs
func (c *Cgroup) Add(pid int) error {
	v1, err := c.v1()
	if err != nil {
		return err
	}
	if v1 != nil {
		if err := v1.AddProc(uint64(pid)); err != nil {
			return fmt.Errorf("move pid %d into %s (v1): %w", pid, Rel(c.Name), err)
		}
	}
	v2, err := c.v2()
	if err != nil || v2 == nil {
		return err
	}
	if err := v2.AddProc(uint64(pid)); err != nil {
		return fmt.Errorf("move pid %d into %s (v2): %w", pid, Rel(c.Name), err)
	}
	return nil
}

// OpenDir opens the node's unified directory for clone3(2)'s
// CLONE_INTO_CGROUP (SysProcAttr.UseCgroupFD): the child starts in the
// node, so not one instruction of it runs outside. Only a pure v2 layout
// can do that: on v1 a process must be moved into each hierarchy after it
// exists.
func (c *Cgroup) OpenDir() (*os.File, error) {
	if c.lay.Mode != V2 {
		return nil, fmt.Errorf("clone into a cgroup needs a pure v2 layout, this host is %s", c.lay.Mode)
	}
	return os.OpenFile(filepath.Join(c.lay.V2, Rel(c.Name)), unix.O_DIRECTORY|unix.O_PATH|unix.O_CLOEXEC, 0)
}

// Procs returns the pids in the node, read from the first hierarchy that
// has it.
func (c *Cgroup) Procs() ([]int, error) {
	for _, d := range c.Dirs {
		b, err := os.ReadFile(filepath.Join(d, "cgroup.procs"))
		if errors.Is(err, fs.ErrNotExist) {
			continue
		}
		if err != nil {
			return nil, err
		}
		var pids []int
		for _, f := range strings.Fields(string(b)) {
			if p, err := strconv.Atoi(f); err == nil {
				pids = append(pids, p)
			}
		}
		return pids, nil
	}
	return nil, nil
}

// Freeze stops every process of the node: the v1 freezer
// (freezer.state FROZEN) where it is mounted, else v2's cgroup.freeze. It
// returns once the kernel reports the node frozen.
//
// Equivalent to: echo FROZEN > /sys/fs/cgroup/freezer/contain/$name/freezer.state
// or echo 1 > /sys/fs/cgroup/contain/$name/cgroup.freeze
func (c *Cgroup) Freeze() error { return c.freeze(true) }

// Thaw resumes the processes Freeze stopped.
//
// Equivalent to: echo THAWED > .../freezer.state, or echo 0 > .../cgroup.freeze
func (c *Cgroup) Thaw() error { return c.freeze(false) }

func (c *Cgroup) freeze(frozen bool) error {
	if c.lay.Where("freezer") == V1 {
		v1, err := c.v1()
		if err != nil {
			return err
		}
		if frozen {
			return v1.Freeze()
		}
		return v1.Thaw()
	}
	v2, err := c.v2()
	if err != nil {
		return err
	}
	if v2 == nil {
		return fmt.Errorf("no freezer: this host mounts neither the v1 freezer nor cgroup2")
	}
	if frozen {
		err = v2.Freeze()
	} else {
		err = v2.Thaw()
	}
	if err != nil {
		return err
	}
	// cgroup.freeze is the request; the kernel freezes the tasks one by
	// one and says it is done with "frozen 1" in cgroup.events
	// (cgroup-v2.rst, "Core interface files"). The library returns once
	// the request reads back, so wait for the kernel here, as runc does.
	return c.waitFrozen(frozen, 10*time.Second)
}

// waitFrozen waits until cgroup.events says the v2 node is frozen (or
// thawed), for at most limit.
//
// Equivalent to: until grep -qx "frozen 1" .../cgroup.events; do sleep 0.001; done
func (c *Cgroup) waitFrozen(frozen bool, limit time.Duration) error {
	want := uint64(0)
	if frozen {
		want = 1
	}
	events := filepath.Join(c.lay.V2, Rel(c.Name), "cgroup.events")
	for deadline := time.Now().Add(limit); ; time.Sleep(time.Millisecond) {
		kv, err := readKV(events)
		if err != nil {
			return err
		}
		if kv["frozen"] == want {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("%s still says frozen %d after %v", events, kv["frozen"], limit)
		}
	}
}

// State returns "FROZEN", "FREEZING" or "THAWED".
func (c *Cgroup) State() (string, error) {
	if c.lay.Where("freezer") == V1 {
		b, err := os.ReadFile(filepath.Join(c.lay.FileDir("freezer", Rel(c.Name)), "freezer.state"))
		return strings.TrimSpace(string(b)), err
	}
	// What was asked (cgroup.freeze) and what the kernel has done
	// (cgroup.events), as v1's FREEZING between the two.
	dir := filepath.Join(c.lay.V2, Rel(c.Name))
	b, err := os.ReadFile(filepath.Join(dir, "cgroup.freeze"))
	if err != nil {
		return "", err
	}
	kv, err := readKV(filepath.Join(dir, "cgroup.events"))
	switch {
	case err != nil:
		return "", err
	case kv["frozen"] == 1:
		return "FROZEN", nil
	case strings.TrimSpace(string(b)) == "1":
		return "FREEZING", nil
	}
	return "THAWED", nil
}

// OOMKills returns how many processes the OOM killer killed in the node:
// the oom_kill line of memory.oom_control (v1) or memory.events (v2).
//
// Equivalent to: grep oom_kill /sys/fs/cgroup/memory/contain/$name/memory.oom_control
func (c *Cgroup) OOMKills() (uint64, error) {
	file := "memory.events"
	if c.lay.Where("memory") == V1 {
		file = "memory.oom_control"
	}
	dir := c.lay.FileDir("memory", Rel(c.Name))
	if dir == "" {
		return 0, nil
	}
	kv, err := readKV(filepath.Join(dir, file))
	return kv["oom_kill"], err
}

// Delete removes the node from every hierarchy, and the contain directory
// above it when no other container uses it, so that the host's tree is as
// it was. A node cannot be removed while it has processes (rmdir(2)
// fails with EBUSY); the processes of a container that just ended may
// still be exiting, so Delete retries for up to two seconds. A missing
// node is not an error.
//
// Equivalent to: rmdir /sys/fs/cgroup/*/contain/$name /sys/fs/cgroup/*/contain
func (c *Cgroup) Delete() error {
	var err error
	for i := 0; i < 40; i++ {
		if err = c.delete(); err == nil {
			break
		}
		time.Sleep(50 * time.Millisecond)
	}
	for _, d := range c.Dirs {
		os.Remove(filepath.Dir(d)) // fails, as it should, while other containers run
	}
	return err
}

// Kill removes the node with whatever still runs in it: it thaws the
// node, whose frozen processes could not act on a signal, kills its
// processes with SIGKILL and deletes it (Delete waits for them to go). A
// missing node is not an error.
//
// Equivalent to: echo 0 > cgroup.freeze; kill -9 $(cat cgroup.procs); rmdir ...
func (c *Cgroup) Kill() error {
	if !c.Exists() {
		return nil
	}
	c.Thaw()
	pids, _ := c.Procs()
	for _, pid := range pids {
		unix.Kill(pid, unix.SIGKILL)
	}
	return c.Delete()
}

func (c *Cgroup) delete() error {
	var errs []error
	for _, d := range c.Dirs {
		err := unix.Rmdir(d)
		if err != nil && !errors.Is(err, unix.ENOENT) {
			errs = append(errs, fmt.Errorf("remove cgroup %s: %w", d, err))
		}
	}
	return errors.Join(errs...)
}

// readKV reads a flat keyed file such as memory.events or cpu.stat:
// "key value" lines.
func readKV(path string) (map[string]uint64, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	kv := map[string]uint64{}
	for _, line := range strings.Split(string(b), "\n") {
		if k, v, ok := strings.Cut(line, " "); ok {
			if n, err := strconv.ParseUint(strings.TrimSpace(v), 10, 64); err == nil {
				kv[k] = n
			}
		}
	}
	return kv, nil
}

// Names lists the containers that have a node in some hierarchy of lay:
// the directories under each hierarchy's contain/. This is how orphans
// are found, by their prefix, even without a state record.
//
// Equivalent to: ls /sys/fs/cgroup/*/contain /sys/fs/cgroup/contain
func Names(lay *Layout) []string {
	seen := map[string]bool{}
	var names []string
	for _, d := range Open(lay, "x").Dirs {
		ents, _ := os.ReadDir(filepath.Dir(d))
		for _, e := range ents {
			if e.IsDir() && !seen[e.Name()] {
				seen[e.Name()] = true
				names = append(names, e.Name())
			}
		}
	}
	sort.Strings(names)
	return names
}
