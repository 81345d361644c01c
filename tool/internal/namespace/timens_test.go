package namespace

import (
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

func TestParseTimeOffsets(t *testing.T) {
	tests := []struct {
		in      string
		want    TimeOffsets
		wantErr string
	}{
		{"boottime=86400", TimeOffsets{Boottime: 24 * time.Hour}, ""},
		{"boottime=86400,monotonic=-3600", TimeOffsets{Boottime: 24 * time.Hour, Monotonic: -time.Hour}, ""},
		{"monotonic=90m", TimeOffsets{Monotonic: 90 * time.Minute}, ""},
		{"realtime=5", TimeOffsets{}, `time offset for unknown clock "realtime": only boottime and monotonic have offsets (time_namespaces(7))`},
		{"boottime", TimeOffsets{}, `time offset "boottime": write CLOCK=SECONDS, such as boottime=86400 or monotonic=-1h`},
		{"boottime=1d", TimeOffsets{}, "time offset boottime=1d: not a number of seconds or a duration such as 90m"},
		{"boottime=1,boottime=2", TimeOffsets{}, "time offset for boottime given twice: give each clock once"},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			got, err := ParseTimeOffsets(tt.in)
			gotErr := ""
			if err != nil {
				gotErr = err.Error()
			}
			if diff := cmp.Diff(tt.wantErr, gotErr); diff != "" {
				t.Errorf("error (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(tt.want, got); err == nil && diff != "" {
				t.Errorf("offsets (-want +got):\n%s", diff)
			}
		})
	}
}

// TestTimeOffsetsFile checks the kernel's format, where nanoseconds are
// never negative: -1.5s is "-2 500000000".
func TestTimeOffsetsFile(t *testing.T) {
	got := TimeOffsets{Monotonic: -1500 * time.Millisecond, Boottime: 86400 * time.Second}.File()
	want := "monotonic -2 500000000\nboottime 86400 0\n"
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("timens_offsets (-want +got):\n%s", diff)
	}
}
