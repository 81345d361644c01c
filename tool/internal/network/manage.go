package network

import (
	"errors"
	"fmt"
	"net/netip"
	"os"
	"path/filepath"

	"github.com/contain-dev/contain/tool/internal/state"
)

// DefaultSubnets are where the default network looks for a free /24:
// 10.213.0.0/24, 10.213.1.0/24, ...
var DefaultSubnets = netip.MustParsePrefix("10.213.0.0/16")

// Create makes a network: it checks the subnet against the host's routes
// and the other networks, writes it down and creates its bridge.
//
// Equivalent to: ip link add $name type bridge ... (see CreateBridge)
func Create(n *Network) error {
	unlock, err := Lock()
	if err != nil {
		return err
	}
	defer unlock()
	return create(n)
}

func create(n *Network) error {
	if _, err := os.Stat(netPath(n.Name)); err == nil {
		return refuse(ErrExists, n.Name, "network %s exists", n.Name)
	}
	if n.Driver == DriverBridge {
		if _, err := os.Stat(filepath.Join("/sys/class/net", n.Name)); err == nil {
			if n.Name != DefaultName {
				return fmt.Errorf("a link named %s exists on the host: pick another network name", n.Name)
			}
			// The default bridge without its record: left by a contain
			// killed while it made or removed the network. It is ours.
			if err := DeleteLink(n.Name); err != nil {
				return err
			}
		}
	}
	if err := CheckOverlap(n.Name, n.Subnet); err != nil {
		return err
	}
	if err := n.save(); err != nil {
		return err
	}
	if err := ensure(n); err != nil {
		remove(n)
		return err
	}
	return nil
}

// ensure creates what n needs on the host and is missing: after a reboot
// the files are there but the bridge is not. The caller holds Lock.
func ensure(n *Network) error {
	if n.Driver == DriverOVS {
		if err := StartOVS(); err != nil {
			return err
		}
		return CreateOVSBridge(n)
	}
	created, err := CreateBridge(n)
	if err != nil || !created {
		return err
	}
	if err := SetRouteLocalnet(n.Name); err != nil {
		return err
	}
	if err := EnableForwarding(); err != nil {
		return err
	}
	return Sync()
}

// Default returns the default network, creating it on first use in the
// first /24 of DefaultSubnets that overlaps nothing.
func Default() (*Network, error) {
	if n, err := Load(DefaultName); err == nil {
		return n, nil
	}
	unlock, err := Lock()
	if err != nil {
		return nil, err
	}
	defer unlock()
	if n, err := Load(DefaultName); err == nil { // made while we waited
		return n, nil
	}
	for p := netip.PrefixFrom(DefaultSubnets.Addr(), 24); DefaultSubnets.Contains(p.Addr()); p = next24(p) {
		if CheckOverlap(DefaultName, p) != nil {
			continue
		}
		n, err := NewNetwork(DefaultName, DriverBridge, p, false)
		if err != nil {
			return nil, err
		}
		return n, create(n)
	}
	return nil, refuse(ErrNoSubnet, DefaultName, "no free /24 in %s for the default network", DefaultSubnets)
}

func next24(p netip.Prefix) netip.Prefix {
	a := p.Addr().As4()
	a[2]++
	if a[2] == 0 {
		a[1]++
	}
	return netip.PrefixFrom(netip.AddrFrom4(a), 24)
}

// Remove deletes a network that no running container uses: its bridge,
// its files, its rules. With the last network gone it also puts back
// ip_forward and stops contain's own Open vSwitch.
//
// Equivalent to: ip link del $name; nft -f (the rules without it)
func Remove(name string) error {
	unlock, err := Lock()
	if err != nil {
		return err
	}
	defer unlock()
	n, err := Load(name)
	if err != nil {
		return err
	}
	leases, err := Leases(name)
	if err != nil {
		return err
	}
	if len(leases) > 0 {
		return fmt.Errorf("network %s is in use by %d running container(s), first %s: stop them first", name, len(leases), leases[0].Container)
	}
	return remove(n)
}

// remove is Remove for a caller that holds Lock, without the checks.
func remove(n *Network) error {
	var errs []error
	if n.Driver == DriverOVS {
		if ownOVSRunning() || StartOVS() == nil {
			errs = append(errs, DeleteOVSBridge(n.Name))
		}
	} else {
		errs = append(errs, DeleteLink(n.Name))
	}
	for _, p := range []string{netPath(n.Name), leasePath(n.Name)} {
		if err := os.Remove(p); err != nil && !errors.Is(err, os.ErrNotExist) {
			errs = append(errs, err)
		}
		errs = append(errs, state.RemoveTemps(p)) // of a contain killed in writeJSON
	}
	errs = append(errs, Sync(), afterLast())
	return errors.Join(errs...)
}

