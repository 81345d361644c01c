// Command grade checks lab 08. It builds your wire program
// (labs/08-network/wire), creates the box's network namespace and, as the
// outside world, a second one wired to the host (each held by a sleeping
// process, so that no bind mount under /run/netns is made), runs wire, looks
// at the links, addresses, routes and rules it made, and prints one line
// per check with a hint drawn from that state, then the score:
//
//	go run ./labs/08-network/grade             grade setup.go
//	go run ./labs/08-network/grade -solution   grade the reference instead
//
// It removes everything afterwards, whatever wire did, and puts
// net.ipv4.ip_forward back. It exits 0 only with the full score.
package main

import (
	"bufio"
	"fmt"
	"net"
	"os"
	"os/exec"
	"slices"
	"strings"

	"github.com/vishvananda/netlink"
	"github.com/vishvananda/netns"

	"github.com/contain-dev/contain/labs/internal/grading"
)

const (
	bridge  = "lab08br"
	gateway = "10.213.88.1"
	boxIP   = "10.213.88.2"
	lanIP   = "10.213.89.2" // the outside; it has no route back to the box's subnet
	hostLan = "10.213.89.1"
)

func main() {
	grading.Main("grade the reference solution, setup_solution.go, instead of setup.go", "", mainErr)
}

// mainErr builds wire, wires the two namespaces, runs wire, grades what
// it made and returns the exit status.
func mainErr(solution bool, _ []string) (int, error) {
	s, err := grading.Start("lab08", "for namespaces and links")
	if err != nil {
		return 2, err
	}
	defer s.Close()
	bins, err := s.Build(s.Tmp, solution, "./labs/08-network/wire")
	if err != nil {
		return 1, err
	}
	forward, err := os.ReadFile("/proc/sys/net/ipv4/ip_forward")
	if err != nil {
		return 2, err
	}
	defer cleanup(forward)
	cleanup(nil) // a run that was interrupted
	var pids []int
	for range 2 {
		// unshare(1) enters the new namespace only after it has started:
		// until its shell prints, "netns PID" below could still name
		// the host's namespace (RTNETLINK: File exists, for eth0).
		holder := exec.Command("unshare", "--net", "sh", "-c", "echo ready; exec sleep infinity")
		ready, err := holder.StdoutPipe()
		if err != nil {
			return 2, err
		}
		if err := holder.Start(); err != nil {
			return 2, err
		}
		defer holder.Wait()
		defer holder.Process.Kill()
		if _, err := bufio.NewReader(ready).ReadString('\n'); err != nil {
			return 2, fmt.Errorf("unshare --net: %w", err)
		}
		pids = append(pids, holder.Process.Pid)
	}
	boxPid = pids[0]
	if err := sh(fmt.Sprintf(`ip link add hlab08 type veth peer name eth0 netns %[1]d
ip addr add %[2]s/30 dev hlab08
ip link set hlab08 up
nsenter -t %[1]d -n ip addr add %[3]s/30 dev eth0
nsenter -t %[1]d -n ip link set eth0 up`, pids[1], hostLan, lanIP)); err != nil {
		return 2, err
	}
	out, err := exec.Command(bins[0], fmt.Sprint(boxPid)).CombinedOutput()
	if err != nil {
		fmt.Printf("wire failed: %v\n%s", err, out)
	}
	return grading.Status(grading.Report(os.Stdout, checks, struct{}{})), nil
}

// cleanup removes what the grader and wire may have made; with forward
// not nil it also puts ip_forward back.
func cleanup(forward []byte) {
	exec.Command("nft", "delete", "table", "ip", "lab08").Run()
	for _, l := range []string{"vlab08", "hlab08", bridge} {
		exec.Command("ip", "link", "del", l).Run()
	}
	if forward != nil {
		os.WriteFile("/proc/sys/net/ipv4/ip_forward", forward, 0o644)
	}
}

func sh(script string) error {
	if out, err := exec.Command("sh", "-ec", script).CombinedOutput(); err != nil {
		return fmt.Errorf("%v: %s", err, out)
	}
	return nil
}

// boxPid is the process that holds the box's namespace.
var boxPid int

// inBox returns a netlink handle in the box's namespace.
func inBox() (*netlink.Handle, error) {
	ns, err := netns.GetFromPid(boxPid)
	if err != nil {
		return nil, err
	}
	defer ns.Close()
	return netlink.NewHandleAt(ns)
}

// ping tells whether one ping from the box to ip is answered.
func ping(ip string) bool {
	return exec.Command("nsenter", "-t", fmt.Sprint(boxPid), "-n", "busybox", "ping", "-c1", "-W2", ip).Run() == nil
}

func addrs(h *netlink.Handle, l netlink.Link) []string {
	as, _ := h.AddrList(l, netlink.FAMILY_V4)
	var s []string
	for _, a := range as {
		s = append(s, a.IPNet.String())
	}
	return s
}

// hostVeth finds the host end of the box's eth0 through eth0's peer index
// (IFLA_LINK), whatever its name.
func hostVeth() (netlink.Link, string) {
	h, err := inBox()
	if err != nil {
		return nil, err.Error()
	}
	defer h.Close()
	eth, err := h.LinkByName("eth0")
	if err != nil {
		return nil, "there is no eth0 in the box: create the veth pair with its peer named eth0 in the box's namespace (ip link add vlab08 type veth peer name eth0 netns PID)"
	}
	l, err := netlink.LinkByIndex(eth.Attrs().ParentIndex)
	if err != nil {
		return nil, "eth0 in the box has no peer on the host"
	}
	return l, ""
}

