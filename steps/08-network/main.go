// Command 08-network gives a process a network of its own: a network
// namespace, a veth pair into a bridge, an address and a default route,
// and NAT to the outside. It is chapter 08's recipe in one file.
//
// usage:
//
//	08-network run BRIDGE CIDR CMD...   run CMD (on the host's filesystem) in a new netns on BRIDGE
//	08-network rawveth                  print the rtnetlink message that creates a veth pair
package main

import (
	"encoding/hex"
	"fmt"
	"net"
	"os"
	"os/exec"
	"strings"
	"syscall"

	"github.com/vishvananda/netlink"
	"github.com/vishvananda/netlink/nl"
	"github.com/vishvananda/netns"
	"golang.org/x/sys/unix"
)

func main() {
	var err error
	switch {
	case len(os.Args) > 1 && os.Args[1] == "-child":
		err = child(os.Args[2:])
	case len(os.Args) > 4 && os.Args[1] == "run":
		err = run(os.Args[2], os.Args[3], os.Args[4:])
	case len(os.Args) == 2 && os.Args[1] == "rawveth":
		err = rawVeth()
	default:
		err = fmt.Errorf("usage: 08-network run BRIDGE CIDR CMD... | rawveth")
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "08-network:", err)
		os.Exit(1)
	}
}

// child waits on fd 3 until the parent has wired its namespace, then
// becomes the command.
func child(args []string) error {
	go1 := os.NewFile(3, "go")
	buf := make([]byte, 1)
	if n, _ := go1.Read(buf); n != 1 {
		return fmt.Errorf("parent gave up")
	}
	path, err := exec.LookPath(args[0])
	if err != nil {
		return err
	}
	return syscall.Exec(path, args, os.Environ())
}

