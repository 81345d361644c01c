package checkconfig

import (
	"bytes"
	"compress/gzip"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// The mountinfo lines the fake trees combine.
const (
	rootPrivate = "27 1 254:0 / / rw,relatime - ext4 /dev/vda rw\n"
	rootShared  = "27 1 254:0 / / rw,relatime shared:1 - ext4 /dev/vda rw\n"
	rootSlave   = "27 1 254:0 / / rw,relatime master:7 - ext4 /dev/vda rw\n"
	rootInitrd  = "1 0 0:1 / / rw - rootfs rootfs rw\n"
	v1Mounts    = "32 31 0:29 / /sys/fs/cgroup/cpu,cpuacct rw,relatime - cgroup cgroup rw,cpu,cpuacct\n" +
		"35 31 0:32 / /sys/fs/cgroup/memory rw,relatime - cgroup cgroup rw,memory\n" +
		"40 31 0:37 / /sys/fs/cgroup/systemd rw,relatime - cgroup cgroup rw,xattr,name=systemd\n"
	unifiedMount   = "41 31 0:38 / /sys/fs/cgroup/unified rw,relatime - cgroup2 cgroup2 rw\n"
	v2Mount        = "31 23 0:28 / /sys/fs/cgroup rw,nosuid,nodev,noexec,relatime shared:4 - cgroup2 cgroup2 rw,nsdelegate,memory_recursiveprot\n"
	procCgroupsAll = "#subsys_name\thierarchy\tnum_cgroups\tenabled\n" +
		"cpuset\t0\t1\t1\ncpu\t2\t1\t1\ncpuacct\t2\t1\t1\nblkio\t0\t1\t1\nmemory\t3\t1\t1\n" +
		"devices\t0\t1\t1\nfreezer\t0\t1\t1\npids\t0\t1\t1\nhugetlb\t0\t1\t1\n"
	statusAllCaps = "Name:\tcontain\nCapEff:\t000001ffffffffff\nSeccomp:\t0\n"
)

// fakeHost writes files (paths relative to the fake root) into a new
// directory and returns a Host reading them, with no programs installed.
func fakeHost(t *testing.T, files map[string]string) *Host {
	t.Helper()
	root := t.TempDir()
	for name, content := range files {
		p := filepath.Join(root, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return &Host{
		Root:     root,
		LookPath: func(string) (string, error) { return "", errors.New("not found") },
		Output:   func(string, ...string) (string, error) { return "", errors.New("not run") },
	}
}

// baseFiles is a healthy host: every namespace, all capabilities, root
// private, mountinfo given by the test.
func baseFiles(mountinfo string) map[string]string {
	files := map[string]string{
		"proc/self/mountinfo":               mountinfo,
		"proc/self/status":                  statusAllCaps,
		"proc/sys/kernel/cap_last_cap":      "40\n",
		"proc/sys/kernel/osrelease":         "6.1.0-test\n",
		"proc/sys/user/max_user_namespaces": "1000\n",
		"proc/cgroups":                      procCgroupsAll,
		"proc/filesystems":                  "nodev\tsysfs\nnodev\toverlay\n\text4\nnodev\tfuse\n",
	}
	for _, ns := range []string{"cgroup", "ipc", "mnt", "net", "pid", "time", "user", "uts"} {
		files["proc/self/ns/"+ns] = ""
	}
	return files
}

// pick returns the findings called names, in that order.
func pick(fs []Finding, names ...string) []Finding {
	var out []Finding
	for _, n := range names {
		for _, f := range fs {
			if f.Name == n {
				out = append(out, f)
			}
		}
	}
	return out
}

func TestCgroups(t *testing.T) {
	tests := []struct {
		name      string
		mountinfo string
		files     map[string]string
		names     []string
		want      []Finding
	}{
		{
			name:      "v1",
			mountinfo: rootPrivate + v1Mounts,
			names:     []string{"Cgroup mode", "v1 mount /sys/fs/cgroup/cpu,cpuacct", "v1 mount /sys/fs/cgroup/systemd", "cpuacct controller", "devices controller", "hugetlb controller"},
			want: []Finding{
				{Section: SectionCgroups, Name: "Cgroup mode", Status: Info, Value: "v1", Hint: "one hierarchy per controller, each with its own files (memory.limit_in_bytes ...); no cgroup2 mounted"},
				{Section: SectionCgroups, Name: "v1 mount /sys/fs/cgroup/cpu,cpuacct", Status: OK, Value: "cpu,cpuacct"},
				{Section: SectionCgroups, Name: "v1 mount /sys/fs/cgroup/systemd", Status: OK, Value: "name=systemd"},
				{Section: SectionCgroups, Name: "cpuacct controller", Status: OK, Value: "v1 at /sys/fs/cgroup/cpu,cpuacct"},
				{Section: SectionCgroups, Name: "devices controller", Status: Warn, Value: "enabled, not mounted",
					Hint: "the kernel has it but no hierarchy carries it: mkdir /sys/fs/cgroup/devices && mount -t cgroup -o devices cgroup /sys/fs/cgroup/devices"},
				{Section: SectionCgroups, Name: "hugetlb controller", Status: Warn, Value: "enabled, not mounted",
					Hint: "the kernel has it but no hierarchy carries it: mkdir /sys/fs/cgroup/hugetlb && mount -t cgroup -o hugetlb cgroup /sys/fs/cgroup/hugetlb"},
			},
		},
		{
			name:      "v2",
			mountinfo: rootShared + v2Mount,
			files:     map[string]string{"sys/fs/cgroup/cgroup.controllers": "cpuset cpu io memory hugetlb pids rdma misc\n"},
			names:     []string{"Cgroup mode", "v2 mount /sys/fs/cgroup", "blkio controller", "devices controller", "freezer controller"},
			want: []Finding{
				{Section: SectionCgroups, Name: "Cgroup mode", Status: Info, Value: "v2 (unified)", Hint: "one hierarchy for all controllers (memory.max ...), enabled per subtree in cgroup.subtree_control"},
				{Section: SectionCgroups, Name: "v2 mount /sys/fs/cgroup", Status: OK, Value: "cpuset cpu io memory hugetlb pids rdma misc"},
				{Section: SectionCgroups, Name: "blkio controller", Status: OK, Value: "v2 (io) at /sys/fs/cgroup"},
				{Section: SectionCgroups, Name: "devices controller", Status: OK, Value: "v2: an eBPF program (CONFIG_CGROUP_BPF)"},
				{Section: SectionCgroups, Name: "freezer controller", Status: OK, Value: "v2: cgroup.freeze, in every v2 cgroup"},
			},
		},
		{
			name:      "hybrid with hugetlb on cgroup2",
			mountinfo: rootPrivate + v1Mounts + unifiedMount,
			files:     map[string]string{"sys/fs/cgroup/unified/cgroup.controllers": "hugetlb\n"},
			names:     []string{"Cgroup mode", "v2 mount /sys/fs/cgroup/unified", "hugetlb controller", "memory controller"},
			want: []Finding{
				{Section: SectionCgroups, Name: "Cgroup mode", Status: Info, Value: "hybrid", Hint: "v1 controllers, plus a cgroup2 hierarchy for what is not bound to v1: limits go to the v1 files"},
				{Section: SectionCgroups, Name: "v2 mount /sys/fs/cgroup/unified", Status: Warn, Value: "hugetlb",
					Hint: `crun refuses hybrid hosts while this cgroup2 has controllers ("cgroups in hybrid mode not supported"); runc and lxc do not mind`},
				{Section: SectionCgroups, Name: "hugetlb controller", Status: OK, Value: "v2 (hugetlb) at /sys/fs/cgroup/unified"},
				{Section: SectionCgroups, Name: "memory controller", Status: OK, Value: "v1 at /sys/fs/cgroup/memory"},
			},
		},
		{
			name:      "hybrid with an empty cgroup2",
			mountinfo: rootPrivate + v1Mounts + unifiedMount,
			files:     map[string]string{"sys/fs/cgroup/unified/cgroup.controllers": "\n", "proc/cgroups": "#subsys_name\thierarchy\tnum_cgroups\tenabled\nmemory\t3\t1\t1\n"},
			names:     []string{"v2 mount /sys/fs/cgroup/unified", "hugetlb controller"},
			want: []Finding{
				{Section: SectionCgroups, Name: "v2 mount /sys/fs/cgroup/unified", Status: OK, Value: "(no controllers)"},
				{Section: SectionCgroups, Name: "hugetlb controller", Status: Missing, Value: "missing",
					Hint: "limits on hugetlb (chapter 07) will not work: the kernel lacks it or boots with cgroup_disable=hugetlb"},
			},
		},
		{
			name:      "none",
			mountinfo: rootPrivate,
			names:     []string{"Cgroup mode"},
			want: []Finding{
				{Section: SectionCgroups, Name: "Cgroup mode", Status: Warn, Value: "none", Hint: "no cgroup filesystem is mounted: mount -t cgroup2 none /sys/fs/cgroup, or boot with systemd"},
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			files := baseFiles(tt.mountinfo)
			for k, v := range tt.files {
				files[k] = v
			}
			got := pick(Check(fakeHost(t, files)), tt.names...)
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
		})
	}
}

func TestRootMount(t *testing.T) {
	tests := []struct {
		name      string
		mountinfo string
		want      []Finding
		required  []string
	}{
		{
			name:      "private",
			mountinfo: rootPrivate,
			want: []Finding{
				{Section: SectionFilesystems, Name: "Propagation of /", Status: Info, Value: "private",
					Hint: "mounts do not propagate from /; systemd hosts have it shared, and contain makes it private in its namespace either way"},
				{Section: SectionFilesystems, Name: "Root filesystem", Status: OK, Value: "ext4", Required: true},
			},
		},
		{
			name:      "shared",
			mountinfo: rootShared,
			want: []Finding{
				{Section: SectionFilesystems, Name: "Propagation of /", Status: Info, Value: "shared (shared:1)",
					Hint: "mounts made in a new mount namespace would show up here too: contain makes / private inside its own namespace first (mount --make-rprivate /)"},
				{Section: SectionFilesystems, Name: "Root filesystem", Status: OK, Value: "ext4", Required: true},
			},
		},
		{
			name:      "slave",
			mountinfo: rootSlave,
			want: []Finding{
				{Section: SectionFilesystems, Name: "Propagation of /", Status: Info, Value: "slave",
					Hint: "mounts do not propagate from /; systemd hosts have it shared, and contain makes it private in its namespace either way"},
				{Section: SectionFilesystems, Name: "Root filesystem", Status: OK, Value: "ext4", Required: true},
			},
		},
		{
			name:      "initramfs",
			mountinfo: rootInitrd,
			want: []Finding{
				{Section: SectionFilesystems, Name: "Propagation of /", Status: Info, Value: "private",
					Hint: "mounts do not propagate from /; systemd hosts have it shared, and contain makes it private in its namespace either way"},
				{Section: SectionFilesystems, Name: "Root filesystem", Status: Missing, Value: "rootfs", Required: true,
					Hint: "pivot_root(2) cannot move the initramfs root, so contain run fails: boot with root= on a real filesystem, or use contain chroot"},
			},
			required: []string{"Root filesystem: rootfs"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fs := Check(fakeHost(t, baseFiles(tt.mountinfo)))
			if diff := cmp.Diff(tt.want, pick(fs, "Propagation of /", "Root filesystem")); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(tt.required, MissingRequired(fs)); diff != "" {
				t.Errorf("MissingRequired (-want +got):\n%s", diff)
			}
		})
	}
}

func TestCapabilities(t *testing.T) {
	tests := []struct {
		name     string
		capEff   string
		want     []Finding
		required []string
	}{
		{
			name:   "all",
			capEff: "000001ffffffffff",
			want:   []Finding{{Section: SectionSecurity, Name: "Capabilities (CapEff)", Status: OK, Value: "all 41"}},
		},
		{
			name:   "without CAP_SYS_RESOURCE",
			capEff: "000001fffeffffff",
			want: []Finding{
				{Section: SectionSecurity, Name: "Capabilities (CapEff)", Status: Warn, Value: "40 of 41",
					Hint: "this process lacks the capabilities below, even as root (a container, or a bounding set narrowed by whoever started it)"},
				{Section: SectionSecurity, Name: "CAP_SYS_RESOURCE", Status: Missing, Value: "missing",
					Hint: "raising a hard rlimit (setrlimit, prlimit) fails with EPERM: a container can get at most this process's hard limits (the hardening chapter, to come)"},
			},
		},
		{
			name:   "without CAP_SYS_ADMIN and CAP_BPF",
			capEff: "0000017fffdfffff",
			want: []Finding{
				{Section: SectionSecurity, Name: "Capabilities (CapEff)", Status: Warn, Value: "39 of 41",
					Hint: "this process lacks the capabilities below, even as root (a container, or a bounding set narrowed by whoever started it)"},
				{Section: SectionSecurity, Name: "CAP_SYS_ADMIN", Status: Missing, Value: "missing", Required: true,
					Hint: "mount, pivot_root, sethostname and unshare(2) of most namespaces need it: contain run cannot work"},
				{Section: SectionSecurity, Name: "CAP_BPF", Status: Missing, Value: "missing", Hint: "see capabilities(7) for what it allows"},
			},
			required: []string{"CAP_SYS_ADMIN"},
		},
		{
			name:   "not root",
			capEff: "0000000000000000",
			want: []Finding{{Section: SectionSecurity, Name: "Capabilities (CapEff)", Status: Missing, Value: "none", Required: true,
				Hint: "not root: contain needs CAP_SYS_ADMIN for its namespaces and mounts, run it with sudo"}},
			required: []string{"Capabilities (CapEff): none"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			files := baseFiles(rootPrivate)
			files["proc/self/status"] = "CapEff:\t" + tt.capEff + "\nSeccomp:\t0\n"
			fs := Check(fakeHost(t, files))
			var got []Finding
			for _, f := range fs {
				if f.Section == SectionSecurity && !strings.HasPrefix(f.Name, "seccomp") {
					got = append(got, f)
				}
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(tt.required, MissingRequired(fs)); diff != "" {
				t.Errorf("MissingRequired (-want +got):\n%s", diff)
			}
		})
	}
}

func TestCapabilitiesDecode(t *testing.T) {
	tests := []struct {
		mask    string
		last    int
		want    []int
		wantErr bool
	}{
		{mask: "000001ffffffffff", last: 40},
		{mask: "000001fffeffffff", last: 40, want: []int{24}},
		{mask: "0000003fffffffff", last: 40, want: []int{38, 39, 40}},
		{mask: "fffffffe", last: 3, want: []int{0}},
		{mask: "zz", last: 40, wantErr: true},
	}
	for _, tt := range tests {
		got, err := Capabilities(tt.mask, tt.last)
		if (err != nil) != tt.wantErr {
			t.Errorf("Capabilities(%q): err = %v, want error %v", tt.mask, err, tt.wantErr)
		}
		if diff := cmp.Diff(tt.want, got); diff != "" {
			t.Errorf("Capabilities(%q) (-want +got):\n%s", tt.mask, diff)
		}
	}
	if got := CapName(24); got != "CAP_SYS_RESOURCE" {
		t.Errorf("CapName(24) = %q, want CAP_SYS_RESOURCE", got)
	}
	if got := CapName(63); got != "cap_63" {
		t.Errorf("CapName(63) = %q, want cap_63", got)
	}
}

func TestParseIptablesVersion(t *testing.T) {
	tests := []struct {
		out, version, backend string
	}{
		{"iptables v1.8.9 (nf_tables)\n", "v1.8.9", "nf_tables"},
		{"iptables v1.8.9 (legacy)\n", "v1.8.9", "legacy"},
		{"iptables-legacy v1.8.7 (legacy)", "v1.8.7", "legacy"},
		{"ip6tables v1.8.4 (nf_tables)", "v1.8.4", "nf_tables"},
		{"iptables v1.6.1", "v1.6.1", "legacy"},
		{"iptables: command not found", "", ""},
		{"", "", ""},
	}
	for _, tt := range tests {
		v, b := ParseIptablesVersion(tt.out)
		if diff := cmp.Diff([]string{tt.version, tt.backend}, []string{v, b}); diff != "" {
			t.Errorf("ParseIptablesVersion(%q) (-want +got):\n%s", tt.out, diff)
		}
	}
}

func TestFirewallCommands(t *testing.T) {
	tests := []struct {
		name      string
		installed []string
		iptablesV string
		want      []Finding
	}{
		{
			name: "none installed",
			want: []Finding{
				{Section: SectionNetwork, Name: "nft command", Status: Info, Value: "not installed", Hint: "apt-get install nftables"},
				{Section: SectionNetwork, Name: "iptables command", Status: Info, Value: "not installed", Hint: "apt-get install iptables"},
				{Section: SectionNetwork, Name: "iptables-legacy command", Status: Info, Value: "not installed", Hint: "apt-get install iptables"},
				{Section: SectionNetwork, Name: "iptables-nft command", Status: Info, Value: "not installed", Hint: "apt-get install iptables"},
			},
		},
		{
			name:      "iptables on legacy",
			installed: []string{"iptables", "iptables-legacy"},
			iptablesV: "iptables v1.8.9 (legacy)\n",
			want: []Finding{
				{Section: SectionNetwork, Name: "nft command", Status: Info, Value: "not installed", Hint: "apt-get install nftables"},
				{Section: SectionNetwork, Name: "iptables command", Status: Info, Value: "/usr/sbin/iptables v1.8.9 (legacy backend)",
					Hint: "its rules go to the old x_tables, which `nft list ruleset` does not show; Debian 12 defaults to iptables-nft (update-alternatives --config iptables)"},
				{Section: SectionNetwork, Name: "iptables-legacy command", Status: OK, Value: "/usr/sbin/iptables-legacy"},
				{Section: SectionNetwork, Name: "iptables-nft command", Status: Info, Value: "not installed", Hint: "apt-get install iptables"},
			},
		},
		{
			name:      "everything on nf_tables",
			installed: []string{"nft", "iptables", "iptables-legacy", "iptables-nft"},
			iptablesV: "iptables v1.8.9 (nf_tables)\n",
			want: []Finding{
				{Section: SectionNetwork, Name: "nft command", Status: OK, Value: "/usr/sbin/nft"},
				{Section: SectionNetwork, Name: "iptables command", Status: OK, Value: "/usr/sbin/iptables v1.8.9 (nf_tables backend)"},
				{Section: SectionNetwork, Name: "iptables-legacy command", Status: OK, Value: "/usr/sbin/iptables-legacy"},
				{Section: SectionNetwork, Name: "iptables-nft command", Status: OK, Value: "/usr/sbin/iptables-nft"},
			},
		},
		{
			name:      "unreadable version",
			installed: []string{"iptables"},
			iptablesV: "iptables: error while loading shared libraries\n",
			want: []Finding{
				{Section: SectionNetwork, Name: "nft command", Status: Info, Value: "not installed", Hint: "apt-get install nftables"},
				{Section: SectionNetwork, Name: "iptables command", Status: Warn, Value: "/usr/sbin/iptables",
					Hint: "iptables -V printed iptables: error while loading shared libraries: cannot tell its backend"},
				{Section: SectionNetwork, Name: "iptables-legacy command", Status: Info, Value: "not installed", Hint: "apt-get install iptables"},
				{Section: SectionNetwork, Name: "iptables-nft command", Status: Info, Value: "not installed", Hint: "apt-get install iptables"},
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := fakeHost(t, nil)
			h.LookPath = func(name string) (string, error) {
				for _, n := range tt.installed {
					if n == name {
						return "/usr/sbin/" + name, nil
					}
				}
				return "", errors.New("not found")
			}
			h.Output = func(name string, args ...string) (string, error) {
				if name != "/usr/sbin/iptables" || strings.Join(args, " ") != "-V" {
					t.Errorf("ran %s %v, want /usr/sbin/iptables -V", name, args)
				}
				return tt.iptablesV, nil
			}
			if diff := cmp.Diff(tt.want, firewallCommands(h)); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
		})
	}
}

// gz compresses s, as /proc/config.gz is.
func gz(t *testing.T, s string) string {
	t.Helper()
	var b bytes.Buffer
	z := gzip.NewWriter(&b)
	z.Write([]byte(s))
	if err := z.Close(); err != nil {
		t.Fatal(err)
	}
	return b.String()
}

func TestKernelConfig(t *testing.T) {
	config := "CONFIG_VETH=y\nCONFIG_BRIDGE=m\nCONFIG_MACVLAN=m\n# CONFIG_VXLAN is not set\nCONFIG_DEFAULT_HOSTNAME=\"(none)\"\n"
	names := []string{"Kernel config", "veth", "bridge", "macvlan", "vxlan"}
	tests := []struct {
		name  string
		files map[string]string
		want  []Finding
	}{
		{
			name:  "proc config.gz",
			files: map[string]string{"proc/config.gz": gz(t, config), "sys/module/bridge/refcnt": "0\n"},
			want: []Finding{
				{Section: SectionKernel, Name: "Kernel config", Status: OK, Value: "/proc/config.gz"},
				{Section: SectionNetwork, Name: "veth", Status: OK, Value: "enabled"},
				{Section: SectionNetwork, Name: "bridge", Status: OK, Value: "enabled as module, loaded"},
				{Section: SectionNetwork, Name: "macvlan", Status: OK, Value: "enabled as module, not loaded", Hint: "it loads on first use, or: modprobe macvlan"},
				{Section: SectionNetwork, Name: "vxlan", Status: Missing, Value: "missing", Hint: "CONFIG_VXLAN is not set: only networks spanning hosts need it"},
			},
		},
		{
			name:  "boot config of the running release",
			files: map[string]string{"boot/config-6.1.0-test": config, "boot/config-5.10.0-old": "CONFIG_VXLAN=y\n"},
			want: []Finding{
				{Section: SectionKernel, Name: "Kernel config", Status: OK, Value: "/boot/config-6.1.0-test"},
				{Section: SectionNetwork, Name: "veth", Status: OK, Value: "enabled"},
				{Section: SectionNetwork, Name: "bridge", Status: OK, Value: "enabled as module, not loaded", Hint: "it loads on first use, or: modprobe bridge"},
				{Section: SectionNetwork, Name: "macvlan", Status: OK, Value: "enabled as module, not loaded", Hint: "it loads on first use, or: modprobe macvlan"},
				{Section: SectionNetwork, Name: "vxlan", Status: Missing, Value: "missing", Hint: "CONFIG_VXLAN is not set: only networks spanning hosts need it"},
			},
		},
		{
			name:  "no config: inferred from /sys/module",
			files: map[string]string{"boot/config-5.10.0-old": config, "sys/module/veth/refcnt": "0\n"},
			want: []Finding{
				{Section: SectionKernel, Name: "Kernel config", Status: Warn, Value: "not found",
					Hint: "no /proc/config.gz nor /boot/config-6.1.0-test: options are inferred from /proc/filesystems and /sys/module, and shown as unknown otherwise"},
				{Section: SectionNetwork, Name: "veth", Status: OK, Value: "enabled (module veth loaded)"},
				{Section: SectionNetwork, Name: "bridge", Status: Warn, Value: "unknown", Hint: "CONFIG_BRIDGE: no kernel config to read; containers on one host network share a bridge"},
				{Section: SectionNetwork, Name: "macvlan", Status: Warn, Value: "unknown", Hint: "CONFIG_MACVLAN: no kernel config to read; only the macvlan network mode needs it"},
				{Section: SectionNetwork, Name: "vxlan", Status: Warn, Value: "unknown", Hint: "CONFIG_VXLAN: no kernel config to read; only networks spanning hosts need it"},
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			files := baseFiles(rootPrivate)
			for k, v := range tt.files {
				files[k] = v
			}
			got := pick(Check(fakeHost(t, files)), names...)
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
		})
	}
}

func TestNamespacesAndSysctls(t *testing.T) {
	files := baseFiles(rootPrivate)
	delete(files, "proc/self/ns/pid")
	delete(files, "proc/self/ns/time")
	files["proc/sys/user/max_user_namespaces"] = "0\n"
	files["proc/sys/kernel/unprivileged_userns_clone"] = "0\n"
	files["proc/sys/kernel/apparmor_restrict_unprivileged_userns"] = "1\n"
	fs := Check(fakeHost(t, files))
	want := []Finding{
		{Section: SectionNamespaces, Name: "mnt namespace", Status: OK, Value: "enabled", Required: true},
		{Section: SectionNamespaces, Name: "pid namespace", Status: Missing, Value: "missing", Required: true, Hint: "contain run needs it to be pid 1: enable CONFIG_PID_NS"},
		{Section: SectionNamespaces, Name: "time namespace", Status: Missing, Value: "missing", Hint: "time offsets (chapter 04) need it: enable CONFIG_TIME_NS (5.6 or later)"},
		{Section: SectionNamespaces, Name: "user.max_user_namespaces", Status: Missing, Value: "0", Hint: "no user namespace can be created, not even by root: sysctl -w user.max_user_namespaces=15000"},
		{Section: SectionNamespaces, Name: "kernel.unprivileged_userns_clone", Status: Warn, Value: "0", Hint: "only root may create user namespaces: rootless containers (chapter 06) need sysctl -w kernel.unprivileged_userns_clone=1"},
		{Section: SectionNamespaces, Name: "kernel.apparmor_restrict_unprivileged_userns", Status: Warn, Value: "1", Hint: "AppArmor strips capabilities from unprivileged user namespaces: sysctl -w kernel.apparmor_restrict_unprivileged_userns=0 for rootless runs"},
	}
	got := pick(fs, "mnt namespace", "pid namespace", "time namespace", "user.max_user_namespaces", "kernel.unprivileged_userns_clone", "kernel.apparmor_restrict_unprivileged_userns")
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]string{"pid namespace"}, MissingRequired(fs)); diff != "" {
		t.Errorf("MissingRequired (-want +got):\n%s", diff)
	}
}

func TestFilesystems(t *testing.T) {
	tests := []struct {
		name  string
		files map[string]string
		want  []Finding
	}{
		{
			name:  "btrfs a module not loaded yet, no /dev/fuse",
			files: map[string]string{"proc/config.gz": gz(t, "CONFIG_BTRFS_FS=m\n")},
			want: []Finding{
				{Section: SectionFilesystems, Name: "overlay", Status: OK, Value: "enabled"},
				{Section: SectionFilesystems, Name: "fuse", Status: OK, Value: "enabled"},
				{Section: SectionFilesystems, Name: "btrfs", Status: OK, Value: "enabled as module, not loaded", Hint: "it loads on first use, or: modprobe btrfs"},
				{Section: SectionFilesystems, Name: "/dev/fuse", Status: Missing, Value: "missing", Hint: "FUSE filesystems cannot be mounted: mknod -m 666 /dev/fuse c 10 229"},
			},
		},
		{
			name:  "btrfs not built",
			files: map[string]string{"proc/config.gz": gz(t, "# CONFIG_BTRFS_FS is not set\n")},
			want: []Finding{
				{Section: SectionFilesystems, Name: "overlay", Status: OK, Value: "enabled"},
				{Section: SectionFilesystems, Name: "fuse", Status: OK, Value: "enabled"},
				{Section: SectionFilesystems, Name: "btrfs", Status: Missing, Value: "missing", Hint: "CONFIG_BTRFS_FS is not set: only the btrfs storage driver (the storage chapter, to come) needs it; the others work without"},
				{Section: SectionFilesystems, Name: "/dev/fuse", Status: Missing, Value: "missing", Hint: "FUSE filesystems cannot be mounted: mknod -m 666 /dev/fuse c 10 229"},
			},
		},
		{
			name:  "no config, /dev/fuse a regular file",
			files: map[string]string{"dev/fuse": "", "proc/filesystems": "\tbtrfs\n"},
			want: []Finding{
				{Section: SectionFilesystems, Name: "overlay", Status: Warn, Value: "unknown", Hint: "CONFIG_OVERLAY_FS: no kernel config to read; snapshots and the overlay storage driver (the storage chapter, to come) need it"},
				{Section: SectionFilesystems, Name: "fuse", Status: Warn, Value: "unknown", Hint: "CONFIG_FUSE_FS: no kernel config to read; the /proc views (a FUSE filesystem, as LXCFS is; a chapter to come) need it"},
				{Section: SectionFilesystems, Name: "btrfs", Status: OK, Value: "enabled"},
				{Section: SectionFilesystems, Name: "/dev/fuse", Status: Missing, Value: "not a character device", Hint: "remove it and mknod -m 666 /dev/fuse c 10 229"},
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			files := baseFiles(rootPrivate)
			for k, v := range tt.files {
				files[k] = v
			}
			got := pick(Check(fakeHost(t, files)), "overlay", "fuse", "btrfs", "/dev/fuse")
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
		})
	}
}

func TestWriteText(t *testing.T) {
	fs := []Finding{
		{Section: SectionKernel, Name: "Kernel release", Status: Info, Value: "6.1.0", Hint: "a fact"},
		{Section: SectionSecurity, Name: "seccomp", Status: OK, Value: "enabled", Hint: "not shown"},
		{Section: SectionSecurity, Name: "CAP_SYS_RESOURCE", Status: Missing, Value: "missing", Hint: "rlimits"},
	}
	tests := []struct {
		colour bool
		want   string
	}{
		{false, "--- Kernel ---\nKernel release: 6.1.0\n  hint: a fact\n\n--- Security ---\nseccomp: enabled\nCAP_SYS_RESOURCE: missing\n  hint: rlimits\n"},
		{true, "--- Kernel ---\nKernel release: \033[1;34m6.1.0\033[0m\n  hint: a fact\n\n--- Security ---\nseccomp: \033[1;32menabled\033[0m\nCAP_SYS_RESOURCE: \033[1;31mmissing\033[0m\n  hint: rlimits\n"},
	}
	for _, tt := range tests {
		var b bytes.Buffer
		if err := WriteText(&b, fs, tt.colour); err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff(tt.want, b.String()); diff != "" {
			t.Errorf("colour=%v (-want +got):\n%s", tt.colour, diff)
		}
	}
}
