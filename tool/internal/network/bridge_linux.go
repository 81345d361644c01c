package network

import (
	"errors"
	"fmt"
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"strings"

	"github.com/vishvananda/netlink"
	"golang.org/x/sys/unix"

	"github.com/contain-dev/contain/tool/internal/state"
)

// ipnet converts a prefix with a host address into netlink's form.
func ipnet(addr netip.Addr, bits int) *net.IPNet {
	return &net.IPNet{IP: addr.AsSlice(), Mask: net.CIDRMask(bits, 32)}
}

// CheckOverlap fails when subnet overlaps a route of the host (other than
// one through the network's own bridge) or another network: packets for
// the container would go elsewhere, or the host's would go to the
// container.
//
// Equivalent to: ip -4 route show; contain net ls
func CheckOverlap(name string, subnet netip.Prefix) error {
	routes, err := netlink.RouteListFiltered(netlink.FAMILY_V4, &netlink.Route{Table: unix.RT_TABLE_UNSPEC}, netlink.RT_FILTER_TABLE)
	if err != nil {
		return fmt.Errorf("list routes: %w", err)
	}
	own, _ := netlink.LinkByName(name)
	for _, r := range routes {
		if r.Dst == nil || r.Type != unix.RTN_UNICAST {
			continue // local and broadcast routes; the default route has no Dst in some versions
		}
		if own != nil && r.LinkIndex == own.Attrs().Index {
			continue
		}
		dst, ok := netip.AddrFromSlice(r.Dst.IP)
		if !ok {
			continue
		}
		bits, _ := r.Dst.Mask.Size()
		p := netip.PrefixFrom(dst.Unmap(), bits)
		if bits > 0 && p.Overlaps(subnet) {
			dev := "?"
			if l, err := netlink.LinkByIndex(r.LinkIndex); err == nil {
				dev = l.Attrs().Name
			}
			return refuse(ErrOverlap, name, "subnet %s overlaps the host's route to %s (dev %s)", subnet, p, dev)
		}
	}
	nets, err := List()
	if err != nil {
		return err
	}
	for _, n := range nets {
		if n.Name != name && n.Subnet.Overlaps(subnet) {
			return refuse(ErrOverlap, name, "subnet %s overlaps network %s (%s)", subnet, n.Name, n.Subnet)
		}
	}
	return nil
}

// CreateBridge makes the Linux bridge of n with the gateway address and
// brings it up. It returns whether it created it; an existing one is kept.
//
// Equivalent to:
//
//	ip link add $name type bridge
//	ip addr add $gateway/$bits dev $name
//	ip link set $name up
func CreateBridge(n *Network) (bool, error) {
	if l, err := netlink.LinkByName(n.Name); err == nil {
		if _, ok := l.(*netlink.Bridge); !ok {
			return false, fmt.Errorf("a link named %s exists and is a %s, not a bridge: pick another network name", n.Name, l.Type())
		}
		return false, nil
	}
	br := &netlink.Bridge{LinkAttrs: netlink.LinkAttrs{Name: n.Name}}
	if err := netlink.LinkAdd(br); err != nil {
		return false, fmt.Errorf("ip link add %s type bridge: %w", n.Name, err)
	}
	if err := netlink.AddrAdd(br, &netlink.Addr{IPNet: ipnet(n.Gateway, n.Subnet.Bits())}); err != nil {
		netlink.LinkDel(br)
		return false, fmt.Errorf("ip addr add %s/%d dev %s: %w", n.Gateway, n.Subnet.Bits(), n.Name, err)
	}
	if err := netlink.LinkSetUp(br); err != nil {
		netlink.LinkDel(br)
		return false, fmt.Errorf("ip link set %s up: %w", n.Name, err)
	}
	return true, nil
}

// DeleteLink removes the link called name; a missing one is not an error.
//
// Equivalent to: ip link del $name
func DeleteLink(name string) error {
	l, err := netlink.LinkByName(name)
	var nf netlink.LinkNotFoundError
	if errors.As(err, &nf) {
		return nil
	}
	if err != nil {
		return err
	}
	// ENODEV: gone between the lookup and the delete, as a veth is when
	// the kernel destroys its pair with the peer's network namespace.
	if err := netlink.LinkDel(l); err != nil && !errors.Is(err, unix.ENODEV) {
		return fmt.Errorf("ip link del %s: %w", name, err)
	}
	return nil
}

// sysctl paths; tests never change them.
const (
	ipForward     = "/proc/sys/net/ipv4/ip_forward"
	ipForwardOrig = "ip_forward.orig" // in StateDir
)

// EnableForwarding turns on IPv4 forwarding, which NAT and published
// ports need, and notes the earlier value once so that RestoreForwarding
// can put it back.
//
// Equivalent to: sysctl -w net.ipv4.ip_forward=1
func EnableForwarding() error {
	cur, err := os.ReadFile(ipForward)
	if err != nil {
		return err
	}
	if strings.TrimSpace(string(cur)) == "1" {
		return nil
	}
	// The earlier value is written whole or not at all: a contain killed
	// in the middle must not leave an empty one for RestoreForwarding.
	orig := filepath.Join(StateDir, ipForwardOrig)
	if _, err := os.Stat(orig); err != nil {
		if err := state.WriteFile(orig, cur, 0o644); err != nil {
			return err
		}
	}
	if err := os.WriteFile(ipForward, []byte("1\n"), 0o644); err != nil {
		return fmt.Errorf("sysctl -w net.ipv4.ip_forward=1: %w", err)
	}
	return nil
}

// RestoreForwarding puts net.ipv4.ip_forward back to what it was before
// EnableForwarding changed it, if it did.
//
// Equivalent to: sysctl -w net.ipv4.ip_forward=$(cat ip_forward.orig)
func RestoreForwarding() error {
	orig := filepath.Join(StateDir, ipForwardOrig)
	b, err := os.ReadFile(orig)
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		return err
	}
	if err := os.WriteFile(ipForward, b, 0o644); err != nil {
		return fmt.Errorf("restore net.ipv4.ip_forward: %w", err)
	}
	return os.Remove(orig)
}

// SetRouteLocalnet lets packets from 127.0.0.0/8 leave through the bridge,
// which the DNAT of a published port reached from the host's own loopback
// needs (ip-sysctl.rst, route_localnet). It is a setting of the bridge, so
// it goes away with it.
//
// Equivalent to: sysctl -w net.ipv4.conf.$bridge.route_localnet=1
func SetRouteLocalnet(bridge string) error {
	p := filepath.Join("/proc/sys/net/ipv4/conf", bridge, "route_localnet")
	if err := os.WriteFile(p, []byte("1\n"), 0o644); err != nil {
		return fmt.Errorf("sysctl -w net.ipv4.conf.%s.route_localnet=1: %w", bridge, err)
	}
	return nil
}
