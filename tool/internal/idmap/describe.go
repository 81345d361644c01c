package idmap

import (
	"fmt"
	"math"
	"os/user"
	"strconv"
	"strings"
)

// Names resolves outside ids to names: user and group names from
// /etc/passwd and /etc/group, and the owners of subordinate ranges.
type Names struct {
	// SubIDs are the entries of /etc/subuid and /etc/subgid.
	SubIDs map[Kind][]SubID
	// Lookup returns the name of a uid or gid, or false. LookupName reads
	// /etc/passwd and /etc/group.
	Lookup func(kind Kind, id uint32) (string, bool)
}

// LookupName finds the name of a uid in /etc/passwd or of a gid in
// /etc/group (os/user reads them directly when cgo is off).
func LookupName(kind Kind, id uint32) (string, bool) {
	s := strconv.FormatUint(uint64(id), 10)
	if kind == UID {
		u, err := user.LookupId(s)
		if err != nil {
			return "", false
		}
		return u.Username, true
	}
	g, err := user.LookupGroupId(s)
	if err != nil {
		return "", false
	}
	return g.Name, true
}

// HostNames reads the subordinate id files for a Names that uses
// LookupName.
func HostNames() (Names, error) {
	n := Names{SubIDs: map[Kind][]SubID{}, Lookup: LookupName}
	for _, k := range []Kind{UID, GID} {
		ids, err := ReadSubIDs(k)
		if err != nil {
			return Names{}, err
		}
		n.SubIDs[k] = ids
	}
	return n, nil
}

// Outside says in words who the outside ids of r are: the whole id space
// (the initial namespace), one user or group by name, or a range from
// /etc/subuid or /etc/subgid and whose it is. When several users' ranges
// hold r, it names each, in the file's order: users who share ids can
// signal and ptrace each other's containers, and that should show.
func (n Names) Outside(kind Kind, r Range) string {
	if r.Inside == 0 && r.Outside == 0 && r.Length == math.MaxUint32 {
		return "every id: the initial user namespace"
	}
	last := uint64(r.Outside) + uint64(r.Length) - 1
	var owners []string
	for _, s := range n.SubIDs[kind] {
		if s.Contains(r.Outside, r.Length) {
			owner := s.Owner
			if id, err := strconv.ParseUint(owner, 10, 32); err == nil {
				if name, ok := n.Lookup(UID, uint32(id)); ok {
					owner = name
				}
			}
			owners = append(owners, fmt.Sprintf("%s's sub%s range %d-%d", owner, kind, s.Start, uint64(s.Start)+uint64(s.Count)-1))
		}
	}
	if len(owners) > 0 {
		return fmt.Sprintf("%s (%s)", strings.Join(owners, ", "), SubIDFiles[kind])
	}
	if name, ok := n.Lookup(kind, r.Outside); ok {
		if r.Length == 1 {
			return fmt.Sprintf("%s %s", kind, name)
		}
		return fmt.Sprintf("%ss %d-%d, from %s", kind, r.Outside, last, name)
	}
	if r.Length == 1 {
		return fmt.Sprintf("%s %d, no name", kind, r.Outside)
	}
	return fmt.Sprintf("%ss %d-%d, in no sub%s range", kind, r.Outside, last, kind)
}
