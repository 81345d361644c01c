package probe

import (
	"os"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestParseMountinfo(t *testing.T) {
	tests := []struct {
		name    string
		line    string
		want    []Mount
		wantErr bool
	}{
		{
			name: "proc(5) example",
			line: "36 35 98:0 /mnt1 /mnt2 rw,noatime master:1 - ext3 /dev/root rw,errors=continue",
			want: []Mount{{ID: 36, Parent: 35, Root: "/mnt1", MountPoint: "/mnt2", Options: "rw,noatime", Optional: "master:1", FSType: "ext3", Source: "/dev/root", SuperOptions: "rw,errors=continue"}},
		},
		{
			name: "v1 hierarchy, escaped space, no optional field",
			line: `41 31 0:38 / /sys/fs/my\040cgroup rw,relatime - cgroup cgroup rw,cpu,cpuacct`,
			want: []Mount{{ID: 41, Parent: 31, Root: "/", MountPoint: "/sys/fs/my cgroup", Options: "rw,relatime", FSType: "cgroup", Source: "cgroup", SuperOptions: "rw,cpu,cpuacct"}},
		},
		{name: "no separator", line: "36 35 98:0 / / rw", wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ParseMountinfo(strings.NewReader(tt.line + "\n"))
			if (err != nil) != tt.wantErr {
				t.Fatalf("err = %v, want error %v", err, tt.wantErr)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("ParseMountinfo (-want +got):\n%s", diff)
			}
		})
	}
}

// TestFieldLines checks the reading of uid_map, resolv.conf and hosts:
// fields joined by one space, empty lines and comments left out.
func TestFieldLines(t *testing.T) {
	dir := t.TempDir()
	tests := []struct {
		name, content, skip string
		want                []string
	}{
		{"uid_map", "         0     100000      65536\n", "", []string{"0 100000 65536"}},
		{"resolv.conf", "# written by contain\nnameserver 192.0.2.53\n\nsearch lan\n", "#", []string{"nameserver 192.0.2.53", "search lan"}},
		{"hosts", "127.0.0.1\tlocalhost\n10.213.0.2\tweb\tdemo\n", "#", []string{"127.0.0.1 localhost", "10.213.0.2 web demo"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := dir + "/" + tt.name
			if err := os.WriteFile(p, []byte(tt.content), 0o644); err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tt.want, fieldLines(p, tt.skip)); diff != "" {
				t.Errorf("fieldLines (-want +got):\n%s", diff)
			}
		})
	}
	if got := fieldLines(dir+"/missing", ""); got != nil {
		t.Errorf("a missing file gives %q, want nil", got)
	}
}
