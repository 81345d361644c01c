package cli

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/netip"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/alecthomas/kong"
	"github.com/google/go-cmp/cmp"

	"github.com/contain-dev/contain/tool/internal/cgroup"
	"github.com/contain-dev/contain/tool/internal/container"
	"github.com/contain-dev/contain/tool/internal/idmap"
	"github.com/contain-dev/contain/tool/internal/network"
	"github.com/contain-dev/contain/tool/internal/rootfs"
	"github.com/contain-dev/contain/tool/internal/state"
)

// useNetDir points network.StateDir, and DefaultSubnets, at a directory of
// the test's own, which holds the networks given (records only: nothing
// is made on the host).
func useNetDir(t *testing.T, defaults string, nets ...*network.Network) {
	t.Helper()
	dir, subnets := network.StateDir, network.DefaultSubnets
	t.Cleanup(func() { network.StateDir, network.DefaultSubnets = dir, subnets })
	network.StateDir = t.TempDir()
	network.DefaultSubnets = netip.MustParsePrefix(defaults)
	for _, n := range nets {
		b, err := json.Marshal(n)
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(network.StateDir, n.Name+".json"), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

func mustNetwork(t *testing.T, name, subnet string) *network.Network {
	t.Helper()
	n, err := network.NewNetwork(name, network.DriverBridge, netip.MustParsePrefix(subnet), false)
	if err != nil {
		t.Fatal(err)
	}
	return n
}

// TestExplain checks the message of each library error that the CLI adds
// to, as the library makes it, against the message contain printed
// before the libraries stopped naming its commands and flags: the same,
// byte for byte. The subnets are TEST-NET-2 (RFC 5737), which no host
// routes, and nothing is created: only records in the test's directory.
func TestExplain(t *testing.T) {
	tmp := t.TempDir()
	missing := filepath.Join(tmp, "nothing")
	file := filepath.Join(tmp, "rootfs.tar")
	if err := os.WriteFile(file, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	full := &cgroup.Layout{Mode: cgroup.V2, V1: map[string]string{}, V2: filepath.Join(tmp, "cg"), V2Controllers: []string{"cpu", "cpuset", "io", "memory", "pids"}}
	bare := &cgroup.Layout{Mode: cgroup.V2, V1: map[string]string{}, V2: filepath.Join(tmp, "cg"), V2Controllers: nil}
	if err := os.MkdirAll(filepath.Join(full.V2, cgroup.Rel("taken")), 0o755); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		err  func(t *testing.T) error
		want string
	}{
		{"no rootfs", func(t *testing.T) error { _, err := rootfs.Dir(""); return err },
			"no rootfs given: pass --rootfs DIR (build one with scripts/mkrootfs.sh DIR)"},
		{"rootfs missing", func(t *testing.T) error { _, err := rootfs.Dir(missing); return err },
			"rootfs " + missing + " does not exist: build one with scripts/mkrootfs.sh " + missing},
		{"rootfs a file", func(t *testing.T) error { _, err := rootfs.Validate(file); return err },
			"rootfs " + file + " is not a directory: pass the directory that holds bin/, etc/, proc/"},
		{"rootfs the host's", func(t *testing.T) error { _, err := rootfs.Dir("/"); return err },
			"rootfs / is the host's own root: pass a separate directory (scripts/mkrootfs.sh DIR builds one)"},
		{"memory below the minimum", func(t *testing.T) error { return (&cgroup.Limits{Memory: 1 << 10}).Validate(full, []int{0, 1}) },
			"--memory 1k is below 6M, the least a container starts in: give more"},
		{"memory not mounted", func(t *testing.T) error { return (&cgroup.Limits{Memory: 64 << 20}).Validate(bare, []int{0, 1}) },
			"--memory needs the memory cgroup controller, which this host does not mount: drop --memory, or mount it (see contain checkconfig)"},
		{"cpu not mounted", func(t *testing.T) error { return (&cgroup.Limits{CPUWeight: 50}).Validate(bare, []int{0, 1}) },
			"--cpus/--cpu-shares/--cpu-weight needs the cpu cgroup controller, which this host does not mount: drop --cpus/--cpu-shares/--cpu-weight, or mount it (see contain checkconfig)"},
		{"swap below memory", func(t *testing.T) error {
			return (&cgroup.Limits{Memory: 64 << 20, MemorySwap: 32 << 20}).Validate(full, []int{0, 1})
		}, "--memory-swap 32M is below --memory 64M: it counts memory plus swap, so give at least as much"},
		{"io not mounted", func(t *testing.T) error { return (&cgroup.Limits{IOWeight: 100}).Validate(bare, []int{0, 1}) },
			"--io-weight needs the blkio (v1) or io (v2) cgroup controller, which this host does not mount: drop --io-weight"},
		{"cpuset off the host, wrapped", func(t *testing.T) error {
			return fmt.Errorf("cgroup set web: %w", (&cgroup.Limits{CpusetCPUs: "7"}).Validate(full, []int{0, 1}))
		}, "cgroup set web: --cpuset-cpus 7: CPU 7 is not online; this host has CPUs 0-1"},
		{"cgroup taken", func(t *testing.T) error { return cgroup.Open(full, "taken").CheckFree() },
			"cgroup /contain/taken exists already: remove it with contain reset"},
		{"cgroup missing", func(t *testing.T) error { _, err := cgroup.Attach(full, "nothing"); return err },
			"no cgroup /contain/nothing: is the container running? (contain cgroup ls)"},
		{"unknown network", func(t *testing.T) error {
			useNetDir(t, "198.51.100.0/24")
			_, err := network.Load("nosuch")
			return err
		}, "unknown network nosuch: create it with contain net create nosuch --subnet CIDR, or list them with contain net ls"},
		{"network exists", func(t *testing.T) error {
			useNetDir(t, "198.51.100.0/24", mustNetwork(t, "web8", "198.51.100.0/24"))
			return network.Create(mustNetwork(t, "web8", "198.51.100.0/24"))
		}, "network web8 exists: remove it first with contain net rm web8"},
		{"subnet overlaps", func(t *testing.T) error {
			useNetDir(t, "198.51.100.0/24", mustNetwork(t, "web8", "198.51.100.0/24"))
			return network.CheckOverlap("web9", netip.MustParsePrefix("198.51.100.128/25"))
		}, "subnet 198.51.100.128/25 overlaps network web8 (198.51.100.0/24): pick another --subnet"},
		{"no subnet for the default network", func(t *testing.T) error {
			useNetDir(t, "198.51.100.0/24", mustNetwork(t, "web8", "198.51.100.0/24"))
			_, err := network.Default()
			return err
		}, "no free /24 in 198.51.100.0/24 for the default network: create it with contain net create contain0 --subnet CIDR"},
		{"network full", func(t *testing.T) error {
			n := mustNetwork(t, "web8", "198.51.100.0/29")
			useNetDir(t, "198.51.100.0/24", n)
			for i := range 6 { // .2 to .6: .1 is the gateway's, .7 the broadcast
				if _, err := network.Acquire(n, fmt.Sprint("c", i), os.Getpid(), "veth", nil); err != nil {
					return err
				}
			}
			return errors.New("a /29 took six leases")
		}, "network web8 is full: all 5 addresses of 198.51.100.0/29 are leased; stop a container or use a larger --subnet"},
		{"port syntax", func(t *testing.T) error { _, err := network.ParsePort("80"); return err },
			"-p 80: write HOSTPORT:CTRPORT, such as 8080:80"},
		{"port protocol", func(t *testing.T) error { _, err := network.ParsePort("8080:80/sctp"); return err },
			`-p 8080:80/sctp: protocol "sctp": use tcp or udp`},
		{"port given twice", func(t *testing.T) error {
			useNetDir(t, "198.51.100.0/24")
			p := network.Port{Proto: "udp", HostPort: 18201, CtrPort: 53}
			return network.CheckPortsFree([]network.Port{p, p}, "web")
		}, "-p 18201:53/udp: host port 18201/udp is given twice"},
		{"name taken", func(t *testing.T) error {
			return fmt.Errorf("create: %w", &state.TakenError{Name: "web", Lock: "/run/contain/web.lock"})
		}, "create: a container named web is running or starting (its contain holds /run/contain/web.lock): pick another --name"},
		{"network of another driver", func(t *testing.T) error {
			return &container.WrongDriverError{Network: "lab", Driver: "ovs", Mode: container.NetBridge}
		}, "network lab is an ovs network: use --net ovs=lab"},
		{"map without root", func(t *testing.T) error {
			return idmap.Map{{Inside: 1, Outside: 100000, Length: 100}}.CheckRoot(idmap.UID)
		}, "uid map 1 100000 100: no range maps id 0 inside: the container's init becomes root in its namespace, so add a range starting at 0 (--uidmap 0:OUTSIDE:LENGTH)"},
		{"no subordinate ids", func(t *testing.T) error { _, err := idmap.Default(idmap.GID, "dave", 1002, nil); return err },
			"no gid range for dave in /etc/subgid: add one as root (usermod --add-subgids 100000-165535 dave), or pass --gidmap"},
		{"no hint", func(t *testing.T) error { return errors.New("pivot_root: invalid argument") },
			"pivot_root: invalid argument"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.err(t)
			if err == nil {
				t.Fatal("no error")
			}
			if diff := cmp.Diff(tt.want, explain(err)); diff != "" {
				t.Errorf("explain (-want +got):\n%s", diff)
			}
		})
	}
}

// TestLimitFlags checks that limitFlag names a flag of LimitFlags for
// every field of cgroup.Limits, so that a refused limit names a flag the
// user can type.
func TestLimitFlags(t *testing.T) {
	var grammar struct {
		LimitFlags `embed:""`
	}
	k, err := kong.New(&grammar)
	if err != nil {
		t.Fatal(err)
	}
	flags := map[string]bool{}
	for _, f := range k.Model.Flags {
		flags["--"+f.Name] = true
	}
	lt := reflect.TypeOf(cgroup.Limits{})
	for i := range lt.NumField() {
		name, _, _ := strings.Cut(lt.Field(i).Tag.Get("json"), ",")
		if f := limitFlag(name); !flags[f] {
			t.Errorf("cgroup.Limits.%s (%s): no flag %s in LimitFlags", lt.Field(i).Name, name, f)
		}
	}
}
