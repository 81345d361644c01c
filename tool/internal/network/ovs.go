package network

import (
	"bytes"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// Open vSwitch keeps its configuration in ovsdb-server and switches
// packets in ovs-vswitchd. The switching itself happens in a datapath:
// the kernel's openvswitch module, or ovs-vswitchd's own userspace
// "netdev" datapath, which reads and writes the ports through AF_PACKET
// sockets. Without the module (this book's VM has none) only the second
// works, chosen per bridge with datapath_type=netdev.

// OVSRunDir is where contain runs its own ovsdb-server and ovs-vswitchd
// when the host runs none: their database, sockets, pid and log files.
var OVSRunDir = "/run/contain/ovs"

// systemOVSSocket is the database socket of a host's own Open vSwitch.
const systemOVSSocket = "/var/run/openvswitch/db.sock"

// ovsEnv returns the environment for the OVS commands: OVS_RUNDIR points
// them at contain's own daemons when those run.
func ovsEnv() []string {
	if ownOVSRunning() {
		return append(os.Environ(), "OVS_RUNDIR="+OVSRunDir, "OVS_DBDIR="+OVSRunDir, "OVS_LOGDIR="+OVSRunDir)
	}
	return os.Environ()
}

// vsctl runs ovs-vsctl with args.
func vsctl(args ...string) (string, error) {
	cmd := exec.Command("ovs-vsctl", append([]string{"--timeout=5"}, args...)...)
	cmd.Env = ovsEnv()
	out, err := cmd.CombinedOutput()
	if err != nil {
		return "", fmt.Errorf("ovs-vsctl %s: %v: %s", strings.Join(args, " "), err, bytes.TrimSpace(out))
	}
	return string(out), nil
}

// pidOf reads a pid file and returns the pid if that process runs.
func pidOf(pidfile string) int {
	b, err := os.ReadFile(pidfile)
	if err != nil {
		return 0
	}
	pid, err := strconv.Atoi(strings.TrimSpace(string(b)))
	if err != nil || syscall.Kill(pid, 0) != nil {
		return 0
	}
	return pid
}

func ownOVSRunning() bool {
	return pidOf(filepath.Join(OVSRunDir, "ovs-vswitchd.pid")) != 0
}

// StartOVS makes sure an ovsdb-server and an ovs-vswitchd run: the
// host's, when its database socket answers, or else contain's own in
// OVSRunDir, which StopOVS stops again.
//
// Equivalent to:
//
//	ovsdb-tool create conf.db /usr/share/openvswitch/vswitch.ovsschema
//	ovsdb-server conf.db --remote=punix:db.sock --pidfile --detach
//	ovs-vsctl --no-wait init
//	ovs-vswitchd --pidfile --detach
func StartOVS() error {
	if _, err := exec.LookPath("ovs-vsctl"); err != nil {
		return errors.New("ovs-vsctl not found: install Open vSwitch (apt-get install openvswitch-switch)")
	}
	if ownOVSRunning() {
		return nil
	}
	if c, err := net.Dial("unix", systemOVSSocket); err == nil {
		c.Close()
		return nil
	}
	if err := os.MkdirAll(OVSRunDir, 0o755); err != nil {
		return err
	}
	db := filepath.Join(OVSRunDir, "conf.db")
	steps := [][]string{
		{"ovsdb-tool", "create", db, "/usr/share/openvswitch/vswitch.ovsschema"},
		{"ovsdb-server", db, "--remote=punix:" + filepath.Join(OVSRunDir, "db.sock"),
			"--pidfile=" + filepath.Join(OVSRunDir, "ovsdb-server.pid"), "--detach", "--no-chdir",
			"--log-file=" + filepath.Join(OVSRunDir, "ovsdb-server.log")},
		{"ovs-vsctl", "--no-wait", "init"},
		{"ovs-vswitchd", "--pidfile=" + filepath.Join(OVSRunDir, "ovs-vswitchd.pid"), "--detach", "--no-chdir",
			"--log-file=" + filepath.Join(OVSRunDir, "ovs-vswitchd.log")},
	}
	if _, err := os.Stat(db); err == nil {
		steps = steps[1:]
	}
	env := append(os.Environ(), "OVS_RUNDIR="+OVSRunDir, "OVS_DBDIR="+OVSRunDir, "OVS_LOGDIR="+OVSRunDir)
	for _, s := range steps {
		cmd := exec.Command(s[0], s[1:]...)
		cmd.Env = env
		if out, err := cmd.CombinedOutput(); err != nil {
			StopOVS()
			return fmt.Errorf("%s: %v: %s", strings.Join(s, " "), err, bytes.TrimSpace(out))
		}
	}
	return nil
}

// StopOVS stops the daemons StartOVS started, by the pids in their pid
// files, and removes their directory. A host's own Open vSwitch is left
// alone.
//
// Equivalent to: kill $(cat ovs-vswitchd.pid) $(cat ovsdb-server.pid)
func StopOVS() error {
	for _, d := range []string{"ovs-vswitchd", "ovsdb-server"} {
		pid := pidOf(filepath.Join(OVSRunDir, d+".pid"))
		if pid == 0 {
			continue
		}
		syscall.Kill(pid, syscall.SIGTERM)
		for i := 0; i < 100 && syscall.Kill(pid, 0) == nil; i++ {
			time.Sleep(20 * time.Millisecond)
		}
	}
	return os.RemoveAll(OVSRunDir)
}

// CreateOVSBridge adds the Open vSwitch bridge of n, on the userspace
// datapath, which needs no kernel module.
//
// Equivalent to: ovs-vsctl --may-exist add-br $name -- set bridge $name datapath_type=netdev
func CreateOVSBridge(n *Network) error {
	_, err := vsctl("--may-exist", "add-br", n.Name, "--", "set", "bridge", n.Name, "datapath_type=netdev")
	return err
}

// DeleteOVSBridge removes the Open vSwitch bridge called name.
//
// Equivalent to: ovs-vsctl --if-exists del-br $name
func DeleteOVSBridge(name string) error {
	_, err := vsctl("--if-exists", "del-br", name)
	return err
}

// AddOVSPort attaches the host end of a veth to an Open vSwitch bridge.
//
// Equivalent to: ovs-vsctl add-port $bridge $veth
func AddOVSPort(bridge, veth string) error {
	_, err := vsctl("--may-exist", "add-port", bridge, veth)
	return err
}

// DeleteOVSPort detaches a port. OVS keeps a port whose device is gone in
// its database, so this is needed even after the kernel removed the veth.
//
// Equivalent to: ovs-vsctl --if-exists del-port $bridge $veth
func DeleteOVSPort(bridge, veth string) error {
	_, err := vsctl("--if-exists", "del-port", bridge, veth)
	return err
}
