package checkconfig

import (
	"regexp"
	"strings"
	"sync"
)

// network reports the link types and netfilter parts that chapter 08
// uses, and which firewall commands are installed.
func network(h *Host, kc KernelConfig) []Finding {
	var fs []Finding
	for _, o := range []struct{ name, opt, module, hint string }{
		{"veth", "CONFIG_VETH", "veth", "a container's network link is a veth pair: contain net needs it"},
		{"bridge", "CONFIG_BRIDGE", "bridge", "containers on one host network share a bridge"},
		{"macvlan", "CONFIG_MACVLAN", "macvlan", "only the macvlan network mode needs it"},
		{"vxlan", "CONFIG_VXLAN", "vxlan", "only networks spanning hosts need it"},
		{"tun", "CONFIG_TUN", "tun", "only userspace networking (slirp, OVS netdev) needs it"},
		{"nf_tables", "CONFIG_NF_TABLES", "nf_tables", "NAT and port publishing with nft need it"},
		{"NAT", "CONFIG_NF_NAT", "nf_nat", "containers reach the outside through NAT (masquerade)"},
		{"iptables (x_tables)", "CONFIG_IP_NF_IPTABLES", "ip_tables", "only iptables-legacy needs it; iptables-nft uses nf_tables"},
	} {
		fs = append(fs, option(h, kc, SectionNetwork, o.name, o.opt, o.module, o.hint))
	}
	return append(fs, firewallCommands(h)...)
}

// firewallCommands reports nft and the iptables variants, and which
// backend plain `iptables` writes to: rules made through one backend are
// invisible to the other's listing.
func firewallCommands(h *Host) []Finding {
	var fs []Finding
	for _, c := range []struct{ name, pkg string }{
		{"nft", "nftables"}, {"iptables", "iptables"}, {"iptables-legacy", "iptables"}, {"iptables-nft", "iptables"},
	} {
		name := c.name
		f := Finding{Section: SectionNetwork, Name: name + " command"}
		path, err := h.LookPath(name)
		if err != nil {
			f.Status, f.Value, f.Hint = Info, "not installed", "apt-get install "+c.pkg
			fs = append(fs, f)
			continue
		}
		f.Status, f.Value = OK, path
		if name == "iptables" {
			out, _ := h.Output(path, "-V")
			version, backend := ParseIptablesVersion(out)
			switch backend {
			case "nf_tables":
				f.Value += " " + version + " (nf_tables backend)"
			case "legacy":
				f.Value += " " + version + " (legacy backend)"
				f.Status = Info
				f.Hint = "its rules go to the old x_tables, which `nft list ruleset` does not show; Debian 12 defaults to iptables-nft (update-alternatives --config iptables)"
			default:
				f.Status = Warn
				f.Hint = "iptables -V printed " + strings.TrimSpace(out) + ": cannot tell its backend"
			}
		}
		fs = append(fs, f)
	}
	return fs
}

// iptablesVersion is compiled on first use, not at start-up: every contain
// process, the container's init stage included, would pay for it.
var iptablesVersion = sync.OnceValue(func() *regexp.Regexp {
	return regexp.MustCompile(`^ip6?tables(?:-\w+)? (v[0-9.]+)(?: \((nf_tables|legacy)\))?`)
})

// ParseIptablesVersion reads the output of `iptables -V`, such as
// "iptables v1.8.9 (nf_tables)", and returns the version and the backend:
// "nf_tables" or "legacy". Before 1.8 there was only the legacy backend and
// no suffix. It returns "", "" for anything else.
func ParseIptablesVersion(out string) (version, backend string) {
	m := iptablesVersion().FindStringSubmatch(strings.TrimSpace(out))
	if m == nil {
		return "", ""
	}
	if m[2] == "" {
		return m[1], "legacy"
	}
	return m[1], m[2]
}
