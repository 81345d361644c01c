package cli_test

import (
	"bufio"
	"fmt"
	"net"
	"os"
	"os/exec"
	"runtime"
	"sort"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/vishvananda/netns"

	"github.com/contain-dev/contain/tool/testkit"
)

// The network tests never leave the machine: the "outside" is a network
// namespace of the test's own ("remote"), joined to the host by a veth
// pair, with the host as its router, as a LAN host would be.

// links returns the host's link names, less those that other tests
// running at the same time may add and remove: veths and the default
// bridge.
func links(t *testing.T) []string {
	t.Helper()
	ifs, err := net.Interfaces()
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, i := range ifs {
		if !strings.HasPrefix(i.Name, "veth") && i.Name != "contain0" {
			names = append(names, i.Name)
		}
	}
	sort.Strings(names)
	return names
}

// testID is in the names of everything these tests create.
var testID = fmt.Sprint(os.Getpid() % 100000)

// checkNetClean fails t, at its end, unless the host's links are as they
// were at its start and no rule names this test's networks or ports.
// Veths go away asynchronously after their namespace, so it waits a little.
func checkNetClean(t *testing.T) {
	t.Helper()
	before := strings.Join(links(t), " ")
	t.Cleanup(func() {
		var after string
		for i := 0; i < 100; i++ {
			if after = strings.Join(links(t), " "); after == before {
				break
			}
			time.Sleep(50 * time.Millisecond)
		}
		if diff := cmp.Diff(before, after); diff != "" {
			t.Errorf("host links changed (-before +after):\n%s", diff)
		}
		rules := testkit.Run(t, "nft", "list", "table", "ip", "contain").Stdout
		for _, marker := range []string{testID, "dport 180", "dport 181"} {
			if strings.Contains(rules, marker) {
				t.Errorf("rules of this test left in table ip contain:\n%s", rules)
			}
		}
	})
}

// sh runs a shell command on the host and fails t if it fails.
func sh(t *testing.T, script string) string {
	t.Helper()
	out, err := exec.Command("sh", "-ec", script).CombinedOutput()
	if err != nil {
		t.Fatalf("%s: %v\n%s", script, err, out)
	}
	return string(out)
}

// remote is a network namespace acting as another machine on the host's
// LAN: 10.213.250.2, routed through the host at 10.213.250.1.
type remote struct {
	ns     netns.NsHandle
	hostIP string
	ip     string
}

func newRemote(t *testing.T) *remote {
	t.Helper()
	// A sleeping process holds the namespace, rather than ip netns add,
	// whose bind mounts under /run/netns other tests would see.
	// unshare(1) enters the new namespace only after it has started:
	// until its shell prints, "netns PID" below could still name the
	// host's namespace.
	holder := exec.Command("unshare", "--net", "sh", "-c", "echo ready; exec sleep infinity")
	ready, err := holder.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := holder.Start(); err != nil {
		t.Fatal(err)
	}
	pid := holder.Process.Pid
	host := "hrmt" + testID
	t.Cleanup(func() {
		exec.Command("ip", "link", "del", host).Run()
		holder.Process.Kill()
		holder.Wait()
	})
	if _, err := bufio.NewReader(ready).ReadString('\n'); err != nil {
		t.Fatalf("unshare --net: %v", err)
	}
	sh(t, fmt.Sprintf(`ip link add %[1]s type veth peer name eth0 netns %[2]d
ip addr add 10.213.250.1/30 dev %[1]s
ip link set %[1]s up
nsenter -t %[2]d -n ip addr add 10.213.250.2/30 dev eth0
nsenter -t %[2]d -n ip link set eth0 up
nsenter -t %[2]d -n ip link set lo up
nsenter -t %[2]d -n ip route add default via 10.213.250.1`, host, pid))
	ns, err := netns.GetFromPid(pid)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ns.Close() })
	return &remote{ns: ns, hostIP: "10.213.250.1", ip: "10.213.250.2"}
}

