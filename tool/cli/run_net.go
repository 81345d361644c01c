package cli

import (
	"errors"
	"fmt"
	"io"
	"net/netip"
	"os"
	"path/filepath"
	"strings"

	"golang.org/x/sys/unix"

	"github.com/contain-dev/contain/tool/internal/network"
	"github.com/contain-dev/contain/tool/internal/state"
)

// NetFlags are the flags of run that chapter 08 adds: the network mode,
// published ports and DNS servers.
type NetFlags struct {
	Net     string   `help:"Network: none (a new netns with only loopback), host (the host's), bridge[=NAME] (default: the contain0 bridge) or ovs=NAME (an Open vSwitch network) (chapter 08)." placeholder:"MODE"`
	Publish []string `short:"p" help:"Publish a container port on the host: HOSTPORT:CTRPORT[/tcp|udp], repeatable (bridge networks only)." placeholder:"HOST:CTR"`
	DNS     []string `name:"dns" help:"DNS server for the container's /etc/resolv.conf, repeatable (default: the host's, less loopback ones)." placeholder:"IP"`
}

// netMode is a parsed --net.
type netMode struct {
	kind    string // "none", "host", "bridge" or "ovs"
	network string // for bridge and ovs
}

// parseNetMode reads --net; the empty string is the default bridge.
func parseNetMode(s string) (netMode, error) {
	kind, name, _ := strings.Cut(s, "=")
	switch {
	case s == "" || s == "bridge":
		return netMode{"bridge", network.DefaultName}, nil
	case (kind == "bridge" || kind == "ovs") && name != "":
		return netMode{kind, name}, network.CheckName(name)
	case s == "none" || s == "host":
		return netMode{kind: s}, nil
	}
	return netMode{}, fmt.Errorf("--net %s: use none, host, bridge, bridge=NAME or ovs=NAME", s)
}

// netFeature gives the container its network (see network.Attach).
type netFeature struct{ f *NetFlags }

// netFilesDir holds the resolv.conf and hosts of each container, by name.
var netFilesDir = "/run/contain/net"

// setup checks everything a user can get wrong before anything exists,
// then leaves the work to a Prepare hook: the veth's peer goes into the
// child's network namespace, which exists only once the child does.
func (n netFeature) setup(spec *runSpec) error {
	mode, err := parseNetMode(n.f.Net)
	if err != nil {
		return err
	}
	if mode.kind != "bridge" && len(n.f.Publish) > 0 {
		return fmt.Errorf("-p publishes through a bridge network's NAT: drop it, or use --net bridge")
	}
	if (mode.kind == "none" || mode.kind == "host") && n.f.Net != "" && len(n.f.DNS) > 0 {
		return fmt.Errorf("--dns writes the resolv.conf of a bridge or ovs network; with --net %s the rootfs's own is used: drop --dns, or use --net bridge", mode.kind)
	}
	var dns []netip.Addr
	for _, s := range n.f.DNS {
		a, err := netip.ParseAddr(s)
		if err != nil || !a.Is4() {
			return fmt.Errorf("--dns %s: give an IPv4 address, such as --dns 192.0.2.53", s)
		}
		dns = append(dns, a)
	}
	// Without root (chapter 06) there is no bridge, veth or NAT to make:
	// the default network is pasta's, a user-mode one, as rootless
	// podman's is; without pasta, an error rather than an empty
	// namespace that nobody would mistake for a network.
	rootless := os.Geteuid() != 0
	if rootless && n.f.Net == "" {
		return pastaSetup(spec, n.f)
	}
	if rootless && (mode.kind == "bridge" || mode.kind == "ovs") {
		return fmt.Errorf("--net %s needs root (links, bridges and NAT belong to the host): run as root, or use --net none", n.f.Net)
	}
	if mode.kind == "host" {
		if spec.cfg.UserNS {
			return fmt.Errorf("--net host cannot go with --userns: a user namespace needs a network namespace of its own to mount /sys; drop one of them")
		}
		return nil // the host's namespace, and the rootfs's own /etc files
	}
	// 1. A network namespace of its own, created by clone(2).
	spec.opts.Cloneflags |= unix.CLONE_NEWNET
	if mode.kind == "none" {
		if rootless {
			// The parent may not enter a namespace its user namespace
			// owns; the init stage, root there, brings lo up itself.
			spec.cfg.LoopbackUp = true
			return nil
		}
		spec.opts.Prepare = append(spec.opts.Prepare, network.LoopbackUp)
		return nil
	}
	// 2. The ports, then the network: a port that is taken must fail
	//    before the default network is made on first use.
	var ports []network.Port
	for _, s := range n.f.Publish {
		p, err := network.ParsePort(s)
		if err != nil {
			return err
		}
		ports = append(ports, p)
	}
	if err := network.CheckPortsFree(ports, spec.record.Name); err != nil {
		return err
	}
	var nw *network.Network
	if mode.network == network.DefaultName && mode.kind == "bridge" {
		nw, err = network.Default()
	} else {
		nw, err = network.Load(mode.network)
	}
	if err != nil {
		return err
	}
	if nw.Driver != mode.kind {
		return fmt.Errorf("network %s is an %s network: use --net %s=%s", nw.Name, nw.Driver, nw.Driver, nw.Name)
	}
	// 3. resolv.conf and hosts, bound over the rootfs's: both exist now,
	//    because Start opens them before the child runs (see
	//    rootfs.OpenTree); hosts gets its content, in the same inode, once
	//    the address is leased.
	name := spec.record.Name
	dir := filepath.Join(netFilesDir, name)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	spec.undo = append(spec.undo, func() error { return os.RemoveAll(dir) })
	hostResolv, _ := os.ReadFile("/etc/resolv.conf")
	if err := os.WriteFile(filepath.Join(dir, "resolv.conf"), network.ResolvConf(hostResolv, dns), 0o644); err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(dir, "hosts"), nil, 0o644); err != nil {
		return err
	}
	if spec.cfg.BindFiles == nil {
		spec.cfg.BindFiles = map[string]string{}
	}
	spec.cfg.BindFiles["/etc/resolv.conf"] = filepath.Join(dir, "resolv.conf")
	spec.cfg.BindFiles["/etc/hosts"] = filepath.Join(dir, "hosts")
	// 4. In the parent, with the child's pid: veth, address, rules.
	spec.opts.Prepare = append(spec.opts.Prepare, func(pid int) error {
		// The record names the network and ports before Attach makes
		// anything: a contain killed halfway through it leaves a lease
		// and rules that the orphan cleaner then finds.
		if err := spec.record.SetExtra("network", &network.Attachment{Network: nw.Name, Driver: nw.Driver, Ports: ports}); err != nil {
			return err
		}
		if err := spec.record.Save(); err != nil {
			return err
		}
		a, err := network.Attach(nw, name, pid, ports)
		if err != nil {
			return err
		}
		spec.undo = append(spec.undo, func() error { return network.Detach(a, name) })
		names := []string{name}
		if h := spec.cfg.Hostname; h != "" && h != name {
			names = append(names, h)
		}
		if err := os.WriteFile(filepath.Join(dir, "hosts"), network.Hosts(names, a.IP), 0o644); err != nil {
			return err
		}
		if err := spec.record.SetExtra("network", a); err != nil {
			return err
		}
		return spec.record.Save()
	})
	return nil
}

