package cli

import (
	"github.com/alecthomas/kong"

	"github.com/contain-dev/contain/tool/internal/container"
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

// apply asks for a time namespace with the offsets, when the flag is given.
func (f *TimeFlags) apply(cfg *container.Config) error {
	if f.TimeOffset.Set {
		o := f.TimeOffset.Offsets
		cfg.Time = &o
	}
	return nil
}
