package checkconfig

import (
	"fmt"
	"strconv"
	"strings"

	"golang.org/x/sys/unix"
)

// CapNames maps a capability number to its name, as capabilities(7) and
// <linux/capability.h> list them.
var CapNames = map[int]string{
	unix.CAP_CHOWN:              "CAP_CHOWN",
	unix.CAP_DAC_OVERRIDE:       "CAP_DAC_OVERRIDE",
	unix.CAP_DAC_READ_SEARCH:    "CAP_DAC_READ_SEARCH",
	unix.CAP_FOWNER:             "CAP_FOWNER",
	unix.CAP_FSETID:             "CAP_FSETID",
	unix.CAP_KILL:               "CAP_KILL",
	unix.CAP_SETGID:             "CAP_SETGID",
	unix.CAP_SETUID:             "CAP_SETUID",
	unix.CAP_SETPCAP:            "CAP_SETPCAP",
	unix.CAP_LINUX_IMMUTABLE:    "CAP_LINUX_IMMUTABLE",
	unix.CAP_NET_BIND_SERVICE:   "CAP_NET_BIND_SERVICE",
	unix.CAP_NET_BROADCAST:      "CAP_NET_BROADCAST",
	unix.CAP_NET_ADMIN:          "CAP_NET_ADMIN",
	unix.CAP_NET_RAW:            "CAP_NET_RAW",
	unix.CAP_IPC_LOCK:           "CAP_IPC_LOCK",
	unix.CAP_IPC_OWNER:          "CAP_IPC_OWNER",
	unix.CAP_SYS_MODULE:         "CAP_SYS_MODULE",
	unix.CAP_SYS_RAWIO:          "CAP_SYS_RAWIO",
	unix.CAP_SYS_CHROOT:         "CAP_SYS_CHROOT",
	unix.CAP_SYS_PTRACE:         "CAP_SYS_PTRACE",
	unix.CAP_SYS_PACCT:          "CAP_SYS_PACCT",
	unix.CAP_SYS_ADMIN:          "CAP_SYS_ADMIN",
	unix.CAP_SYS_BOOT:           "CAP_SYS_BOOT",
	unix.CAP_SYS_NICE:           "CAP_SYS_NICE",
	unix.CAP_SYS_RESOURCE:       "CAP_SYS_RESOURCE",
	unix.CAP_SYS_TIME:           "CAP_SYS_TIME",
	unix.CAP_SYS_TTY_CONFIG:     "CAP_SYS_TTY_CONFIG",
	unix.CAP_MKNOD:              "CAP_MKNOD",
	unix.CAP_LEASE:              "CAP_LEASE",
	unix.CAP_AUDIT_WRITE:        "CAP_AUDIT_WRITE",
	unix.CAP_AUDIT_CONTROL:      "CAP_AUDIT_CONTROL",
	unix.CAP_SETFCAP:            "CAP_SETFCAP",
	unix.CAP_MAC_OVERRIDE:       "CAP_MAC_OVERRIDE",
	unix.CAP_MAC_ADMIN:          "CAP_MAC_ADMIN",
	unix.CAP_SYSLOG:             "CAP_SYSLOG",
	unix.CAP_WAKE_ALARM:         "CAP_WAKE_ALARM",
	unix.CAP_BLOCK_SUSPEND:      "CAP_BLOCK_SUSPEND",
	unix.CAP_AUDIT_READ:         "CAP_AUDIT_READ",
	unix.CAP_PERFMON:            "CAP_PERFMON",
	unix.CAP_BPF:                "CAP_BPF",
	unix.CAP_CHECKPOINT_RESTORE: "CAP_CHECKPOINT_RESTORE",
}

// capEffects says what goes wrong without a capability; the others get a
// pointer to capabilities(7).
var capEffects = map[int]string{
	unix.CAP_SYS_ADMIN:    "mount, pivot_root, sethostname and unshare(2) of most namespaces need it: contain run cannot work",
	unix.CAP_SYS_RESOURCE: "raising a hard rlimit (setrlimit, prlimit) fails with EPERM: a container can get at most this process's hard limits (the hardening chapter, to come)",
	unix.CAP_SYS_CHROOT:   "chroot(2) fails: contain chroot (chapter 02) needs it",
	unix.CAP_MKNOD:        "device nodes cannot be created in the container's /dev (chapter 03); bind mounts of the host's still work",
	unix.CAP_NET_ADMIN:    "links, addresses, routes and firewall rules (chapter 08) cannot be set up",
	unix.CAP_SETUID:       "uid_map ranges other than your own uid cannot be written (chapter 06)",
	unix.CAP_SETGID:       "gid_map ranges other than your own gid cannot be written (chapter 06)",
	unix.CAP_SETPCAP:      "capabilities cannot be dropped from the bounding set (the hardening chapter, to come)",
	unix.CAP_SYS_PTRACE:   "other processes' namespaces cannot be entered with setns(2) (contain enter, chapter 05)",
	unix.CAP_DAC_OVERRIDE: "root cannot read or write files it does not own, such as the rootfs's",
}

