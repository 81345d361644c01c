package testkit

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// TestPairwise checks the covering property on tables with and without
// constraints: every allowed pair of values of two factors is in a row,
// every row is complete and allowed, the refused pairs and those no row
// can hold come back as invalid, and a second run gives the same table.
func TestPairwise(t *testing.T) {
	bin := []string{"off", "on"}
	tests := []struct {
		name     string
		factors  []Factor
		excluded [][2]string
		maxRows  int // the full product, or what a good table stays under
		invalid  []string
	}{
		{"three binary", []Factor{{"a", bin}, {"b", bin}, {"c", bin}}, nil, 4, nil},
		{"four of three", []Factor{{"a", []string{"1", "2", "3"}}, {"b", []string{"1", "2", "3"}}, {"c", []string{"1", "2", "3"}}, {"d", []string{"1", "2", "3"}}}, nil, 12, nil},
		{"run's shape", []Factor{
			{"userns", []string{"off", "on", "rootless"}}, {"net", []string{"none", "host", "bridge", "ovs"}},
			{"publish", bin}, {"dns", bin}, {"limits", bin}, {"init", bin}, {"time", bin}, {"hostname", bin},
		}, [][2]string{
			{"net=host", "userns=on|rootless"}, {"userns=rootless", "net=bridge|ovs"}, {"userns=rootless", "limits=on"},
			{"net=none|host|ovs", "publish=on"}, {"net=none|host", "dns=on"},
		}, 16, []string{
			"userns=on,net=host", "userns=rootless,net=host", "userns=rootless,net=bridge", "userns=rootless,net=ovs",
			"userns=rootless,limits=on", "net=none,publish=on", "net=host,publish=on", "net=ovs,publish=on",
			"net=none,dns=on", "net=host,dns=on",
			// impossible in a whole row: rootless leaves only --net none
			"userns=rootless,publish=on", "userns=rootless,dns=on",
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			valid := Excluded(tt.excluded...)
			rows, invalid, err := Pairwise(tt.factors, valid)
			if err != nil {
				t.Fatal(err)
			}
			var gotInvalid []string
			for _, p := range invalid {
				gotInvalid = append(gotInvalid, p.String())
			}
			if diff := cmp.Diff(tt.invalid, gotInvalid); diff != "" {
				t.Errorf("invalid pairs (-want +got):\n%s", diff)
			}
			if len(rows) > tt.maxRows {
				t.Errorf("%d rows, want at most %d", len(rows), tt.maxRows)
			}
			for _, r := range rows {
				if len(r) != len(tt.factors) || !valid(r) {
					t.Errorf("row %s is incomplete or not allowed", r.String(tt.factors))
				}
			}
			for i, fa := range tt.factors {
				for _, fb := range tt.factors[i+1:] {
					for _, va := range fa.Values {
						for _, vb := range fb.Values {
							found := false
							for _, p := range invalid {
								found = found || p == Pair{[2]string{fa.Name, va}, [2]string{fb.Name, vb}}
							}
							for _, r := range rows {
								found = found || (r[fa.Name] == va && r[fb.Name] == vb)
							}
							if !found {
								t.Errorf("pair %s=%s,%s=%s is in no row and not invalid", fa.Name, va, fb.Name, vb)
							}
						}
					}
				}
			}
			again, _, _ := Pairwise(tt.factors, valid)
			if diff := cmp.Diff(rows, again); diff != "" {
				t.Errorf("a second generation differs (-first +second):\n%s", diff)
			}
		})
	}
}

// TestPairwiseNoFit checks that a table whose constraints leave a factor
// no value for some row is an error, not a short table.
func TestPairwiseNoFit(t *testing.T) {
	factors := []Factor{{"a", []string{"x", "y"}}, {"b", []string{"1"}}}
	_, _, err := Pairwise(factors, func(r Row) bool { return !(r["a"] == "y" && r["b"] == "1") })
	if err != nil {
		t.Fatalf("a=y,b=1 is only an invalid pair, but: %v", err)
	}
	factors = append(factors, Factor{"c", []string{"z"}})
	_, _, err = Pairwise(factors, func(r Row) bool { return !(r["b"] == "1" && r["c"] == "z") })
	if err == nil || !strings.Contains(err.Error(), "no row") {
		t.Errorf("err = %v, want no row satisfies", err)
	}
}
