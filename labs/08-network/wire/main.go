// Command wire connects the network namespace of process PID (the
// "box") to the host, as chapter 08 does for a container: a bridge, a veth pair, an
// address and a route inside, and NAT. You write the steps in setup.go;
// this file only opens the namespace and calls them in order.
//
// usage: wire PID   (as root; the grader creates the namespace first)
package main

import (
	"fmt"
	"net/netip"
	"os"
	"strconv"

	"github.com/vishvananda/netns"
)

// The names and addresses the grader checks.
const (
	Bridge = "lab08br" // the bridge on the host
	Veth   = "vlab08"  // the host end of the veth pair; the other is eth0 in Box
)

var (
	Subnet  = netip.MustParsePrefix("10.213.88.0/24")
	Gateway = netip.MustParseAddr("10.213.88.1") // the bridge's address
	BoxIP   = netip.MustParseAddr("10.213.88.2") // eth0's address in Box
)

// The stretch goal's port: the box's BoxPort, published on the host's
// 127.0.0.1:HostPort, as contain run -p 127.0.0.1:18080:8080 would.
const (
	HostPort = 18080
	BoxPort  = 8080
)

func main() {
	if len(os.Args) != 2 {
		fmt.Fprintln(os.Stderr, "usage: wire PID (run the grader, which creates the namespace)")
		os.Exit(2)
	}
	pid, err := strconv.Atoi(os.Args[1])
	if err != nil {
		fmt.Fprintln(os.Stderr, "wire: PID must be a number")
		os.Exit(2)
	}
	ns, err := netns.GetFromPid(pid)
	if err != nil {
		fmt.Fprintf(os.Stderr, "wire: open the namespace of %d: %v\n", pid, err)
		os.Exit(1)
	}
	defer ns.Close()
	for _, step := range []struct {
		name string
		f    func() error
	}{
		{"bridge", makeBridge},
		{"veth", func() error { return makeVeth(ns) }},
		{"inside", func() error { return configureBox(ns) }},
		{"nat", enableNAT},
		{"publish", publishPort},
	} {
		if err := step.f(); err != nil {
			fmt.Fprintf(os.Stderr, "wire: %s: %v\n", step.name, err)
			os.Exit(1)
		}
	}
}
