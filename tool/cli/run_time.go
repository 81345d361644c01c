package cli

import (
	"github.com/alecthomas/kong"

	"github.com/contain-dev/contain/tool/internal/namespace"
)

// TimeFlags are the flags of run that chapter 04 adds: a time namespace
// with clock offsets.
type TimeFlags struct {
	TimeOffset timeOffsetFlag `help:"Give the container a time namespace whose clocks run ahead (or behind) by these offsets, in seconds or as durations: boottime=86400,monotonic=-1h (chapter 04)." placeholder:"CLOCK=SECS,..."`
}

// timeOffsetFlag is a --time-offset value, parsed while the command line
// is, so that a mistake is reported before anything is created.
type timeOffsetFlag struct {
	// Set tells whether the flag was given; Offsets is its value.
	Set     bool
	Offsets namespace.TimeOffsets
}

// Decode implements kong.MapperValue.
func (f *timeOffsetFlag) Decode(ctx *kong.DecodeContext) error {
	var s string
	if err := ctx.Scan.PopValueInto("offsets", &s); err != nil {
		return err
	}
	o, err := namespace.ParseTimeOffsets(s)
	if err != nil {
		return err
	}
	f.Set, f.Offsets = true, o
	return nil
}

// timeFeature asks the init stage for a new time namespace (see
// namespace.NewTime for why the init stage, and not clone(2), creates it).
type timeFeature struct{ f *TimeFlags }

func (t timeFeature) setup(spec *runSpec) error {
	if t.f.TimeOffset.Set {
		o := t.f.TimeOffset.Offsets
		spec.cfg.Time = &o
	}
	return nil
}
