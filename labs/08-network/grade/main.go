// Command grade checks lab 08. It builds your wire program
// (labs/08-network/wire), creates three network namespaces, each held by a
// sleeping process (so that no bind mount under /run/netns is made): the
// box; "the host", a stand-in for this machine's own namespace with
// forwarding off and an empty firewall; and "the outside", wired to the
// host. It runs wire in the host's namespace, looks at the links,
// addresses, routes and rules it made, and prints one line per check
// with a hint drawn from that state, then the score:
//
//	go run ./labs/08-network/grade             grade setup.go
//	go run ./labs/08-network/grade -solution   grade the reference instead
//
// The stand-in makes the grade the same on every machine: a host that
// already forwards (after any contain run on the default network), or
// whose firewall drops forwarded packets, cannot pass or fail a check for
// wire, and nothing wire does reaches this machine's own links, sysctls or
// rules. Everything goes away with the three processes. It exits 0 only
// with the full score.
package main

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"runtime"
	"slices"
	"strings"
	"time"

	"github.com/vishvananda/netlink"
	"github.com/vishvananda/netns"

	"github.com/contain-dev/contain/labs/internal/grading"
)

// wirePkg is the learner's program, as go build names it.
const wirePkg = "./labs/08-network/wire"

const (
	bridge  = "lab08br"
	gateway = "10.213.88.1"
	boxIP   = "10.213.88.2"
	lanIP   = "10.213.89.2" // the outside; it has no route back to the box's subnet
	hostLan = "10.213.89.1"
	// The stretch goal publishes the box's port boxPort on the host's
	// loopback, as contain run -p 127.0.0.1:18080:8080 does.
	boxPort  = 8080
	hostPort = 18080
	greeting = "hello from the box"
)

func main() {
	grading.Main("grade the reference solution, setup_solution.go, instead of setup.go", "", grade)
}

// lab is one grading session's namespaces, by the pids that hold them,
// and what the checks share.
type lab struct {
	host, box, lan int
	// h is a netlink handle in the host's namespace.
	h *netlink.Handle
	// wire is what wire printed when it failed, "" when it did not.
	wire string
	// skip says why the stretch goal is not graded, or "".
	skip string
}

// grade builds wire, makes the namespaces, runs wire, grades what it made
// and returns the exit status.
func grade(solution bool, _ []string) (int, error) {
	s, err := grading.Start("lab08", "for namespaces and links")
	if err != nil {
		return 2, err
	}
	defer s.Close()
	bins, err := s.Build(s.Tmp, solution, wirePkg)
	if err != nil {
		return 1, err
	}
	l := &lab{}
	if l.skip, err = s.Stretch(solution, wirePkg); err != nil {
		return 2, err
	}
	var pids []int
	for range 3 {
		pid, stop, err := holdNetns()
		if err != nil {
			return 2, err
		}
		defer stop()
		pids = append(pids, pid)
	}
	l.host, l.box, l.lan = pids[0], pids[1], pids[2]
	// The host: loopback up, as on any machine; forwarding off, and
	// loopback addresses martian on every link, whatever this machine
	// has (a new namespace copies its IPv4 settings from the initial
	// one); and the outside on a veth of its own.
	if err := l.inHost("sh", "-ec", fmt.Sprintf(`ip link set lo up
sysctl -qw net.ipv4.ip_forward=0 net.ipv4.conf.all.route_localnet=0 net.ipv4.conf.default.route_localnet=0
ip link add hlab08 type veth peer name eth0 netns %[1]d
ip addr add %[2]s/30 dev hlab08
ip link set hlab08 up
nsenter -t %[1]d -n ip addr add %[3]s/30 dev eth0
nsenter -t %[1]d -n ip link set eth0 up`, l.lan, hostLan, lanIP)).Run(); err != nil {
		return 2, fmt.Errorf("wire the outside: %w", err)
	}
	ns, err := netns.GetFromPid(l.host)
	if err != nil {
		return 2, err
	}
	defer ns.Close()
	if l.h, err = netlink.NewHandleAt(ns); err != nil {
		return 2, err
	}
	defer l.h.Close()
	if out, err := l.inHost(bins[0], fmt.Sprint(l.box)).CombinedOutput(); err != nil {
		l.wire = fmt.Sprintf("%v: %s", err, grading.FirstLine(string(out)))
	}
	return grading.Report(os.Stdout, checks, l).Status(), nil
}