// in runs f on a thread that is in the remote's namespace, and moves the
// thread back. A socket belongs to the namespace it was created in, so a
// listener or a connection made by f stays there.
func (r *remote) in(t *testing.T, f func()) {
	t.Helper()
	done := make(chan error)
	go func() {
		runtime.LockOSThread()
		orig, err := netns.Get()
		if err != nil {
			done <- err
			return
		}
		defer orig.Close()
		if err := netns.Set(r.ns); err != nil {
			done <- err
			return
		}
		f()
		if err := netns.Set(orig); err != nil {
			done <- err // the thread stays locked and dies with the goroutine
			return
		}
		runtime.UnlockOSThread()
		done <- nil
	}()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
}

// newNetwork creates a network with the first free 10.213.1xx.0/24 and
// removes it when t ends.
func newNetwork(t *testing.T, name string, flags ...string) string {
	t.Helper()
	for i := 100; i < 200; i++ {
		subnet := fmt.Sprintf("10.213.%d.0/24", i)
		res := testkit.Run(t, testkit.Contain(t), append([]string{"net", "create", name, "--subnet", subnet}, flags...)...)
		if res.Code == 0 {
			t.Cleanup(func() {
				if res := testkit.Run(t, testkit.Contain(t), "net", "rm", name); res.Code != 0 {
					t.Errorf("net rm %s: %s", name, res)
				}
			})
			return subnet
		}
		if !strings.Contains(res.Stderr, "overlaps") {
			t.Fatalf("net create %s: %s", name, res)
		}
	}
	t.Fatal("no free subnet")
	return ""
}

// server starts a container that runs cmd until t ends and returns its
// address, read from contain info.
func server(t *testing.T, rootfs, name string, flags []string, cmd ...string) string {
	t.Helper()
	args := append(append([]string{"run", "--rootfs", rootfs, "--name", name}, flags...), "--")
	c := exec.Command(testkit.Contain(t), append(args, cmd...)...)
	var out strings.Builder
	c.Stdout, c.Stderr = &out, &out
	if err := c.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		c.Process.Signal(syscall.SIGTERM) // contain passes it on
		c.Wait()
	})
	for i := 0; i < 200; i++ {
		res := testkit.Run(t, testkit.Contain(t), "info", name)
		for _, l := range strings.Split(res.Stdout, "\n") {
			if ip, ok := strings.CutPrefix(l, "IP:"); ok {
				return strings.TrimSpace(ip)
			}
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Fatalf("container %s has no IP in contain info: %s", name, out.String())
	return ""
}

// runIn runs a short-lived container and returns its result.
func runIn(t *testing.T, rootfs string, flags []string, cmd ...string) testkit.Result {
	t.Helper()
	args := append(append([]string{"run", "--rootfs", rootfs}, flags...), "--")
	return testkit.Run(t, testkit.Contain(t), append(args, cmd...)...)
}

// dial connects to addr and returns the first line it receives. It tries
// three times: busybox's nc -ll forks a child per connection and is
// sometimes not listening again yet.
func dial(addr string) (line string, err error) {
	for range 3 {
		var c net.Conn
		c, err = net.DialTimeout("tcp", addr, 3*time.Second)
		if err != nil {
			continue
		}
		c.SetDeadline(time.Now().Add(3 * time.Second))
		line, err = bufio.NewReader(c).ReadString('\n')
		c.Close()
		if err == nil {
			return line, nil
		}
	}
	return line, err
}

// TestNetworkPaths checks every path a packet takes: container to
// bridge, container to container, container to the outside through NAT,
// the outside to a published port, and the host's loopback to it, on a
// bridge network, an isolated one, and with the iptables fallback.
func TestNetworkPaths(t *testing.T) {
	testkit.RequireRoot(t)
	testkit.CheckHostMounts(t)
	checkNetClean(t)
	rootfs := testkit.Rootfs(t)
	rmt := newRemote(t)
	// The outside listener reports the address it sees: the host's, once
	// masqueraded, never the container's.
	var ln net.Listener
	rmt.in(t, func() {
		var err error
		ln, err = net.Listen("tcp", rmt.ip+":7001")
		if err != nil {
			t.Error(err)
		}
	})
	if ln == nil {
		t.FailNow()
	}
	t.Cleanup(func() { ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			host, _, _ := net.SplitHostPort(c.RemoteAddr().String())
			fmt.Fprintf(c, "seen %s\n", host)
			c.Close()
		}
	}()

	tests := []struct {
		name     string
		flags    []string // of net create
		firewall string
		icc      bool // containers reach each other
	}{
		{"bridge", nil, "nft", true},
		{"isolated", []string{"--isolated"}, "nft", false},
		{"iptables fallback", nil, "iptables", true},
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Setenv("CONTAIN_FIREWALL", tt.firewall)
			netName := fmt.Sprintf("ctn%s-%d", testID, i)
			newNetwork(t, netName, tt.flags...)
			hostPort := 18000 + i
			netFlag := []string{"--net", "bridge=" + netName}
			srv := server(t, rootfs, fmt.Sprintf("srv%d-%d", os.Getpid(), i),
				append(netFlag, "-p", fmt.Sprintf("%d:80", hostPort)),
				"nc", "-ll", "-p", "80", "-e", "echo", "pong")

			// container -> bridge (the gateway, the subnet's first address)
			gateway := srv[:strings.LastIndex(srv, ".")] + ".1"
			if res := runIn(t, rootfs, netFlag, "ping", "-c1", "-W2", gateway); res.Code != 0 {
				t.Errorf("container -> bridge %s: %s", gateway, res)
			}
			// container -> container
			res := runIn(t, rootfs, netFlag, "nc", "-w2", srv, "80")
			if got := strings.TrimSpace(res.Stdout) == "pong"; got != tt.icc {
				t.Errorf("container -> container %s: reached=%v, want %v: %s", srv, got, tt.icc, res)
			}
			// container -> outside, through NAT: the outside sees the host
			res = runIn(t, rootfs, netFlag, "nc", "-w2", rmt.ip, "7001")
			if diff := cmp.Diff("seen "+rmt.hostIP, strings.TrimSpace(res.Stdout)); diff != "" {
				t.Errorf("container -> outside through NAT (-want +got):\n%s\n%s", diff, res)
			}
			// outside -> published port
			var got string
			var err error
			rmt.in(t, func() { got, err = dial(fmt.Sprintf("%s:%d", rmt.hostIP, hostPort)) })
			if err != nil || strings.TrimSpace(got) != "pong" {
				t.Errorf("outside -> published port %d: %q, %v", hostPort, got, err)
			}
			// host loopback -> published port
			got, err = dial(fmt.Sprintf("127.0.0.1:%d", hostPort))
			if err != nil || strings.TrimSpace(got) != "pong" {
				t.Errorf("host loopback -> published port %d: %q, %v", hostPort, got, err)
			}
		})
	}
}

