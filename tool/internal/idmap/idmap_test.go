package idmap

import (
	"errors"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestParse(t *testing.T) {
	tests := []struct {
		specs   []string
		want    Map
		wantErr string
	}{
		{[]string{"0:100000:65536"}, Map{{0, 100000, 65536}}, ""},
		{[]string{"0 100000 1", "1:200000:999"}, Map{{0, 100000, 1}, {1, 200000, 999}}, ""},
		{[]string{"0:1000:1,1:100000:65535"}, Map{{0, 1000, 1}, {1, 100000, 65535}}, ""},
		{[]string{"0:100000"}, nil, "want INSIDE:OUTSIDE:LENGTH"},
		{[]string{"0:x:1"}, nil, `"x" is not an id`},
		{[]string{"-1:0:1"}, nil, `"-1" is not an id`},
		{[]string{"0:4294967295:1"}, nil, "is not an id"},
		{[]string{"0:0:0"}, nil, "the length is 0"},
		{[]string{"4294967290:0:10"}, nil, "runs past id 4294967294"},
	}
	for _, tt := range tests {
		got, err := Parse(tt.specs...)
		if tt.wantErr != "" {
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("Parse(%q) error %v, want one containing %q", tt.specs, err, tt.wantErr)
			}
			continue
		}
		if err != nil {
			t.Errorf("Parse(%q): %v", tt.specs, err)
		}
		if diff := cmp.Diff(tt.want, got); diff != "" {
			t.Errorf("Parse(%q) (-want +got):\n%s", tt.specs, diff)
		}
	}
}

func TestValidate(t *testing.T) {
	many := make(Map, MaxRanges+1)
	for i := range many {
		many[i] = Range{uint32(i), uint32(100000 + i), 1}
	}
	tests := []struct {
		name    string
		m       Map
		wantErr string
	}{
		{"one range", Map{{0, 100000, 65536}}, ""},
		{"adjacent ranges", Map{{0, 1000, 1}, {1, 100000, 65535}}, ""},
		{"empty", nil, "uid map is empty"},
		{"overlap inside", Map{{0, 100000, 10}, {5, 200000, 10}}, `ranges "0 100000 10" and "5 200000 10" overlap inside`},
		{"overlap outside", Map{{0, 100000, 10}, {100, 100005, 10}}, "overlap outside"},
		{"unsorted overlap", Map{{50, 300000, 10}, {0, 100000, 51}}, "overlap inside"},
		{"too many", many, "the kernel takes at most 340"},
	}
	for _, tt := range tests {
		err := tt.m.Validate(UID)
		if tt.wantErr == "" && err != nil || tt.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tt.wantErr)) {
			t.Errorf("%s: Validate = %v, want %q", tt.name, err, tt.wantErr)
		}
	}
}

func TestRoot(t *testing.T) {
	m := Map{{1, 100001, 10}, {1000, 5000, 1}}
	if got, ok := m.ToOutside(1005); ok {
		t.Errorf("ToOutside(1005) = %d, want unmapped", got)
	}
	if got, ok := m.ToOutside(5); !ok || got != 100005 {
		t.Errorf("ToOutside(5) = %d, %v, want 100005", got, ok)
	}
	err := m.CheckRoot(GID)
	want := `gid map 1 100001 10, 1000 5000 1: no range maps id 0 inside: the container's init becomes root in its namespace, so add a range starting at 0`
	if err == nil || err.Error() != want || !errors.Is(err, ErrNoRoot) {
		t.Errorf("CheckRoot = %v, want ErrNoRoot, %q", err, want)
	}
	if err := (Map{{0, 100000, 1}}).CheckRoot(UID); err != nil {
		t.Errorf("CheckRoot of a root map: %v", err)
	}
}

func TestParseProc(t *testing.T) {
	got, err := ParseProc("         0     100000      65536\n     65536       1000          1\n")
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(Map{{0, 100000, 65536}, {65536, 1000, 1}}, got); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
	if got, _ := ParseProc(Identity.String()); !cmp.Equal(Identity, got) {
		t.Errorf("identity round trip: %v", got)
	}
}

const subuid = `# owner:start:count
alice:100000:65536
1001:165536:65536

bob:300000:10
`

