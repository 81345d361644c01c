// Package state stores the records of containers: one JSON file per
// container under Dir, so that other processes (freeze, info, reset, a
// later stop) can find a container by name and a later run can clean up
// after a contain that was killed with SIGKILL. What a record holds is
// the container package's; state keeps it whole (atomic writes) and says
// who owns it: the process that made it holds a lock beside it for its
// whole life (see Create).
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

// ErrOwned is Claim's answer when a live process owns the record.
var ErrOwned = errors.New("the record has a live owner")

// TakenError is Create's answer when a live owner holds the name: a
// container running, or being started, under it.
type TakenError struct {
	Name string
	// Lock is the lock file the owner holds.
	Lock string
}

func (e *TakenError) Error() string {
	return fmt.Sprintf("a container named %s is running or starting (its owner holds %s)", e.Name, e.Lock)
}

// ErrNotExist is Load's answer for a name with no record; it wraps
// fs.ErrNotExist.
var ErrNotExist = fmt.Errorf("no such container: %w", fs.ErrNotExist)

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

// File is the path of a file that belongs to the container called name,
// beside its record: NAME.SUFFIX in Dir. Remove takes the ones named in
// Files away with the record.
func File(name, suffix string) string { return filepath.Join(Dir, name+"."+suffix) }

// Files are the suffixes of the files beside a record that Remove
// removes, besides the record and its lock: the init stage's exec fifo
// and pasta's pid file.
var Files = []string{"fifo", "pasta"}

// Owner is the lock of the process that owns a record (see Create).
type Owner struct{ lock *os.File }

// Release drops the lock: the record is an orphan from then on, unless it
// was removed first.
func (o *Owner) Release() {
	if o != nil && o.lock != nil {
		o.lock.Close()
		o.lock = nil
	}
}

// Create writes rec, JSON, as the record of the container called name,
// and makes the calling process its owner until it calls Release or dies:
// it holds an exclusive flock(2) on NAME.lock beside the record, which the
// kernel drops when the process dies, by SIGKILL as well. So a record
// whose lock nobody holds has no owner, at once and whatever its age,
// while a start still in progress (no pid recorded yet) is never mistaken
// for a dead one. The lock comes before the record, so that no record is
// ever without one. Create fails with a *TakenError while a live owner
// holds the name; the record of a dead one is replaced.
//
// Equivalent to: exec 9>$Dir/$name.lock; flock -n 9 && write $Dir/$name.json
func Create(name string, rec any) (*Owner, error) {
	if err := CheckName(name); err != nil {
		return nil, err
	}
	if err := os.MkdirAll(Dir, 0o700); err != nil {
		return nil, fmt.Errorf("create %s: %w", Dir, err)
	}
	lock, err := lockFile(name, true)
	if errors.Is(err, ErrOwned) {
		return nil, &TakenError{Name: name, Lock: lockPath(name)}
	}
	if err != nil {
		return nil, err
	}
	if err := Save(name, rec); err != nil {
		os.Remove(lockPath(name))
		lock.Close()
		return nil, err
	}
	return &Owner{lock: lock}, nil
}