// holdNetns starts a process in a new network namespace and returns its
// pid, once it is in there, and a function that ends it (and with it the
// namespace, unless something else holds it).
//
// Equivalent to: unshare --net sleep infinity &
func holdNetns() (int, func(), error) {
	// unshare(1) enters the new namespace only after it has started:
	// until its shell prints, /proc/PID/ns/net could still name this
	// machine's namespace.
	c := exec.Command("unshare", "--net", "sh", "-c", "echo ready; exec sleep infinity")
	ready, err := c.StdoutPipe()
	if err != nil {
		return 0, nil, err
	}
	if err := c.Start(); err != nil {
		return 0, nil, err
	}
	stop := func() { c.Process.Kill(); c.Wait() }
	if _, err := bufio.NewReader(ready).ReadString('\n'); err != nil {
		stop()
		return 0, nil, fmt.Errorf("unshare --net: %w", err)
	}
	return c.Process.Pid, stop, nil
}

// inHost prepares a command to run in the host's namespace.
//
// Equivalent to: nsenter -t $host -n CMD...
func (l *lab) inHost(name string, args ...string) *exec.Cmd {
	return exec.Command("nsenter", append([]string{"-t", fmt.Sprint(l.host), "-n", name}, args...)...)
}

// hostSysctl reads a sysctl of the host's namespace, as
// /proc/sys/net/ipv4/ip_forward: the files under /proc/sys/net show the
// namespace of the process that reads them.
func (l *lab) hostSysctl(file string) string {
	out, _ := l.inHost("cat", file).Output()
	return strings.TrimSpace(string(out))
}

// forwarding tells whether the host forwards.
func (l *lab) forwarding() bool { return l.hostSysctl("/proc/sys/net/ipv4/ip_forward") == "1" }

// inBox returns a netlink handle in the box's namespace.
func (l *lab) inBox() (*netlink.Handle, error) {
	ns, err := netns.GetFromPid(l.box)
	if err != nil {
		return nil, err
	}
	defer ns.Close()
	return netlink.NewHandleAt(ns)
}

// ping tells whether one ping from the box to ip is answered.
func (l *lab) ping(ip string) bool {
	return exec.Command("nsenter", "-t", fmt.Sprint(l.box), "-n", "busybox", "ping", "-c1", "-W2", ip).Run() == nil
}

func addrs(h *netlink.Handle, link netlink.Link) []string {
	as, _ := h.AddrList(link, netlink.FAMILY_V4)
	var s []string
	for _, a := range as {
		s = append(s, a.IPNet.String())
	}
	return s
}

// hostVeth finds the host end of the box's eth0 through eth0's peer index
// (IFLA_LINK), whatever its name.
func (l *lab) hostVeth() (netlink.Link, string) {
	h, err := l.inBox()
	if err != nil {
		return nil, err.Error()
	}
	defer h.Close()
	eth, err := h.LinkByName("eth0")
	if err != nil {
		return nil, "there is no eth0 in the box: create the veth pair with its peer named eth0 in the box's namespace (ip link add vlab08 type veth peer name eth0 netns PID)"
	}
	link, err := l.h.LinkByIndex(eth.Attrs().ParentIndex)
	if err != nil {
		return nil, "eth0 in the box has no peer on the host"
	}
	return link, ""
}

// checks read the live state of the host's and the box's namespaces.
var checks = []grading.Check[*lab]{
	{Name: "the bridge lab08br exists and is up", Points: 1, Run: checkBridge},
	{Name: "the bridge has the gateway address 10.213.88.1/24", Points: 1, Run: checkGateway},
	{Name: "the host end of the veth is on the bridge and up", Points: 2, Run: checkVeth},
	{Name: "in the box, lo and eth0 are up and eth0 has 10.213.88.2/24", Points: 2, Run: checkBox},
	{Name: "the box has a default route via the bridge", Points: 1, Run: checkRoute},
	{Name: "the box reaches its gateway", Points: 1, Run: checkPingGateway},
	{Name: "net.ipv4.ip_forward is 1", Points: 1, Run: checkForward},
	{Name: "the box reaches the outside through NAT", Points: 2, Run: checkNAT},
	{Name: "the host's 127.0.0.1:18080 reaches the box's port 8080", Stretch: true, Skip: func(l *lab) string { return l.skip }, Run: checkPublish},
}

