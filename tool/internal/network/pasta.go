package network

import (
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// PastaPath is the pasta program, from Debian's passt package: the
// user-mode network of rootless podman. It gives the network namespace of
// a process a tap-like eth0 with a copy of the host's address and default
// route, and carries its traffic through ordinary sockets of the host, so
// that no privilege is needed: no veth, bridge or NAT rule. Connections to
// the gateway's address reach the host's own loopback. Given a pid, as
// here, pasta does not notice the namespace's end (it does for a
// namespace bound to a path), and it holds the namespace itself: its
// starter must stop it (StopPasta).
var PastaPath = "pasta"

// HasPasta tells whether pasta is installed.
func HasPasta() bool {
	_, err := exec.LookPath(PastaPath)
	return err == nil
}

// Pasta connects the network namespace of pid to the host's network
// through pasta, publishing ports on the host's side. pasta enters the
// namespace's user namespace itself, which its owner, the caller, may do
// (user_namespaces(7)); it returns once the interface is configured and
// pasta has gone to the background.
//
// pasta writes its own pid to pidFile, for StopPasta.
//
// Equivalent to: pasta --config-net --quiet --pid $pidfile --ns-ifname eth0 -t $host:$ctr $pid
func Pasta(pid int, ports []Port, pidFile string) error {
	// eth0, as on a bridge: pasta would name it after the host's own
	// interface (ens3 in a VM).
	args := []string{"--config-net", "--quiet", "--pid", pidFile, "--ns-ifname", CtrLink}
	tcp, udp := []string{}, []string{}
	for _, p := range ports {
		spec := fmt.Sprintf("%d:%d", p.HostPort, p.CtrPort)
		if p.Proto == "udp" {
			udp = append(udp, spec)
		} else {
			tcp = append(tcp, spec)
		}
	}
	// Only the ports asked for: pasta's default, "auto", would publish
	// every port a process in the container listens on. -T and -U are
	// the container's loopback to the host's, which it does not get.
	args = append(args, "-t", portList(tcp), "-u", portList(udp), "-T", "none", "-U", "none", strconv.Itoa(pid))
	var stderr bytes.Buffer
	cmd := exec.Command(PastaPath, args...)
	cmd.Stderr = &stderr
	if err := cmd.Run(); err != nil {
		msg := strings.Join(strings.Fields(stderr.String()), " ")
		return fmt.Errorf("pasta %s: %v: %s", strings.Join(args, " "), err, msg)
	}
	return nil
}

// portList is pasta's form of a port list: "none" when empty.
func portList(specs []string) string {
	if len(specs) == 0 {
		return "none"
	}
	return strings.Join(specs, ",")
}

// StopPasta stops the pasta that Pasta started with pidFile, if it still
// runs, and removes the file. A pid can be reused: the process is killed
// only if its command line names pidFile, as that pasta's does.
//
// Equivalent to: kill $(cat $pidfile); rm $pidfile
func StopPasta(pidFile string) error {
	b, err := os.ReadFile(pidFile)
	if errors.Is(err, fs.ErrNotExist) {
		return nil // never started, or stopped already
	}
	if err != nil {
		return err
	}
	pid, err := strconv.Atoi(strings.TrimSpace(string(b)))
	if err != nil {
		return fmt.Errorf("pasta pid file %s: %q is not a pid", pidFile, b)
	}
	if cmdline, err := os.ReadFile(fmt.Sprintf("/proc/%d/cmdline", pid)); err == nil && bytes.Contains(cmdline, []byte("\x00"+pidFile+"\x00")) {
		if err := syscall.Kill(pid, syscall.SIGTERM); err != nil && !errors.Is(err, syscall.ESRCH) {
			return fmt.Errorf("stop pasta %d: %w", pid, err)
		}
		// It is not our child, to wait for: watch it go, a moment at most.
		for i := 0; i < 200 && running(pid); i++ {
			time.Sleep(5 * time.Millisecond)
		}
	}
	return os.Remove(pidFile)
}

// running tells whether pid exists and is not a zombie: the state is the
// first field after the ")" that ends comm (proc_pid_stat(5)).
func running(pid int) bool {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return false
	}
	f := strings.Fields(string(b[bytes.LastIndexByte(b, ')')+1:]))
	return len(f) > 0 && f[0] != "Z" && f[0] != "X"
}
