// Package state records the containers that are running, one JSON file per
// container under Dir, so that other commands (freeze, info, net, reset)
// can find a container by name and a later run can clean up after a
// contain that was killed with SIGKILL. Each record has an owner, the
// contain that made it, which holds a lock beside it for its whole life
// (see Create).
//
// A record names its process by pid and by the process's start time (field
// 22 of /proc/PID/stat, see proc(5)): a pid alone can be reused by an
// unrelated process once the container is gone.
package state

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"time"

	"golang.org/x/sys/unix"
)

// Dir is where the records live. It is on a tmpfs on most systems, so
// records do not survive a reboot, and neither do the containers.
var Dir = DefaultDir(os.Geteuid(), os.Getenv("XDG_RUNTIME_DIR"))

// DefaultDir decides Dir: /run/contain for root; for anyone else, who
// cannot write there (a rootless container, chapter 06), contain under
// their XDG_RUNTIME_DIR, or else /tmp/contain-UID.
func DefaultDir(euid int, xdgRuntimeDir string) string {
	switch {
	case euid == 0:
		return "/run/contain"
	case xdgRuntimeDir != "":
		return filepath.Join(xdgRuntimeDir, "contain")
	}
	return fmt.Sprintf("/tmp/contain-%d", euid)
}

// Container is the record of one running container. Later chapters add the
// fields of what they create, so that cleanup can find it.
type Container struct {
	Name    string    `json:"name"`
	Pid     int       `json:"pid"`
	Start   uint64    `json:"start"` // start time of Pid, in clock ticks since boot
	Rootfs  string    `json:"rootfs"`
	Created time.Time `json:"created"`
	// Extra holds what each concern records, by concern ("cgroup",
	// "network", ...), as raw JSON that only that concern decodes.
	Extra map[string]json.RawMessage `json:"extra,omitempty"`

	// lock is the owner's open lock file (see Create), nil in a record
	// that was only loaded.
	lock *os.File
}

// CheckName refuses names that would not work as a file, cgroup or link
// name: 1 to 32 of [a-zA-Z0-9_.-], starting with a letter or digit. It is
// written out rather than a package-level regexp, whose compilation would
// add to the start-up of every contain process, the init stage included.
func CheckName(name string) error {
	ok := len(name) >= 1 && len(name) <= 32
	for i := 0; ok && i < len(name); i++ {
		c := name[i]
		alnum := c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9'
		ok = alnum || i > 0 && (c == '_' || c == '.' || c == '-')
	}
	if !ok {
		return fmt.Errorf("container name %q: use 1 to 32 letters, digits, '_', '.' or '-', starting with a letter or digit", name)
	}
	return nil
}

func path(name string) string { return filepath.Join(Dir, name+".json") }

// lockPath is the lock file beside the record of name.
func lockPath(name string) string { return filepath.Join(Dir, name+".lock") }

// ErrOwned is Claim's answer when a live process owns the record.
var ErrOwned = errors.New("the record has a live owner")

// Create writes the record of c and makes the calling process its owner
// for the rest of its life: it holds an exclusive flock(2) on NAME.lock
// beside the record, which the kernel drops when the process dies, by
// SIGKILL as well. So a record whose lock nobody holds has no owner, at
// once and whatever its age, while a start still in progress (no pid
// recorded yet) is never mistaken for a dead one. The lock comes before
// the record, so that no record of this package's is ever without one.
// Create fails if a live container already has the name; the record of a
// dead one is replaced.
//
// Equivalent to: exec 9>$Dir/$name.lock; flock -n 9 && write $Dir/$name.json
func Create(c *Container) error {
	if err := CheckName(c.Name); err != nil {
		return err
	}
	if err := os.MkdirAll(Dir, 0o700); err != nil {
		return fmt.Errorf("create %s: %w", Dir, err)
	}
	lock, err := lockFile(c.Name, true)
	if errors.Is(err, ErrOwned) {
		return fmt.Errorf("a container named %s is running or starting (its contain holds %s): pick another --name", c.Name, lockPath(c.Name))
	}
	if err != nil {
		return err
	}
	if old, err := Load(c.Name); err == nil && old.Alive() {
		lock.Close()
		return fmt.Errorf("a container named %s is running (pid %d): pick another --name", c.Name, old.Pid)
	}
	c.lock = lock
	if err := c.Save(); err != nil {
		c.lock = nil
		os.Remove(lockPath(c.Name))
		lock.Close()
		return err
	}
	return nil
}

// lockFile opens and locks NAME.lock without waiting, creating it when
// create is set; ErrOwned means another process holds it, fs.ErrNotExist
// that there is none. The lock must be on the file that has the name
// now: a remover may have unlinked the file this process opened (Remove
// does, once the record is gone), and a lock on that orphaned inode
// would guard nothing, so the inodes are compared and the open retried.
func lockFile(name string, create bool) (*os.File, error) {
	flags := os.O_RDWR
	if create {
		flags |= os.O_CREATE
	}
	for {
		f, err := os.OpenFile(lockPath(name), flags, 0o600)
		if err != nil {
			return nil, err
		}
		if err := unix.Flock(int(f.Fd()), unix.LOCK_EX|unix.LOCK_NB); err != nil {
			f.Close()
			if errors.Is(err, unix.EWOULDBLOCK) {
				return nil, ErrOwned
			}
			return nil, fmt.Errorf("flock %s: %w", lockPath(name), err)
		}
		var held, named unix.Stat_t
		if unix.Fstat(int(f.Fd()), &held) == nil && unix.Stat(lockPath(name), &named) == nil && held.Ino == named.Ino && held.Dev == named.Dev {
			return f, nil
		}
		f.Close()
		if !create {
			return nil, fs.ErrNotExist
		}
	}
}