// TestNetworkModes checks none and host.
func TestNetworkModes(t *testing.T) {
	testkit.RequireRoot(t)
	checkNetClean(t)
	rootfs := testkit.Rootfs(t)
	hostNS := testkit.NSInode(t, "self", "net")
	tests := []struct {
		net     string
		hostNet bool
	}{
		{"none", false},
		{"host", true},
	}
	for _, tt := range tests {
		t.Run(tt.net, func(t *testing.T) {
			res := runIn(t, rootfs, []string{"--net", tt.net}, "sh", "-c", "readlink /proc/self/ns/net; ip -o link | cut -d: -f2 | tr -d ' '")
			if res.Code != 0 {
				t.Fatal(res)
			}
			lines := strings.Split(strings.TrimSpace(res.Stdout), "\n")
			if got := lines[0] == hostNS; got != tt.hostNet {
				t.Errorf("--net %s: in the host's netns = %v, want %v (%s)", tt.net, got, tt.hostNet, res.Stdout)
			}
			if tt.net == "none" {
				if diff := cmp.Diff([]string{"lo"}, lines[1:]); diff != "" {
					t.Errorf("--net none links (-want +got):\n%s", diff)
				}
				if !strings.Contains(testkit.Run(t, testkit.Contain(t), "run", "--rootfs", rootfs, "--net", "none", "--", "ping", "-c1", "-W1", "127.0.0.1").Stdout, "1 packets received") {
					t.Errorf("--net none: loopback is not up")
				}
			}
		})
	}
}

