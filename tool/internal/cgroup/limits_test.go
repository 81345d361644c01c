package cgroup

import (
	"errors"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestParseSize(t *testing.T) {
	for in, want := range map[string]int64{"512": 512, "64k": 64 << 10, "32M": 32 << 20, "1G": 1 << 30, "1.5m": 3 << 19, "2MiB": 2 << 20} {
		got, err := ParseSize(in)
		if err != nil || got != want {
			t.Errorf("ParseSize(%q) = %d, %v; want %d", in, got, err, want)
		}
	}
	for _, in := range []string{"", "x", "-1", "12q"} {
		if _, err := ParseSize(in); err == nil {
			t.Errorf("ParseSize(%q): no error", in)
		}
	}
}

func TestCPUList(t *testing.T) {
	got, err := ParseCPUList("0-2,4\n")
	if diff := cmp.Diff([]int{0, 1, 2, 4}, got); diff != "" || err != nil {
		t.Errorf("ParseCPUList: %v (-want +got):\n%s", err, diff)
	}
	if s := FormatCPUList(got); s != "0-2,4" {
		t.Errorf("FormatCPUList = %q", s)
	}
	for _, in := range []string{"", "a", "3-1", "-1"} {
		if _, err := ParseCPUList(in); err == nil {
			t.Errorf("ParseCPUList(%q): no error", in)
		}
	}
}

// TestValidate checks each bad limit against a layout without memory and
// blkio, so that "controller not mounted" is tested on any host.
func TestValidate(t *testing.T) {
	noMemory := &Layout{Mode: V2, V1: map[string]string{}, V2: t.TempDir(), V2Controllers: []string{"cpu", "cpuset", "pids"}}
	full := &Layout{Mode: V2, V1: map[string]string{}, V2: t.TempDir(), V2Controllers: []string{"cpu", "cpuset", "io", "memory", "pids"}}
	online := []int{0, 1}
	tests := []struct {
		name string
		lay  *Layout
		l    Limits
		want string // part of the error, "" for none
	}{
		{"memory below the minimum", full, Limits{Memory: 1 << 10}, "memory 1k is below 6M"},
		{"memory not mounted", noMemory, Limits{Memory: 64 << 20}, "needs the memory cgroup controller"},
		{"swap without memory", full, Limits{MemorySwap: 64 << 20}, "memory_swap needs memory"},
		{"swap below memory", full, Limits{Memory: 64 << 20, MemorySwap: 32 << 20}, "is below memory 64M"},
		{"negative cpus", full, Limits{CPUs: -1}, "out of range"},
		{"more cpus than the host", full, Limits{CPUs: 3}, "give 0.01 to 2"},
		{"cpuset off the host", full, Limits{CpusetCPUs: "7"}, "CPU 7 is not online; this host has CPUs 0-1"},
		{"shares and weight", full, Limits{CPUShares: 512, CPUWeight: 50}, "give one"},
		{"io without io controller", noMemory, Limits{IOWeight: 100}, "needs the blkio (v1) or io (v2)"},
		{"all fine", full, Limits{Memory: 64 << 20, MemorySwap: -1, CPUs: 0.5, CpusetCPUs: "0-1", PidsLimit: 10, CPUWeight: 50}, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.l.Validate(tt.lay, online)
			switch {
			case tt.want == "" && err != nil:
				t.Errorf("unexpected error: %v", err)
			case tt.want != "" && (err == nil || !strings.Contains(err.Error(), tt.want)):
				t.Errorf("error %v, want one containing %q", err, tt.want)
			}
		})
	}
}

// TestLimitErrorText checks that Text renames every limit of a message,
// those joined by "/" included, and leaves the values alone, and that
// Controller is set where the message offers to mount one.
func TestLimitErrorText(t *testing.T) {
	noCPU := &Layout{Mode: V2, V1: map[string]string{}, V2: t.TempDir(), V2Controllers: []string{"memory"}}
	full := &Layout{Mode: V2, V1: map[string]string{}, V2: t.TempDir(), V2Controllers: []string{"cpu", "cpuset", "io", "memory", "pids"}}
	upper := func(name string) string { return "<" + strings.ToUpper(name) + ">" }
	tests := []struct {
		name       string
		lay        *Layout
		l          Limits
		want       string
		controller string
	}{
		{"two limits", full, Limits{Memory: 64 << 20, MemorySwap: 32 << 20},
			"<MEMORY_SWAP> 32M is below <MEMORY> 64M: it counts memory plus swap, so give at least as much", ""},
		{"a group of limits", noCPU, Limits{CPUShares: 512},
			"<CPUS>/<CPU_SHARES>/<CPU_WEIGHT> needs the cpu cgroup controller, which this host does not mount: drop <CPUS>/<CPU_SHARES>/<CPU_WEIGHT>, or mount it", "cpu"},
		{"a value that looks like a name", full, Limits{CpusetCPUs: "memory"},
			`<CPUSET_CPUS>: "memory" is not a CPU list: write CPUs like 0 or 0-1 or 0,2`, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var e *LimitError
			if err := tt.l.Validate(tt.lay, []int{0, 1}); !errors.As(err, &e) {
				t.Fatalf("Validate = %v, want a *LimitError", err)
			}
			if diff := cmp.Diff(tt.want, e.Text(upper)); diff != "" {
				t.Errorf("Text (-want +got):\n%s", diff)
			}
			if e.Controller != tt.controller {
				t.Errorf("Controller = %q, want %q", e.Controller, tt.controller)
			}
		})
	}
}