func TestSubIDs(t *testing.T) {
	ids, err := ParseSubIDs(strings.NewReader(subuid))
	if err != nil {
		t.Fatal(err)
	}
	want := []SubID{{"alice", 100000, 65536}, {"1001", 165536, 65536}, {"bob", 300000, 10}}
	if diff := cmp.Diff(want, ids); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
	if _, err := ParseSubIDs(strings.NewReader("alice:1\n")); err == nil || !strings.Contains(err.Error(), "line 1") {
		t.Errorf("a short line: error %v", err)
	}
	// carol has uid 1001: newuidmap matches entries by name or by number.
	own := Owned(ids, "carol", 1001)
	if diff := cmp.Diff([]SubID{{"1001", 165536, 65536}}, own); diff != "" {
		t.Errorf("Owned (-want +got):\n%s", diff)
	}

	alice := Owned(ids, "alice", 1000)
	tests := []struct {
		name    string
		m       Map
		wantErr string
	}{
		{"the whole range", Map{{0, 100000, 65536}}, ""},
		{"own uid and a range", Map{{0, 1000, 1}, {1, 100000, 65535}}, ""},
		{"beyond the range", Map{{0, 100000, 65537}}, `uid range "0 100000 65537": outside ids 100000-165536 are beyond what /etc/subuid grants alice (100000-165535, and uid 1000 itself)`},
		{"someone else's", Map{{0, 165536, 10}}, "beyond what /etc/subuid grants alice"},
		{"another's uid", Map{{0, 0, 1}}, "beyond what"},
	}
	for _, tt := range tests {
		err := tt.m.CheckAllowed(UID, "alice", 1000, alice)
		if tt.wantErr == "" && err != nil || tt.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tt.wantErr)) {
			t.Errorf("%s: CheckAllowed = %v, want %q", tt.name, err, tt.wantErr)
		}
	}
	err = Map{{0, 100000, 1}}.CheckAllowed(GID, "dave", 1002, nil)
	if err == nil || !strings.Contains(err.Error(), "user dave has no range in /etc/subgid: as root, add one (usermod --add-subgids 100000-165535 dave)") {
		t.Errorf("no range: %v", err)
	}
	if m, err := Default(UID, "alice", 1000, alice); err != nil || !cmp.Equal(m, Map{{0, 100000, 65536}}) {
		t.Errorf("Default = %v, %v", m, err)
	}
	if _, err := Default(UID, "dave", 1002, nil); !errors.Is(err, ErrNoRange) || !strings.Contains(err.Error(), "no uid range for dave in /etc/subuid") {
		t.Errorf("Default without a range: %v", err)
	}
}

func TestOutside(t *testing.T) {
	ids, _ := ParseSubIDs(strings.NewReader(subuid))
	n := Names{
		SubIDs: map[Kind][]SubID{UID: ids},
		Lookup: func(kind Kind, id uint32) (string, bool) {
			return map[uint32]string{0: "root", 1000: "alice", 1001: "carol"}[id], id == 0 || id == 1000 || id == 1001
		},
	}
	shared, _ := ParseSubIDs(strings.NewReader("vagrant:100000:65536\nalice:100000:65536\n"))
	tests := []struct {
		kind Kind
		r    Range
		want string
	}{
		{UID, Identity[0], "every id: the initial user namespace"},
		{UID, Range{0, 100000, 65536}, "alice's subuid range 100000-165535 (/etc/subuid)"},
		{UID, Range{0, 165536, 100}, "carol's subuid range 165536-231071 (/etc/subuid)"},
		{UID, Range{0, 1000, 1}, "uid alice"},
		{GID, Range{0, 100000, 65536}, "gids 100000-165535, in no subgid range"},
		{UID, Range{0, 5000, 1}, "uid 5000, no name"},
		{UID, Range{0, 0, 10}, "uids 0-9, from root"},
	}
	for _, tt := range tests {
		if got := n.Outside(tt.kind, tt.r); got != tt.want {
			t.Errorf("Outside(%s, %v) = %q, want %q", tt.kind, tt.r, got, tt.want)
		}
	}
	// Two users given the same range: both are named.
	n.SubIDs[UID] = shared
	want := "vagrant's subuid range 100000-165535, alice's subuid range 100000-165535 (/etc/subuid)"
	if got := n.Outside(UID, Range{0, 100000, 65536}); got != want {
		t.Errorf("Outside with a shared range = %q, want %q", got, want)
	}
}
