// Package probe describes what a process sees of its own isolation: its
// namespaces, mounts, pid, hostname and the pids it can see in /proc.
//
// The static probe binary (tool/cmd/probe) is copied into every test root
// filesystem. Tests and lab graders run it inside a container and decode its
// JSON report, instead of scraping the text of shell commands. Each chapter
// adds the fields its primitive changes.
package probe

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"syscall"
)

// Namespaces lists the entries of /proc/self/ns that the probe reads, in the
// order namespaces(7) lists them.
var Namespaces = []string{"cgroup", "ipc", "mnt", "net", "pid", "pid_for_children", "time", "time_for_children", "user", "uts"}

// Mount is one line of /proc/self/mountinfo, reduced to the fields tests
// compare (see proc(5), "/proc/pid/mountinfo").
type Mount struct {
	ID         int    `json:"id"`
	Parent     int    `json:"parent"`
	Root       string `json:"root"`
	MountPoint string `json:"mount_point"`
	Options    string `json:"options"`
	// Optional holds the optional fields such as "shared:1" or "master:2";
	// it is empty for a private mount.
	Optional string `json:"optional,omitempty"`
	FSType   string `json:"fstype"`
	Source   string `json:"source"`
	// SuperOptions are the filesystem's own options, the last field; for
	// a cgroup v1 hierarchy they name its controllers ("rw,cpu,cpuacct").
	SuperOptions string `json:"super_options,omitempty"`
}

// Report is what the probe prints, as JSON, on standard output.
type Report struct {
	Pid      int    `json:"pid"`
	PPid     int    `json:"ppid"`
	Uid      int    `json:"uid"`
	Gid      int    `json:"gid"`
	Hostname string `json:"hostname"`
	Cwd      string `json:"cwd"`
	// Umask is the file mode creation mask the process runs with, in
	// octal as umask(1) prints it ("0022"). A container runner that
	// clears it for mknod(2) must put it back before the command runs.
	Umask string `json:"umask"`
	// NS maps a namespace name (see Namespaces) to the target of its
	// /proc/self/ns link, such as "mnt:[4026531841]". A namespace the kernel
	// lacks is absent.
	NS map[string]string `json:"ns"`
	// Mounts is the process's mount table, in mountinfo order.
	Mounts []Mount `json:"mounts"`
	// Pids lists the numeric entries of /proc, sorted: the processes this
	// process can see. It is empty when /proc is not mounted.
	Pids []int `json:"pids"`
	// ProcMounted tells whether /proc looks like a procfs (it has /proc/self).
	ProcMounted bool `json:"proc_mounted"`

	// Init is the command line of pid 1 as this process sees it, from
	// /proc/1/cmdline: the command itself, or contain's init stage
	// (chapters 04 and 05).
	Init []string `json:"init,omitempty"`
	// Uptime is the first field of /proc/uptime, CLOCK_BOOTTIME in
	// seconds, which a time namespace offsets (chapter 04).
	Uptime float64 `json:"uptime,omitempty"`
	// UIDMap and GIDMap are the lines of /proc/self/uid_map and gid_map,
	// "INSIDE OUTSIDE LENGTH" with single spaces (chapter 06).
	UIDMap []string `json:"uid_map,omitempty"`
	GIDMap []string `json:"gid_map,omitempty"`
	// Cgroup maps the limit files visible under /sys/fs/cgroup, such as
	// "memory.max" or "pids/pids.max", to their content (chapter 07).
	Cgroup map[string]string `json:"cgroup,omitempty"`
	// Addrs maps each interface to its IPv4 addresses in CIDR form, and
	// Gateway is the default route's IPv4 gateway, from /proc/net/route,
	// or "" (chapter 08).
	Addrs   map[string][]string `json:"addrs,omitempty"`
	Gateway string              `json:"gateway,omitempty"`
	// Nameservers are the nameserver lines of /etc/resolv.conf and Hosts
	// the lines of /etc/hosts that are not comments (chapter 08).
	Nameservers []string `json:"nameservers,omitempty"`
	Hosts       []string `json:"hosts,omitempty"`
	// Errors collects what could not be read, so a probe in a half-built
	// container still reports the rest.
	Errors []string `json:"errors,omitempty"`
}

