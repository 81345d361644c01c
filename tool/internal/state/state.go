// Package state records the containers that are running, one JSON file per
// container under Dir, so that other commands (freeze, info, net, reset)
// can find a container by name and a later run can clean up after a
// contain that was killed with SIGKILL.
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

// Create writes the record of c. It fails if a live container already has
// the name; the record of a dead one is replaced.
func Create(c *Container) error {
	if err := CheckName(c.Name); err != nil {
		return err
	}
	if err := os.MkdirAll(Dir, 0o700); err != nil {
		return fmt.Errorf("create %s: %w", Dir, err)
	}
	if old, err := Load(c.Name); err == nil && old.Alive() {
		return fmt.Errorf("a container named %s is running (pid %d): pick another --name", c.Name, old.Pid)
	}
	return c.Save()
}

// Save writes the record atomically: a reader never sees half a file.
func (c *Container) Save() error {
	b, err := json.Marshal(c)
	if err != nil {
		return err
	}
	tmp := path(c.Name) + ".tmp"
	if err := os.WriteFile(tmp, b, 0o600); err != nil {
		return fmt.Errorf("write state of %s: %w", c.Name, err)
	}
	return os.Rename(tmp, path(c.Name))
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

// Remove deletes the record of name; a missing record is not an error.
func Remove(name string) error {
	err := os.Remove(path(name))
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	return err
}

// List returns every record, sorted by name.
func List() ([]*Container, error) {
	ents, err := os.ReadDir(Dir)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	var cs []*Container
	for _, e := range ents {
		name, ok := strings.CutSuffix(e.Name(), ".json")
		if !ok {
			continue
		}
		if c, err := Load(name); err == nil {
			cs = append(cs, c)
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
