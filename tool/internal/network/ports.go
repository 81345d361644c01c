package network

import (
	"errors"
	"fmt"
	"net"
	"strconv"
	"strings"
)

// Port is one published port: traffic to the host's HostPort goes to the
// container's CtrPort.
type Port struct {
	Proto    string `json:"proto"` // "tcp" or "udp"
	HostPort int    `json:"host"`
	CtrPort  int    `json:"ctr"`
}

func (p Port) String() string { return fmt.Sprintf("%d:%d/%s", p.HostPort, p.CtrPort, p.Proto) }

// PortError is a port to publish that ParsePort or CheckPortsFree
// refuses. Port is the port as the caller wrote it, or as Port.String
// writes it; the caller may name it its own way (the CLI as -p PORT).
type PortError struct {
	Port string
	Err  error
}

func (e *PortError) Error() string { return "port " + e.Port + ": " + e.Err.Error() }

func (e *PortError) Unwrap() error { return e.Err }

// ParsePort reads Docker's -p syntax, HOSTPORT:CTRPORT[/tcp|/udp].
func ParsePort(s string) (Port, error) {
	spec, proto, ok := strings.Cut(s, "/")
	if !ok {
		proto = "tcp"
	}
	if proto != "tcp" && proto != "udp" {
		return Port{}, &PortError{Port: s, Err: fmt.Errorf("protocol %q: use tcp or udp", proto)}
	}
	h, c, ok := strings.Cut(spec, ":")
	if !ok {
		return Port{}, &PortError{Port: s, Err: errors.New("write HOSTPORT:CTRPORT, such as 8080:80")}
	}
	hp, err1 := strconv.Atoi(h)
	cp, err2 := strconv.Atoi(c)
	if err1 != nil || err2 != nil || hp < 1 || hp > 65535 || cp < 1 || cp > 65535 {
		return Port{}, &PortError{Port: s, Err: errors.New("ports are numbers from 1 to 65535")}
	}
	return Port{Proto: proto, HostPort: hp, CtrPort: cp}, nil
}

// CheckPortsFree fails when a host port of ports is published by a
// running container or has a listener on the host: with a DNAT rule on
// top, that listener would silently stop getting its traffic.
func CheckPortsFree(ports []Port, container string) error {
	unlock, err := Lock()
	if err != nil {
		return err
	}
	defer unlock()
	return portsFree(ports, container)
}

// portsFree is CheckPortsFree for a caller that holds Lock.
func portsFree(ports []Port, container string) error {
	nets, err := List()
	if err != nil {
		return err
	}
	for i, p := range ports {
		for _, q := range ports[:i] {
			if q.Proto == p.Proto && q.HostPort == p.HostPort {
				return &PortError{Port: p.String(), Err: fmt.Errorf("host port %d/%s is given twice", p.HostPort, p.Proto)}
			}
		}
		for _, n := range nets {
			leases, err := Leases(n.Name)
			if err != nil {
				return err
			}
			for _, l := range leases {
				for _, q := range l.Ports {
					if l.Container != container && q.Proto == p.Proto && q.HostPort == p.HostPort {
						return &PortError{Port: p.String(), Err: fmt.Errorf("host port %d/%s is already published by container %s: pick another host port", p.HostPort, p.Proto, l.Container)}
					}
				}
			}
		}
		if err := bindable(p); err != nil {
			return &PortError{Port: p.String(), Err: fmt.Errorf("host port %d/%s is in use on the host (%v): pick another host port", p.HostPort, p.Proto, err)}
		}
	}
	return nil
}

// bindable tries to bind the host port on all addresses, and lets go.
func bindable(p Port) error {
	addr := ":" + strconv.Itoa(p.HostPort)
	if p.Proto == "udp" {
		c, err := net.ListenPacket("udp4", addr)
		if err != nil {
			return err
		}
		return c.Close()
	}
	l, err := net.Listen("tcp4", addr)
	if err != nil {
		return err
	}
	return l.Close()
}
