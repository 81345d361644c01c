package network

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
)

// Firewall says which command writes the NAT rules: "nft" where nftables
// is installed, "iptables" where only that is (checkconfig says which).
// CONTAIN_FIREWALL=iptables forces the fallback, for its tests.
func Firewall() string {
	if f := os.Getenv("CONTAIN_FIREWALL"); f == "nft" || f == "iptables" {
		return f
	}
	if _, err := exec.LookPath("nft"); err == nil {
		return "nft"
	}
	return "iptables"
}

// Table is the nftables table that holds every rule of contain, so that
// removing them all is one command: nft delete table ip contain.
const Table = "contain"

// rule is one NAT rule, written once for both backends.
type rule struct {
	chain    string // postrouting, prerouting or output
	nft      string
	iptables string
}

// rules derives the whole rule set from the networks and their live
// leases: masquerade for each bridge network's subnet, masquerade for
// loopback traffic into the bridge, and DNAT for each published port,
// for packets from elsewhere (prerouting) and from the host itself
// (output).
func rules() ([]rule, error) {
	nets, err := List()
	if err != nil {
		return nil, err
	}
	var rs []rule
	for _, n := range nets {
		if n.Driver != DriverBridge {
			continue
		}
		rs = append(rs,
			rule{"postrouting",
				fmt.Sprintf("ip saddr %s oifname != %q masquerade", n.Subnet, n.Name),
				fmt.Sprintf("-s %s ! -o %s -j MASQUERADE", n.Subnet, n.Name)},
			rule{"postrouting",
				fmt.Sprintf("ip saddr 127.0.0.0/8 oifname %q masquerade", n.Name),
				fmt.Sprintf("-s 127.0.0.0/8 -o %s -j MASQUERADE", n.Name)})
		leases, err := Leases(n.Name)
		if err != nil {
			return nil, err
		}
		for _, l := range leases {
			for _, p := range l.Ports {
				for _, chain := range []string{"prerouting", "output"} {
					rs = append(rs, rule{chain,
						fmt.Sprintf("fib daddr type local %s dport %d dnat to %s:%d", p.Proto, p.HostPort, l.IP, p.CtrPort),
						fmt.Sprintf("-m addrtype --dst-type LOCAL -p %s --dport %d -j DNAT --to-destination %s:%d", p.Proto, p.HostPort, l.IP, p.CtrPort)})
				}
			}
		}
	}
	return rs, nil
}

// nftChains are the base chains of the table: nat hooks at the usual
// priorities (nft(8), "CHAINS").
var nftChains = []struct{ name, hook, prio string }{
	{"prerouting", "prerouting", "dstnat"},
	{"output", "output", "-100"},
	{"postrouting", "postrouting", "srcnat"},
}

// NftRuleset returns the nft script that replaces table ip contain with
// rs in one transaction, or only deletes it when rs is empty. "table ip
// contain" before the delete makes the delete succeed when the table does
// not exist yet.
func nftRuleset(rs []rule) string {
	var b strings.Builder
	fmt.Fprintf(&b, "table ip %s\ndelete table ip %s\n", Table, Table)
	if len(rs) == 0 {
		return b.String()
	}
	fmt.Fprintf(&b, "table ip %s {\n", Table)
	for _, c := range nftChains {
		fmt.Fprintf(&b, "\tchain %s {\n\t\ttype nat hook %s priority %s; policy accept;\n", c.name, c.hook, c.prio)
		for _, r := range rs {
			if r.chain == c.name {
				fmt.Fprintf(&b, "\t\t%s\n", r.nft)
			}
		}
		b.WriteString("\t}\n")
	}
	b.WriteString("}\n")
	return b.String()
}

// iptablesChains are contain's own chains in the nat table, each jumped
// to from the built-in chain of the same hook.
var iptablesChains = map[string]string{"prerouting": "CONTAIN-PRE", "output": "CONTAIN-OUT", "postrouting": "CONTAIN-POST"}

