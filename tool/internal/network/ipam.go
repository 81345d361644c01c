package network

import (
	"errors"
	"fmt"
	"io/fs"
	"net/netip"
	"os"

	"github.com/contain-dev/contain/tool/internal/state"
)

// Lease is one address of a network, held by one container.
type Lease struct {
	Container string     `json:"container"`
	IP        netip.Addr `json:"ip"`
	// Pid and Start name the container's first process, as in its state
	// record: the lease is alive as long as that process is.
	Pid   int    `json:"pid"`
	Start uint64 `json:"start"`
	// Veth is the host end of the container's veth pair.
	Veth  string `json:"veth"`
	Ports []Port `json:"ports,omitempty"`
}

// Alive tells whether the container that holds l still runs. A zombie
// does not: its network namespace is already gone.
func (l Lease) Alive() bool {
	start, err := state.StartTime(l.Pid)
	return err == nil && start == l.Start && running(l.Pid)
}

// Leases returns the live leases of the network called name, by address.
// Leases of dead containers are left out: they are free.
func Leases(name string) ([]Lease, error) {
	var all []Lease
	if err := readJSON(leasePath(name), &all); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return nil, err
	}
	live := all[:0]
	for _, l := range all {
		if l.Alive() {
			live = append(live, l)
		}
	}
	return live, nil
}

// Acquire leases the lowest free address of n to the container whose
// first process is pid, and returns the lease. The caller holds Lock.
// Dead containers' leases are dropped on the way.
func Acquire(n *Network, container string, pid int, veth string, ports []Port) (Lease, error) {
	start, err := state.StartTime(pid)
	if err != nil {
		return Lease{}, fmt.Errorf("lease for %s: %w", container, err)
	}
	leases, err := Leases(n.Name)
	if err != nil {
		return Lease{}, err
	}
	if err := portsFree(ports, container); err != nil {
		return Lease{}, err
	}
	taken := map[netip.Addr]bool{n.Gateway: true}
	for _, l := range leases {
		taken[l.IP] = true
	}
	// The first address is the network's own, the last the broadcast.
	for ip := n.Gateway.Next(); n.Subnet.Contains(ip.Next()); ip = ip.Next() {
		if taken[ip] {
			continue
		}
		l := Lease{Container: container, IP: ip, Pid: pid, Start: start, Veth: veth, Ports: ports}
		if err := writeJSON(leasePath(n.Name), append(leases, l)); err != nil {
			return Lease{}, err
		}
		return l, nil
	}
	return Lease{}, refuse(ErrFull, n.Name, "network %s is full: all %d addresses of %s are leased", n.Name, len(leases), n.Subnet)
}

// Release frees the lease that container holds on the network called
// name, if any, along with those of dead containers. The caller holds
// Lock. It returns the released lease and whether there was one.
func Release(name, container string) (Lease, bool, error) {
	var all []Lease
	if err := readJSON(leasePath(name), &all); errors.Is(err, fs.ErrNotExist) {
		return Lease{}, false, nil
	} else if err != nil {
		return Lease{}, false, err
	}
	var keep []Lease
	var gone Lease
	found := false
	for _, l := range all {
		switch {
		case l.Container == container:
			gone, found = l, true
		case l.Alive():
			keep = append(keep, l)
		}
	}
	if len(keep) == 0 {
		err := os.Remove(leasePath(name))
		if errors.Is(err, fs.ErrNotExist) {
			err = nil
		}
		return gone, found, err
	}
	return gone, found, writeJSON(leasePath(name), keep)
}
