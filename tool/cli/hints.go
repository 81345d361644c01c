package cli

import (
	"errors"
	"fmt"
	"io/fs"
	"strings"

	"github.com/contain-dev/contain/tool/internal/cgroup"
	"github.com/contain-dev/contain/tool/internal/container"
	"github.com/contain-dev/contain/tool/internal/idmap"
	"github.com/contain-dev/contain/tool/internal/network"
	"github.com/contain-dev/contain/tool/internal/rootfs"
	"github.com/contain-dev/contain/tool/internal/state"
)

// explain returns the message that contain prints for err. The library
// packages say what failed, in words any caller can use (podman's, through
// the OCI interface, too); what to type next is the CLI's to say, and it
// says it here, in one place. The library's error is found in err's chain
// by its type, and its text in the message is replaced by the CLI's: what
// the commands wrapped around it stays where it was.
func explain(err error) string {
	msg := err.Error()
	if lib, cli := hint(err); lib != "" {
		msg = strings.Replace(msg, lib, cli, 1)
	}
	return msg
}

// hint finds in err's chain the first library error that the CLI adds to,
// and returns its text and the CLI's for it; "", "" when there is none.
func hint(err error) (lib, cli string) {
	var (
		dir    *rootfs.DirError
		lim    *cgroup.LimitError
		node   *cgroup.NodeError
		netw   *network.Error
		port   *network.PortError
		idErr  *idmap.Error
		taken  *state.TakenError
		driver *container.WrongDriverError
	)
	switch {
	case errors.As(err, &dir):
		return dir.Error(), dir.Error() + rootfsHint(dir)
	case errors.As(err, &lim):
		text := lim.Text(limitFlag)
		if lim.Controller != "" {
			text += " (see contain checkconfig)"
		}
		return lim.Error(), text
	case errors.As(err, &node):
		if node.Err == fs.ErrExist {
			return node.Error(), node.Error() + ": remove it with contain reset"
		}
		return node.Error(), node.Error() + " (contain cgroup ls)"
	case errors.As(err, &netw):
		return netw.Error(), netw.Error() + networkHint(netw)
	case errors.As(err, &port):
		return port.Error(), fmt.Sprintf("-p %s: %v", port.Port, port.Err)
	case errors.As(err, &taken):
		return taken.Error(), fmt.Sprintf("a container named %s is running or starting (its contain holds %s): pick another --name", taken.Name, taken.Lock)
	case errors.As(err, &driver):
		return driver.Error(), fmt.Sprintf("network %s is an %s network: use --net %s=%s", driver.Network, driver.Driver, driver.Driver, driver.Network)
	case errors.As(err, &idErr):
		switch idErr.Err {
		case idmap.ErrNoRoot:
			return idErr.Error(), fmt.Sprintf("%s (--%smap 0:OUTSIDE:LENGTH)", idErr, idErr.Kind)
		case idmap.ErrNoRange:
			return idErr.Error(), fmt.Sprintf("%s, or pass --%smap", idErr, idErr.Kind)
		}
	}
	return "", ""
}

// rootfsHint is what to do about a directory that cannot be a rootfs.
// The CLI's rootfs is run's --rootfs and chroot's DIR argument; kong
// refuses chroot without one, so only run can have none.
func rootfsHint(e *rootfs.DirError) string {
	switch e.Err {
	case rootfs.ErrNoDir:
		return ": pass --rootfs DIR (build one with scripts/mkrootfs.sh DIR)"
	case rootfs.ErrMissing:
		return ": build one with scripts/mkrootfs.sh " + e.Dir
	case rootfs.ErrNotDir:
		return ": pass the directory that holds bin/, etc/, proc/"
	case rootfs.ErrHostRoot:
		return ": pass a separate directory (scripts/mkrootfs.sh DIR builds one)"
	}
	return ""
}

// networkHint is what to type about a network that is missing, taken or
// full, or a subnet that overlaps.
func networkHint(e *network.Error) string {
	switch e.Kind {
	case network.ErrUnknown:
		return fmt.Sprintf(": create it with contain net create %s --subnet CIDR, or list them with contain net ls", e.Network)
	case network.ErrExists:
		return ": remove it first with contain net rm " + e.Network
	case network.ErrNoSubnet:
		return fmt.Sprintf(": create it with contain net create %s --subnet CIDR", e.Network)
	case network.ErrOverlap:
		return ": pick another --subnet"
	case network.ErrFull:
		return "; stop a container or use a larger --subnet"
	}
	return ""
}

// limitFlag is the flag of LimitFlags that sets the field of
// cgroup.Limits whose JSON name is name: memory_swap is --memory-swap
// (TestLimitFlags checks every field).
func limitFlag(name string) string {
	return "--" + strings.ReplaceAll(name, "_", "-")
}
