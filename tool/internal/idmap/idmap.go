// Package idmap reads, checks and writes the uid and gid maps of user
// namespaces (user_namespaces(7)).
//
// A map is a list of ranges, one a line in /proc/PID/uid_map and
// /proc/PID/gid_map, in the kernel's format "ID-INSIDE ID-OUTSIDE LENGTH":
// ids INSIDE..INSIDE+LENGTH-1 in the namespace are OUTSIDE..OUTSIDE+LENGTH-1
// in the parent namespace. The kernel accepts a map once, from a process
// with CAP_SETUID (CAP_SETGID for gid_map) over the parent namespace, and
// refuses it whole when two ranges overlap. This package checks the same
// rules before anything is written, so that bad input is one line of error
// instead of a half-made container; see write_linux.go for who writes the
// maps and in which order.
package idmap

import (
	"errors"
	"fmt"
	"math"
	"sort"
	"strconv"
	"strings"
)

// Kind is what a map maps: user ids or group ids.
type Kind string

const (
	// UID is the kind of /proc/PID/uid_map, /etc/subuid and newuidmap.
	UID Kind = "uid"
	// GID is the kind of /proc/PID/gid_map, /etc/subgid and newgidmap.
	GID Kind = "gid"
)

// MaxRanges is how many lines a map may have since Linux 4.15 (5 before).
const MaxRanges = 340

// Range is one line of a map: Length ids from Inside in the namespace are
// the ids from Outside in its parent.
type Range struct {
	Inside, Outside, Length uint32
}

// Map is a whole uid_map or gid_map.
type Map []Range

// String returns r as the kernel writes it: "0 100000 65536".
func (r Range) String() string {
	return fmt.Sprintf("%d %d %d", r.Inside, r.Outside, r.Length)
}

// end returns one past the last id of the range that starts at start.
func (r Range) end(start uint32) uint64 { return uint64(start) + uint64(r.Length) }

// String returns m as the text written to /proc/PID/uid_map: one range a
// line, each ending in a newline.
func (m Map) String() string {
	var b strings.Builder
	for _, r := range m {
		b.WriteString(r.String())
		b.WriteByte('\n')
	}
	return b.String()
}

// ParseRange reads a range as the --uidmap and --gidmap flags take it,
// "INSIDE:OUTSIDE:LENGTH" (the order of the kernel's file, as podman's
// --uidmap). Spaces instead of colons are accepted too, so that a line of
// /proc/PID/uid_map can be pasted.
func ParseRange(spec string) (Range, error) {
	f := strings.FieldsFunc(spec, func(r rune) bool { return r == ':' || r == ' ' || r == '\t' })
	if len(f) != 3 {
		return Range{}, fmt.Errorf("map %q: want INSIDE:OUTSIDE:LENGTH, such as 0:100000:65536", spec)
	}
	var n [3]uint32
	for i, s := range f {
		v, err := strconv.ParseUint(s, 10, 32)
		if err != nil || v == math.MaxUint32 {
			return Range{}, fmt.Errorf("map %q: %q is not an id (0 to 4294967294)", spec, s)
		}
		n[i] = uint32(v)
	}
	r := Range{Inside: n[0], Outside: n[1], Length: n[2]}
	if r.Length == 0 {
		return Range{}, fmt.Errorf("map %q: the length is 0: map at least one id", spec)
	}
	// The kernel refuses a range whose end wraps around 2^32 (EINVAL);
	// 4294967295 itself is (uid_t)-1, "no id", and never mapped.
	if r.end(r.Inside) > math.MaxUint32 || r.end(r.Outside) > math.MaxUint32 {
		return Range{}, fmt.Errorf("map %q: the range runs past id 4294967294: shorten it", spec)
	}
	return r, nil
}

// Parse reads a map: each spec is one range (see ParseRange), or several
// separated by newlines or commas. It does not Validate the result.
func Parse(specs ...string) (Map, error) {
	var m Map
	for _, s := range specs {
		for _, line := range strings.FieldsFunc(s, func(r rune) bool { return r == '\n' || r == ',' }) {
			if strings.TrimSpace(line) == "" {
				continue
			}
			r, err := ParseRange(line)
			if err != nil {
				return nil, err
			}
			m = append(m, r)
		}
	}
	return m, nil
}

