// Package checkconfig finds out what this host offers a container runtime,
// as lxc-checkconfig does, and what lxc-checkconfig leaves out: the cgroup
// mode (v1, v2 or hybrid) with its mount points, the propagation of /, the
// user-namespace sysctls, the capabilities the caller lacks, /dev/fuse and
// the iptables backend.
//
// Every fact is read from /proc, /sys and /dev below Host.Root, so that the
// tests run the same checks against fake trees; the real run uses "/". The
// only programs run are `iptables -V` and its variants, and only when they
// are installed.
package checkconfig

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
)

// Status is how a finding turned out.
type Status string

// The statuses, from good to bad. Info is neither: a fact to know, such as
// the cgroup mode.
const (
	OK      Status = "ok"
	Info    Status = "info"
	Warn    Status = "warn"
	Missing Status = "missing"
)

// Finding is one line of the report: "Name: Value", and for anything that
// is not OK a one-line Hint on what it breaks or how to fix it.
type Finding struct {
	Section string `json:"section"`
	Name    string `json:"name"`
	Status  Status `json:"status"`
	Value   string `json:"value"`
	Hint    string `json:"hint,omitempty"`
	// Required is set on what `contain run` cannot work without; a
	// required finding that is Missing makes checkconfig exit non-zero.
	Required bool `json:"required,omitempty"`
}

// The sections, in the order they are printed.
const (
	SectionKernel      = "Kernel"
	SectionNamespaces  = "Namespaces"
	SectionCgroups     = "Control groups"
	SectionFilesystems = "Filesystems"
	SectionNetwork     = "Network"
	SectionSecurity    = "Security"
)

// Host is the view of the machine the checks read.
type Host struct {
	// Root is prepended to every path read: "/" on the real host, a
	// t.TempDir() holding proc/, sys/, dev/ and boot/ in tests.
	Root string
	// LookPath finds a program, as exec.LookPath does.
	LookPath func(name string) (string, error)
	// Output runs a program and returns its standard output and error.
	Output func(name string, args ...string) (string, error)
}

// Real returns the Host of the running machine.
func Real() *Host {
	return &Host{
		Root:     "/",
		LookPath: exec.LookPath,
		Output: func(name string, args ...string) (string, error) {
			b, err := exec.Command(name, args...).CombinedOutput()
			return string(b), err
		},
	}
}

// path returns p (an absolute path such as "/proc/filesystems") below
// h.Root.
func (h *Host) path(p string) string { return filepath.Join(h.Root, p) }

// read returns the content of p below h.Root, trimmed, and whether it
// could be read.
func (h *Host) read(p string) (string, bool) {
	b, err := os.ReadFile(h.path(p))
	if err != nil {
		return "", false
	}
	return strings.TrimSpace(string(b)), true
}

// exists tells whether p exists below h.Root.
func (h *Host) exists(p string) bool {
	_, err := os.Lstat(h.path(p))
	return err == nil
}

// Check runs every check, in section order.
func Check(h *Host) []Finding {
	kc := LoadKernelConfig(h)
	var fs []Finding
	fs = append(fs, kernel(h, kc)...)
	fs = append(fs, namespaces(h)...)
	fs = append(fs, cgroups(h, kc)...)
	fs = append(fs, filesystems(h, kc)...)
	fs = append(fs, network(h, kc)...)
	fs = append(fs, security(h, kc)...)
	return fs
}

// MissingRequired returns the required findings that are missing, what
// keeps `contain run` from working on this host, as "Name" or, when the
// value says more than "missing", "Name: Value".
func MissingRequired(fs []Finding) []string {
	var names []string
	for _, f := range fs {
		switch {
		case !f.Required || f.Status != Missing:
		case f.Value == "missing":
			names = append(names, f.Name)
		default:
			names = append(names, f.Name+": "+f.Value)
		}
	}
	return names
}

