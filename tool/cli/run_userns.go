package cli

import (
	"os"
	"os/user"
	"strconv"

	"golang.org/x/sys/unix"

	"github.com/contain-dev/contain/tool/internal/idmap"
)

// UserNSFlags are the flags of run that chapter 06 adds: a user namespace
// and its uid and gid maps.
type UserNSFlags struct {
	Userns bool     `help:"Run in a new user namespace, root inside and an unprivileged range outside; works without root, with ranges from /etc/subuid and /etc/subgid (chapter 06)."`
	Uidmap []string `help:"A uid map range for --userns, INSIDE:OUTSIDE:LENGTH; repeat it for more (default: 0 and up onto the first /etc/subuid range of the user, or 0:100000:65536 for root)." placeholder:"IN:OUT:LEN" sep:"none"`
	Gidmap []string `help:"A gid map range for --userns, as --uidmap (default from /etc/subgid)." placeholder:"IN:OUT:LEN" sep:"none"`
}

// RootDefault is the map that root's containers get when /etc/subuid (or
// /etc/subgid) has no range for root: the range that Debian's useradd
// hands the first ordinary user.
var RootDefault = idmap.Map{{Inside: 0, Outside: 100000, Length: 65536}}

// usernsEnabled tells whether the container gets a user namespace: asked
// for with --userns, or implied by a map.
func (f *UserNSFlags) usernsEnabled() bool {
	return f.Userns || len(f.Uidmap) > 0 || len(f.Gidmap) > 0
}

// maps returns the uid and gid maps of the container, checked as the
// kernel and, for an ordinary user, newuidmap will check them.
func (f *UserNSFlags) maps() (uid, gid idmap.Map, err error) {
	me, err := user.Current()
	if err != nil {
		return nil, nil, err
	}
	for _, k := range []struct {
		kind  idmap.Kind
		specs []string
		id    string
		out   *idmap.Map
	}{{idmap.UID, f.Uidmap, me.Uid, &uid}, {idmap.GID, f.Gidmap, me.Gid, &gid}} {
		id, _ := strconv.ParseUint(k.id, 10, 32)
		subids, err := idmap.ReadSubIDs(k.kind)
		if err != nil {
			return nil, nil, err
		}
		own := idmap.Owned(subids, me.Username, uint32(id))
		m, err := idmap.Parse(k.specs...)
		switch {
		case err != nil:
			return nil, nil, err
		case len(m) > 0:
		case os.Geteuid() == 0 && len(own) == 0:
			m = RootDefault
		default:
			if m, err = idmap.Default(k.kind, me.Username, uint32(id), own); err != nil {
				return nil, nil, err
			}
		}
		if err := m.Validate(k.kind); err != nil {
			return nil, nil, err
		}
		if err := m.CheckRoot(k.kind); err != nil {
			return nil, nil, err
		}
		if os.Geteuid() != 0 {
			if err := m.CheckAllowed(k.kind, me.Username, uint32(id), own); err != nil {
				return nil, nil, err
			}
		}
		*k.out = m
	}
	return uid, gid, nil
}

// userNSFeature puts the container in a user namespace of its own.
type userNSFeature struct{ flags *UserNSFlags }

// setup checks the maps, asks for new user and network namespaces, and has
// the parent write the maps while the init stage waits for its config
// (initstage.Options.UserNS).
//
// The network namespace comes with the user namespace because sysfs may
// only be mounted by a user namespace that owns the network namespace of
// the mounter (sysfs shows that namespace's network devices). A container
// that keeps the host's network would need the host's /sys bound in
// instead, as rootless runc does.
func (u userNSFeature) setup(spec *runSpec) error {
	uid, gid, err := u.flags.maps()
	if err != nil {
		return err
	}
	if err := spec.record.SetExtra("userns", map[string]string{"uid_map": uid.String(), "gid_map": gid.String()}); err != nil {
		return err
	}
	spec.opts.Cloneflags |= unix.CLONE_NEWNET
	return spec.opts.UserNS(&spec.cfg, uid, gid)
}