// TestConcurrentLeases starts 20 containers at once on one network and
// checks that each gets its own address, and that no lease is left.
func TestConcurrentLeases(t *testing.T) {
	testkit.RequireRoot(t)
	checkNetClean(t)
	rootfs := testkit.Rootfs(t)
	netName := "ctl" + testID
	newNetwork(t, netName)
	// Each container prints its address and waits for /go to appear in
	// the rootfs, so that all twenty hold their lease at the same time.
	const n = 20
	var wg sync.WaitGroup
	addrs := make([]string, n)
	var cmds []*exec.Cmd
	stderrs := make([]strings.Builder, n)
	for i := range n {
		c := exec.Command(testkit.Contain(t), "run", "--rootfs", rootfs, "--net", "bridge="+netName, "--",
			"sh", "-c", "ip -4 -o addr show eth0 | awk '{print $4}'; while [ ! -e /go ]; do sleep 0.1; done")
		c.Stderr = &stderrs[i]
		out, err := c.StdoutPipe()
		if err != nil {
			t.Fatal(err)
		}
		if err := c.Start(); err != nil {
			t.Fatal(err)
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			line, _ := bufio.NewReader(out).ReadString('\n')
			addrs[i] = strings.TrimSpace(line)
		}()
		cmds = append(cmds, c)
	}
	wg.Wait()
	if err := os.WriteFile(rootfs+"/go", nil, 0o644); err != nil {
		t.Fatal(err)
	}
	for i, c := range cmds {
		if err := c.Wait(); err != nil {
			t.Errorf("run %d: %v: %s", i, err, stderrs[i].String())
		}
	}
	seen := map[string]int{}
	for i, a := range addrs {
		if a == "" {
			continue
		}
		if j, dup := seen[a]; dup {
			t.Errorf("runs %d and %d both got %s", j, i, a)
		}
		seen[a] = i
	}
	if len(seen) != n {
		t.Errorf("%d distinct addresses for %d runs: %v", len(seen), n, addrs)
	}
	res := testkit.Run(t, testkit.Contain(t), "net", "inspect", netName)
	if !strings.Contains(res.Stdout, `"containers": []`) {
		t.Errorf("leases left after the runs ended:\n%s", res.Stdout)
	}
}

// TestLeaseAfterSIGKILL kills contain itself and checks that the lease
// and the published port's rule are recovered.
func TestLeaseAfterSIGKILL(t *testing.T) {
	testkit.RequireRoot(t)
	checkNetClean(t)
	rootfs := testkit.Rootfs(t)
	netName := "ctk" + testID
	newNetwork(t, netName)
	name := fmt.Sprintf("killed%d", os.Getpid())
	c := exec.Command(testkit.Contain(t), "run", "--rootfs", rootfs, "--name", name, "--net", "bridge="+netName, "-p", "18100:80", "--", "sleep", "60")
	if err := c.Start(); err != nil {
		t.Fatal(err)
	}
	pid := ""
	for i := 0; i < 200 && pid == ""; i++ {
		for _, l := range strings.Split(testkit.Run(t, testkit.Contain(t), "info", name).Stdout, "\n") {
			if p, ok := strings.CutPrefix(l, "PID:"); ok && strings.Contains(testkit.Run(t, testkit.Contain(t), "info", name).Stdout, "IP:") {
				pid = strings.TrimSpace(p)
			}
		}
		time.Sleep(20 * time.Millisecond)
	}
	if pid == "" {
		t.Fatal("container never got an address")
	}
	c.Process.Kill()
	c.Wait()
	// The container dies with contain (Pdeathsig), a moment later; the
	// next run cleans up after it.
	for i := 0; i < 500; i++ {
		if _, err := os.Stat("/proc/" + pid); err != nil {
			break
		}
		time.Sleep(10 * time.Millisecond)
	}
	if res := runIn(t, rootfs, []string{"--net", "none"}, "true"); res.Code != 0 {
		t.Fatal(res)
	}
	res := testkit.Run(t, testkit.Contain(t), "net", "inspect", netName)
	if !strings.Contains(res.Stdout, `"containers": []`) {
		t.Errorf("lease of the killed container left:\n%s", res.Stdout)
	}
	if out := testkit.Run(t, "nft", "list", "table", "ip", "contain").Stdout; strings.Contains(out, "18100") {
		t.Errorf("rule of the killed container left:\n%s", out)
	}
}