// Collect builds a Report for the calling process.
func Collect() Report {
	var r Report
	r.Pid = os.Getpid()
	r.PPid = os.Getppid()
	r.Uid = os.Getuid()
	r.Gid = os.Getgid()
	// umask(2) cannot be read without being set: set it to 0 and put the
	// old value straight back. The probe creates no file in between.
	// Equivalent to: umask
	old := syscall.Umask(0)
	syscall.Umask(old)
	r.Umask = fmt.Sprintf("%04o", old)
	fail := func(what string, err error) { r.Errors = append(r.Errors, fmt.Sprintf("%s: %v", what, err)) }

	if h, err := os.Hostname(); err == nil {
		r.Hostname = h
	} else {
		fail("hostname", err)
	}
	if wd, err := os.Getwd(); err == nil {
		r.Cwd = wd
	} else {
		fail("getwd", err)
	}
	r.NS = map[string]string{}
	for _, n := range Namespaces {
		if target, err := os.Readlink("/proc/self/ns/" + n); err == nil {
			r.NS[n] = target
		}
	}
	if f, err := os.Open("/proc/self/mountinfo"); err == nil {
		ms, err := ParseMountinfo(f)
		f.Close()
		if err != nil {
			fail("mountinfo", err)
		}
		r.Mounts = ms
	} else {
		fail("mountinfo", err)
	}
	_, err := os.Lstat("/proc/self")
	r.ProcMounted = err == nil
	r.Pids = []int{}
	if ents, err := os.ReadDir("/proc"); err == nil {
		for _, e := range ents {
			if pid, err := strconv.Atoi(e.Name()); err == nil {
				r.Pids = append(r.Pids, pid)
			}
		}
		sort.Ints(r.Pids)
	}
	collectMore(&r)
	return r
}

// cgroupLimitFiles are the files Collect reads under /sys/fs/cgroup, at
// its top (cgroup v2) and one directory down (a v1 hierarchy).
var cgroupLimitFiles = []string{"memory.max", "memory.limit_in_bytes", "pids.max", "cpu.max", "cpu.cfs_quota_us"}

// collectMore fills the fields later chapters added. What is missing
// stays empty: a container without a network has no resolv.conf of its
// own, one without limits shows no cgroupfs.
func collectMore(r *Report) {
	if b, err := os.ReadFile("/proc/1/cmdline"); err == nil {
		r.Init = strings.Split(strings.TrimRight(string(b), "\x00"), "\x00")
	}
	if b, err := os.ReadFile("/proc/uptime"); err == nil {
		if f := strings.Fields(string(b)); len(f) > 0 {
			r.Uptime, _ = strconv.ParseFloat(f[0], 64)
		}
	}
	r.UIDMap = fieldLines("/proc/self/uid_map", "")
	r.GIDMap = fieldLines("/proc/self/gid_map", "")
	for _, name := range cgroupLimitFiles {
		for _, pat := range []string{"/sys/fs/cgroup/" + name, "/sys/fs/cgroup/*/" + name} {
			paths, _ := filepath.Glob(pat)
			for _, p := range paths {
				if b, err := os.ReadFile(p); err == nil {
					if r.Cgroup == nil {
						r.Cgroup = map[string]string{}
					}
					r.Cgroup[strings.TrimPrefix(p, "/sys/fs/cgroup/")] = strings.TrimSpace(string(b))
				}
			}
		}
	}
	if ifs, err := net.Interfaces(); err == nil {
		r.Addrs = map[string][]string{}
		for _, i := range ifs {
			as, _ := i.Addrs()
			r.Addrs[i.Name] = []string{}
			for _, a := range as {
				if n, ok := a.(*net.IPNet); ok && n.IP.To4() != nil {
					r.Addrs[i.Name] = append(r.Addrs[i.Name], n.String())
				}
			}
		}
	}
	// /proc/net/route: Iface Destination Gateway ..., hex in host order.
	for _, l := range fieldLines("/proc/net/route", "Iface") {
		f := strings.Fields(l)
		if len(f) > 2 && f[1] == "00000000" {
			if g, err := strconv.ParseUint(f[2], 16, 32); err == nil {
				r.Gateway = netip.AddrFrom4([4]byte{byte(g), byte(g >> 8), byte(g >> 16), byte(g >> 24)}).String()
			}
		}
	}
	for _, l := range fieldLines("/etc/resolv.conf", "#") {
		if f := strings.Fields(l); len(f) > 1 && f[0] == "nameserver" {
			r.Nameservers = append(r.Nameservers, f[1])
		}
	}
	r.Hosts = fieldLines("/etc/hosts", "#")
}

