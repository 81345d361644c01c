package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"os/signal"
	"sort"
	"syscall"
	"time"

	"golang.org/x/sys/unix"

	"github.com/contain-dev/contain/tool/probe"
)

// sandboxArg0 is the argv[0] with which the grader re-executes itself as
// the sandbox stage.
const sandboxArg0 = "lab03-sandbox"

// sandboxEnv is how the sandbox tells the container which mount namespace
// it prepared; the container refuses to start anywhere else (see
// refuseHostMountNamespace in the container's main.go).
const sandboxEnv = "LAB03_SANDBOX"

// sandboxFD is the descriptor on which the sandbox stage writes its
// outcome for the grader.
const sandboxFD = 3

// outcome is what the sandbox stage reports.
type outcome struct {
	// Code is the container's exit status.
	Code int `json:"code"`
	// Changed lists the mounts that appeared in ("+") or vanished from
	// ("-") the sandbox's mount table while the container ran, as
	// "+MOUNTPOINT (FSTYPE)".
	Changed []string `json:"changed,omitempty"`
}

// runSandboxed runs `container rootfs cmd...` in a new sandbox stage and
// returns what it reports. A timeout of 0 means none.
//
// Equivalent to: unshare --mount --propagation shared container $rootfs $cmd
// (after first making / private, so that the shared copy is nobody's peer).
func runSandboxed(container, rootfs string, cmd []string, stdin io.Reader, stdout, stderr io.Writer, timeout time.Duration) (outcome, error) {
	var out outcome
	ctx := context.Background()
	if timeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, timeout)
		defer cancel()
	}
	r, w, err := os.Pipe()
	if err != nil {
		return out, err
	}
	defer r.Close()
	c := exec.CommandContext(ctx, "/proc/self/exe", append([]string{container, rootfs}, cmd...)...)
	c.Args[0] = sandboxArg0
	c.Stdin, c.Stdout, c.Stderr = stdin, stdout, stderr
	// Should a process of the container outlive it while holding stdout,
	// give up waiting for the pipe soon after the sandbox is gone.
	c.WaitDelay = time.Second
	c.ExtraFiles = []*os.File{w}
	c.SysProcAttr = &syscall.SysProcAttr{
		Cloneflags: unix.CLONE_NEWNS,
		// Killing the sandbox (on timeout) kills the container runner,
		// whose own Pdeathsig takes the container with it.
		Pdeathsig: unix.SIGKILL,
	}
	if err := c.Start(); err != nil {
		w.Close()
		return out, fmt.Errorf("start the sandbox: %w", err)
	}
	w.Close()
	report := make(chan []byte, 1)
	go func() {
		b, _ := io.ReadAll(r)
		report <- b
	}()
	waitErr := c.Wait()
	b := <-report
	if ctx.Err() != nil {
		return out, fmt.Errorf("the container %v was still running after %v: killed it (does it wait for something?)", cmd, timeout)
	}
	if err := json.Unmarshal(b, &out); err != nil {
		return out, fmt.Errorf("the sandbox failed (%v): %s", waitErr, b)
	}
	return out, nil
}

// sandboxMain is the sandbox stage, `lab03-sandbox CONTAINER ROOTFS
// CMD...`, run by runSandboxed in a new mount namespace: a copy of the
// host's. It plays the host for the learner's container:
//
//  1. make / private, so that this copy is no peer of the host's mounts
//     and nothing done below can reach the real host;
//  2. make / shared again: this namespace now behaves like a systemd host,
//     where a container that skips making its mounts private leaks them
//     back, whatever the real host's propagation is;
//  3. run the container and compare this namespace's mount table before
//     and after.
//
// The namespace, and anything leaked into it, ends with this process.
func sandboxMain(args []string) {
	// The container must not inherit the report pipe.
	unix.CloseOnExec(sandboxFD)
	pipe := os.NewFile(sandboxFD, "report")
	fail := func(err error) {
		fmt.Fprintf(pipe, "%q", "sandbox: "+err.Error())
		os.Exit(1)
	}
	if len(args) < 3 {
		fail(errors.New("usage: lab03-sandbox CONTAINER ROOTFS CMD..."))
	}
	if err := unix.Mount("", "/", "", unix.MS_REC|unix.MS_PRIVATE, ""); err != nil {
		fail(fmt.Errorf("make / private: %w", err))
	}
	if err := unix.Mount("", "/", "", unix.MS_REC|unix.MS_SHARED, ""); err != nil {
		fail(fmt.Errorf("make / shared: %w", err))
	}
	self, err := os.Readlink("/proc/self/ns/mnt")
	if err != nil {
		fail(err)
	}
	before, err := mountTable()
	if err != nil {
		fail(err)
	}
	// Ctrl-C is for the container; the sandbox waits for it (see main.go
	// of the container, which does the same).
	signal.Notify(make(chan os.Signal, 1), os.Interrupt, syscall.SIGQUIT)
	c := exec.Command(args[0], args[1:]...)
	c.Stdin, c.Stdout, c.Stderr = os.Stdin, os.Stdout, os.Stderr
	c.Env = append(os.Environ(), sandboxEnv+"="+self)
	c.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: unix.SIGKILL}
	var out outcome
	err = c.Run()
	var exit *exec.ExitError
	switch {
	case errors.As(err, &exit):
		out.Code = exit.ExitCode()
		if ws, ok := exit.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
			out.Code = 128 + int(ws.Signal())
		}
	case err != nil:
		fail(err)
	}
	after, err := mountTable()
	if err != nil {
		fail(err)
	}
	out.Changed = diffMounts(before, after)
	if err := json.NewEncoder(pipe).Encode(out); err != nil {
		os.Exit(1)
	}
}

// mountTable reads this process's mount table as "MOUNTPOINT (FSTYPE)"
// keys, one per mount, mount IDs left out.
func mountTable() ([]string, error) {
	f, err := os.Open("/proc/self/mountinfo")
	if err != nil {
		return nil, err
	}
	defer f.Close()
	ms, err := probe.ParseMountinfo(f)
	if err != nil {
		return nil, err
	}
	keys := make([]string, len(ms))
	for i, m := range ms {
		keys[i] = fmt.Sprintf("%s (%s)", m.MountPoint, m.FSType)
	}
	return keys, nil
}

// diffMounts returns the keys added to ("+KEY") and removed from ("-KEY")
// the table, counting each key as often as it occurs, sorted.
func diffMounts(before, after []string) []string {
	count := map[string]int{}
	for _, k := range after {
		count[k]++
	}
	for _, k := range before {
		count[k]--
	}
	var changed []string
	for k, n := range count {
		for ; n > 0; n-- {
			changed = append(changed, "+"+k)
		}
		for ; n < 0; n++ {
			changed = append(changed, "-"+k)
		}
	}
	sort.Strings(changed)
	return changed
}