// pastaSetup gives a rootless container the default network through
// pasta (see network.Pasta), once the parent has written the maps: pasta
// enters the user namespace, which needs them. The container keeps its
// rootfs's resolv.conf and hosts: a rootless contain cannot make the
// detached mounts that would bind its own (open_tree needs CAP_SYS_ADMIN
// where the host's files are), and pasta reaches the host's name servers.
func pastaSetup(spec *runSpec, f *NetFlags) error {
	if !network.HasPasta() {
		return fmt.Errorf("a rootless container's default network is pasta's, and pasta is missing: install Debian's passt package, or use --net none for an empty network namespace (--net host cannot go with --userns)")
	}
	if len(f.DNS) > 0 {
		return fmt.Errorf("--dns writes the resolv.conf of a bridge or ovs network, which need root: drop --dns to keep the rootfs's own")
	}
	var ports []network.Port
	for _, s := range f.Publish {
		p, err := network.ParsePort(s)
		if err != nil {
			return err
		}
		ports = append(ports, p)
	}
	spec.opts.Cloneflags |= unix.CLONE_NEWNET
	// The record names pasta's pid file before pasta exists, so that the
	// orphan cleaner stops a pasta whose contain was killed.
	pidFile := filepath.Join(state.Dir, spec.record.Name+".pasta")
	if err := spec.record.SetExtra("pasta", pidFile); err != nil {
		return err
	}
	spec.undo = append(spec.undo, func() error { return network.StopPasta(pidFile) })
	spec.opts.Prepare = append(spec.opts.Prepare, func(pid int) error { return network.Pasta(pid, ports, pidFile) })
	return nil
}

func init() {
	orphanCleaners["network"] = func(c *state.Container) error {
		var a network.Attachment
		ok, err := c.GetExtra("network", &a)
		err = errors.Join(err, os.RemoveAll(filepath.Join(netFilesDir, c.Name)))
		if !ok || err != nil {
			return err
		}
		// After a SIGKILL, unlike at a container's end, the host end is
		// deleted too: the kernel would destroy the pair with the
		// namespace, but in deferred work, a moment later, and a
		// cleaner's work is done when it returns. Only the next contain
		// pays for the wait.
		err = network.Detach(&a, c.Name)
		if a.Veth != "" {
			err = errors.Join(err, network.DeleteLink(a.Veth))
		}
		return err
	}
	orphanCleaners["pasta"] = func(c *state.Container) error {
		var pidFile string
		if ok, err := c.GetExtra("pasta", &pidFile); !ok || err != nil {
			return err
		}
		return network.StopPasta(pidFile)
	}
	orphanScanners["network"] = func(w io.Writer) error {
		removed, err := network.Reset()
		for _, n := range removed {
			fmt.Fprintf(w, "removed network %s\n", n)
		}
		return err
	}
}