// iptablesScript returns the iptables commands that empty contain's
// chains and refill them with rs, or remove the chains when rs is empty.
func iptablesScript(rs []rule) [][]string {
	var cmds [][]string
	for _, hook := range []string{"prerouting", "output", "postrouting"} {
		own, builtin := iptablesChains[hook], strings.ToUpper(hook)
		// -D and -X fail harmlessly when there is nothing to delete.
		cmds = append(cmds,
			[]string{"-t", "nat", "-D", builtin, "-j", own},
			[]string{"-t", "nat", "-F", own},
			[]string{"-t", "nat", "-X", own})
		if len(rs) == 0 {
			continue
		}
		cmds = append(cmds, []string{"-t", "nat", "-N", own})
		for _, r := range rs {
			if r.chain == hook {
				cmds = append(cmds, append([]string{"-t", "nat", "-A", own}, strings.Fields(r.iptables)...))
			}
		}
		cmds = append(cmds, []string{"-t", "nat", "-A", builtin, "-j", own})
	}
	return cmds
}

// Sync rewrites contain's NAT rules from the networks and live leases.
// The caller holds Lock. With no bridge network left, it removes them.
// Rules of the other backend, left by a run that used it, are removed.
//
// Equivalent to: nft -f - <<< "$(contain's rule set)"
func Sync() error {
	rs, err := rules()
	if err != nil {
		return err
	}
	if Firewall() == "nft" {
		removeIptables()
		return nft(nftRuleset(rs))
	}
	if _, err := exec.LookPath("nft"); err == nil {
		nft(nftRuleset(nil))
	}
	noteNatTable(len(rs) > 0)
	for _, args := range iptablesScript(rs) {
		out, err := exec.Command("iptables", append([]string{"-w"}, args...)...).CombinedOutput()
		deleting := args[2] == "-D" || args[2] == "-F" || args[2] == "-X"
		if err != nil && !deleting {
			return fmt.Errorf("iptables %s: %v: %s", strings.Join(args, " "), err, bytes.TrimSpace(out))
		}
	}
	return nil
}

// nft runs an nft script.
func nft(script string) error {
	cmd := exec.Command("nft", "-f", "-")
	cmd.Stdin = strings.NewReader(script)
	if out, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("nft -f: %v: %s", err, bytes.TrimSpace(out))
	}
	return nil
}

// RemoveRules deletes every rule contain made, with both backends where
// they exist: a reset must not depend on which one made them.
//
// Equivalent to: nft delete table ip contain; iptables -t nat -X CONTAIN-...
func RemoveRules() error {
	removeIptables()
	if _, err := exec.LookPath("nft"); err == nil {
		return nft(nftRuleset(nil))
	}
	return nil
}

// removeIptables removes contain's iptables chains, if there are any:
// with iptables-nft, even a failing -D creates the nat table it looks in.
func removeIptables() {
	out, err := exec.Command("iptables-save", "-t", "nat").Output()
	if err != nil || !bytes.Contains(out, []byte(":CONTAIN-")) {
		return
	}
	for _, args := range iptablesScript(nil) {
		exec.Command("iptables", append([]string{"-w"}, args...)...).Run()
	}
	noteNatTable(false)
}

// natCreated, in StateDir, says that iptables-nft created nftables' "table
// ip nat" for contain's chains: it does so on the first -N and never
// removes it, so contain deletes it again with its last chain.
const natCreated = "iptables-nat.created"

// noteNatTable is called before contain's iptables chains are filled
// (using) or removed (!using). Equivalent to: nft list table ip nat.
func noteNatTable(using bool) {
	marker := filepath.Join(StateDir, natCreated)
	if _, err := exec.LookPath("nft"); err != nil {
		return // iptables-legacy only: nothing of nftables to tidy
	}
	exists := exec.Command("nft", "list", "table", "ip", "nat").Run() == nil
	if using {
		if !exists {
			os.WriteFile(marker, nil, 0o644)
		}
		return
	}
	if _, err := os.Stat(marker); err == nil && exists {
		exec.Command("nft", "delete", "table", "ip", "nat").Run()
	}
	os.Remove(marker)
}
