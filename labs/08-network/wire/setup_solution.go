//go:build solution

package main

import (
	"fmt"
	"net"
	"os"
	"os/exec"
	"strings"

	"github.com/vishvananda/netlink"
	"github.com/vishvananda/netns"
)

func ipnet(a interface{ AsSlice() []byte }, bits int) *net.IPNet {
	return &net.IPNet{IP: a.AsSlice(), Mask: net.CIDRMask(bits, 32)}
}

// makeBridge creates the bridge with the gateway address and brings it up.
func makeBridge() error {
	br := &netlink.Bridge{LinkAttrs: netlink.LinkAttrs{Name: Bridge}}
	if err := netlink.LinkAdd(br); err != nil {
		return err
	}
	if err := netlink.AddrAdd(br, &netlink.Addr{IPNet: ipnet(Gateway, Subnet.Bits())}); err != nil {
		return err
	}
	return netlink.LinkSetUp(br)
}

// makeVeth creates the veth pair, its host end on the bridge.
func makeVeth(ns netns.NsHandle) error {
	br, err := netlink.LinkByName(Bridge)
	if err != nil {
		return err
	}
	v := &netlink.Veth{LinkAttrs: netlink.LinkAttrs{Name: Veth, MasterIndex: br.Attrs().Index}, PeerName: "eth0", PeerNamespace: netlink.NsFd(ns)}
	if err := netlink.LinkAdd(v); err != nil {
		return err
	}
	return netlink.LinkSetUp(v)
}

// configureBox sets up the inside of ns through a handle opened there.
func configureBox(ns netns.NsHandle) error {
	h, err := netlink.NewHandleAt(ns)
	if err != nil {
		return err
	}
	defer h.Close()
	lo, err := h.LinkByName("lo")
	if err != nil {
		return err
	}
	eth, err := h.LinkByName("eth0")
	if err != nil {
		return err
	}
	if err := h.LinkSetUp(lo); err != nil {
		return err
	}
	if err := h.AddrAdd(eth, &netlink.Addr{IPNet: ipnet(BoxIP, Subnet.Bits())}); err != nil {
		return err
	}
	if err := h.LinkSetUp(eth); err != nil {
		return err
	}
	return h.RouteAdd(&netlink.Route{LinkIndex: eth.Attrs().Index, Gw: Gateway.AsSlice()})
}

// enableNAT turns forwarding on and masquerades the subnet.
func enableNAT() error {
	if err := os.WriteFile("/proc/sys/net/ipv4/ip_forward", []byte("1"), 0o644); err != nil {
		return err
	}
	cmd := exec.Command("nft", "-f", "-")
	cmd.Stdin = strings.NewReader(fmt.Sprintf(`table ip lab08 {
	chain post {
		type nat hook postrouting priority srcnat;
		ip saddr %s oifname != %q masquerade
	}
}`, Subnet, Bridge))
	if out, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("nft: %v: %s", err, out)
	}
	return nil
}

// publishPort publishes the box's BoxPort on the host's 127.0.0.1:HostPort:
// a dnat in the nat hook output, which the host's own packets pass
// (prerouting sees only those that arrive on a link); route_localnet on
// the bridge, so that the rewritten packet, still from 127.0.0.1, may be
// routed out of it (otherwise a martian, dropped); and a masquerade of
// that loopback source, so that the box answers the bridge's address
// instead of its own loopback. contain does the same for -p 127.0.0.1:...
// (tool/internal/network, chapter 08).
//
// Equivalent to:
//
//	sysctl -w net.ipv4.conf.lab08br.route_localnet=1
//	nft add chain ip lab08 out '{ type nat hook output priority -100; }'
//	nft add rule ip lab08 out ip daddr 127.0.0.1 tcp dport 18080 dnat to 10.213.88.2:8080
//	nft add chain ip lab08 loopback '{ type nat hook postrouting priority srcnat; }'
//	nft add rule ip lab08 loopback ip saddr 127.0.0.0/8 oifname lab08br masquerade
func publishPort() error {
	if err := os.WriteFile("/proc/sys/net/ipv4/conf/"+Bridge+"/route_localnet", []byte("1"), 0o644); err != nil {
		return err
	}
	cmd := exec.Command("nft", "-f", "-")
	cmd.Stdin = strings.NewReader(fmt.Sprintf(`table ip lab08 {
	chain out {
		type nat hook output priority -100;
		ip daddr 127.0.0.1 tcp dport %d dnat to %s:%d
	}
	chain loopback {
		type nat hook postrouting priority srcnat;
		ip saddr 127.0.0.0/8 oifname %q masquerade
	}
}`, HostPort, BoxIP, BoxPort, Bridge))
	if out, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("nft: %v: %s", err, out)
	}
	return nil
}
