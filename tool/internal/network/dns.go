package network

import (
	"bufio"
	"bytes"
	"fmt"
	"net/netip"
	"strings"
)

// ResolvConf returns the container's /etc/resolv.conf. With servers (from
// --dns) it names them; otherwise it keeps the host's nameserver and
// search lines, less loopback servers (127.0.0.53 of systemd-resolved, a
// local dnsmasq): in the container's namespace, 127.0.0.1 is the
// container itself.
func ResolvConf(host []byte, servers []netip.Addr) []byte {
	var b bytes.Buffer
	b.WriteString("# written by contain\n")
	if len(servers) > 0 {
		for _, s := range servers {
			fmt.Fprintf(&b, "nameserver %s\n", s)
		}
		return b.Bytes()
	}
	sc := bufio.NewScanner(bytes.NewReader(host))
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		if len(f) < 2 {
			continue
		}
		switch f[0] {
		case "nameserver":
			if a, err := netip.ParseAddr(f[1]); err != nil || a.IsLoopback() {
				fmt.Fprintf(&b, "# %s: loopback on the host, unreachable from the container\n", sc.Text())
				continue
			}
			fmt.Fprintln(&b, sc.Text())
		case "search", "domain", "options":
			fmt.Fprintln(&b, sc.Text())
		}
	}
	return b.Bytes()
}

// Hosts returns the container's /etc/hosts: localhost, and its names on
// its address.
func Hosts(names []string, ip netip.Addr) []byte {
	var b bytes.Buffer
	b.WriteString("127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost ip6-loopback\n")
	if len(names) > 0 && ip.IsValid() {
		fmt.Fprintf(&b, "%s\t%s\n", ip, strings.Join(names, " "))
	}
	return b.Bytes()
}
