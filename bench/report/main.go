// Command report turns hyperfine's JSON export of the benchmark into the
// table of bench/README.md: each tool's median and mean, its ratio to
// contain in both directions, and whether contain meets its performance
// targets. The targets are reported, never asserted: timings drift with
// the machine, so a slow run is news, not a failure.
//
// usage: report [-base NAME] FILE
//
// FILE is written by `hyperfine --export-json FILE -n NAME CMD ...`; the
// command names (-n) are the tool names in the table.
package main

import (
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"os"
	"text/tabwriter"
)

// Result is one command's timings in hyperfine's JSON export, in seconds.
type Result struct {
	Command string  `json:"command"`
	Mean    float64 `json:"mean"`
	Stddev  float64 `json:"stddev"`
	Median  float64 `json:"median"`
}

// Target is a published goal: the base tool's median at most Max times
// Peer's median.
type Target struct {
	Peer string
	Max  float64
}

// Targets are the performance goals stated in the README: contain run
// (mount, UTS, IPC and PID namespaces plus pivot_root) at or below 0.8× of
// lxc-start and 0.6× of crun.
var Targets = []Target{{Peer: "lxc-start", Max: 0.8}, {Peer: "crun", Max: 0.6}}

func main() {
	base := flag.String("base", "contain", "the command name the others are compared with")
	flag.Usage = func() {
		fmt.Fprintln(os.Stderr, "usage: report [-base NAME] FILE   (FILE from hyperfine --export-json)")
	}
	flag.Parse()
	if flag.NArg() != 1 {
		flag.Usage()
		os.Exit(2)
	}
	data, err := os.ReadFile(flag.Arg(0))
	if err == nil {
		err = Report(os.Stdout, data, *base, Targets)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "report:", err)
		os.Exit(1)
	}
}

// Report writes the table for the hyperfine export data, comparing every
// command with base, then the verdict on each target.
func Report(w io.Writer, data []byte, base string, targets []Target) error {
	var export struct {
		Results []Result `json:"results"`
	}
	if err := json.Unmarshal(data, &export); err != nil {
		return fmt.Errorf("not a hyperfine JSON export: %w", err)
	}
	medians := map[string]float64{}
	for _, r := range export.Results {
		medians[r.Command] = r.Median
	}
	b, ok := medians[base]
	if !ok {
		return fmt.Errorf("no command named %q in the export: name it with hyperfine -n %s", base, base)
	}
	if b <= 0 {
		return fmt.Errorf("%s has a median of %g s: the export is broken", base, b)
	}

	tw := tabwriter.NewWriter(w, 0, 0, 3, ' ', 0)
	fmt.Fprintf(tw, "tool\tmedian\tmean ± σ\t%s/tool\ttool/%s\n", base, base)
	for _, r := range export.Results {
		fmt.Fprintf(tw, "%s\t%.2f ms\t%.2f ± %.2f ms\t%.2f×\t%.2f×\n",
			r.Command, ms(r.Median), ms(r.Mean), ms(r.Stddev), b/r.Median, r.Median/b)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	fmt.Fprintf(w, "\n%[1]s/tool is %[1]s's median over the tool's: 0.50× means %[1]s takes half the tool's time.\n", base)
	fmt.Fprintf(w, "tool/%[1]s is the other way round: how many times %[1]s's median the tool takes.\n", base)

	fmt.Fprintln(w, "\ntargets:")
	for _, t := range targets {
		goal := fmt.Sprintf("%s ≤ %.1f× of %s's median", base, t.Max, t.Peer)
		p, ok := medians[t.Peer]
		if !ok || p <= 0 {
			fmt.Fprintf(w, "  %s: not measured (%s did not run)\n", goal, t.Peer)
			continue
		}
		verdict := "met"
		if b/p > t.Max {
			verdict = "NOT met"
		}
		fmt.Fprintf(w, "  %s: %s, %s is %.2f× of %s's median\n", goal, verdict, base, b/p, t.Peer)
	}
	return nil
}

// ms converts seconds to milliseconds.
func ms(s float64) float64 { return s * 1000 }
