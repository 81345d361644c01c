// Package network gives containers their networks: a network namespace
// with a veth pair whose host end sits on a Linux bridge or an Open
// vSwitch bridge, an address leased from the network's subnet, NAT to the
// outside, published ports, and the resolv.conf and hosts they see.
//
// What it keeps on disk, under StateDir:
//
//	lock               flock(2) taken around every change below
//	NAME.json          a network: its bridge, subnet, gateway, isolation
//	NAME.leases.json   the addresses handed out on it, by container
//	ip_forward.orig    net.ipv4.ip_forward before contain first set it
//
// The kernel objects (bridges, veths, nftables rules) are always derived
// from these files: the firewall is rewritten as a whole from them, and a
// lease whose container is dead is ignored and dropped. That is what makes
// a contain killed with SIGKILL harmless: its veth dies with the
// container's namespace, and its lease and rules with the next change.
package network

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"net/netip"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"golang.org/x/sys/unix"

	"github.com/contain-dev/contain/tool/internal/state"
)

// StateDir holds the networks and their leases. Tests point it elsewhere.
var StateDir = "/var/lib/contain/net"

// DefaultName is the network of `run --net bridge`, created on first use
// with the first free subnet of DefaultSubnets, like LXC's lxcbr0 and
// Docker's docker0. It stays until `contain net rm contain0` or `contain
// reset`.
const DefaultName = "contain0"

// Drivers: what the host end of a container's veth is attached to.
const (
	DriverBridge = "bridge" // a Linux bridge (ip link add type bridge)
	DriverOVS    = "ovs"    // an Open vSwitch bridge (ovs-vsctl add-br)
)

// Network is one network: a bridge of the same name and a subnet whose
// first address is the bridge's own (the containers' gateway).
type Network struct {
	Name    string       `json:"name"`
	Driver  string       `json:"driver"`
	Subnet  netip.Prefix `json:"subnet"`
	Gateway netip.Addr   `json:"gateway"`
	// Isolated is Docker's --icc=false: containers on the network reach
	// the host and, through NAT, the outside, but not each other.
	Isolated bool `json:"isolated,omitempty"`
}

// validName tells whether name is a letter followed by letters, digits,
// '_', '.' or '-'. A loop, not a regexp: a package-level regexp is
// compiled on every start of contain, the init stage's included.
func validName(name string) bool {
	for i, r := range name {
		letter := r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z'
		if !letter && (i == 0 || !(r >= '0' && r <= '9' || r == '_' || r == '.' || r == '-')) {
			return false
		}
	}
	return name != ""
}

// CheckName refuses names that cannot be a link name.
func CheckName(name string) error {
	if len(name) > 15 {
		return fmt.Errorf("network name %q is %d characters: the bridge is named after it and link names have at most 15 (IFNAMSIZ): pick a shorter one", name, len(name))
	}
	if !validName(name) {
		return fmt.Errorf("network name %q: use letters, digits, '_', '.' or '-', starting with a letter", name)
	}
	return nil
}

// NewNetwork checks a subnet and returns the network it makes, gateway
// included. It does not create anything.
func NewNetwork(name, driver string, subnet netip.Prefix, isolated bool) (*Network, error) {
	if err := CheckName(name); err != nil {
		return nil, err
	}
	if driver != DriverBridge && driver != DriverOVS {
		return nil, fmt.Errorf("unknown network driver %q: use bridge or ovs", driver)
	}
	if !subnet.Addr().Is4() || subnet.Bits() < 8 || subnet.Bits() > 29 {
		return nil, fmt.Errorf("subnet %s: give an IPv4 prefix between /8 and /29, such as 10.213.7.0/24", subnet)
	}
	if subnet != subnet.Masked() {
		return nil, fmt.Errorf("subnet %s has host bits set: did you mean %s?", subnet, subnet.Masked())
	}
	return &Network{Name: name, Driver: driver, Subnet: subnet, Gateway: subnet.Addr().Next(), Isolated: isolated}, nil
}

func netPath(name string) string   { return filepath.Join(StateDir, name+".json") }
func leasePath(name string) string { return filepath.Join(StateDir, name+".leases.json") }

// The refusals that a caller may follow with what to do next, for
// errors.Is: each comes in an *Error.
var (
	ErrUnknown  = errors.New("unknown network") // no network of that name
	ErrExists   = errors.New("network exists")  // Create of a name taken
	ErrNoSubnet = errors.New("no free subnet")  // Default found none
	ErrOverlap  = errors.New("subnet overlaps") // a route or another network
	ErrFull     = errors.New("network is full") // every address is leased
)

// Error is a refusal of this package. Its message says what is wrong, with
// the values; what to do about it is the caller's to say (the CLI names
// its commands and flags), from Kind and Network.
type Error struct {
	Kind    error  // ErrUnknown, ErrExists, ErrNoSubnet, ErrOverlap or ErrFull
	Network string // the network it is about
	msg     string
}

func (e *Error) Error() string { return e.msg }

func (e *Error) Unwrap() error { return e.Kind }

// refuse returns an *Error whose message is format with args.
func refuse(kind error, network, format string, args ...any) *Error {
	return &Error{Kind: kind, Network: network, msg: fmt.Sprintf(format, args...)}
}

// Load reads the network called name.
func Load(name string) (*Network, error) {
	if err := CheckName(name); err != nil {
		return nil, err
	}
	var n Network
	if err := readJSON(netPath(name), &n); errors.Is(err, fs.ErrNotExist) {
		return nil, refuse(ErrUnknown, name, "unknown network %s", name)
	} else if err != nil {
		return nil, err
	}
	return &n, nil
}

// List returns every network, sorted by name.
func List() ([]*Network, error) {
	ents, err := os.ReadDir(StateDir)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	var ns []*Network
	for _, e := range ents {
		name, ok := strings.CutSuffix(e.Name(), ".json")
		if !ok || strings.HasSuffix(name, ".leases") {
			continue
		}
		if n, err := Load(name); err == nil {
			ns = append(ns, n)
		}
	}
	sort.Slice(ns, func(i, j int) bool { return ns[i].Name < ns[j].Name })
	return ns, nil
}

func (n *Network) save() error { return writeJSON(netPath(n.Name), n) }

// Lock takes the lock of StateDir: every change to networks, leases and
// the firewall happens under it, so that twenty contains started at once
// never hand out one address twice. The returned function releases it.
//
// Equivalent to: flock /var/lib/contain/net/lock ...
func Lock() (func(), error) {
	if err := os.MkdirAll(StateDir, 0o755); err != nil {
		return nil, err
	}
	f, err := os.OpenFile(filepath.Join(StateDir, "lock"), os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, err
	}
	if err := unix.Flock(int(f.Fd()), unix.LOCK_EX); err != nil {
		f.Close()
		return nil, fmt.Errorf("lock %s: %w", StateDir, err)
	}
	return func() { f.Close() }, nil // closing the file drops the lock
}

func readJSON(path string, v any) error {
	b, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	if err := json.Unmarshal(b, v); err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	return nil
}

// writeJSON replaces path atomically, so a reader never sees half a file.
func writeJSON(path string, v any) error {
	b, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return err
	}
	return state.WriteFile(path, append(b, '\n'), 0o644)
}
