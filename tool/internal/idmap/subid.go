package idmap

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"strconv"
	"strings"
)

// SubIDFiles are where shadow's newuidmap and newgidmap read which ids a
// user may map besides their own (subuid(5), subgid(5)).
var SubIDFiles = map[Kind]string{UID: "/etc/subuid", GID: "/etc/subgid"}

// SubID is one line of /etc/subuid or /etc/subgid: Owner (a user name, or a
// uid written as a number) may map Count ids starting at Start.
type SubID struct {
	Owner        string
	Start, Count uint32
}

// Contains tells whether ids from..from+n-1 all lie in s.
func (s SubID) Contains(from, n uint32) bool {
	return from >= s.Start && uint64(from)+uint64(n) <= uint64(s.Start)+uint64(s.Count)
}

// ParseSubIDs reads the lines of a subuid or subgid file: "owner:start:count".
// Empty lines and lines starting with '#' are skipped.
func ParseSubIDs(r io.Reader) ([]SubID, error) {
	var ids []SubID
	sc := bufio.NewScanner(r)
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		f := strings.Split(line, ":")
		if len(f) != 3 || f[0] == "" {
			return nil, fmt.Errorf("line %d %q: want owner:start:count", n, line)
		}
		start, err1 := strconv.ParseUint(f[1], 10, 32)
		count, err2 := strconv.ParseUint(f[2], 10, 32)
		if err := errors.Join(err1, err2); err != nil {
			return nil, fmt.Errorf("line %d %q: %w", n, line, err)
		}
		ids = append(ids, SubID{Owner: f[0], Start: uint32(start), Count: uint32(count)})
	}
	return ids, sc.Err()
}

// ReadSubIDs reads the subuid or subgid file of kind. A missing file is an
// empty one: nobody has subordinate ids.
func ReadSubIDs(kind Kind) ([]SubID, error) {
	f, err := os.Open(SubIDFiles[kind])
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	defer f.Close()
	ids, err := ParseSubIDs(f)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", SubIDFiles[kind], err)
	}
	return ids, nil
}

// Owned returns the entries of ids that belong to the user with this name
// and id, as newuidmap matches them: by name or by number.
func Owned(ids []SubID, name string, id uint32) []SubID {
	var own []SubID
	for _, s := range ids {
		if s.Owner == name || s.Owner == strconv.FormatUint(uint64(id), 10) {
			own = append(own, s)
		}
	}
	return own
}

// CheckAllowed checks, as newuidmap will, that an unprivileged user (name,
// id) may write m: every outside id is the user's own id or lies in one of
// the user's ranges in own. It reports the first range that does not, with
// what the user has.
func (m Map) CheckAllowed(kind Kind, name string, id uint32, own []SubID) error {
	for _, r := range m {
		if r.Length == 1 && r.Outside == id {
			continue
		}
		ok := false
		for _, s := range own {
			ok = ok || s.Contains(r.Outside, r.Length)
		}
		if ok {
			continue
		}
		if len(own) == 0 {
			return fmt.Errorf("%s range %q: user %s has no range in %s: as root, add one (usermod --add-sub%ss 100000-165535 %s)",
				kind, r, name, SubIDFiles[kind], kind, name)
		}
		var have []string
		for _, s := range own {
			have = append(have, fmt.Sprintf("%d-%d", s.Start, uint64(s.Start)+uint64(s.Count)-1))
		}
		return fmt.Errorf("%s range %q: outside ids %d-%d are beyond what %s grants %s (%s, and %s %d itself)",
			kind, r, r.Outside, uint64(r.Outside)+uint64(r.Length)-1, SubIDFiles[kind], name, strings.Join(have, ", "), kind, id)
	}
	return nil
}

// Default returns the map a container gets when none is given: the first
// range of the user's subordinate ids, all of it, with root inside at its
// start, the way LXC and podman's rootless mode map them. It fails with an
// *Error, and the fix on the host, when the user has no range.
func Default(kind Kind, name string, id uint32, own []SubID) (Map, error) {
	if len(own) == 0 {
		return nil, &Error{Kind: kind, Err: ErrNoRange, msg: fmt.Sprintf("no %s range for %s in %s: add one as root (usermod --add-sub%ss 100000-165535 %s)",
			kind, name, SubIDFiles[kind], kind, name)}
	}
	return Map{{Inside: 0, Outside: own[0].Start, Length: own[0].Count}}, nil
}
