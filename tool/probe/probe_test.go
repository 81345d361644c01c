package probe

import (
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