// Claim makes the caller the owner of the record of a container whose
// owner is dead, so that it can clean up after it while no one else does:
// a cleaner of another contain, or a contain reset, gets ErrOwned as a
// live owner's would. release drops the claim; Remove first, to remove
// the record as well. A record without a lock file was written by a
// contain from before locks: it counts as owned while its process is
// alive, or for a minute after its creation while it has no pid yet.
func (c *Container) Claim() (release func(), err error) {
	lock, err := lockFile(c.Name, false)
	if errors.Is(err, fs.ErrNotExist) {
		if c.Alive() || (c.Pid == 0 && time.Since(c.Created) < time.Minute) {
			return nil, ErrOwned
		}
		lock, err = lockFile(c.Name, true)
	}
	if err != nil {
		return nil, err
	}
	return func() { lock.Close() }, nil
}

// Save writes the record atomically: a reader never sees half a file.
func (c *Container) Save() error {
	b, err := json.Marshal(c)
	if err != nil {
		return err
	}
	if err := WriteFile(path(c.Name), b, 0o600); err != nil {
		return fmt.Errorf("write state of %s: %w", c.Name, err)
	}
	return nil
}

// SetExtra stores v as the record's part for concern.
func (c *Container) SetExtra(concern string, v any) error {
	b, err := json.Marshal(v)
	if err != nil {
		return err
	}
	if c.Extra == nil {
		c.Extra = map[string]json.RawMessage{}
	}
	c.Extra[concern] = b
	return nil
}

// GetExtra decodes the record's part for concern into v and tells whether
// there was one.
func (c *Container) GetExtra(concern string, v any) (bool, error) {
	b, ok := c.Extra[concern]
	if !ok {
		return false, nil
	}
	return true, json.Unmarshal(b, v)
}

// Load reads the record of the container called name.
func Load(name string) (*Container, error) {
	if err := CheckName(name); err != nil {
		return nil, err
	}
	b, err := os.ReadFile(path(name))
	if errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("no container named %s: see the running ones with ls %s", name, Dir)
	}
	if err != nil {
		return nil, err
	}
	var c Container
	if err := json.Unmarshal(b, &c); err != nil {
		return nil, fmt.Errorf("state of %s: %w", name, err)
	}
	return &c, nil
}

// Remove deletes the record of name and then its lock file, by its owner
// or by the holder of a Claim; a missing record is not an error. The
// caller's lock goes with its process or its release.
func Remove(name string) error {
	var errs []error
	// The half-written record of an owner killed inside Save, then the
	// record, then the lock file.
	for _, p := range []string{path(name) + ".tmp", path(name), lockPath(name)} {
		if err := os.Remove(p); !errors.Is(err, fs.ErrNotExist) {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// List returns every record, sorted by name. A lock file without a
// record, left by an owner killed between the two in Create, comes as a
// record with its name alone, for a cleaner to Claim and Remove.
func List() ([]*Container, error) {
	ents, err := os.ReadDir(Dir)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	var cs []*Container
	seen := map[string]bool{}
	for _, e := range ents {
		name, ok := strings.CutSuffix(e.Name(), ".json")
		if !ok {
			continue
		}
		if c, err := Load(name); err == nil {
			cs = append(cs, c)
			seen[name] = true
		}
	}
	for _, e := range ents {
		name, ok := strings.CutSuffix(e.Name(), ".lock")
		if ok && !seen[name] && CheckName(name) == nil {
			cs = append(cs, &Container{Name: name})
		}
	}
	sort.Slice(cs, func(i, j int) bool { return cs[i].Name < cs[j].Name })
	return cs, nil
}

// Alive tells whether the recorded process still runs: the pid exists,
// started when the record says, and is not a zombie (a process that has
// exited but was not yet waited for, state "Z" in /proc/PID/stat).
func (c *Container) Alive() bool {
	st, err := readStat(c.Pid)
	return err == nil && st.start == c.Start && st.state != "Z"
}

type procStat struct {
	state string
	start uint64
}

// readStat reads the fields of /proc/PID/stat that Alive needs.
func readStat(pid int) (procStat, error) {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return procStat{}, err
	}
	// comm, field 2, is in parentheses and may hold spaces or ')': the
	// fields after it start after the last ')'.
	s := string(b)
	i := strings.LastIndexByte(s, ')')
	if i < 0 {
		return procStat{}, fmt.Errorf("/proc/%d/stat: no ')'", pid)
	}
	f := strings.Fields(s[i+1:])
	if len(f) < 20 {
		return procStat{}, fmt.Errorf("/proc/%d/stat: short", pid)
	}
	start, err := strconv.ParseUint(f[19], 10, 64) // field 22 is the 20th after comm
	return procStat{state: f[0], start: start}, err
}

// StartTime returns the start time of pid in clock ticks after boot, field
// 22 of /proc/PID/stat.
//
// Equivalent to: awk '{print $22}' /proc/$pid/stat   (if comm has no spaces)
func StartTime(pid int) (uint64, error) {
	st, err := readStat(pid)
	return st.start, err
}
