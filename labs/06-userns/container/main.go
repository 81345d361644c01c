// Command container is the program you finish in lab 06: a container of one
// process in a user namespace, started by an ordinary user, root inside.
//
//		container CMD [ARG...]
//
//	 1. The parent re-executes its own binary, /proc/self/exe, with clone(2)
//	    flag CLONE_NEWUSER, and calls writeMaps(PID) while the child waits
//	    on a pipe.
//	 2. The child, once the pipe says go, becomes uid and gid 0 of its
//	    namespace and execs CMD.
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
	if len(os.Args) < 2 {
		fmt.Fprintln(os.Stderr, "usage: container CMD [ARG...]")
		os.Exit(2)
	}
	code, err := parent(os.Args[1:])
	if err != nil {
		fmt.Fprintln(os.Stderr, "container:", err)
	}
	os.Exit(code)
}

// parent starts the child in a new user namespace, writes its maps and
// waits for it.
func parent(args []string) (int, error) {
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
	if err := writeMaps(cmd.Process.Pid, os.Getuid(), os.Getgid()); err != nil {
		cmd.Process.Kill()
		cmd.Wait()
		return 125, fmt.Errorf("writeMaps: %w", err)
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
