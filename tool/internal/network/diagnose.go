package network

import (
	"bufio"
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"strings"
)

// Diagnose explains why containers on n could not reach beyond the host:
// forwarding off, or a forward chain whose policy drops. These are the two
// places where users of container tutorials get stuck, because nothing
// fails: packets just vanish. It returns one sentence per problem, and
// nothing when it finds none.
//
// Equivalent to: sysctl net.ipv4.ip_forward; nft list chains; iptables -S FORWARD
func Diagnose(n *Network) []string {
	var probs []string
	if b, err := os.ReadFile(ipForward); err == nil && strings.TrimSpace(string(b)) != "1" {
		probs = append(probs, "net.ipv4.ip_forward is 0: the host does not route the containers' packets; fix: sysctl -w net.ipv4.ip_forward=1")
	}
	for _, c := range dropForwardChains() {
		probs = append(probs, fmt.Sprintf("chain %s has policy drop on the forward hook: packets from and to %s are dropped unless a rule there accepts them; fix: %s",
			c, n.Subnet, acceptHint(c, n)))
	}
	return probs
}

// dropForwardChains lists the base chains on the forward hook whose
// policy is drop, as "ip filter FORWARD": from nft's listing, which
// includes iptables-nft's chains, or from iptables -S where nft is absent.
func dropForwardChains() []string {
	var found []string
	if out, err := exec.Command("nft", "list", "chains").Output(); err == nil {
		found = parseNftChains(out)
	} else if out, err := exec.Command("iptables", "-S", "FORWARD").Output(); err == nil && bytes.HasPrefix(out, []byte("-P FORWARD DROP")) {
		found = append(found, "ip filter FORWARD")
	}
	return found
}

// parseNftChains reads `nft list chains` and returns the forward-hook
// chains with policy drop.
func parseNftChains(out []byte) []string {
	var found []string
	var table, chain string
	sc := bufio.NewScanner(bytes.NewReader(out))
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		switch {
		case len(f) >= 3 && f[0] == "table":
			table = f[1] + " " + f[2]
		case len(f) >= 2 && f[0] == "chain":
			chain = f[1]
		case len(f) > 0 && f[0] == "type" && strings.Contains(sc.Text(), "hook forward") && strings.Contains(sc.Text(), "policy drop"):
			found = append(found, table+" "+chain)
		}
	}
	return found
}

// acceptHint is the command that lets n's traffic through chain c, as
// "family table chain".
func acceptHint(c string, n *Network) string {
	return fmt.Sprintf("nft insert rule %s iifname %q accept; nft insert rule %s oifname %q ct state established,related accept", c, n.Name, c, n.Name)
}
