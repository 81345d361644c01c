package namespace

import (
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"
)

// TimeOffsets are the offsets of a new time namespace: how far its
// CLOCK_MONOTONIC and CLOCK_BOOTTIME are ahead of the host's (negative:
// behind). CLOCK_REALTIME has no offset; a time namespace does not change
// the date (time_namespaces(7)).
type TimeOffsets struct {
	Monotonic time.Duration `json:"monotonic,omitempty"`
	Boottime  time.Duration `json:"boottime,omitempty"`
}

// ParseTimeOffsets reads the --time-offset flag: a comma-separated list of
// CLOCK=OFFSET, CLOCK being boottime or monotonic and OFFSET whole seconds
// ("86400") or a Go duration ("24h", "-90m"), as unshare(1)'s --boottime
// and --monotonic take them.
func ParseTimeOffsets(s string) (TimeOffsets, error) {
	var o TimeOffsets
	seen := map[string]bool{}
	for _, item := range strings.Split(s, ",") {
		clock, value, ok := strings.Cut(strings.TrimSpace(item), "=")
		if !ok || value == "" {
			return o, fmt.Errorf("time offset %q: write CLOCK=SECONDS, such as boottime=86400 or monotonic=-1h", item)
		}
		if seen[clock] {
			return o, fmt.Errorf("time offset for %s given twice: give each clock once", clock)
		}
		seen[clock] = true
		d, err := parseOffset(value)
		if err != nil {
			return o, fmt.Errorf("time offset %s=%s: %v", clock, value, err)
		}
		switch clock {
		case "boottime":
			o.Boottime = d
		case "monotonic":
			o.Monotonic = d
		default:
			return o, fmt.Errorf("time offset for unknown clock %q: only boottime and monotonic have offsets (time_namespaces(7))", clock)
		}
	}
	return o, nil
}

// parseOffset reads whole seconds or a Go duration.
func parseOffset(v string) (time.Duration, error) {
	if secs, err := strconv.ParseInt(v, 10, 64); err == nil {
		if secs > math.MaxInt64/int64(time.Second) || secs < math.MinInt64/int64(time.Second) {
			return 0, fmt.Errorf("out of range")
		}
		return time.Duration(secs) * time.Second, nil
	}
	d, err := time.ParseDuration(v)
	if err != nil {
		return 0, fmt.Errorf("not a number of seconds or a duration such as 90m")
	}
	return d, nil
}

// String returns o in the flag's syntax, "boottime=24h0m0s,monotonic=0s".
func (o TimeOffsets) String() string {
	return fmt.Sprintf("boottime=%v,monotonic=%v", o.Boottime, o.Monotonic)
}

// File returns o in the format of /proc/PID/timens_offsets: one line per
// clock, "NAME SECONDS NANOSECONDS", the nanoseconds never negative.
func (o TimeOffsets) File() string {
	line := func(name string, d time.Duration) string {
		secs, nsecs := int64(d/time.Second), int64(d%time.Second)
		if nsecs < 0 {
			secs, nsecs = secs-1, nsecs+int64(time.Second)
		}
		return fmt.Sprintf("%s %d %d\n", name, secs, nsecs)
	}
	return line("monotonic", o.Monotonic) + line("boottime", o.Boottime)
}
