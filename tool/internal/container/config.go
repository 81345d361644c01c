// Package container owns a container's life, in the shape runc's
// libcontainer made familiar: a Config says what the container is, pure
// data checked by Validate; Create makes it from a Config under a name,
// Load finds it by that name from any other process, and Start, Signal,
// Stop, Exec, State and Destroy act on it.
//
// Each kernel concern (the user namespace, the time namespace, the cgroup,
// the network; later chapters add devices, /proc views and security) is
// one entry of one ordered list, concerns, with its setup, its destroy and
// its scan. What a concern makes on the host it names in the container's
// Record first, before it exists, and Destroy, driven by the Record alone,
// is the only teardown: the end of contain run, a failed Create, contain
// reset and the orphan cleaning all go through it.
//
// The package describes failures; it never tells a user what to type,
// which is the caller's (the CLI, or an OCI engine) to say.
package container

import (
	"errors"
	"fmt"
	"net/netip"
	"path/filepath"
	"time"

	"github.com/contain-dev/contain/tool/internal/cgroup"
	"github.com/contain-dev/contain/tool/internal/idmap"
	"github.com/contain-dev/contain/tool/internal/namespace"
	"github.com/contain-dev/contain/tool/internal/network"
	"github.com/contain-dev/contain/tool/internal/state"
)

// Config is a container, as data: what contain run's flags say, or later
// what an OCI bundle's config.json says (chapter 14). It holds no open
// files and no host state; Create turns it into a container.
type Config struct {
	// Name identifies the container among the running ones (state.CheckName).
	Name string `json:"name"`
	// Bundle is the directory the config came from, an OCI bundle
	// (chapter 14); empty when the CLI made the config from flags.
	Bundle string `json:"bundle,omitempty"`
	// Rootfs is the absolute path of the root filesystem on the host.
	Rootfs string `json:"rootfs"`
	// Hostname is set in the container's UTS namespace when not empty.
	Hostname string `json:"hostname,omitempty"`
	// Process is the command the container runs.
	Process Process `json:"process"`
	// Namespaces are the namespaces clone(2) creates for every container
	// (chapters 03-05: mnt, uts, ipc, pid). The user, network, cgroup and
	// time namespaces come from the sections below that need them.
	Namespaces []string `json:"namespaces"`

	// UserNS, when not nil, gives the container a user namespace with
	// these maps (chapter 06).
	UserNS *UserNS `json:"userns,omitempty"`
	// Time, when not nil, gives the container a time namespace whose
	// clocks run these offsets ahead of the host's (chapter 04).
	Time *namespace.TimeOffsets `json:"time,omitempty"`
	// Cgroup, when not nil, gives the container a node of its own,
	// contain/NAME in every hierarchy, with these limits, and a cgroup
	// namespace (chapter 07). Only root can make one.
	Cgroup *cgroup.Limits `json:"cgroup,omitempty"`
	// Network is the container's network (chapter 08).
	Network Network `json:"network"`
	// Later chapters add their sections here: devices (09), the /proc
	// views (10), capabilities, seccomp and masked paths (11).
}

// Process is what the container runs.
type Process struct {
	// Args is the command; Args[0] is looked up in the container's PATH.
	Args []string `json:"args"`
	// Env is the command's whole environment.
	Env []string `json:"env"`
	// Init keeps an init as pid 1 that forwards signals to the command
	// and reaps orphans (chapter 05).
	Init bool `json:"init,omitempty"`
	// StopTimeout is how long a forwarded SIGTERM or SIGINT has before
	// SIGKILL follows; zero waits forever (chapter 05).
	StopTimeout time.Duration `json:"stop_timeout,omitempty"`
}

// UserNS is a user namespace's maps (chapter 06).
type UserNS struct {
	UIDMap idmap.Map `json:"uid_map"`
	GIDMap idmap.Map `json:"gid_map"`
}

// NetMode is the kind of network a container gets.
type NetMode string

// The network modes (chapter 08).
const (
	// NetNone is a network namespace of its own with loopback alone.
	NetNone NetMode = "none"
	// NetHost keeps the host's network namespace.
	NetHost NetMode = "host"
	// NetBridge is a veth on a Linux bridge network, with NAT.
	NetBridge NetMode = "bridge"
	// NetOVS is a veth on an Open vSwitch network.
	NetOVS NetMode = "ovs"
	// NetPasta is pasta's user-mode network, for a container without root.
	NetPasta NetMode = "pasta"
)

// Network is the container's network.
type Network struct {
	Mode NetMode `json:"mode"`
	// Name is the network of NetBridge and NetOVS.
	Name string `json:"name,omitempty"`
	// Ports are published on the host (NetBridge, NetPasta).
	Ports []network.Port `json:"ports,omitempty"`
	// DNS are the name servers of the container's resolv.conf (NetBridge,
	// NetOVS); none means the host's, less loopback ones.
	DNS []netip.Addr `json:"dns,omitempty"`
}

// Validate checks what can be checked without looking at the host: the
// config is whole and its parts fit together. Create calls it first.
func (c *Config) Validate() error {
	var errs []error
	add := func(format string, args ...any) { errs = append(errs, fmt.Errorf(format, args...)) }
	if err := state.CheckName(c.Name); err != nil {
		errs = append(errs, err)
	}
	if !filepath.IsAbs(c.Rootfs) {
		add("rootfs %q is not an absolute path", c.Rootfs)
	}
	if len(c.Hostname) > 64 {
		add("hostname is longer than 64 bytes, the kernel's limit (HOST_NAME_MAX)")
	}
	if len(c.Process.Args) == 0 || c.Process.Args[0] == "" {
		add("no command given")
	}
	if c.Process.StopTimeout < 0 {
		add("stop timeout %v is negative", c.Process.StopTimeout)
	}
	if _, err := namespace.Flags(c.Namespaces...); err != nil {
		errs = append(errs, err)
	}
	if u := c.UserNS; u != nil {
		for _, m := range []struct {
			kind idmap.Kind
			m    idmap.Map
		}{{idmap.UID, u.UIDMap}, {idmap.GID, u.GIDMap}} {
			if err := m.m.Validate(m.kind); err != nil {
				errs = append(errs, err)
			} else if err := m.m.CheckRoot(m.kind); err != nil {
				errs = append(errs, err)
			}
		}
	}
	n := c.Network
	switch n.Mode {
	case NetNone, NetHost, NetPasta:
		if n.Name != "" {
			add("network mode %s takes no network name", n.Mode)
		}
	case NetBridge, NetOVS:
		if err := network.CheckName(n.Name); err != nil {
			errs = append(errs, err)
		}
	default:
		add("unknown network mode %q", n.Mode)
	}
	if len(n.Ports) > 0 && n.Mode != NetBridge && n.Mode != NetPasta {
		add("ports are published by a bridge network or pasta, not by network mode %s", n.Mode)
	}
	if len(n.DNS) > 0 && n.Mode != NetBridge && n.Mode != NetOVS {
		add("DNS servers go in the resolv.conf of a bridge or ovs network, not of network mode %s", n.Mode)
	}
	if n.Mode == NetHost && c.UserNS != nil {
		add("a user namespace cannot keep the host's network: it needs a network namespace of its own to mount /sys")
	}
	return errors.Join(errs...)
}