// afterLast undoes the host-wide settings once no network needs them.
func afterLast() error {
	nets, err := List()
	if err != nil {
		return err
	}
	var errs []error
	bridges := 0
	ovs := 0
	for _, n := range nets {
		if n.Driver == DriverOVS {
			ovs++
		} else {
			bridges++
		}
	}
	if bridges == 0 {
		errs = append(errs, RestoreForwarding())
	}
	if ovs == 0 {
		errs = append(errs, StopOVS())
	}
	return errors.Join(errs...)
}

// Reset removes every network that no running container uses, and then,
// if none is left, every rule, puts back ip_forward and stops contain's
// Open vSwitch: the host as it was before contain made a network. It
// returns the names of the networks it removed. The containers' veths go
// with their namespaces.
func Reset() ([]string, error) {
	unlock, err := Lock()
	if err != nil {
		return nil, err
	}
	defer unlock()
	nets, err := List()
	if err != nil {
		return nil, err
	}
	var removed []string
	var errs []error
	for _, n := range nets {
		if leases, err := Leases(n.Name); err != nil || len(leases) > 0 {
			errs = append(errs, err)
			continue
		}
		errs = append(errs, remove(n))
		removed = append(removed, n.Name)
	}
	if left, _ := List(); len(left) == 0 {
		errs = append(errs, RemoveRules(), RestoreForwarding(), StopOVS())
	}
	return removed, errors.Join(errs...)
}

// Attachment is what Attach made for one container, recorded in its
// state so that Detach can undo it, even from another contain.
type Attachment struct {
	Network string     `json:"network"`
	Driver  string     `json:"driver"`
	IP      netip.Addr `json:"ip"`
	Bits    int        `json:"bits"`
	Gateway netip.Addr `json:"gateway,omitzero"`
	Veth    string     `json:"veth"`
	Ports   []Port     `json:"ports,omitempty"`
}

// Attach connects the container whose first process is pid to n, in this
// order: the bridge must exist before a port can join it, the lease before
// the address is set, the rules after the lease they are made from.
func Attach(n *Network, container string, pid int, ports []Port) (a *Attachment, err error) {
	unlock, err := Lock()
	if err != nil {
		return nil, err
	}
	defer unlock()
	// 1. The bridge, on first use or after a reboot. The network may have
	//    been removed (contain net rm, reset) since the caller loaded it;
	//    the default one is made again, any other is an error.
	if _, err := os.Stat(netPath(n.Name)); err == nil {
		err = ensure(n)
	} else if n.Name == DefaultName {
		err = create(n)
	} else {
		err = fmt.Errorf("network %s was removed while the container started: create it again", n.Name)
	}
	if err != nil {
		return nil, err
	}
	// 2. An address, and the ports, under the lock.
	veth := VethName()
	l, err := Acquire(n, container, pid, veth, ports)
	if err != nil {
		return nil, err
	}
	defer func() {
		if err != nil {
			Release(n.Name, container)
			if n.Driver == DriverOVS {
				DeleteOVSPort(n.Name, veth)
			}
		}
	}()
	a = &Attachment{Network: n.Name, Driver: n.Driver, IP: l.IP, Bits: n.Subnet.Bits(), Veth: veth, Ports: ports}
	// 3. The veth pair, its host end on the bridge.
	master := n.Name
	if n.Driver == DriverOVS {
		master = ""
	}
	if err := AddVeth(veth, pid, master); err != nil {
		return nil, err
	}
	switch {
	case n.Driver == DriverOVS:
		if err := AddOVSPort(n.Name, veth); err != nil {
			return nil, err
		}
	case n.Isolated:
		if err := SetIsolated(veth); err != nil {
			return nil, err
		}
	}
	// 4. Inside: address, default route (only a Linux bridge has the
	//    host's end of the subnet).
	if n.Driver == DriverBridge {
		a.Gateway = n.Gateway
	}
	if err := ConfigureInside(pid, l.IP, a.Bits, a.Gateway); err != nil {
		return nil, err
	}
	if n.Driver == DriverOVS {
		if err := DisableTxChecksum(pid, CtrLink); err != nil {
			return nil, err
		}
	}
	// 5. The DNAT rules of the published ports.
	if len(ports) > 0 {
		if err := Sync(); err != nil {
			return nil, err
		}
	}
	return a, nil
}

// Detach frees what Attach made for container, once it has ended: its
// lease, its OVS port, the rules of its ports. The veth pair needs nothing:
// the kernel destroys it with the container's network namespace (veth(4)).
// a may name only the network and the ports, as recorded before Attach
// began (the veth's name comes from Attach): Release finds the lease by
// container, and the rules follow the leases.
func Detach(a *Attachment, container string) error {
	unlock, err := Lock()
	if err != nil {
		return err
	}
	defer unlock()
	var errs []error
	_, _, err = Release(a.Network, container)
	errs = append(errs, err)
	if a.Driver == DriverOVS && a.Veth != "" {
		errs = append(errs, DeleteOVSPort(a.Network, a.Veth))
	}
	if len(a.Ports) > 0 {
		errs = append(errs, Sync())
	}
	return errors.Join(errs...)
}
