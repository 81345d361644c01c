package main

import (
	"testing"

	"github.com/contain-dev/contain/labs/internal/grading"
	"github.com/contain-dev/contain/tool/testkit"
)

// TestGrade is the lab's proof: the starter as handed out fails, with the
// hint a learner should see first and the stretch goal not graded, and
// the reference solution passes, stretch goal included.
func TestGrade(t *testing.T) {
	testkit.RequireRoot(t)
	g := grading.Grader{Pkg: "./labs/02-chroot/grade", Checks: grading.Names(checks), Parallel: true}
	g.Test(t, grading.Case{
		Name: "starter",
		Code: 1,
		Want: grading.Want{
			Skipped: []string{checks[len(checks)-1].Name},
			Score:   "Score: 0/12",
			Hints: []string{
				`the init stage died in the Go runtime ("failed to create new OS thread", errno 22): with Unshareflags`,
				noCommand,
				noInit,
			},
		},
	}, grading.Case{
		Name: "solution",
		Args: []string{"-solution"},
		Want: grading.Want{OK: grading.Names(checks), Score: "Score: 12/12"},
	})
}

// passing is what a correct runner shows, its rootfs at /tmp/lab02-x/rootfs.
func passing() *observation {
	const rootfs = "/tmp/lab02-x/rootfs"
	return &observation{
		rootfs:    rootfs,
		hostPidNS: "pid:[4026531836]",
		hold:      result{Code: 137, Started: true},
		said:      "1 lab02",
		cmd: &process{
			Pid: 4242, Root: rootfs, Cwd: rootfs, PidNS: "pid:[4026532999]",
			FDs:    map[int]string{0: "/dev/null", 1: "pipe:[11]", 2: "pipe:[12]"},
			CapBnd: 0x1fffffbffff,
		},
		missing:   result{Code: 127, Stderr: "runner: no-such-command: not found in the container (PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin)\n"},
		escape:    result{Code: 1, Stderr: "escape: chroot ./escape-123: operation not permitted\n"},
		interrupt: result{Code: 7, Stdout: "ready\ngot INT\n"},
		intCmd:    &process{SigIgn: 0},
	}
}

// crash is the stderr of an init stage started with Unshareflags.
const crash = "runtime: failed to create new OS thread (have 2 already; errno=22)\nfatal error: newosproc\n"

// TestHints feeds each check a runner with one thing wrong, as the usual
// mistakes leave it, and checks that the hint names it. It needs no root:
// checks only read observations.
func TestHints(t *testing.T) {
	tests := []struct {
		name     string
		check    func(*observation) string
		spoil    func(o *observation)
		wantHint string // "" means the check passes
	}{
		{"runs", checkRuns, func(o *observation) {}, ""},
		{"namespaces", checkNamespaces, func(o *observation) {}, ""},
		{"started", checkStarted, func(o *observation) {}, ""},
		{"failure", checkFailure, func(o *observation) {}, ""},
		{"fds", checkFDs, func(o *observation) {}, ""},
		{"root", checkRoot, func(o *observation) {}, ""},
		{"lookup", checkLookup, func(o *observation) {}, ""},
		{"escape", checkEscape, func(o *observation) {}, ""},
		{"interrupt", checkInterrupt, func(o *observation) {}, ""},
		{"Unshareflags", checkRuns, func(o *observation) {
			o.cmd, o.said, o.hold = nil, "", result{Code: 137, Killed: "hung", Stderr: crash}
		}, "with Unshareflags the child itself stays outside its new PID namespace"},
		{"Unshareflags: no command", checkFDs, func(o *observation) { o.cmd = nil }, noCommand},
		{"Unshareflags: no init", checkLookup, func(o *observation) { o.escape = result{Code: 137, Killed: "hung", Stderr: crash} }, noInit},
		{"host renamed", checkNamespaces, func(o *observation) { o.renamed = "lab02" },
			`the runner renamed the host to "lab02"`},
		{"no PID namespace", checkNamespaces, func(o *observation) {
			o.said, o.cmd.PidNS = "4242 lab02", o.hostPidNS
		}, "is in the host's PID namespace: CLONE_NEWPID, in Cloneflags"},
		{"fd 4 inherited", checkStarted, func(o *observation) {
			o.hold.Started, o.cmd.FDs[4] = false, "pipe:[99]"
		}, "the command holds fd 4 (pipe:[99]), which a successful execve(2) closes only when it is close-on-exec"},
		{"runner keeps errW", checkStarted, func(o *observation) { o.hold.Started = false },
			"a writer is still open elsewhere. After cmd.Start the runner holds copies of the child's ends"},
		{"failure never read", checkFailure, func(o *observation) { o.missing = result{Code: 137, Killed: "hung"} },
			"the runner went on waiting on fd 4: ReadAll sees EOF only once every write end is closed, the runner's own copy too"},
		{"failure on stderr", checkFailure, func(o *observation) { o.missing = result{Code: 1, Stderr: "no-such-command: not found\n"} },
			"want 127 and the init stage's message"},
		{"config pipe inherited", checkFDs, func(o *observation) { o.cmd.FDs[3] = "pipe:[98]" },
			"the command holds 3 (pipe:[98]): fd 3 is the config pipe"},
		{"another fd", checkFDs, func(o *observation) { o.cmd.FDs[7] = "/etc/passwd" },
			"the command holds 7 (/etc/passwd): close what the command has no use for"},
		{"cwd outside", checkRoot, func(o *observation) { o.cmd.Cwd = "/home/vagrant/contain" },
			"the command's working directory is /home/vagrant/contain, on the host, outside its root"},
		{"root elsewhere", checkRoot, func(o *observation) { o.cmd.Root = "/" }, "the command's root is /, not the rootfs"},
		{"looked up on the host", checkLookup, func(o *observation) {
			o.escape = result{Code: 127, Stderr: "runner: escape: not found in the container (PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin)\n"}
		}, "It was looked up before the chroot, in the host's directories"},
		{"escaped", checkEscape, func(o *observation) {
			o.escape = result{Stderr: "escape: out of the chroot, running true in the real root\n"}
		}, "Take the capability out of the bounding set (prctl PR_CAPBSET_DROP) before the exec"},
		{"escape failed, capability kept", checkEscape, func(o *observation) { o.cmd.CapBnd |= capSysChroot },
			"still has CAP_SYS_CHROOT in its bounding set (CapBnd 1ffffffffff): drop it on the thread that calls execve(2)"},
		{"own chroot refused", checkEscape, func(o *observation) {
			o.escape = result{Code: 125, Stderr: "runner: chroot /tmp/lab02-x/rootfs: operation not permitted\n"}
		}, `the runner's own chroot failed: "runner: chroot ROOTFS: operation not permitted"`},
		{"escape not run", checkEscape, func(o *observation) {
			o.escape = result{Code: 127, Stderr: "runner: escape: not found in the container\n"}
		}, "escape did not run"},
		{"Ctrl-C ignored", checkInterrupt, func(o *observation) {
			o.interrupt, o.intCmd.SigIgn = result{Code: 137, Killed: "limit"}, sigintBit
		}, "the command started with SIGINT ignored, so its trap did nothing"},
		{"Ctrl-C kills the runner", checkInterrupt, func(o *observation) { o.interrupt = result{Code: 130} },
			"Ctrl-C killed the runner (exit status 130, SIGINT)"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			o := passing()
			tt.spoil(o)
			grading.CheckHint(t, tt.check(o), tt.wantHint)
		})
	}
}
