package network

import (
	"net/netip"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestParsePort(t *testing.T) {
	tests := []struct {
		in   string
		want Port
		err  string
	}{
		{"8080:80", Port{"tcp", 8080, 80}, ""},
		{"5353:53/udp", Port{"udp", 5353, 53}, ""},
		{"80", Port{}, "write HOSTPORT:CTRPORT"},
		{"0:80", Port{}, "from 1 to 65535"},
		{"8080:80/sctp", Port{}, `protocol "sctp"`},
	}
	for _, tt := range tests {
		got, err := ParsePort(tt.in)
		if tt.err != "" {
			if err == nil || !strings.Contains(err.Error(), tt.err) {
				t.Errorf("ParsePort(%q) error = %v, want one containing %q", tt.in, err, tt.err)
			}
			continue
		}
		if err != nil {
			t.Errorf("ParsePort(%q): %v", tt.in, err)
		}
		if diff := cmp.Diff(tt.want, got); diff != "" {
			t.Errorf("ParsePort(%q) (-want +got):\n%s", tt.in, diff)
		}
	}
}

func TestNewNetwork(t *testing.T) {
	tests := []struct {
		name, subnet, err string
	}{
		{"web", "10.213.7.0/24", ""},
		{"a-very-long-bridge", "10.213.7.0/24", "at most 15"},
		{"0web", "10.213.7.0/24", "starting with a letter"},
		{"web", "10.213.7.1/24", "did you mean 10.213.7.0/24"},
		{"web", "10.0.0.0/30", "between /8 and /29"},
	}
	for _, tt := range tests {
		n, err := NewNetwork(tt.name, DriverBridge, netip.MustParsePrefix(tt.subnet), false)
		if tt.err == "" {
			if err != nil || n.Gateway != netip.MustParseAddr("10.213.7.1") {
				t.Errorf("NewNetwork(%s, %s) = %+v, %v", tt.name, tt.subnet, n, err)
			}
			continue
		}
		if err == nil || !strings.Contains(err.Error(), tt.err) {
			t.Errorf("NewNetwork(%s, %s) error = %v, want one containing %q", tt.name, tt.subnet, err, tt.err)
		}
	}
}

func TestNftRuleset(t *testing.T) {
	rs := []rule{
		{"postrouting", `ip saddr 10.213.0.0/24 oifname != "contain0" masquerade`, ""},
		{"prerouting", "fib daddr type local tcp dport 8080 dnat to 10.213.0.2:80", ""},
	}
	want := `table ip contain
delete table ip contain
table ip contain {
	chain prerouting {
		type nat hook prerouting priority dstnat; policy accept;
		fib daddr type local tcp dport 8080 dnat to 10.213.0.2:80
	}
	chain output {
		type nat hook output priority -100; policy accept;
	}
	chain postrouting {
		type nat hook postrouting priority srcnat; policy accept;
		ip saddr 10.213.0.0/24 oifname != "contain0" masquerade
	}
}
`
	if diff := cmp.Diff(want, nftRuleset(rs)); diff != "" {
		t.Errorf("nftRuleset (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff("table ip contain\ndelete table ip contain\n", nftRuleset(nil)); diff != "" {
		t.Errorf("nftRuleset(nil) (-want +got):\n%s", diff)
	}
}

func TestParseNftChains(t *testing.T) {
	out := `table ip filter {
	chain INPUT {
		type filter hook input priority filter; policy drop;
	}
	chain FORWARD {
		type filter hook forward priority filter; policy drop;
	}
}
table inet fw {
	chain fwd {
		type filter hook forward priority 0; policy accept;
	}
}
`
	if diff := cmp.Diff([]string{"ip filter FORWARD"}, parseNftChains([]byte(out))); diff != "" {
		t.Errorf("parseNftChains (-want +got):\n%s", diff)
	}
}

func TestResolvConf(t *testing.T) {
	host := "nameserver 127.0.0.53\nnameserver 192.0.2.53\nsearch example.org\n"
	tests := []struct {
		name    string
		servers []netip.Addr
		want    string
	}{
		{"host's, less loopback", nil, "# written by contain\n# nameserver 127.0.0.53: loopback on the host, unreachable from the container\nnameserver 192.0.2.53\nsearch example.org\n"},
		{"--dns", []netip.Addr{netip.MustParseAddr("198.51.100.1")}, "# written by contain\nnameserver 198.51.100.1\n"},
	}
	for _, tt := range tests {
		if diff := cmp.Diff(tt.want, string(ResolvConf([]byte(host), tt.servers))); diff != "" {
			t.Errorf("%s (-want +got):\n%s", tt.name, diff)
		}
	}
}

// TestCheckName checks the network names that can and cannot become a
// bridge's link name.
func TestCheckName(t *testing.T) {
	tests := []struct {
		name string
		err  string // "" when the name is good
	}{
		{"contain0", ""},
		{"a", ""},
		{"Br-1.x_y", ""},
		{"abcdefghijklmno", ""}, // 15 bytes, IFNAMSIZ-1
		{"abcdefghijklmnop", "16 characters"},
		{"", "use letters"},
		{"0net", "use letters"},
		{"-net", "use letters"},
		{"my net", "use letters"},
		{"net/1", "use letters"},
		{"réseau", "use letters"},
	}
	for _, tt := range tests {
		err := CheckName(tt.name)
		got := ""
		if err != nil {
			got = err.Error()
		}
		if tt.err == "" && err != nil || tt.err != "" && !strings.Contains(got, tt.err) {
			t.Errorf("CheckName(%q) = %v, want an error containing %q (none if empty)", tt.name, err, tt.err)
		}
	}
}
