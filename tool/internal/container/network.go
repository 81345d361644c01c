package container

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"golang.org/x/sys/unix"

	"github.com/contain-dev/contain/tool/internal/network"
	"github.com/contain-dev/contain/tool/internal/state"
)

// NetFilesDir holds the resolv.conf and hosts of each container, by name.
var NetFilesDir = "/run/contain/net"

// ErrNoPasta is setupNetwork's answer to NetPasta without pasta installed
// (Debian's passt package).
var ErrNoPasta = errors.New("pasta is not installed (Debian's passt package)")

// WrongDriverError says that a network exists with another driver than
// the mode asked for.
type WrongDriverError struct {
	Network, Driver string
	Mode            NetMode
}

func (e *WrongDriverError) Error() string {
	return fmt.Sprintf("network %s is an %s network, not %s", e.Network, e.Driver, e.Mode)
}

// setupNetwork gives the container its network (see network.Attach). It
// checks everything that can be wrong before anything exists, then leaves
// the work to a Prepare hook: the veth's peer goes into the child's
// network namespace, which exists only once the child does.
func setupNetwork(b *build) error {
	n := b.cfg.Network
	switch n.Mode {
	case NetHost:
		return nil // the host's namespace, and the rootfs's own /etc files
	case NetPasta:
		return setupPasta(b)
	}
	// 1. A network namespace of its own, created by clone(2).
	b.opts.Cloneflags |= unix.CLONE_NEWNET
	if n.Mode == NetNone {
		if b.rootless {
			// The parent may not enter a namespace its user namespace
			// owns; the init stage, root there, brings lo up itself.
			b.init.LoopbackUp = true
			return nil
		}
		b.opts.Prepare = append(b.opts.Prepare, network.LoopbackUp)
		return nil
	}
	if b.rootless {
		return fmt.Errorf("a %s network needs root: its links, bridge and NAT rules belong to the host", n.Mode)
	}
	// 2. The ports, then the network: a port that is taken must fail
	//    before the default network is made on first use.
	name := b.rec.Name
	if err := network.CheckPortsFree(n.Ports, name); err != nil {
		return err
	}
	var nw *network.Network
	var err error
	if n.Name == network.DefaultName && n.Mode == NetBridge {
		nw, err = network.Default()
	} else {
		nw, err = network.Load(n.Name)
	}
	if err != nil {
		return err
	}
	if nw.Driver != string(n.Mode) {
		return &WrongDriverError{Network: nw.Name, Driver: nw.Driver, Mode: n.Mode}
	}
	// 3. resolv.conf and hosts, bound over the rootfs's: both exist now,
	//    because the init stage's start opens them before the child runs
	//    (see rootfs.OpenTree); hosts gets its content, in the same
	//    inode, once the address is leased.
	dir := filepath.Join(NetFilesDir, name)
	b.rec.NetFiles = dir
	if err := b.save(); err != nil {
		return err
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	hostResolv, _ := os.ReadFile("/etc/resolv.conf")
	if err := os.WriteFile(filepath.Join(dir, "resolv.conf"), network.ResolvConf(hostResolv, n.DNS), 0o644); err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(dir, "hosts"), nil, 0o644); err != nil {
		return err
	}
	if b.init.BindFiles == nil {
		b.init.BindFiles = map[string]string{}
	}
	b.init.BindFiles["/etc/resolv.conf"] = filepath.Join(dir, "resolv.conf")
	b.init.BindFiles["/etc/hosts"] = filepath.Join(dir, "hosts")
	// 4. In the parent, with the child's pid: veth, address, rules.
	b.opts.Prepare = append(b.opts.Prepare, func(pid int) error {
		// The record names the network and ports before Attach makes
		// anything: a creator killed halfway through it leaves a lease
		// and rules that Destroy then finds.
		b.rec.Network = &network.Attachment{Network: nw.Name, Driver: nw.Driver, Ports: n.Ports}
		if err := b.save(); err != nil {
			return err
		}
		a, err := network.Attach(nw, name, pid, n.Ports)
		if err != nil {
			return err
		}
		b.rec.Network = a
		names := []string{name}
		if h := b.cfg.Hostname; h != "" && h != name {
			names = append(names, h)
		}
		if err := os.WriteFile(filepath.Join(dir, "hosts"), network.Hosts(names, a.IP), 0o644); err != nil {
			return err
		}
		return b.save()
	})
	return nil
}

// setupPasta gives a rootless container a network through pasta (see
// network.Pasta), once the parent has written the maps: pasta enters the
// user namespace, which needs them. The container keeps its rootfs's
// resolv.conf and hosts: a rootless creator cannot make the detached
// mounts that would bind its own (open_tree needs CAP_SYS_ADMIN where the
// host's files are), and pasta reaches the host's name servers.
func setupPasta(b *build) error {
	if !network.HasPasta() {
		return ErrNoPasta
	}
	b.opts.Cloneflags |= unix.CLONE_NEWNET
	// The record names pasta's pid file before pasta exists, so that
	// Destroy stops a pasta whose creator was killed.
	pidFile := state.File(b.rec.Name, "pasta")
	b.rec.Pasta = pidFile
	ports := b.cfg.Network.Ports
	b.opts.Prepare = append(b.opts.Prepare, func(pid int) error { return network.Pasta(pid, ports, pidFile) })
	return nil
}

// destroyNetwork stops pasta, removes the resolv.conf and hosts, and
// frees what Attach made (see network.Detach). The host end of the veth
// is deleted too: the kernel destroys the pair with the container's
// network namespace (veth(4)), but in deferred work, a moment after the
// container's end, and Destroy's work is done when it returns.
func destroyNetwork(r *Record) error {
	var errs []error
	if r.Pasta != "" {
		errs = append(errs, network.StopPasta(r.Pasta))
	}
	if r.NetFiles != "" {
		errs = append(errs, os.RemoveAll(r.NetFiles))
	}
	if a := r.Network; a != nil {
		errs = append(errs, network.Detach(a, r.Name))
		if a.Veth != "" {
			errs = append(errs, network.DeleteLink(a.Veth))
		}
	}
	return errors.Join(errs...)
}

// scanNetworks removes the default network when no container uses it any
// more, and the networks' leases of containers that are gone (see
// network.Reset).
func scanNetworks() ([]Finding, error) {
	removed, err := network.Reset()
	var found []Finding
	for _, n := range removed {
		found = append(found, Finding{Concern: "network", Name: n})
	}
	return found, err
}