// noLink prefixes a check's hint with wire's failure, when it failed:
// whatever is missing may be what it never got to.
func (l *lab) noLink(hint string) string {
	if l.wire != "" {
		return fmt.Sprintf("wire failed (%s); %s", l.wire, hint)
	}
	return hint
}

func checkBridge(l *lab) string {
	link, err := l.h.LinkByName(bridge)
	switch {
	case err != nil:
		return l.noLink("there is no link lab08br: create it (ip link add lab08br type bridge)")
	case link.Type() != "bridge":
		return "lab08br is a " + link.Type() + ", not a bridge"
	case link.Attrs().Flags&net.FlagUp == 0:
		return "lab08br is down: ip link set lab08br up"
	}
	return ""
}

func checkGateway(l *lab) string {
	link, err := l.h.LinkByName(bridge)
	if err != nil {
		return "no bridge yet"
	}
	if got := addrs(l.h, link); !slices.Contains(got, gateway+"/24") {
		return fmt.Sprintf("lab08br has the addresses %v: give it %s/24 (ip addr add %s/24 dev lab08br), the box's gateway", got, gateway, gateway)
	}
	return ""
}

func checkVeth(l *lab) string {
	link, hint := l.hostVeth()
	if link == nil {
		return l.noLink(hint)
	}
	name := link.Attrs().Name
	if link.Attrs().MasterIndex == 0 {
		return fmt.Sprintf("the veth %s exists but has no master: attach it to the bridge (ip link set %s master lab08br)", name, name)
	}
	if m, err := l.h.LinkByIndex(link.Attrs().MasterIndex); err == nil && m.Attrs().Name != bridge {
		return fmt.Sprintf("the veth %s is on %s, not on lab08br", name, m.Attrs().Name)
	}
	if link.Attrs().Flags&net.FlagUp == 0 {
		return fmt.Sprintf("the veth %s is down: ip link set %s up", name, name)
	}
	return ""
}

func checkBox(l *lab) string {
	h, err := l.inBox()
	if err != nil {
		return err.Error()
	}
	defer h.Close()
	for _, name := range []string{"lo", "eth0"} {
		link, err := h.LinkByName(name)
		if err != nil {
			return l.noLink("no " + name + " in the box")
		}
		if link.Attrs().Flags&net.FlagUp == 0 {
			return fmt.Sprintf("%s in the box is down: a new namespace starts with every link down (ip link set %s up, in the box)", name, name)
		}
		if got := addrs(h, link); name == "eth0" && !slices.Contains(got, boxIP+"/24") {
			return fmt.Sprintf("eth0 in the box has %v: give it %s/24", got, boxIP)
		}
	}
	return ""
}

func checkRoute(l *lab) string {
	h, err := l.inBox()
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
}

func checkPingGateway(l *lab) string {
	if l.ping(gateway) {
		return ""
	}
	return "ping " + gateway + " from the box gets no answer: check the checks above, the bridge, its address and the veth's master"
}

func checkForward(l *lab) string {
	if !l.forwarding() {
		return "ip_forward is 0 (the grader's stand-in for the host starts with it off): the host will not route the box's packets anywhere (sysctl -w net.ipv4.ip_forward=1)"
	}
	return ""
}

