// Command container is the program you finish in lab 06: a container of one
// process in a user namespace, started by an ordinary user, root inside.
//
//		container [-subids START:COUNT] CMD [ARG...]
//
//	 1. The parent re-executes its own binary, /proc/self/exe, with clone(2)
//	    flag CLONE_NEWUSER, and calls writeMaps(PID) while the child waits
//	    on a pipe.
//	 2. The child, once the pipe says go, becomes uid and gid 0 of its
//	    namespace and execs CMD.
//
// With -subids, the parent calls writeRanges instead, to map COUNT more
// ids from START outside (the stretch goal).
//
// This file is complete. The work of the lab is writeMaps, in maps.go (the
// lines marked TODO(lab)); maps_solution.go, built with `-tags solution`,
// is the reference. The grader runs it as nobody:
//
//	go run ./labs/06-userns/grade
package main

import (
	"fmt"
	"io"
	"os"
	"os/exec"
	"strings"
	"syscall"

	"golang.org/x/sys/unix"
)

// initArg0 is the argv[0] of the re-executed child.
const initArg0 = "container-init"

func main() {
	if os.Args[0] == initArg0 {
		if err := child(os.Args[1:]); err != nil {
			fmt.Fprintln(os.Stderr, "container:", err)
			os.Exit(125)
		}
	}
	args := os.Args[1:]
	var sub *idRange
	if len(args) > 1 && args[0] == "-subids" {
		var r idRange
		if _, err := fmt.Sscanf(args[1], "%d:%d", &r.Start, &r.Count); err != nil || r.Count < 1 {
			fmt.Fprintf(os.Stderr, "container: -subids %s: want START:COUNT, as 100000:65536\n", args[1])
			os.Exit(2)
		}
		sub, args = &r, args[2:]
	}
	if len(args) < 1 {
		fmt.Fprintln(os.Stderr, "usage: container [-subids START:COUNT] CMD [ARG...]")
		os.Exit(2)
	}
	code, err := parent(args, sub)
	if err != nil {
		fmt.Fprintln(os.Stderr, "container:", err)
	}
	os.Exit(code)
}

// idRange is a range of ids outside, as a line of /etc/subuid grants it.
type idRange struct{ Start, Count int }

// parent starts the child in a new user namespace, writes its maps (with
// sub, through writeRanges) and waits for it.
func parent(args []string, sub *idRange) (int, error) {
	r, w, err := os.Pipe()
	if err != nil {
		return 125, err
	}
	cmd := exec.Command("/proc/self/exe", args...)
	cmd.Args[0] = initArg0
	cmd.Stdin, cmd.Stdout, cmd.Stderr = os.Stdin, os.Stdout, os.Stderr
	cmd.ExtraFiles = []*os.File{r} // fd 3
	cmd.SysProcAttr = &syscall.SysProcAttr{
		Cloneflags: unix.CLONE_NEWUSER,
		// Capabilities in the new namespace survive the exec of
		// /proc/self/exe only as ambient ones (chapter 06, Go notes).
		AmbientCaps: []uintptr{unix.CAP_SETUID, unix.CAP_SETGID},
	}
	if err := cmd.Start(); err != nil {
		return 125, err
	}
	r.Close()
	write, name := func() error { return writeMaps(cmd.Process.Pid, os.Getuid(), os.Getgid()) }, "writeMaps"
	if sub != nil {
		write, name = func() error { return writeRanges(cmd.Process.Pid, os.Getuid(), os.Getgid(), *sub) }, "writeRanges"
	}
	if err := write(); err != nil {
		cmd.Process.Kill()
		cmd.Wait()
		return 125, fmt.Errorf("%s: %w", name, err)
	}
	w.Close() // EOF: the child goes on
	err = cmd.Wait()
	if ee, ok := err.(*exec.ExitError); ok {
		return ee.ExitCode(), nil
	}
	if err != nil {
		return 125, err
	}
	return 0, nil
}

// child waits for its maps, becomes root of its user namespace and execs
// the command.
func child(args []string) error {
	if _, err := io.Copy(io.Discard, os.NewFile(3, "go")); err != nil {
		return err
	}
	if err := syscall.Setresgid(0, 0, 0); err != nil {
		return fmt.Errorf("become root: setresgid 0: %w (gid 0 is not mapped; %s)", err, maps())
	}
	if err := syscall.Setresuid(0, 0, 0); err != nil {
		return fmt.Errorf("become root: setresuid 0: %w (uid 0 is not mapped; %s)", err, maps())
	}
	// Drop the supplementary groups, unless /proc/self/setgroups says
	// deny: then setgroups(2) is refused, and they stay as they are.
	if sg, _ := os.ReadFile("/proc/self/setgroups"); strings.TrimSpace(string(sg)) == "allow" {
		if err := syscall.Setgroups(nil); err != nil {
			return fmt.Errorf("setgroups: %w", err)
		}
	}
	path, err := exec.LookPath(args[0])
	if err != nil {
		return err
	}
	return unix.Exec(path, args, os.Environ())
}

// maps describes the child's maps and setgroups as it sees them, for an
// error message: uid_map "0 65534 1", gid_map "", setgroups "allow".
func maps() string {
	var parts []string
	for _, f := range []string{"uid_map", "gid_map", "setgroups"} {
		b, _ := os.ReadFile("/proc/self/" + f)
		parts = append(parts, fmt.Sprintf("%s %q", f, strings.Join(strings.Fields(string(b)), " ")))
	}
	return strings.Join(parts, ", ")
}