// lockFile opens and locks NAME.lock without waiting, creating it when
// create is set; ErrOwned means another process holds it, fs.ErrNotExist
// that there is none. The lock must be on the file that has the name
// now: a remover may have unlinked the file this process opened (Remove
// does, once the record is gone), and a lock on that orphaned inode
// would guard nothing, so the inodes are compared and the open retried.
//
// A new lock file gets its name already locked (newLockFile): created
// with O_CREAT and locked after, it would sit unlocked for a moment under
// its name, and a cleaner that listed it then (CleanOrphans in another
// contain run) would take it for a dead creator's, lock it, and refuse
// the creator its own name.
func lockFile(name string, create bool) (*os.File, error) {
	for {
		if create {
			f, err := newLockFile(name)
			if err == nil {
				return f, nil
			}
			if !errors.Is(err, fs.ErrExist) {
				return nil, err
			}
		}
		f, err := os.OpenFile(lockPath(name), os.O_RDWR, 0o600)
		if errors.Is(err, fs.ErrNotExist) && create {
			continue // removed since newLockFile saw it: make it anew
		}
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

// newLockFile makes NAME.lock locked before anyone can open it by name:
// an unnamed file in Dir (O_TMPFILE, open(2)), locked, then given the
// name with linkat(2), which fails with EEXIST rather than replace a lock
// file that is there. flock(2) locks the inode, so the lock comes with
// the name. Where the filesystem has no O_TMPFILE, the file starts under
// a temporary name instead (see WriteFile), which no listing takes for a
// record's.
//
// Equivalent to: exec 9>$Dir/.tmp; flock -n 9; ln $Dir/.tmp $Dir/$name.lock; rm $Dir/.tmp
func newLockFile(name string) (*os.File, error) {
	var f *os.File
	temp := ""
	fd, err := unix.Open(Dir, unix.O_TMPFILE|unix.O_RDWR|unix.O_CLOEXEC, 0o600)
	switch {
	case err == nil:
		f = os.NewFile(uintptr(fd), lockPath(name))
	case errors.Is(err, unix.EOPNOTSUPP) || errors.Is(err, unix.EISDIR):
		if f, err = createTemp(lockPath(name), 0o600); err != nil {
			return nil, err
		}
		temp = f.Name()
		defer os.Remove(temp)
	default:
		return nil, fmt.Errorf("create %s: %w", lockPath(name), err)
	}
	if err := unix.Flock(int(f.Fd()), unix.LOCK_EX|unix.LOCK_NB); err != nil {
		f.Close()
		return nil, fmt.Errorf("flock %s: %w", lockPath(name), err)
	}
	// linkat with AT_EMPTY_PATH needs CAP_DAC_READ_SEARCH; through
	// /proc/self/fd, which the kernel follows to the file, it does not
	// (linkat(2)), so a rootless contain can do it too.
	from := fmt.Sprintf("/proc/self/fd/%d", f.Fd())
	if temp != "" {
		from = temp
	}
	if err := unix.Linkat(unix.AT_FDCWD, from, unix.AT_FDCWD, lockPath(name), unix.AT_SYMLINK_FOLLOW); err != nil {
		f.Close()
		if errors.Is(err, unix.EEXIST) {
			return nil, fs.ErrExist
		}
		return nil, fmt.Errorf("create %s: %w", lockPath(name), err)
	}
	return f, nil
}

// Claim makes the caller the owner of the record of name when its owner
// is dead, so that it can clean up after it while no one else does: a
// cleaner of another contain, or a contain reset, gets ErrOwned as a live
// owner's would. release drops the claim; Remove first, to remove the
// record as well.
func Claim(name string) (release func(), err error) {
	lock, err := lockFile(name, true)
	if err != nil {
		return nil, err
	}
	return func() { lock.Close() }, nil
}

// Save replaces the record of name with rec, atomically: a reader never
// sees half a file.
func Save(name string, rec any) error {
	b, err := json.Marshal(rec)
	if err != nil {
		return err
	}
	if err := WriteFile(path(name), b, 0o600); err != nil {
		return fmt.Errorf("write state of %s: %w", name, err)
	}
	return nil
}

// Load reads the record of the container called name into rec; a name
// without one gives an error that wraps ErrNotExist.
func Load(name string, rec any) error {
	if err := CheckName(name); err != nil {
		return err
	}
	b, err := os.ReadFile(path(name))
	if errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("%s: %w", name, ErrNotExist)
	}
	if err != nil {
		return err
	}
	if err := json.Unmarshal(b, rec); err != nil {
		return fmt.Errorf("state of %s: %w", name, err)
	}
	return nil
}

// Exists tells whether name has a record, or the lock file of one.
func Exists(name string) bool {
	for _, p := range []string{path(name), lockPath(name)} {
		if _, err := os.Lstat(p); err == nil {
			return true
		}
	}
	return false
}

// Remove deletes the record of name, the files beside it (Files) and then
// its lock file, by its owner or by the holder of a Claim; a missing
// record is not an error. The caller's lock goes with its process or its
// release.
func Remove(name string) error {
	var errs []error
	// The half-written records of an owner killed inside Save, the
	// files beside the record, the record, then the lock file.
	errs = append(errs, RemoveTemps(path(name)))
	ps := []string{path(name) + ".tmp"}
	for _, s := range Files {
		ps = append(ps, File(name, s))
	}
	for _, p := range append(ps, path(name), lockPath(name)) {
		if err := os.Remove(p); !errors.Is(err, fs.ErrNotExist) {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// List returns the names of every record, sorted. A lock file without a
// record, left by an owner killed between the two in Create, counts as
// one, for a cleaner to Claim and Remove.
func List() ([]string, error) {
	ents, err := os.ReadDir(Dir)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	seen := map[string]bool{}
	var names []string
	for _, e := range ents {
		name, ok := strings.CutSuffix(e.Name(), ".json")
		if !ok {
			name, ok = strings.CutSuffix(e.Name(), ".lock")
		}
		if ok && !seen[name] && CheckName(name) == nil {
			seen[name] = true
			names = append(names, name)
		}
	}
	sort.Strings(names)
	return names, nil
}

// Alive tells whether the process pid that started at start (see
// StartTime) still runs: the pid exists, started then, and is not a
// zombie (a process that has exited but was not yet waited for, state "Z"
// in /proc/PID/stat).
func Alive(pid int, start uint64) bool {
	if pid <= 0 {
		return false
	}
	st, err := readStat(pid)
	return err == nil && st.start == start && st.state != "Z"
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
