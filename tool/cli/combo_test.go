package cli_test

import (
	"bufio"
	"fmt"
	"io"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/contain-dev/contain/tool/internal/cgroup"
	"github.com/contain-dev/contain/tool/internal/state"
	"github.com/contain-dev/contain/tool/probe"
	"github.com/contain-dev/contain/tool/testkit"
)

// The combination test: each chapter's tests exercise its own flags with
// the others set so that they do not meet, and so chapter 08's default
// bridge broke chapter 06's user namespaces unseen. Here the flags of
// every chapter meet: comboFactors lists them with their values, and
// TestCombinations runs an all-pairs table of them (testkit.Pairwise):
// every pair of values of any two factors in at least one container,
// and each pair that cannot go together once, as the error it must be.
//
// A later chapter adds its flags as one entry of comboFactors: the
// values, the flags each value means, and the check that the container
// got what was asked (from the probe's report, or from the host while
// the container still runs), plus its pairs in comboExcluded if some
// values cannot meet.

// comboFactor is one flag (or group of flags) of contain run and the
// values the table tries; the first value is the default used where a
// refused pair is tested.
type comboFactor struct {
	name   string
	values []string
	// flags returns the contain run flags of value v.
	flags func(c *comboCase, v string) []string
	// check fails t unless the running container shows value v.
	check func(t *testing.T, c *comboCase, v string)
}

// comboCase is one row being run: its values, the container, and what
// the probe inside reported.
type comboCase struct {
	env  *comboEnv
	row  testkit.Row
	name string // of the container
	port int    // host port of -p, unique per row
	rep  probe.Report
}

// comboEnv is what all rows share.
type comboEnv struct {
	rootfs     string // root's, owned by the host's root
	userRootfs string // the rootless user's, owned by its range
	user       rootlessUser
	bin        string // contain, runnable by the user
	lay        *cgroup.Layout
	ovsNet     string // "" when Open vSwitch is missing (outside CI)
	ovsSubnet  netip.Prefix
	hostName   string
	hostNS     map[string]string
}

const (
	comboOffset   = 10 * 365 * 86400 // seconds, more than any host's uptime
	comboHostname = "combo"
	comboDNS      = "192.0.2.53"
	initCmdline   = "/proc/self/exe init" // the init stage as pid 1
)

