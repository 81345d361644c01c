package cli

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/netip"
	"text/tabwriter"

	"github.com/contain-dev/contain/tool/internal/network"
)

// NetCmd is `contain net`: the networks containers join with run --net
// (chapter 08), like `lxc network` and `docker network`.
type NetCmd struct {
	Ls      NetLsCmd      `cmd:"" help:"List the networks."`
	Create  NetCreateCmd  `cmd:"" help:"Create a network: a bridge with its own subnet and NAT."`
	Rm      NetRmCmd      `cmd:"" help:"Remove a network no running container uses."`
	Inspect NetInspectCmd `cmd:"" help:"Show a network, its containers and why its traffic might not flow, as JSON."`
}

// NetLsCmd is `contain net ls`.
type NetLsCmd struct{}

// Run prints one line per network.
func (c *NetLsCmd) Run(g *Globals) error {
	nets, err := network.List()
	if err != nil {
		return err
	}
	w := tabwriter.NewWriter(g.Stdout, 0, 8, 2, ' ', 0)
	fmt.Fprintln(w, "NAME\tDRIVER\tSUBNET\tGATEWAY\tISOLATED\tCONTAINERS")
	for _, n := range nets {
		leases, err := network.Leases(n.Name)
		if err != nil {
			return err
		}
		fmt.Fprintf(w, "%s\t%s\t%s\t%s\t%t\t%d\n", n.Name, n.Driver, n.Subnet, n.Gateway, n.Isolated, len(leases))
	}
	return w.Flush()
}

// NetCreateCmd is `contain net create`.
type NetCreateCmd struct {
	Name     string `arg:"" help:"Name of the network and of its bridge (at most 15 characters)."`
	Subnet   string `required:"" help:"IPv4 subnet; its first address is the bridge's, the gateway." placeholder:"CIDR"`
	Driver   string `default:"bridge" enum:"bridge,ovs" help:"bridge: a Linux bridge; ovs: an Open vSwitch bridge on the userspace datapath."`
	Isolated bool   `help:"Containers on it reach the host and the outside, but not each other (Docker's --icc=false)."`
}

// Run creates the network.
func (c *NetCreateCmd) Run(g *Globals) error {
	if err := requireRoot("net create", "creating links needs CAP_NET_ADMIN"); err != nil {
		return err
	}
	subnet, err := netip.ParsePrefix(c.Subnet)
	if err != nil {
		return &ExitError{Code: 2, Err: fmt.Errorf("--subnet %s: give an IPv4 prefix, such as 10.213.7.0/24", c.Subnet)}
	}
	n, err := network.NewNetwork(c.Name, c.Driver, subnet, c.Isolated)
	if err != nil {
		return &ExitError{Code: 2, Err: err}
	}
	if c.Isolated && c.Driver == network.DriverOVS {
		return &ExitError{Code: 2, Err: errors.New("--isolated works on bridge networks only: drop it, or use --driver bridge")}
	}
	if err := network.Create(n); err != nil {
		return &ExitError{Code: 1, Err: err}
	}
	for _, p := range network.Diagnose(n) {
		fmt.Fprintln(g.Stderr, "contain: warning:", p)
	}
	return nil
}

// NetRmCmd is `contain net rm`.
type NetRmCmd struct {
	Names []string `arg:"" help:"Networks to remove."`
}

// Run removes the networks.
func (c *NetRmCmd) Run(g *Globals) error {
	if err := requireRoot("net rm", "deleting links needs CAP_NET_ADMIN"); err != nil {
		return err
	}
	for _, name := range c.Names {
		if err := network.Remove(name); err != nil {
			return &ExitError{Code: 1, Err: err}
		}
	}
	return nil
}

// NetInspectCmd is `contain net inspect`.
type NetInspectCmd struct {
	Name string `arg:"" help:"Network to show."`
}

// netInspect is what net inspect prints.
type netInspect struct {
	*network.Network
	Firewall   string          `json:"firewall"`
	Containers []network.Lease `json:"containers"`
	Problems   []string        `json:"problems"`
}

// Run prints the network as JSON.
func (c *NetInspectCmd) Run(g *Globals) error {
	n, err := network.Load(c.Name)
	if err != nil {
		return &ExitError{Code: 1, Err: err}
	}
	leases, err := network.Leases(n.Name)
	if err != nil {
		return err
	}
	out := netInspect{Network: n, Firewall: network.Firewall(), Containers: leases, Problems: network.Diagnose(n)}
	if out.Containers == nil {
		out.Containers = []network.Lease{}
	}
	if out.Problems == nil {
		out.Problems = []string{}
	}
	enc := json.NewEncoder(g.Stdout)
	enc.SetIndent("", "  ")
	return enc.Encode(out)
}
