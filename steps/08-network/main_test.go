package main

import (
	"os/exec"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/contain-dev/contain/tool/testkit"
)

// TestRun runs a command in the step's network namespace and checks its
// address, that it reaches the bridge, and that nothing is left.
func TestRun(t *testing.T) {
	testkit.RequireRoot(t)
	step := testkit.Bin(t, "./steps/08-network")
	res := testkit.Run(t, step, "run", "st08t", "10.213.76.0/24", "sh", "-c",
		`ip -4 -o addr show eth0 | cut -d" " -f2,7; busybox ping -c1 -W2 10.213.76.1 >/dev/null && echo reached`)
	if diff := cmp.Diff("eth0 10.213.76.2/24\nreached\n", res.Stdout); diff != "" {
		t.Errorf("inside (-want +got):\n%s\n%s", diff, res)
	}
	if exec.Command("ip", "link", "show", "st08t").Run() == nil {
		t.Error("bridge st08t left on the host")
	}
	if out, _ := exec.Command("nft", "list", "tables").Output(); strings.Contains(string(out), "step08") {
		t.Error("table ip step08 left on the host")
	}
}

// TestRawVeth checks the sidebar's message: RTM_NEWLINK (16), the veth
// kind and both names.
func TestRawVeth(t *testing.T) {
	res := testkit.Run(t, testkit.Bin(t, "./steps/08-network"), "rawveth")
	for _, want := range []string{"5c 00 00 00 10 00 05 06", "|....veth0...0...|", "|....eth0....|"} {
		if !strings.Contains(res.Stdout, want) {
			t.Errorf("rawveth output lacks %q:\n%s", want, res.Stdout)
		}
	}
}
