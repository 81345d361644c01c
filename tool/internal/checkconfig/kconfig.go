package checkconfig

import (
	"bufio"
	"compress/gzip"
	"io"
	"os"
	"strings"
)

// KernelConfig is the running kernel's build configuration: option name
// ("CONFIG_VETH") to value ("y", "m", "n", a number or a string).
type KernelConfig struct {
	// Source is the file it came from, "" when none was found.
	Source  string
	Options map[string]string
}

// LoadKernelConfig reads /proc/config.gz (kernels built with
// CONFIG_IKCONFIG_PROC) or else /boot/config-RELEASE, where Debian installs
// it. Equivalent to: zcat /proc/config.gz || cat /boot/config-$(uname -r)
func LoadKernelConfig(h *Host) KernelConfig {
	if f, err := os.Open(h.path("/proc/config.gz")); err == nil {
		defer f.Close()
		if z, err := gzip.NewReader(f); err == nil {
			return KernelConfig{Source: "/proc/config.gz", Options: parseKernelConfig(z)}
		}
	}
	release, _ := h.read("/proc/sys/kernel/osrelease")
	name := "/boot/config-" + release
	if f, err := os.Open(h.path(name)); err == nil && release != "" {
		defer f.Close()
		return KernelConfig{Source: name, Options: parseKernelConfig(f)}
	}
	return KernelConfig{}
}

// parseKernelConfig reads "CONFIG_X=y" lines; "# CONFIG_X is not set"
// becomes "n".
func parseKernelConfig(r io.Reader) map[string]string {
	opts := map[string]string{}
	sc := bufio.NewScanner(r)
	for sc.Scan() {
		l := sc.Text()
		if name, ok := strings.CutPrefix(l, "# "); ok {
			if name, ok := strings.CutSuffix(name, " is not set"); ok {
				opts[name] = "n"
			}
			continue
		}
		if name, v, ok := strings.Cut(l, "="); ok && strings.HasPrefix(name, "CONFIG_") {
			opts[name] = strings.Trim(v, `"`)
		}
	}
	return opts
}

// option reports a kernel option the way lxc-checkconfig does: "enabled"
// when built in, "enabled as module, loaded" or ", not loaded" when it is a
// module (loaded modules appear in /sys/module), "missing" otherwise. With
// no config at all, a loaded module or a filesystem in /proc/filesystems
// still shows it is there; else it is unknown.
func option(h *Host, kc KernelConfig, section, name, opt, module, hint string) Finding {
	f := Finding{Section: section, Name: name}
	loaded := module != "" && h.exists("/sys/module/"+module)
	switch v := kc.Options[opt]; {
	case v == "y":
		f.Status, f.Value = OK, "enabled"
	case v == "m" && loaded:
		f.Status, f.Value = OK, "enabled as module, loaded"
	case v == "m":
		f.Status, f.Value, f.Hint = OK, "enabled as module, not loaded", "it loads on first use, or: modprobe "+module
	case kc.Source == "" && loaded:
		f.Status, f.Value = OK, "enabled (module "+module+" loaded)"
	case kc.Source == "":
		f.Status, f.Value, f.Hint = Warn, "unknown", opt+": no kernel config to read; "+hint
	default:
		f.Status, f.Value, f.Hint = Missing, "missing", opt+" is not set: "+hint
	}
	return f
}