// comboFactors are the flags of contain run, chapter by chapter.
var comboFactors = []comboFactor{
	{
		name: "userns", values: []string{"off", "on", "rootless"}, // chapter 06
		flags: func(c *comboCase, v string) []string {
			if v == "off" {
				return nil
			}
			return []string{"--userns"}
		},
		check: func(t *testing.T, c *comboCase, v string) {
			want := map[string][]string{
				"off":      {"0 0 4294967295"},
				"on":       {"0 100000 65536"}, // root's default (RootDefault)
				"rootless": {fmt.Sprintf("0 %d 65536", c.env.user.start)},
			}[v]
			if subuidHasRoot() && v == "on" {
				want = c.rep.UIDMap // /etc/subuid's range replaces the default
			}
			if diff := cmp.Diff(want, c.rep.UIDMap); diff != "" || c.rep.Uid != 0 {
				t.Errorf("uid %d, uid_map (-want +got):\n%s", c.rep.Uid, diff)
			}
			if got := c.rep.NS["user"] != c.env.hostNS["user"]; got != (v != "off") {
				t.Errorf("user namespace %s, host's %s: want a new one %v", c.rep.NS["user"], c.env.hostNS["user"], v != "off")
			}
		},
	},
	{
		// "default" is no --net, as a reader meets it: the contain0
		// bridge as root, pasta's user-mode network rootless.
		name: "net", values: []string{"none", "host", "default", "ovs"}, // chapter 08
		flags: func(c *comboCase, v string) []string {
			switch v {
			case "default":
				return nil
			case "ovs":
				return []string{"--net", "ovs=" + c.env.ovsNet}
			}
			return []string{"--net", v}
		},
		check: func(t *testing.T, c *comboCase, v string) {
			if got := c.rep.NS["net"] == c.env.hostNS["net"]; got != (v == "host") {
				t.Errorf("--net %s: in the host's network namespace = %v", v, got)
			}
			switch v {
			case "none":
				if diff := cmp.Diff(map[string][]string{"lo": {"127.0.0.1/8"}}, c.rep.Addrs); diff != "" || c.rep.Gateway != "" {
					t.Errorf("--net none: gateway %q, addresses (-want +got):\n%s", c.rep.Gateway, diff)
				}
			case "default", "ovs":
				if c.row["userns"] == "rootless" {
					checkPasta(t, c)
					return
				}
				subnet := netip.MustParsePrefix("10.213.0.0/16") // network.DefaultSubnets
				if v == "ovs" {
					subnet = c.env.ovsSubnet
				}
				addrs := c.rep.Addrs["eth0"]
				if len(addrs) != 1 {
					t.Fatalf("--net %s: eth0 has %v, want one address", v, addrs)
				}
				p := netip.MustParsePrefix(addrs[0])
				gw := p.Masked().Addr().Next().String()
				if v == "ovs" {
					gw = "" // the host has no end on an OVS network (network.Attach)
				}
				if !subnet.Contains(p.Addr()) || c.rep.Gateway != gw {
					t.Errorf("--net %s: eth0 %s, gateway %q: want an address in %s and the gateway %q", v, p, c.rep.Gateway, subnet, gw)
				}
				names := c.name
				if c.row["hostname"] == "on" {
					names += " " + comboHostname
				}
				if want := p.Addr().String() + " " + names; !slices.Contains(c.rep.Hosts, want) {
					t.Errorf("--net %s: /etc/hosts %q has no line %q", v, c.rep.Hosts, want)
				}
			}
		},
	},
	{
		name: "publish", values: []string{"off", "on"}, // chapter 08
		flags: func(c *comboCase, v string) []string {
			if v == "off" {
				return nil
			}
			return []string{"-p", fmt.Sprintf("%d:80", c.port)}
		},
		check: func(t *testing.T, c *comboCase, v string) {
			if v == "off" {
				return
			}
			var line string
			var err error
			for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
				if line, err = dial(fmt.Sprintf("127.0.0.1:%d", c.port)); err == nil {
					break
				}
			}
			if line != "combo\n" {
				t.Errorf("-p %d:80 from the host: %q, %v; want the container's \"combo\"", c.port, line, err)
			}
		},
	},
	{
		name: "dns", values: []string{"off", "on"}, // chapter 08
		flags: func(c *comboCase, v string) []string {
			if v == "off" {
				return nil
			}
			return []string{"--dns", comboDNS}
		},
		check: func(t *testing.T, c *comboCase, v string) {
			var want []string
			switch {
			case v == "on":
				want = []string{comboDNS}
			case c.row["userns"] != "rootless" && (c.row["net"] == "default" || c.row["net"] == "ovs"):
				want = nameservers(t, "/etc/resolv.conf", true) // the host's, less loopback
			default:
				want = nameservers(t, filepath.Join(c.rootfsDir(), "etc/resolv.conf"), false) // the rootfs's own
			}
			if diff := cmp.Diff(want, c.rep.Nameservers); diff != "" {
				t.Errorf("resolv.conf nameservers (-want +got):\n%s", diff)
			}
		},
	},
	{
		name: "limits", values: []string{"off", "on"}, // chapter 07
		flags: func(c *comboCase, v string) []string {
			if v == "off" {
				return nil
			}
			return []string{"--memory", "64M", "--pids-limit", "64", "--cpus", "0.5"}
		},
		check: func(t *testing.T, c *comboCase, v string) {
			if c.row["userns"] == "rootless" {
				if cgroup.Open(c.env.lay, c.name).Exists() {
					t.Errorf("a rootless container has a cgroup node")
				}
				return
			}
			// On the host, in the container's node: the limits, or none.
			want := map[string]string{"pids.max": "max"}
			if v == "on" {
				want = map[string]string{"pids.max": "64", "memory.max": "67108864", "memory.limit_in_bytes": "67108864",
					"cpu.max": "50000 100000", "cpu.cfs_quota_us": "50000"}
			}
			got := map[string]string{}
			for file := range want {
				ctrl, _, _ := strings.Cut(file, ".")
				dir := c.env.lay.FileDir(ctrl, cgroup.Rel(c.name))
				if b, err := os.ReadFile(filepath.Join(dir, file)); err == nil && dir != "" {
					got[file] = strings.TrimSpace(string(b))
				} else {
					delete(want, file) // the other version's file
				}
			}
			if diff := cmp.Diff(want, got); diff != "" || len(got) == 0 {
				t.Errorf("limits on the host (-want +got):\n%s", diff)
			}
			// Inside, the read-only cgroupfs shows the same, except where
			// a user namespace cannot mount v1 hierarchies.
			if c.row["userns"] == "on" && c.env.lay.Mode != cgroup.V2 {
				return
			}
			inside := map[string]string{}
			for path, content := range c.rep.Cgroup {
				if _, ok := want[filepath.Base(path)]; ok {
					inside[filepath.Base(path)] = content
				}
			}
			if diff := cmp.Diff(got, inside); diff != "" {
				t.Errorf("limits inside, under /sys/fs/cgroup (-host +inside):\n%s", diff)
			}
		},
	},
	{
		name: "init", values: []string{"off", "on"}, // chapter 05
		flags: func(c *comboCase, v string) []string {
			if v == "off" {
				return nil
			}
			return []string{"--init"}
		},
		check: func(t *testing.T, c *comboCase, v string) {
			// The init stage stays pid 1 with --init, and with a time
			// namespace (its command must be forked, chapter 04).
			stays := v == "on" || c.row["time"] == "on"
			pid1 := strings.Join(c.rep.Init, " ")
			if got := pid1 == initCmdline; got != stays {
				t.Errorf("pid 1 is %q: want the init stage %v", pid1, stays)
			}
			if !stays && (len(c.rep.Init) == 0 || c.rep.Init[0] != "sh") {
				t.Errorf("pid 1 is %q, want the command, sh", pid1)
			}
		},
	},
	{
		name: "time", values: []string{"off", "on"}, // chapter 04
		flags: func(c *comboCase, v string) []string {
			if v == "off" {
				return nil
			}
			return []string{"--time-offset", fmt.Sprintf("boottime=%d", comboOffset)}
		},
		check: func(t *testing.T, c *comboCase, v string) {
			if got := c.rep.Uptime >= comboOffset; got != (v == "on") {
				t.Errorf("uptime inside %.0f s: want the offset %d s %v", c.rep.Uptime, comboOffset, v == "on")
			}
			if got := c.rep.NS["time"] != c.env.hostNS["time"]; got != (v == "on") {
				t.Errorf("time namespace %s, host's %s: want a new one %v", c.rep.NS["time"], c.env.hostNS["time"], v == "on")
			}
		},
	},
	{
		name: "hostname", values: []string{"off", "on"}, // chapters 03 and 04
		flags: func(c *comboCase, v string) []string {
			if v == "off" {
				return nil
			}
			return []string{"--hostname", comboHostname}
		},
		check: func(t *testing.T, c *comboCase, v string) {
			want := c.env.hostName // a copy of the host's UTS namespace
			if v == "on" {
				want = comboHostname
			}
			if c.rep.Hostname != want || c.rep.NS["uts"] == c.env.hostNS["uts"] {
				t.Errorf("hostname %q in %s (host's %s), want %q in a new UTS namespace", c.rep.Hostname, c.rep.NS["uts"], c.env.hostNS["uts"], want)
			}
		},
	},
}