// TestNetworkBadInput checks each refusal: one line saying what to do, a
// non-zero status, and nothing left behind.
func TestNetworkBadInput(t *testing.T) {
	testkit.RequireRoot(t)
	checkNetClean(t)
	rootfs := testkit.Rootfs(t)
	ln, err := net.Listen("tcp4", ":18200")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	// A route of the host's own to overlap with.
	hostRoute := sh(t, "ip -4 route show scope link | awk 'NR==1{print $1}'")
	tests := []struct {
		name string
		args []string
		want string
	}{
		{"port taken", []string{"run", "--rootfs", rootfs, "-p", "18200:80", "--", "true"}, "contain: -p 18200:80/tcp: host port 18200/tcp is in use on the host"},
		{"subnet overlaps a route", []string{"net", "create", "ctbad", "--subnet", strings.TrimSpace(hostRoute)}, "contain: subnet " + strings.TrimSpace(hostRoute) + " overlaps the host's route"},
		{"name over 15 characters", []string{"net", "create", "a-very-long-bridge", "--subnet", "10.213.99.0/24"}, `contain: network name "a-very-long-bridge" is 18 characters`},
		{"unknown network", []string{"run", "--rootfs", rootfs, "--net", "bridge=nosuchnet", "--", "true"}, "contain: unknown network nosuchnet: create it with contain net create"},
		{"bad -p", []string{"run", "--rootfs", rootfs, "-p", "80", "--", "true"}, "contain: -p 80: write HOSTPORT:CTRPORT"},
		{"bad --net", []string{"run", "--rootfs", rootfs, "--net", "wifi", "--", "true"}, "contain: --net wifi: use none, host"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			before, _ := os.ReadDir("/var/lib/contain/net")
			res := testkit.Run(t, testkit.Contain(t), tt.args...)
			if res.Code == 0 {
				t.Fatalf("succeeded: %s", res)
			}
			lines := strings.Split(strings.TrimSpace(res.Stderr), "\n")
			if len(lines) != 1 || !strings.HasPrefix(lines[0], tt.want) {
				t.Errorf("stderr = %q, want one line starting %q", res.Stderr, tt.want)
			}
			after, _ := os.ReadDir("/var/lib/contain/net")
			if len(after) != len(before) {
				t.Errorf("files in /var/lib/contain/net: %d before, %d after", len(before), len(after))
			}
		})
	}
}

// TestOVS checks that two containers on one Open vSwitch bridge, on the
// userspace datapath, reach each other, and that removing the last OVS
// network stops the daemons contain started.
func TestOVS(t *testing.T) {
	testkit.RequireRoot(t)
	if _, err := exec.LookPath("ovs-vsctl"); err != nil {
		if testkit.InCI() {
			t.Fatal("ovs-vsctl missing: scripts/provision.sh --test installs openvswitch-switch")
		}
		t.Skip("ovs-vsctl missing: apt-get install openvswitch-switch")
	}
	checkNetClean(t)
	rootfs := testkit.Rootfs(t)
	netName := "cto" + testID
	subnet := newNetwork(t, netName, "--driver", "ovs")
	srv := server(t, rootfs, "ovs-srv"+testID, []string{"--net", "ovs=" + netName}, "nc", "-ll", "-p", "80", "-e", "echo", "pong")
	res := runIn(t, rootfs, []string{"--net", "ovs=" + netName}, "nc", "-w3", srv, "80")
	if strings.TrimSpace(res.Stdout) != "pong" {
		t.Errorf("container -> container on OVS network %s (%s): %s", netName, subnet, res)
	}
	// contain uses the host's own Open vSwitch when one runs (the
	// workshop VM's systemd starts Debian's), else its own daemons.
	db := "/run/contain/ovs/db.sock"
	if _, err := os.Stat(db); err != nil {
		db = "/var/run/openvswitch/db.sock"
	}
	if res := testkit.Run(t, "ovs-vsctl", "--db=unix:"+db, "list-ports", netName); !strings.Contains(res.Stdout, "veth") {
		t.Errorf("ovs-vsctl --db=unix:%s list-ports %s: no veth while a container runs: %s", db, netName, res)
	}
}