// kernel reports the running kernel and where its configuration came from.
func kernel(h *Host, kc KernelConfig) []Finding {
	release, _ := h.read("/proc/sys/kernel/osrelease")
	fs := []Finding{{Section: SectionKernel, Name: "Kernel release", Status: Info, Value: release}}
	if kc.Source == "" {
		return append(fs, Finding{Section: SectionKernel, Name: "Kernel config", Status: Warn,
			Value: "not found",
			Hint:  "no /proc/config.gz nor /boot/config-" + release + ": options are inferred from /proc/filesystems and /sys/module, and shown as unknown otherwise"})
	}
	return append(fs, Finding{Section: SectionKernel, Name: "Kernel config", Status: OK, Value: kc.Source})
}

// namespaces reports each namespace type by its /proc/self/ns entry, and
// the sysctls that limit user namespaces.
func namespaces(h *Host) []Finding {
	kinds := []struct {
		name, hint string
		required   bool
	}{
		{"mnt", "contain run needs it for its own mounts and pivot_root: enable CONFIG_NAMESPACES", true},
		{"uts", "contain run needs it for --hostname: enable CONFIG_UTS_NS", true},
		{"ipc", "contain run needs it: enable CONFIG_IPC_NS", true},
		{"pid", "contain run needs it to be pid 1: enable CONFIG_PID_NS", true},
		{"net", "contain net (chapter 08) needs it: enable CONFIG_NET_NS", false},
		{"user", "uid maps and rootless containers (chapter 06) need it: enable CONFIG_USER_NS", false},
		{"cgroup", "the container would see the host's cgroup paths: enable CONFIG_CGROUPS (4.6 or later)", false},
		{"time", "time offsets (chapter 04) need it: enable CONFIG_TIME_NS (5.6 or later)", false},
	}
	var fs []Finding
	for _, k := range kinds {
		f := Finding{Section: SectionNamespaces, Name: k.name + " namespace", Status: OK, Value: "enabled", Required: k.required}
		if !h.exists("/proc/self/ns/" + k.name) {
			f.Status, f.Value, f.Hint = Missing, "missing", k.hint
		}
		fs = append(fs, f)
	}
	return append(fs, usernsSysctls(h)...)
}

// usernsSysctls reports the knobs that allow or forbid user namespaces:
// the upstream limit, Debian's switch for unprivileged users, and Ubuntu's
// AppArmor restriction. Each is fine unless it holds its bad value.
func usernsSysctls(h *Host) []Finding {
	var fs []Finding
	for _, s := range []struct {
		name       string
		absent     Status
		absentHint string
		bad        string
		badStatus  Status
		badHint    string
	}{
		{"user.max_user_namespaces", Warn, "kernels before 4.9 have no per-user namespace limits",
			"0", Missing, "no user namespace can be created, not even by root: sysctl -w user.max_user_namespaces=15000"},
		{"kernel.unprivileged_userns_clone", Info, "only Debian-patched kernels have it; upstream lets any user create user namespaces",
			"0", Warn, "only root may create user namespaces: rootless containers (chapter 06) need sysctl -w kernel.unprivileged_userns_clone=1"},
		{"kernel.apparmor_restrict_unprivileged_userns", Info, "only kernels with Ubuntu's AppArmor patches have it",
			"1", Warn, "AppArmor strips capabilities from unprivileged user namespaces: sysctl -w kernel.apparmor_restrict_unprivileged_userns=0 for rootless runs"},
	} {
		f := Finding{Section: SectionNamespaces, Name: s.name, Status: OK}
		v, ok := h.read("/proc/sys/" + strings.ReplaceAll(s.name, ".", "/"))
		switch {
		case !ok:
			f.Status, f.Value, f.Hint = s.absent, "not present", s.absentHint
		case v == s.bad:
			f.Status, f.Value, f.Hint = s.badStatus, v, s.badHint
		default:
			f.Value = v
		}
		fs = append(fs, f)
	}
	return fs
}