// comboExcluded are the pairs of values that cannot go together; each is
// run once as the error it must give.
var comboExcluded = [][2]string{
	// A user namespace needs a network namespace of its own for /sys.
	{"net=host", "userns=on|rootless"},
	// An ordinary user can make no bridge, veth, rule or cgroup node,
	// nor bind a resolv.conf of its own (see pastaSetup).
	{"userns=rootless", "net=ovs"},
	{"userns=rootless", "limits=on"},
	{"userns=rootless", "dns=on"},
	// -p is the bridge's NAT (or pasta's); --dns writes a network's
	// resolv.conf.
	{"net=none|host|ovs", "publish=on"},
	{"net=none|host", "dns=on"},
}

// checkPasta checks a rootless container's default network: pasta's
// eth0, with one address and a default route, copies of the host's.
func checkPasta(t *testing.T, c *comboCase) {
	t.Helper()
	if addrs := c.rep.Addrs["eth0"]; len(addrs) != 1 || c.rep.Gateway == "" {
		t.Errorf("rootless default network: eth0 %v, gateway %q: want pasta's address and route", addrs, c.rep.Gateway)
	}
}

// rootfsDir is the rootfs the case runs in.
func (c *comboCase) rootfsDir() string {
	if c.row["userns"] == "rootless" {
		return c.env.userRootfs
	}
	return c.env.rootfs
}