// checks read the live state of the host and of the box's namespace:
// they need no observation.
var checks = []grading.Check[struct{}]{
	{Name: "the bridge lab08br exists and is up", Points: 1, Run: func(struct{}) string {
		l, err := netlink.LinkByName(bridge)
		if err != nil {
			return "there is no link lab08br: create it (ip link add lab08br type bridge)"
		}
		if l.Type() != "bridge" {
			return "lab08br is a " + l.Type() + ", not a bridge"
		}
		if l.Attrs().Flags&net.FlagUp == 0 {
			return "lab08br is down: ip link set lab08br up"
		}
		return ""
	}},
	{Name: "the bridge has the gateway address 10.213.88.1/24", Points: 1, Run: func(struct{}) string {
		l, err := netlink.LinkByName(bridge)
		if err != nil {
			return "no bridge yet"
		}
		if got := addrs(&netlink.Handle{}, l); !slices.Contains(got, gateway+"/24") {
			return fmt.Sprintf("lab08br has the addresses %v: give it %s/24 (ip addr add %s/24 dev lab08br), the box's gateway", got, gateway, gateway)
		}
		return ""
	}},
	{Name: "the host end of the veth is on the bridge and up", Points: 2, Run: func(struct{}) string {
		l, hint := hostVeth()
		if l == nil {
			return hint
		}
		name := l.Attrs().Name
		if l.Attrs().MasterIndex == 0 {
			return fmt.Sprintf("the veth %s exists but has no master: attach it to the bridge (ip link set %s master lab08br)", name, name)
		}
		if m, err := netlink.LinkByIndex(l.Attrs().MasterIndex); err == nil && m.Attrs().Name != bridge {
			return fmt.Sprintf("the veth %s is on %s, not on lab08br", name, m.Attrs().Name)
		}
		if l.Attrs().Flags&net.FlagUp == 0 {
			return fmt.Sprintf("the veth %s is down: ip link set %s up", name, name)
		}
		return ""
	}},
	{Name: "in the box, lo and eth0 are up and eth0 has 10.213.88.2/24", Points: 2, Run: func(struct{}) string {
		h, err := inBox()
		if err != nil {
			return err.Error()
		}
		defer h.Close()
		for _, name := range []string{"lo", "eth0"} {
			l, err := h.LinkByName(name)
			if err != nil {
				return "no " + name + " in the box"
			}
			if l.Attrs().Flags&net.FlagUp == 0 {
				return fmt.Sprintf("%s in the box is down: a new namespace starts with every link down (ip link set %s up, in the box)", name, name)
			}
			if got := addrs(h, l); name == "eth0" && !slices.Contains(got, boxIP+"/24") {
				return fmt.Sprintf("eth0 in the box has %v: give it %s/24", got, boxIP)
			}
		}
		return ""
	}},
	{Name: "the box has a default route via the bridge", Points: 1, Run: func(struct{}) string {
		h, err := inBox()
		if err != nil {
			return err.Error()
		}
		defer h.Close()
		routes, _ := h.RouteList(nil, netlink.FAMILY_V4)
		for _, r := range routes {
			if (r.Dst == nil || r.Dst.String() == "0.0.0.0/0") && r.Gw.String() == gateway {
				return ""
			}
		}
		return "the box has no default route via " + gateway + ": without it, only its own subnet is reachable (ip route add default via " + gateway + ", in the box)"
	}},
	{Name: "the box reaches its gateway", Points: 1, Run: func(struct{}) string {
		if ping(gateway) {
			return ""
		}
		return "ping " + gateway + " from the box gets no answer: check the checks above, the bridge, its address and the veth's master"
	}},
	{Name: "net.ipv4.ip_forward is 1", Points: 1, Run: func(struct{}) string {
		b, _ := os.ReadFile("/proc/sys/net/ipv4/ip_forward")
		if strings.TrimSpace(string(b)) != "1" {
			return "ip_forward is 0: the host will not route the box's packets anywhere (sysctl -w net.ipv4.ip_forward=1)"
		}
		return ""
	}},
	{Name: "the box reaches the outside through NAT", Points: 2, Run: func(struct{}) string {
		if ping(lanIP) {
			return ""
		}
		if out, err := exec.Command("nft", "list", "chains").Output(); err == nil && strings.Contains(string(out), "hook forward") && strings.Contains(string(out), "policy drop") {
			return "a forward chain has policy drop and nothing accepts the subnet: nft list chains shows which; accept 10.213.88.0/24 there"
		}
		if exec.Command("nft", "list", "table", "ip", "lab08").Run() != nil {
			return "there is no table ip lab08: the outside (" + lanIP + ") has no route back to 10.213.88.0/24, so the box's source address must be rewritten (masquerade) on the way out"
		}
		return "ping " + lanIP + " gets no answer: nft list table ip lab08 should masquerade ip saddr 10.213.88.0/24 leaving through anything but lab08br"
	}},
}