// run is the recipe. Each step undoes itself when the command ends.
func run(bridge, cidr string, args []string) error {
	gw, subnet, err := net.ParseCIDR(cidr)
	if err != nil {
		return err
	}
	gw = gw.To4()
	gw[3] = 1
	ip := append(net.IP(nil), gw...)
	ip[3] = 2
	bits, _ := subnet.Mask.Size()

	// excerpt: bridge
	// 1. The bridge, with the subnet's first address: the gateway.
	br := &netlink.Bridge{LinkAttrs: netlink.LinkAttrs{Name: bridge}}
	if err := netlink.LinkAdd(br); err != nil {
		return fmt.Errorf("ip link add %s type bridge: %w", bridge, err)
	}
	defer netlink.LinkDel(br)
	if err := netlink.AddrAdd(br, &netlink.Addr{IPNet: &net.IPNet{IP: gw, Mask: subnet.Mask}}); err != nil {
		return fmt.Errorf("ip addr add: %w", err)
	}
	if err := netlink.LinkSetUp(br); err != nil {
		return err
	}
	// end excerpt

	// 2. The child, in a new network namespace, blocked on a pipe.
	r, w, err := os.Pipe()
	if err != nil {
		return err
	}
	cmd := exec.Command("/proc/self/exe", append([]string{"-child"}, args...)...)
	cmd.Stdin, cmd.Stdout, cmd.Stderr = os.Stdin, os.Stdout, os.Stderr
	cmd.ExtraFiles = []*os.File{r}
	cmd.SysProcAttr = &syscall.SysProcAttr{Cloneflags: unix.CLONE_NEWNET, Pdeathsig: unix.SIGKILL}
	if err := cmd.Start(); err != nil {
		return err
	}
	r.Close()
	defer cmd.Process.Kill()
	ns, err := netns.GetFromPid(cmd.Process.Pid)
	if err != nil {
		return err
	}
	defer ns.Close()

	// excerpt: veth
	// 3. A veth pair: one end on the bridge, the other, eth0, created
	//    straight in the child's namespace.
	veth := &netlink.Veth{
		LinkAttrs:     netlink.LinkAttrs{Name: "veth-" + bridge, MasterIndex: br.Attrs().Index},
		PeerName:      "eth0",
		PeerNamespace: netlink.NsFd(ns),
	}
	if err := netlink.LinkAdd(veth); err != nil {
		return fmt.Errorf("ip link add type veth: %w", err)
	}
	if err := netlink.LinkSetUp(veth); err != nil {
		return err
	}
	// end excerpt

	// excerpt: inside
	// 4. Inside: a netlink socket opened in the child's namespace sets
	//    lo up, eth0's address, eth0 up and the default route.
	h, err := netlink.NewHandleAt(ns)
	if err != nil {
		return err
	}
	defer h.Close()
	for _, name := range []string{"lo", "eth0"} {
		l, err := h.LinkByName(name)
		if err != nil {
			return err
		}
		if name == "eth0" {
			if err := h.AddrAdd(l, &netlink.Addr{IPNet: &net.IPNet{IP: ip, Mask: subnet.Mask}}); err != nil {
				return err
			}
		}
		if err := h.LinkSetUp(l); err != nil {
			return err
		}
	}
	if err := h.RouteAdd(&netlink.Route{Gw: gw}); err != nil {
		return fmt.Errorf("ip route add default via %s: %w", gw, err)
	}
	// end excerpt

	// excerpt: nat
	// 5. Forwarding on, and masquerade for the subnet, in a table of our
	//    own so that one command removes it.
	old, err := os.ReadFile("/proc/sys/net/ipv4/ip_forward")
	if err != nil {
		return err
	}
	if err := os.WriteFile("/proc/sys/net/ipv4/ip_forward", []byte("1"), 0o644); err != nil {
		return err
	}
	defer os.WriteFile("/proc/sys/net/ipv4/ip_forward", old, 0o644)
	rules := fmt.Sprintf(`table ip step08 {
	chain post {
		type nat hook postrouting priority srcnat;
		ip saddr %s/%d oifname != %q masquerade
	}
}`, subnet.IP, bits, bridge)
	if err := nft(rules); err != nil {
		return err
	}
	defer nft("delete table ip step08")
	// end excerpt

	// 6. Go.
	w.Write([]byte{1})
	w.Close()
	return cmd.Wait()
}

func nft(script string) error {
	c := exec.Command("nft", "-f", "-")
	c.Stdin = strings.NewReader(script)
	if out, err := c.CombinedOutput(); err != nil {
		return fmt.Errorf("nft: %v: %s", err, out)
	}
	return nil
}

// rawVeth builds, without sending it, the RTM_NEWLINK message that `ip
// link add veth0 type veth peer name eth0` sends, and prints it.
func rawVeth() error {
	// excerpt: rawveth
	req := nl.NewNetlinkRequest(unix.RTM_NEWLINK, unix.NLM_F_CREATE|unix.NLM_F_EXCL|unix.NLM_F_ACK)
	req.AddData(nl.NewIfInfomsg(unix.AF_UNSPEC))
	req.AddData(nl.NewRtAttr(unix.IFLA_IFNAME, nl.ZeroTerminated("veth0")))
	info := nl.NewRtAttr(unix.IFLA_LINKINFO, nil)
	info.AddRtAttr(nl.IFLA_INFO_KIND, nl.NonZeroTerminated("veth"))
	data := info.AddRtAttr(nl.IFLA_INFO_DATA, nil)
	peer := data.AddRtAttr(nl.VETH_INFO_PEER, nil)
	nl.NewIfInfomsgChild(peer, unix.AF_UNSPEC)
	peer.AddRtAttr(unix.IFLA_IFNAME, nl.ZeroTerminated("eth0"))
	req.AddData(info)
	msg := req.Serialize()
	// end excerpt
	msg[8], msg[9], msg[10], msg[11] = 0, 0, 0, 0 // the sequence number varies
	fmt.Print(hex.Dump(msg))
	return nil
}
