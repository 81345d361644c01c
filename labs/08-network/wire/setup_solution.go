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
