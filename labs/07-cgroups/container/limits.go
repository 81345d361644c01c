//go:build !solution

package main

import "os/exec"

// writeLimits writes the memory limit (n.MemLimit in n.MemDir) and
// pids.max (in n.PidsDir). The values are as given: the kernel parses
// "32M" itself.
func writeLimits(n Node, memory, pids string) error {
	// TODO(lab): echo $memory > $MemDir/$MemLimit, echo $pids > $PidsDir/pids.max
	return nil
}

// join moves process pid into the node, in both directories, before the
// command is started: a child is born in its parent's cgroup.
func join(n Node, pid int) error {
	// TODO(lab): echo $pid > cgroup.procs, in MemDir and in PidsDir
	return nil
}

// intoCgroup may prepare cmd, not yet started, before run starts it. As
// handed out, it leaves cmd as it is: the command is born in its parent's
// cgroups, which join has made the node.
func intoCgroup(n Node, cmd *exec.Cmd) error {
	// TODO(stretch): on the v2 hierarchy (n.Unified, when it is not ""),
	// have the command born in the node, so that this runner never has
	// to enter it there: join then writes only the v1 directories (on a
	// v2 host, none). clone3(2) can do it with CLONE_INTO_CGROUP and a
	// descriptor of the directory; os/exec asks for it through two
	// fields of syscall.SysProcAttr. Delete this TODO line when you start:
	// the grader grades the stretch goal from then on.
	// Read: clone(2) "CLONE_INTO_CGROUP"; go doc syscall.SysProcAttr.
	return nil
}
