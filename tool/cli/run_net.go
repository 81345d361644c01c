package cli

import (
	"fmt"
	"net/netip"
	"os"
	"strings"

	"github.com/contain-dev/contain/tool/internal/container"
	"github.com/contain-dev/contain/tool/internal/network"
)

// NetFlags are the flags of run that chapter 08 adds: the network mode,
// published ports and DNS servers.
type NetFlags struct {
	Net     string   `help:"Network: none (a new netns with only loopback), host (the host's), bridge[=NAME] (default: the contain0 bridge) or ovs=NAME (an Open vSwitch network) (chapter 08)." placeholder:"MODE"`
	Publish []string `short:"p" help:"Publish a container port on the host: HOSTPORT:CTRPORT[/tcp|udp], repeatable (bridge networks only)." placeholder:"HOST:CTR"`
	DNS     []string `name:"dns" help:"DNS server for the container's /etc/resolv.conf, repeatable (default: the host's, less loopback ones)." placeholder:"IP"`
}

// netMode is a parsed --net.
type netMode struct {
	kind    string // "none", "host", "bridge" or "ovs"
	network string // for bridge and ovs
}

// parseNetMode reads --net; the empty string is the default bridge.
func parseNetMode(s string) (netMode, error) {
	kind, name, _ := strings.Cut(s, "=")
	switch {
	case s == "" || s == "bridge":
		return netMode{"bridge", network.DefaultName}, nil
	case (kind == "bridge" || kind == "ovs") && name != "":
		return netMode{kind, name}, network.CheckName(name)
	case s == "none" || s == "host":
		return netMode{kind: s}, nil
	}
	return netMode{}, fmt.Errorf("--net %s: use none, host, bridge, bridge=NAME or ovs=NAME", s)
}

// apply checks the network flags, everything a user can get wrong before
// anything exists, and sets the container's network. The network itself
// is the container package's (see container's setupNetwork).
func (f *NetFlags) apply(cfg *container.Config) error {
	mode, err := parseNetMode(f.Net)
	if err != nil {
		return err
	}
	if mode.kind != "bridge" && len(f.Publish) > 0 {
		return fmt.Errorf("-p publishes through a bridge network's NAT: drop it, or use --net bridge")
	}
	if (mode.kind == "none" || mode.kind == "host") && len(f.DNS) > 0 {
		return fmt.Errorf("--dns writes the resolv.conf of a bridge or ovs network; with --net %s the rootfs's own is used: drop --dns, or use --net bridge", mode.kind)
	}
	n := container.Network{Mode: container.NetMode(mode.kind), Name: mode.network}
	for _, s := range f.DNS {
		a, err := netip.ParseAddr(s)
		if err != nil || !a.Is4() {
			return fmt.Errorf("--dns %s: give an IPv4 address, such as --dns 192.0.2.53", s)
		}
		n.DNS = append(n.DNS, a)
	}
	// Without root (chapter 06) there is no bridge, veth or NAT to make:
	// the default network is pasta's, a user-mode one, as rootless
	// podman's is; without pasta, an error rather than an empty
	// namespace that nobody would mistake for a network.
	rootless := os.Geteuid() != 0
	switch {
	case rootless && f.Net == "":
		if !network.HasPasta() {
			return fmt.Errorf("a rootless container's default network is pasta's, and pasta is missing: install Debian's passt package, or use --net none for an empty network namespace (--net host cannot go with --userns)")
		}
		if len(f.DNS) > 0 {
			return fmt.Errorf("--dns writes the resolv.conf of a bridge or ovs network, which need root: drop --dns to keep the rootfs's own")
		}
		n = container.Network{Mode: container.NetPasta}
	case rootless && (mode.kind == "bridge" || mode.kind == "ovs"):
		return fmt.Errorf("--net %s needs root (links, bridges and NAT belong to the host): run as root, or use --net none", f.Net)
	case mode.kind == "host" && cfg.UserNS != nil:
		return fmt.Errorf("--net host cannot go with --userns: a user namespace needs a network namespace of its own to mount /sys; drop one of them")
	}
	for _, s := range f.Publish {
		p, err := network.ParsePort(s)
		if err != nil {
			return err
		}
		n.Ports = append(n.Ports, p)
	}
	cfg.Network = n
	return nil
}
