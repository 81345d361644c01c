package cgroup

import (
	"testing"

	"github.com/google/go-cmp/cmp"
)

// TestParseLayout reads the three layouts from mountinfo text.
func TestParseLayout(t *testing.T) {
	const hybrid = `31 23 0:28 / /sys/fs/cgroup rw,relatime - tmpfs tmpfs rw,mode=755
32 31 0:29 / /sys/fs/cgroup/cpu rw,relatime - cgroup cgroup rw,cpu
33 31 0:30 / /sys/fs/cgroup/cpuacct rw,relatime - cgroup cgroup rw,cpuacct
35 31 0:32 / /sys/fs/cgroup/memory rw,relatime - cgroup cgroup rw,memory
40 31 0:37 / /sys/fs/cgroup/systemd rw,relatime - cgroup cgroup rw,xattr,name=systemd
41 31 0:38 / /sys/fs/cgroup/unified rw,relatime - cgroup2 cgroup2 rw
`
	const comounted = `32 31 0:29 / /sys/fs/cgroup/cpu,cpuacct rw - cgroup cgroup rw,cpu,cpuacct
34 31 0:31 / /sys/fs/cgroup/pids rw - cgroup cgroup rw,pids
`
	const v2 = `30 23 0:26 / /sys/fs/cgroup rw,nosuid - cgroup2 cgroup2 rw,nsdelegate,memory_recursiveprot
`
	ctrls := map[string][]string{
		"/sys/fs/cgroup/unified": {"hugetlb"},
		"/sys/fs/cgroup":         {"cpuset", "cpu", "io", "memory", "pids"},
	}
	read := func(m string) ([]string, error) { return ctrls[m], nil }
	tests := []struct {
		name, mountinfo string
		want            Layout
	}{
		{"hybrid, cpu and cpuacct apart", hybrid, Layout{Mode: Hybrid, V1: map[string]string{
			"cpu": "/sys/fs/cgroup/cpu", "cpuacct": "/sys/fs/cgroup/cpuacct", "memory": "/sys/fs/cgroup/memory",
			"name=systemd": "/sys/fs/cgroup/systemd",
		}, V2: "/sys/fs/cgroup/unified", V2Controllers: []string{"hugetlb"}}},
		{"v1, cpu and cpuacct co-mounted", comounted, Layout{Mode: V1, V1: map[string]string{
			"cpu": "/sys/fs/cgroup/cpu,cpuacct", "cpuacct": "/sys/fs/cgroup/cpu,cpuacct", "pids": "/sys/fs/cgroup/pids",
		}}},
		{"pure v2", v2, Layout{Mode: V2, V1: map[string]string{}, V2: "/sys/fs/cgroup", V2Controllers: ctrls["/sys/fs/cgroup"]}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ParseLayout(tt.mountinfo, read)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tt.want, *got); diff != "" {
				t.Errorf("layout (-want +got):\n%s", diff)
			}
		})
	}
	if _, err := ParseLayout("", read); err == nil {
		t.Error("no cgroup mounts: no error")
	}
}

// TestWhere checks that each controller is used where it is mounted.
func TestWhere(t *testing.T) {
	l := &Layout{Mode: Hybrid, V1: map[string]string{"memory": "/m"}, V2: "/u", V2Controllers: []string{"pids"}}
	for ctrl, want := range map[string]string{"memory": V1, "pids": V2, "cpu": ""} {
		if got := l.Where(ctrl); got != want {
			t.Errorf("Where(%s) = %q, want %q", ctrl, got, want)
		}
	}
	if got, want := l.FileDir("pids", "/contain/a"), "/u/contain/a"; got != want {
		t.Errorf("FileDir(pids) = %q, want %q", got, want)
	}
}
