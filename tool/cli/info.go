package cli

import (
	"errors"
	"fmt"
	"text/tabwriter"

	"github.com/contain-dev/contain/tool/internal/container"
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

// Run prints the lines: the container's, then each concern's, in the
// order of the chapters.
func (c *InfoCmd) Run(g *Globals) error {
	ct, err := container.Load(c.Name)
	if err != nil {
		return &ExitError{Code: 1, Err: loadHint(c.Name, err)}
	}
	st := "STOPPED"
	if ct.State() == container.Running {
		st = "RUNNING"
	}
	lines := []infoLine{{"Name:", ct.Name()}, {"State:", st}}
	if st == "RUNNING" {
		lines = append(lines, infoLine{"PID:", fmt.Sprint(ct.Pid())})
		lines = append(lines, netInfo(ct.Record())...) // chapter 08
	}
	w := tabwriter.NewWriter(g.Stdout, 16, 8, 0, ' ', 0)
	for _, l := range lines {
		fmt.Fprintf(w, "%s\t%s\n", l.key, l.value)
	}
	return w.Flush()
}

// loadHint adds to an error of container.Load where to look.
func loadHint(name string, err error) error {
	if errors.Is(err, state.ErrNotExist) {
		return fmt.Errorf("no container named %s: see the running ones with ls %s", name, state.Dir)
	}
	return err
}

// netInfo is the network part of contain info: the address, and the
// traffic counters of the veth, as lxc-info shows them.
func netInfo(r container.Record) []infoLine {
	a := r.Network
	// No address yet: the record names the network before Attach leases
	// one (see container's setupNetwork).
	if a == nil || !a.IP.IsValid() {
		return nil
	}
	lines := []infoLine{{"IP:", a.IP.String()}, {"Link:", a.Veth}}
	n, err := network.VethCounters(a.Veth)
	if err != nil {
		return lines // the link is going away with the container
	}
	return append(lines,
		infoLine{" TX bytes:", humanBytes(n.TX)},
		infoLine{" RX bytes:", humanBytes(n.RX)},
		infoLine{" Total bytes:", humanBytes(n.TX + n.RX)})
}

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
