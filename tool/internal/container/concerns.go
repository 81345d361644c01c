package container

// concern is one kernel concern of a container: what it sets up before
// the container starts, how it removes what it made, and how it finds
// what it made that no record names.
type concern struct {
	name string
	// setup checks the concern's part of the config against the host,
	// names in the record what it is about to make, and makes it, or
	// leaves the work to a Prepare hook of the init stage (see
	// initstage.Options.Prepare) when it needs the container's pid.
	setup func(b *build) error
	// destroy removes what the record's part names; what does not exist
	// (any more, or yet) is no error.
	destroy func(r *Record) error
	// scan removes, for Reset, what the concern made that no record
	// names, and says what it found.
	scan func() ([]Finding, error)
}

// concerns are the concerns in the order they set up; Destroy goes
// through them backwards. Each later chapter adds its entry here.
//
// The user namespace comes first: the others ask whether there is one
// (a cgroup v1 hierarchy cannot be mounted in it, a rootless network is
// pasta's). The time namespace only asks the init stage for one. The
// cgroup comes before the network, so that on cgroup v1 the init stage
// is in its node before the network's hooks run.
var concerns = []concern{
	{name: "user namespace", setup: setupUserNS},
	{name: "time namespace", setup: setupTime},
	{name: "cgroup", setup: setupCgroup, destroy: destroyCgroup, scan: scanCgroups},
	{name: "network", setup: setupNetwork, destroy: destroyNetwork, scan: scanNetworks},
}

// A Finding is one thing Reset found on the host: removed, or kept
// because something still uses it.
type Finding struct {
	// Concern is "container" for a dead container's record, else a
	// concern's name.
	Concern string
	// Name is the container, cgroup node or network found.
	Name string
	// Pids are the processes that kept a cgroup node; none means it was
	// removed.
	Pids []int
}

// setupTime asks the init stage for a new time namespace (see
// namespace.NewTime for why the init stage, and not clone(2), creates it).
func setupTime(b *build) error {
	if b.cfg.Time != nil {
		o := *b.cfg.Time
		b.init.Time = &o
	}
	return nil
}

// setupUserNS puts the container in a user namespace of its own, with
// the parent writing the maps while the init stage waits for its config
// (initstage.Options.UserNS, the one recipe of run --userns and ns -r).
// The network namespace that a user namespace needs to mount /sys comes
// from the network concern: Validate refuses a user namespace with the
// host's network.
func setupUserNS(b *build) error {
	u := b.cfg.UserNS
	if u == nil {
		return nil
	}
	b.rec.UserNS = u
	return b.opts.UserNS(&b.init, u.UIDMap, u.GIDMap)
}