// Capabilities decodes a hexadecimal capability mask from /proc/PID/status
// ("000001fffeffffff") and returns the numbers of the capabilities from 0 to
// last that are not in it. Equivalent to: capsh --decode=MASK
func Capabilities(mask string, last int) (missing []int, err error) {
	m, err := strconv.ParseUint(mask, 16, 64)
	if err != nil {
		return nil, fmt.Errorf("capability mask %q: %w", mask, err)
	}
	for c := 0; c <= last && c < 64; c++ {
		if m&(1<<c) == 0 {
			missing = append(missing, c)
		}
	}
	return missing, nil
}

// CapName returns the name of capability c, or "cap_N" for one newer than
// this program.
func CapName(c int) string {
	if n, ok := CapNames[c]; ok {
		return n
	}
	return fmt.Sprintf("cap_%d", c)
}

// statusField returns a field of /proc/self/status, such as "CapEff".
func statusField(h *Host, name string) (string, bool) {
	status, _ := h.read("/proc/self/status")
	for _, l := range strings.Split(status, "\n") {
		if v, ok := strings.CutPrefix(l, name+":"); ok {
			return strings.TrimSpace(v), true
		}
	}
	return "", false
}

// security reports the effective capabilities of this process, each one
// missing with what it breaks, and seccomp.
func security(h *Host, kc KernelConfig) []Finding {
	fs := capabilities(h)
	f := Finding{Section: SectionSecurity, Name: "seccomp", Status: OK}
	// The Seccomp line exists when the kernel has CONFIG_SECCOMP; its
	// value is this process's mode: 0 none, 1 strict, 2 filter.
	if mode, ok := statusField(h, "Seccomp"); ok {
		f.Value = "enabled (this process: mode " + mode + ")"
	} else {
		f.Status, f.Value, f.Hint = Missing, "missing", "CONFIG_SECCOMP is not set: the syscall filter of the hardening chapter (to come) cannot be installed"
	}
	fs = append(fs, f)
	return append(fs, option(h, kc, SectionSecurity, "seccomp filters", "CONFIG_SECCOMP_FILTER", "",
		"seccomp(2) can only run in strict mode: the syscall filter of the hardening chapter (to come) cannot be installed"))
}

// capabilities compares CapEff with every capability the kernel knows
// (/proc/sys/kernel/cap_last_cap).
func capabilities(h *Host) []Finding {
	f := Finding{Section: SectionSecurity, Name: "Capabilities (CapEff)"}
	mask, ok := statusField(h, "CapEff")
	if !ok {
		f.Status, f.Value, f.Hint = Warn, "unknown", "no CapEff line in /proc/self/status"
		return []Finding{f}
	}
	last := unix.CAP_LAST_CAP
	if s, ok := h.read("/proc/sys/kernel/cap_last_cap"); ok {
		if n, err := strconv.Atoi(s); err == nil {
			last = n
		}
	}
	missing, err := Capabilities(mask, last)
	if err != nil {
		f.Status, f.Value, f.Hint = Warn, "unknown", err.Error()
		return []Finding{f}
	}
	switch {
	case len(missing) == 0:
		f.Status, f.Value = OK, fmt.Sprintf("all %d", last+1)
		return []Finding{f}
	case len(missing) == last+1:
		f.Status, f.Value, f.Required = Missing, "none", true
		f.Hint = "not root: contain needs CAP_SYS_ADMIN for its namespaces and mounts, run it with sudo"
		return []Finding{f}
	}
	f.Status, f.Value = Warn, fmt.Sprintf("%d of %d", last+1-len(missing), last+1)
	f.Hint = "this process lacks the capabilities below, even as root (a container, or a bounding set narrowed by whoever started it)"
	fs := []Finding{f}
	for _, c := range missing {
		effect, ok := capEffects[c]
		if !ok {
			effect = "see capabilities(7) for what it allows"
		}
		fs = append(fs, Finding{Section: SectionSecurity, Name: CapName(c), Status: Missing, Value: "missing",
			Hint: effect, Required: c == unix.CAP_SYS_ADMIN})
	}
	return fs
}
