package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/contain-dev/contain/tool/testkit"
)

// TestLimits runs the step against each of its limits and checks that
// the command hit it, and that no node is left behind.
func TestLimits(t *testing.T) {
	testkit.RequireRoot(t)
	step := testkit.Bin(t, "./steps/07-cgroups")
	tests := []struct {
		name   string
		args   []string
		code   int
		stderr string
		stdout string
	}{
		{"a memory hog is OOM-killed", []string{"32M", "20", "tail", "/dev/zero"}, 137, "the OOM killer killed 1 process(es) at 32M", ""},
		// bash retries a fork that fails with EAGAIN, and says so.
		{"forks wait at pids.max", []string{"64M", "20", "bash", "-c", "for i in $(seq 40); do sleep 0.2 & done; wait; echo done"}, 0, "fork: retry: Resource temporarily unavailable", "done"},
		{"within the limits nothing happens", []string{"64M", "20", "sh", "-c", "for i in 1 2 3; do sleep 0 & done; wait; echo fine"}, 0, "", "fine"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := testkit.Run(t, step, tt.args...)
			if r.Code != tt.code || !strings.Contains(r.Stderr, tt.stderr) || !strings.Contains(r.Stdout, tt.stdout) {
				t.Errorf("want exit %d, stderr with %q:\n%s", tt.code, tt.stderr, r)
			}
			left, _ := filepath.Glob("/sys/fs/cgroup/*/step-*")
			more, _ := filepath.Glob("/sys/fs/cgroup/step-*")
			if left = append(left, more...); len(left) > 0 {
				t.Errorf("nodes left behind: %v", left)
				for _, d := range left {
					os.Remove(d)
				}
			}
		})
	}
}
