package network

import (
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"net/netip"

	"github.com/vishvananda/netlink"
	"github.com/vishvananda/netns"
)

// CtrLink is the name of the container's end of its veth pair.
const CtrLink = "eth0"

// VethName makes a fresh name for the host end of a veth pair. It is
// random rather than derived from the container's name: the kernel
// destroys an old pair asynchronously after its namespace dies, and a
// container started again at once must not collide with it.
func VethName() string {
	b := make([]byte, 4)
	rand.Read(b)
	return "veth" + hex.EncodeToString(b)
}

// withNetns runs f with a netlink handle in the network namespace of pid,
// without moving any thread of ours into it.
func withNetns(pid int, f func(h *netlink.Handle) error) error {
	ns, err := netns.GetFromPid(pid)
	if err != nil {
		return fmt.Errorf("open /proc/%d/ns/net: %w", pid, err)
	}
	defer ns.Close()
	h, err := netlink.NewHandleAt(ns)
	if err != nil {
		return fmt.Errorf("netlink socket in the netns of %d: %w", pid, err)
	}
	defer h.Close()
	return f(h)
}

// LoopbackUp brings up lo in the network namespace of pid: a new netns
// has only lo, and it is down.
//
// Equivalent to: nsenter --net --target $pid ip link set lo up
func LoopbackUp(pid int) error {
	return withNetns(pid, func(h *netlink.Handle) error {
		lo, err := h.LinkByName("lo")
		if err != nil {
			return err
		}
		if err := h.LinkSetUp(lo); err != nil {
			return fmt.Errorf("ip link set lo up (in the container): %w", err)
		}
		return nil
	})
}

// AddVeth creates a veth pair whose host end, veth, is on the host and
// whose other end is eth0 in the network namespace of pid, in one
// rtnetlink message. master, when not empty, is the Linux bridge the host
// end joins. The host end is brought up.
//
// Equivalent to:
//
//	ip link add $veth type veth peer name eth0 netns $pid
//	ip link set $veth master $master up
func AddVeth(veth string, pid int, master string) error {
	ns, err := netns.GetFromPid(pid)
	if err != nil {
		return fmt.Errorf("open /proc/%d/ns/net: %w", pid, err)
	}
	defer ns.Close()
	la := netlink.LinkAttrs{Name: veth}
	if master != "" {
		br, err := netlink.LinkByName(master)
		if err != nil {
			return fmt.Errorf("bridge %s: %w", master, err)
		}
		la.MasterIndex = br.Attrs().Index
	}
	link := &netlink.Veth{LinkAttrs: la, PeerName: CtrLink, PeerNamespace: netlink.NsFd(ns)}
	if err := netlink.LinkAdd(link); err != nil {
		return fmt.Errorf("ip link add %s type veth peer name %s netns %d: %w", veth, CtrLink, pid, err)
	}
	if err := netlink.LinkSetUp(link); err != nil {
		return fmt.Errorf("ip link set %s up: %w", veth, err)
	}
	return nil
}

// SetIsolated makes the bridge port veth isolated: it exchanges frames
// only with ports that are not, so two isolated containers cannot reach
// each other while the bridge itself (the host, the gateway) still can.
//
// Equivalent to: bridge link set dev $veth isolated on
func SetIsolated(veth string) error {
	l, err := netlink.LinkByName(veth)
	if err != nil {
		return err
	}
	if err := netlink.LinkSetIsolated(l, true); err != nil {
		return fmt.Errorf("bridge link set dev %s isolated on: %w", veth, err)
	}
	return nil
}

// ConfigureInside gives the container's eth0 its address and a default
// route through gw (when gw is valid), and brings lo and eth0 up, all in
// the network namespace of pid.
//
// Equivalent to (inside the container's netns):
//
//	ip link set lo up
//	ip addr add $ip/$bits dev eth0
//	ip link set eth0 up
//	ip route add default via $gw
func ConfigureInside(pid int, ip netip.Addr, bits int, gw netip.Addr) error {
	return withNetns(pid, func(h *netlink.Handle) error {
		lo, err := h.LinkByName("lo")
		if err != nil {
			return err
		}
		if err := h.LinkSetUp(lo); err != nil {
			return fmt.Errorf("ip link set lo up: %w", err)
		}
		eth, err := h.LinkByName(CtrLink)
		if err != nil {
			return err
		}
		if err := h.AddrAdd(eth, &netlink.Addr{IPNet: ipnet(ip, bits)}); err != nil {
			return fmt.Errorf("ip addr add %s/%d dev %s: %w", ip, bits, CtrLink, err)
		}
		if err := h.LinkSetUp(eth); err != nil {
			return fmt.Errorf("ip link set %s up: %w", CtrLink, err)
		}
		if !gw.IsValid() {
			return nil
		}
		if err := h.RouteAdd(&netlink.Route{LinkIndex: eth.Attrs().Index, Gw: gw.AsSlice()}); err != nil {
			return fmt.Errorf("ip route add default via %s: %w", gw, err)
		}
		return nil
	})
}

// Counters are a container's traffic, seen from inside it.
type Counters struct {
	TX, RX uint64 // bytes sent and received by the container
}

// VethCounters reads the byte counters of the host end veth and swaps
// them: what the host end receives, the container sent.
//
// Equivalent to: ip -s link show $veth
func VethCounters(veth string) (Counters, error) {
	l, err := netlink.LinkByName(veth)
	if err != nil {
		return Counters{}, err
	}
	s := l.Attrs().Statistics
	if s == nil {
		return Counters{}, fmt.Errorf("%s: no statistics", veth)
	}
	return Counters{TX: s.RxBytes, RX: s.TxBytes}, nil
}