func checkNAT(l *lab) string {
	if l.ping(lanIP) {
		return ""
	}
	noTable := l.inHost("nft", "list", "table", "ip", "lab08").Run() != nil
	switch {
	case !l.forwarding() && noTable:
		return "ping " + lanIP + " from the box gets no answer: the host forwards nothing while ip_forward is 0 (see above). Once it does, the outside still has no route back to 10.213.88.0/24, and there is no table ip lab08 yet: the box's source address must be rewritten (masquerade) on the way out"
	case !l.forwarding():
		return "ping " + lanIP + " from the box gets no answer: the host forwards nothing while ip_forward is 0 (see above), so the masquerade in table ip lab08 never sees a packet"
	}
	if out, err := l.inHost("nft", "list", "chains").Output(); err == nil && strings.Contains(string(out), "hook forward") && strings.Contains(string(out), "policy drop") {
		return "a forward chain has policy drop and nothing accepts the subnet: nft list chains shows which; accept 10.213.88.0/24 there"
	}
	if noTable {
		return "there is no table ip lab08: the outside (" + lanIP + ") has no route back to 10.213.88.0/24, so the box's source address must be rewritten (masquerade) on the way out"
	}
	return "ping " + lanIP + " gets no answer: nft list table ip lab08 should masquerade ip saddr 10.213.88.0/24 leaving through anything but lab08br"
}

// inNetns runs f on a thread that is in the network namespace of pid
// for the time of f; sockets f makes stay in that namespace.
func inNetns(pid int, f func() error) error {
	ns, err := netns.GetFromPid(pid)
	if err != nil {
		return err
	}
	defer ns.Close()
	runtime.LockOSThread()
	orig, err := netns.Get()
	if err != nil {
		runtime.UnlockOSThread()
		return err
	}
	defer orig.Close()
	if err := netns.Set(ns); err != nil {
		runtime.UnlockOSThread()
		return err
	}
	ferr := f()
	if err := netns.Set(orig); err != nil {
		// The thread stays locked: the runtime ends it with its
		// goroutine rather than run others in the wrong namespace.
		return err
	}
	runtime.UnlockOSThread()
	return ferr
}

// publish listens in the box on boxIP:boxPort, greets one connection,
// and connects from the host to 127.0.0.1:hostPort: it returns what came
// back, or the error of the connection.
func (l *lab) publish() (string, error) {
	var ln net.Listener
	if err := inNetns(l.box, func() (err error) {
		ln, err = net.Listen("tcp4", fmt.Sprintf("%s:%d", boxIP, boxPort))
		return err
	}); err != nil {
		return "", fmt.Errorf("listen in the box: %w (is eth0 up with its address?)", err)
	}
	defer ln.Close()
	go func() {
		c, err := ln.Accept()
		if err == nil {
			fmt.Fprintln(c, greeting)
			c.Close()
		}
	}()
	var c net.Conn
	if err := inNetns(l.host, func() (err error) {
		c, err = net.DialTimeout("tcp4", fmt.Sprintf("127.0.0.1:%d", hostPort), 2*time.Second)
		return err
	}); err != nil {
		return "", err
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(2 * time.Second))
	b, err := io.ReadAll(c)
	return strings.TrimSpace(string(b)), err
}

func checkPublish(l *lab) string {
	got, err := l.publish()
	if err == nil && got == greeting {
		return ""
	}
	if l.wire != "" {
		return l.noLink(fmt.Sprintf("connecting to 127.0.0.1:%d on the host: %v", hostPort, err))
	}
	ruleset, _ := l.inHost("nft", "list", "ruleset").Output()
	localnet := l.hostSysctl("/proc/sys/net/ipv4/conf/" + bridge + "/route_localnet")
	switch {
	case err == nil:
		return fmt.Sprintf("127.0.0.1:%d answered %q, not the box's %q", hostPort, got, greeting)
	case !strings.Contains(string(ruleset), "dnat"):
		return fmt.Sprintf("connecting to 127.0.0.1:%d on the host: %v. There is no dnat rule: a packet the host itself sends passes the nat hook output, not prerouting; rewrite daddr 127.0.0.1 tcp dport %d to %s:%d there", hostPort, err, hostPort, boxIP, boxPort)
	case localnet != "1":
		return fmt.Sprintf("connecting to 127.0.0.1:%d on the host: %v. After the dnat the packet leaves through lab08br with its source 127.0.0.1, a martian there, and routing drops it: set net.ipv4.conf.lab08br.route_localnet=1", hostPort, err)
	}
	return fmt.Sprintf("connecting to 127.0.0.1:%d on the host: %v. The box got a packet from 127.0.0.1 and answered its own loopback: masquerade what leaves through lab08br from 127.0.0.0/8", hostPort, err)
}