// args returns the contain run command line of the case, with cmd.
func (c *comboCase) args(cmd ...string) []string {
	args := []string{"run", "--rootfs", c.rootfsDir(), "--name", c.name}
	for _, f := range comboFactors {
		args = append(args, f.flags(c, c.row[f.name])...)
	}
	return append(append(args, "--"), cmd...)
}

// command makes the contain process of the case, as root or as the
// rootless user.
func (c *comboCase) command(t *testing.T, cmd ...string) *exec.Cmd {
	if c.row["userns"] == "rootless" {
		return c.env.user.command(c.env.bin, c.args(cmd...)...)
	}
	return exec.Command(testkit.Contain(t), c.args(cmd...)...)
}

// subuidHasRoot tells whether /etc/subuid gives root a range, which
// replaces run's default map.
func subuidHasRoot() bool {
	b, _ := os.ReadFile("/etc/subuid")
	return strings.HasPrefix(string(b), "root:") || strings.Contains(string(b), "\nroot:")
}

// nameservers reads the nameserver lines of a resolv.conf, less the
// loopback ones when dropLoopback is set, as network.ResolvConf drops them.
func nameservers(t *testing.T, path string, dropLoopback bool) []string {
	t.Helper()
	b, _ := os.ReadFile(path)
	var out []string
	for _, l := range strings.Split(string(b), "\n") {
		f := strings.Fields(l)
		if len(f) < 2 || f[0] != "nameserver" {
			continue
		}
		if a, err := netip.ParseAddr(f[1]); dropLoopback && (err != nil || a.IsLoopback()) {
			continue
		}
		out = append(out, f[1])
	}
	return out
}

// newComboEnv prepares what the rows share: two rootfs, the rootless
// user, an Open vSwitch network.
func newComboEnv(t *testing.T) *comboEnv {
	t.Helper()
	env := &comboEnv{rootfs: testkit.Rootfs(t), hostNS: map[string]string{}}
	openParents(t, env.rootfs)
	env.user = newRootlessUser(t)
	env.userRootfs = userRootfs(t, env.user.start)
	env.bin = testkit.WorldExecutable(t, testkit.Contain(t))
	var err error
	if env.lay, err = cgroup.Detect(); err != nil {
		t.Fatal(err)
	}
	if env.hostName, err = os.Hostname(); err != nil {
		t.Fatal(err)
	}
	for _, ns := range []string{"user", "net", "time", "uts"} {
		env.hostNS[ns] = testkit.NSInode(t, "self", ns)
	}
	if _, err := exec.LookPath("ovs-vsctl"); err == nil {
		env.ovsNet = "cbo" + testID
		env.ovsSubnet = netip.MustParsePrefix(newNetwork(t, env.ovsNet, "--driver", "ovs"))
	} else if testkit.InCI() {
		t.Fatal("ovs-vsctl missing: scripts/provision.sh --test installs openvswitch-switch")
	}
	return env
}

// comboTable returns the table's factors for testkit.Pairwise, less the
// ovs value when Open vSwitch is missing (outside CI only).
func comboTable(env *comboEnv) []testkit.Factor {
	var fs []testkit.Factor
	for _, f := range comboFactors {
		vs := f.values
		if f.name == "net" && env.ovsNet == "" {
			vs = slices.DeleteFunc(slices.Clone(vs), func(v string) bool { return v == "ovs" })
		}
		fs = append(fs, testkit.Factor{Name: f.name, Values: vs})
	}
	return fs
}