// fieldLines returns the lines of a file with their fields joined by one
// space, less empty lines and those that start with skip (when not "").
func fieldLines(path, skip string) []string {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil
	}
	var out []string
	for _, l := range strings.Split(string(b), "\n") {
		l = strings.Join(strings.Fields(l), " ")
		if l == "" || (skip != "" && strings.HasPrefix(l, skip)) {
			continue
		}
		out = append(out, l)
	}
	return out
}

// ParseMountinfo reads the format of /proc/PID/mountinfo described in
// proc(5): "36 35 98:0 /mnt1 /mnt2 rw,noatime master:1 - ext3 /dev/root rw".
func ParseMountinfo(rd io.Reader) ([]Mount, error) {
	var ms []Mount
	sc := bufio.NewScanner(rd)
	for sc.Scan() {
		line := sc.Text()
		before, after, ok := strings.Cut(line, " - ")
		if !ok {
			return ms, fmt.Errorf("mountinfo line without separator: %q", line)
		}
		f := strings.Fields(before)
		g := strings.Fields(after)
		if len(f) < 6 || len(g) < 2 {
			return ms, fmt.Errorf("short mountinfo line: %q", line)
		}
		id, _ := strconv.Atoi(f[0])
		parent, _ := strconv.Atoi(f[1])
		m := Mount{
			ID:         id,
			Parent:     parent,
			Root:       unescape(f[3]),
			MountPoint: unescape(f[4]),
			Options:    f[5],
			Optional:   strings.Join(f[6:], " "),
			FSType:     g[0],
			Source:     unescape(g[1]),
		}
		if len(g) > 2 {
			m.SuperOptions = g[2]
		}
		ms = append(ms, m)
	}
	return ms, sc.Err()
}

// unescape undoes the octal escapes (\040 for a space) that the kernel uses
// for special characters in mountinfo paths.
func unescape(s string) string {
	if !strings.Contains(s, `\`) {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] == '\\' && i+3 < len(s) {
			if n, err := strconv.ParseUint(s[i+1:i+4], 8, 8); err == nil {
				b.WriteByte(byte(n))
				i += 3
				continue
			}
		}
		b.WriteByte(s[i])
	}
	return b.String()
}

// RootMount returns the mount whose mount point is "/", the last one when
// several are stacked, or false when there is none.
func (r Report) RootMount() (Mount, bool) {
	var root Mount
	found := false
	for _, m := range r.Mounts {
		if m.MountPoint == "/" {
			root, found = m, true
		}
	}
	return root, found
}

// MountAt returns the topmost mount at path.
func (r Report) MountAt(path string) (Mount, bool) {
	path = filepath.Clean(path)
	var got Mount
	found := false
	for _, m := range r.Mounts {
		if m.MountPoint == path {
			got, found = m, true
		}
	}
	return got, found
}

// Decode parses a report printed by the probe binary.
func Decode(b []byte) (Report, error) {
	var r Report
	if err := json.Unmarshal(b, &r); err != nil {
		return r, fmt.Errorf("decode probe report: %w (output was %q)", err, truncate(string(b), 200))
	}
	return r, nil
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "…"
}

// Summary is the short, human view of a report that scripts/try.sh prints
// for the host beside the container: one "label  value" line each.
func (r Report) Summary() []string {
	root := "(none)"
	if m, ok := r.RootMount(); ok {
		root = fmt.Sprintf("%s%s (%s)", m.Source, rootSuffix(m.Root), m.FSType)
	}
	pids := fmt.Sprintf("%d", len(r.Pids))
	if len(r.Pids) <= 6 {
		pids = fmt.Sprint(r.Pids)
	}
	return []string{
		"hostname        " + r.Hostname,
		"my pid          " + strconv.Itoa(r.Pid),
		"/ is            " + root,
		"mounts          " + strconv.Itoa(len(r.Mounts)),
		"pids in /proc   " + pids,
		"mnt namespace   " + r.NS["mnt"],
		"pid namespace   " + r.NS["pid"],
	}
}

// rootSuffix shows which directory of the source filesystem is mounted,
// when it is not the filesystem's own root.
func rootSuffix(root string) string {
	if root == "/" || root == "" {
		return ""
	}
	return ":" + root
}