// Validate checks m as the kernel will when it is written
// (kernel/user_namespace.c, map_write): at least one and at most MaxRanges
// ranges, and no two overlapping, neither inside nor outside.
func (m Map) Validate(kind Kind) error {
	if len(m) == 0 {
		return fmt.Errorf("%s map is empty: give at least one range", kind)
	}
	if len(m) > MaxRanges {
		return fmt.Errorf("%s map has %d ranges, the kernel takes at most %d: merge some", kind, len(m), MaxRanges)
	}
	for _, side := range []struct {
		name  string
		start func(Range) uint32
	}{{"inside", func(r Range) uint32 { return r.Inside }}, {"outside", func(r Range) uint32 { return r.Outside }}} {
		s := append(Map(nil), m...)
		sort.Slice(s, func(i, j int) bool { return side.start(s[i]) < side.start(s[j]) })
		for i := 1; i < len(s); i++ {
			if s[i-1].end(side.start(s[i-1])) > uint64(side.start(s[i])) {
				return fmt.Errorf("%s map: ranges %q and %q overlap %s the namespace: an id may appear in one range only", kind, s[i-1], s[i], side.name)
			}
		}
	}
	return nil
}

// HasRoot tells whether m maps id 0 inside the namespace, which a container
// needs: its init stage becomes root there before it builds the rootfs.
func (m Map) HasRoot() bool {
	_, ok := m.ToOutside(0)
	return ok
}

// ToOutside returns the id in the parent namespace that id inside stands
// for, and whether m maps it at all.
func (m Map) ToOutside(id uint32) (uint32, bool) {
	for _, r := range m {
		if id >= r.Inside && uint64(id) < r.end(r.Inside) {
			return r.Outside + (id - r.Inside), true
		}
	}
	return 0, false
}

// What CheckRoot and Default refuse, for errors.Is: each comes in an
// *Error.
var (
	ErrNoRoot  = errors.New("no range maps id 0 inside")
	ErrNoRange = errors.New("no subordinate id range")
)

// Error is a map that CheckRoot refuses, or one that Default cannot make.
// Its message says what is wrong and how the map must change; where the
// map is given is the caller's to say (the CLI's --uidmap, an OCI
// bundle's uidMappings), for Kind.
type Error struct {
	Kind Kind
	Err  error // ErrNoRoot or ErrNoRange
	msg  string
}

func (e *Error) Error() string { return e.msg }

func (e *Error) Unwrap() error { return e.Err }

// CheckRoot returns an *Error when m has no root.
func (m Map) CheckRoot(kind Kind) error {
	if m.HasRoot() {
		return nil
	}
	return &Error{Kind: kind, Err: ErrNoRoot, msg: fmt.Sprintf("%s map %s: %v: the container's init becomes root in its namespace, so add a range starting at 0",
		kind, strings.ReplaceAll(strings.TrimSpace(m.String()), "\n", ", "), ErrNoRoot)}
}

// ParseProc reads a map as /proc/PID/uid_map shows it: the kernel pads the
// three numbers with spaces.
func ParseProc(text string) (Map, error) {
	var m Map
	for _, line := range strings.Split(strings.TrimSpace(text), "\n") {
		if strings.TrimSpace(line) == "" {
			continue
		}
		f := strings.Fields(line)
		if len(f) != 3 {
			return nil, fmt.Errorf("map line %q: want three numbers", line)
		}
		var n [3]uint64
		for i, s := range f {
			v, err := strconv.ParseUint(s, 10, 32)
			if err != nil {
				return nil, fmt.Errorf("map line %q: %w", line, err)
			}
			n[i] = v
		}
		m = append(m, Range{Inside: uint32(n[0]), Outside: uint32(n[1]), Length: uint32(n[2])})
	}
	return m, nil
}

// Identity is the map of the initial user namespace: every id is itself.
var Identity = Map{{0, 0, math.MaxUint32}}