// TestCombinations runs every pair of run's flags from different chapters
// together, asks the probe inside whether each is in effect, and checks
// that each container, and each refused pair, leaves the host as it was.
func TestCombinations(t *testing.T) {
	testkit.RequireRoot(t)
	env := newComboEnv(t)
	factors := comboTable(env)
	rows, invalid, err := testkit.Pairwise(factors, testkit.Excluded(comboExcluded...))
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("%d rows cover all pairs; %d pairs refused", len(rows), len(invalid))
	for i, row := range rows {
		c := &comboCase{env: env, row: row, name: uniqueName(t, fmt.Sprintf("cb%d", i)), port: 18300 + i}
		t.Run(row.String(factors), func(t *testing.T) {
			checkComboClean(t, c)
			runComboRow(t, c)
		})
	}
	for i, p := range invalid {
		row := testkit.Row{p.A[0]: p.A[1], p.B[0]: p.B[1]}
		for _, f := range comboFactors {
			if _, ok := row[f.name]; !ok {
				row[f.name] = f.values[0]
			}
		}
		c := &comboCase{env: env, row: row, name: uniqueName(t, fmt.Sprintf("cbx%d", i)), port: 18400 + i}
		t.Run("refused "+p.String(), func(t *testing.T) {
			checkComboClean(t, c)
			var stdout, stderr strings.Builder
			x := c.command(t, "true")
			x.Stdout, x.Stderr = &stdout, &stderr
			err := x.Run()
			if _, ok := err.(*exec.ExitError); !ok {
				t.Fatalf("contain run %s: exit %v, want an error\nstdout: %s\nstderr: %s", strings.Join(c.args("true"), " "), err, stdout.String(), stderr.String())
			}
			if lines := strings.Split(strings.TrimSuffix(stderr.String(), "\n"), "\n"); len(lines) != 1 || !strings.HasPrefix(lines[0], "contain: ") {
				t.Errorf("stderr %q, want one line \"contain: ...\"", stderr.String())
			}
			t.Logf("%s", strings.TrimSpace(stderr.String()))
		})
	}
}

// runComboRow starts the row's container, which publishes a greeting on
// port 80, prints the probe's report and waits for a line on stdin; it
// runs each factor's check while the container is still there, then lets
// it end and wants exit status 0.
func runComboRow(t *testing.T, c *comboCase) {
	t.Helper()
	script := "/usr/local/bin/probe; read _; exit 0" // read fails at EOF
	if c.row["publish"] == "on" {
		script = "nc -ll -p 80 -e echo combo & " + script
	}
	x := c.command(t, "sh", "-c", script)
	stdin, err := x.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	stdout, err := x.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	var stderr strings.Builder
	x.Stderr = &stderr
	if err := x.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	defer func() {
		stdin.Close()
		select {
		case err := <-done:
			if err != nil {
				t.Errorf("contain run %s: %v\nstderr: %s", strings.Join(c.args(), " "), err, stderr.String())
			}
		case <-time.After(time.Minute):
			x.Process.Kill()
			t.Errorf("contain run still running a minute after its stdin closed")
			<-done
		}
	}()
	lines := make(chan string, 1)
	go func() {
		l, _ := bufio.NewReader(stdout).ReadString('\n')
		lines <- l
		io.Copy(io.Discard, stdout)
		done <- x.Wait()
	}()
	var line string
	select {
	case line = <-lines:
	case <-time.After(2 * time.Minute): // generous: the VM stage emulates
		x.Process.Kill()
		t.Fatalf("no report from the probe after 2 minutes; stderr: %s", stderr.String())
	}
	if c.rep, err = probe.Decode([]byte(line)); err != nil {
		t.Fatalf("%v\nstderr: %s", err, stderr.String())
	}
	for _, f := range comboFactors {
		t.Run(f.name+"="+c.row[f.name], func(t *testing.T) { f.check(t, c, c.row[f.name]) })
	}
}

// checkComboClean fails t unless, when it ends, the host has no mount,
// link, rule, cgroup node, network file or record more than before.
func checkComboClean(t *testing.T, c *comboCase) {
	t.Helper()
	testkit.CheckHostMounts(t)
	checkNetClean(t)
	before := cgroupTree(t)
	t.Cleanup(func() {
		if diff := cmp.Diff(before, cgroupTree(t)); diff != "" {
			t.Errorf("host cgroup tree changed (-before +after):\n%s", diff)
		}
		if state.Exists(c.name) {
			t.Errorf("the record of %s was left", c.name)
		}
		if ents, _ := os.ReadDir(state.DefaultDir(int(c.env.user.uid), "")); len(ents) != 0 {
			t.Errorf("rootless records left: %v", ents)
		}
		if _, err := os.Stat(filepath.Join("/run/contain/net", c.name)); err == nil {
			t.Errorf("/run/contain/net/%s was left", c.name)
		}
		if out := testkit.Run(t, "nft", "list", "table", "ip", "contain").Stdout; strings.Contains(out, fmt.Sprintf("dport %d ", c.port)) {
			t.Errorf("the rule of -p %d was left:\n%s", c.port, out)
		}
	})
}
