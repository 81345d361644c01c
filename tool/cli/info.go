package cli

import (
	"fmt"
	"text/tabwriter"

	"github.com/contain-dev/contain/tool/internal/network"
	"github.com/contain-dev/contain/tool/internal/state"
)

// InfoCmd is `contain info NAME`: a container's state, pid, address and
// traffic, in the layout of lxc-info.
type InfoCmd struct {
	Name string `arg:"" help:"Name of the container (run --name)."`
}

// infoLine is one "Key: value" line of contain info.
type infoLine struct{ key, value string }

// infoSections add lines to contain info, by concern, in order: each
// chapter's file appends its own from an init function.
var infoSections []func(c *state.Container) ([]infoLine, error)

// Run prints the lines.
func (c *InfoCmd) Run(g *Globals) error {
	ct, err := state.Load(c.Name)
	if err != nil {
		return &ExitError{Code: 1, Err: err}
	}
	st := "STOPPED"
	if ct.Alive() {
		st = "RUNNING"
	}
	lines := []infoLine{{"Name:", ct.Name}, {"State:", st}}
	if st == "RUNNING" {
		lines = append(lines, infoLine{"PID:", fmt.Sprint(ct.Pid)})
		for _, section := range infoSections {
			more, err := section(ct)
			if err != nil {
				return err
			}
			lines = append(lines, more...)
		}
	}
	w := tabwriter.NewWriter(g.Stdout, 16, 8, 0, ' ', 0)
	for _, l := range lines {
		fmt.Fprintf(w, "%s\t%s\n", l.key, l.value)
	}
	return w.Flush()
}

// netInfo is the network part of contain info: the address, and the
// traffic counters of the veth, as lxc-info shows them.
func netInfo(c *state.Container) ([]infoLine, error) {
	var a network.Attachment
	// No address yet: the record names the network before Attach leases
	// one (see netFeature.setup).
	if ok, err := c.GetExtra("network", &a); !ok || err != nil || !a.IP.IsValid() {
		return nil, err
	}
	lines := []infoLine{{"IP:", a.IP.String()}, {"Link:", a.Veth}}
	n, err := network.VethCounters(a.Veth)
	if err != nil {
		return lines, nil // the link is going away with the container
	}
	return append(lines,
		infoLine{" TX bytes:", humanBytes(n.TX)},
		infoLine{" RX bytes:", humanBytes(n.RX)},
		infoLine{" Total bytes:", humanBytes(n.TX + n.RX)}), nil
}

func init() { infoSections = append(infoSections, netInfo) }

// humanBytes writes a byte count as lxc-info does: "812 bytes",
// "1.43 KiB", "2.10 MiB".
func humanBytes(n uint64) string {
	if n < 1024 {
		return fmt.Sprintf("%d bytes", n)
	}
	f, units := float64(n)/1024, []string{"KiB", "MiB", "GiB", "TiB"}
	i := 0
	for f >= 1024 && i < len(units)-1 {
		f /= 1024
		i++
	}
	return fmt.Sprintf("%.2f %s", f, units[i])
}
