package cli_test

import (
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/contain-dev/contain/tool/internal/state"
	"github.com/contain-dev/contain/tool/testkit"
)

// soakCount is how many kills TestKillSoak makes: CONTAIN_SOAK_N when
// set (300 for the figures in the closing note of issue 13), else 20, or
// 5 on a machine where one container start takes over half a second, as
// under the VM stage's software emulation.
func soakCount(t *testing.T, rootfs string) int {
	if s := os.Getenv("CONTAIN_SOAK_N"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 1 {
			t.Fatalf("CONTAIN_SOAK_N=%q: give a count above 0", s)
		}
		return n
	}
	start := time.Now()
	if res := runIn(t, rootfs, []string{"--net", "none"}, "true"); res.Code != 0 {
		t.Fatal(res)
	}
	if d := time.Since(start); d > 500*time.Millisecond {
		t.Logf("one start takes %v: a slow machine, 5 kills", d)
		return 5
	}
	return 20
}

// TestKillSoak starts containers on a bridge network with a published
// port and a limit, and kills each contain with SIGKILL at a random moment
// of its first 600 ms: before its record, while its namespaces, cgroup,
// veth and rules are being made, or while the command runs. One more
// contain run then finds every dead record at once (no owner holds its
// lock) and cleans up after it: no record, cgroup, link, lease, rule,
// network file or mount may be left.
func TestKillSoak(t *testing.T) {
	cgroupTest(t) // root, mounts and cgroups as before when it ends
	checkNetClean(t)
	rootfs := testkit.Rootfs(t)
	netName := "cks" + testID
	newNetwork(t, netName)
	contain := testkit.Contain(t)
	n := soakCount(t, rootfs)
	seed := uint64(time.Now().UnixNano())
	rng := rand.New(rand.NewPCG(seed, 0))
	t.Logf("%d kills, seed %d", n, seed)
	prefix := uniqueName(t, "soak")
	began := time.Now()
	for i := range n {
		c := exec.Command(contain, "run", "--rootfs", rootfs, "--name", fmt.Sprintf("%s%d", prefix, i),
			"--net", "bridge="+netName, "-p", "18500:80", "--pids-limit", "32", "--", "sleep", "5")
		if err := c.Start(); err != nil {
			t.Fatal(err)
		}
		time.Sleep(time.Duration(rng.IntN(600)) * time.Millisecond)
		c.Process.Kill()
		c.Wait()
	}
	killed := time.Since(began)
	if res := runIn(t, rootfs, []string{"--net", "bridge=" + netName}, "true"); res.Code != 0 {
		t.Fatalf("the run after the kills: %s", res)
	}
	t.Logf("%d kills in %v, then one run in %v", n, killed.Round(time.Millisecond), (time.Since(began) - killed).Round(time.Millisecond))

	// What cgroupTest and checkNetClean do not see: records, leases,
	// veths on the network's bridge, the port's rule, network files.
	var left []string
	names, _ := state.List()
	for _, name := range names {
		if strings.HasPrefix(name, prefix) {
			left = append(left, "record "+name)
		}
	}
	locks, _ := filepath.Glob(filepath.Join(state.Dir, prefix+"*"))
	files, _ := filepath.Glob(filepath.Join("/run/contain/net", prefix+"*"))
	left = append(append(left, locks...), files...)
	// The cleaner deletes the veths its records name; one made by an
	// Attach that was killed before it returned is the kernel's to
	// destroy with its namespace, in deferred work: give it a moment.
	var links string
	for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
		if links = strings.TrimSpace(sh(t, "ip -o link show master "+netName)); links == "" {
			break
		}
	}
	if links != "" {
		left = append(left, "links on "+netName+": "+links)
	}
	if res := testkit.Run(t, contain, "net", "inspect", netName); !strings.Contains(res.Stdout, `"containers": []`) {
		left = append(left, "leases: "+res.Stdout)
	}
	if out := testkit.Run(t, "nft", "list", "table", "ip", "contain").Stdout; strings.Contains(out, "18500") {
		left = append(left, "rule: "+out)
	}
	if len(left) > 0 {
		t.Errorf("left after %d kills and one run:\n%s", n, strings.Join(left, "\n"))
	}
}
