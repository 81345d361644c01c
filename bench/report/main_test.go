package main

import (
	"os"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// fixture is a real export: bench/run.sh --runs 5 on the project machine.
func fixture(t *testing.T) string {
	t.Helper()
	b, err := os.ReadFile("testdata/hyperfine.json")
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func TestReport(t *testing.T) {
	tests := []struct {
		name    string
		json    string
		base    string
		targets []Target
		want    string // the whole report
		wantErr string // a part of the error, when Report must fail
	}{
		{
			name:    "all tools, targets missed",
			json:    fixture(t),
			base:    "contain",
			targets: Targets,
			want: `tool                median     mean ± σ          contain/tool   tool/contain
contain             12.69 ms   13.46 ± 1.70 ms   1.00×          1.00×
unshare             2.26 ms    2.25 ± 0.15 ms    5.62×          0.18×
lxc-start           11.77 ms   10.92 ± 1.57 ms   1.08×          0.93×
crun                9.64 ms    12.24 ± 6.30 ms   1.32×          0.76×
crun (no cgroups)   8.08 ms    8.03 ± 0.30 ms    1.57×          0.64×
runc                25.31 ms   24.41 ± 4.97 ms   0.50×          1.99×

contain/tool is contain's median over the tool's: 0.50× means contain takes half the tool's time.
tool/contain is the other way round: how many times contain's median the tool takes.

targets:
  contain ≤ 0.8× of lxc-start's median: NOT met, contain is 1.08× of lxc-start's median
  contain ≤ 0.6× of crun's median: NOT met, contain is 1.32× of crun's median
`,
		},
		{
			name: "one target met, one peer missing",
			json: `{"results": [
				{"command": "contain", "mean": 0.0042, "stddev": 0.0003, "median": 0.004},
				{"command": "lxc-start", "mean": 0.0105, "stddev": 0.001, "median": 0.01}
			]}`,
			base:    "contain",
			targets: Targets,
			want: `tool        median     mean ± σ          contain/tool   tool/contain
contain     4.00 ms    4.20 ± 0.30 ms    1.00×          1.00×
lxc-start   10.00 ms   10.50 ± 1.00 ms   0.40×          2.50×

contain/tool is contain's median over the tool's: 0.50× means contain takes half the tool's time.
tool/contain is the other way round: how many times contain's median the tool takes.

targets:
  contain ≤ 0.8× of lxc-start's median: met, contain is 0.40× of lxc-start's median
  contain ≤ 0.6× of crun's median: not measured (crun did not run)
`,
		},
		{
			name:    "exactly on the target counts as met",
			json:    `{"results": [{"command": "a", "median": 0.006}, {"command": "b", "median": 0.01}]}`,
			base:    "a",
			targets: []Target{{Peer: "b", Max: 0.6}},
			want: `tool   median     mean ± σ         a/tool   tool/a
a      6.00 ms    0.00 ± 0.00 ms   1.00×    1.00×
b      10.00 ms   0.00 ± 0.00 ms   0.60×    1.67×

a/tool is a's median over the tool's: 0.50× means a takes half the tool's time.
tool/a is the other way round: how many times a's median the tool takes.

targets:
  a ≤ 0.6× of b's median: met, a is 0.60× of b's median
`,
		},
		{name: "base missing", json: fixture(t), base: "podman", wantErr: `no command named "podman"`},
		{name: "base median zero", json: `{"results": [{"command": "contain"}]}`, base: "contain", wantErr: "median of 0"},
		{name: "not JSON", json: `Benchmark 1: contain`, base: "contain", wantErr: "not a hyperfine JSON export"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var out strings.Builder
			err := Report(&out, []byte(tt.json), tt.base, tt.targets)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("Report error = %v, want one containing %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tt.want, out.String()); diff != "" {
				t.Errorf("report (-want +got):\n%s", diff)
			}
		})
	}
}
