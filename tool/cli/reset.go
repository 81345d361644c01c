package cli

import (
	"fmt"
	"io"
	"sort"
	"strings"
)

// ResetCmd is `contain reset`: it puts the host back after containers
// whose contain was killed. It removes what their records name (through
// orphanCleaners), the records themselves, and what each concern finds
// by its own prefix with no record behind it (orphanScanners).
type ResetCmd struct{}

// orphanScanners find, by concern, what contain made and no state record
// names (cgroups under contain/, links named after contain), remove it
// and print each removal to w. Each feature file registers its own in an
// init function.
var orphanScanners = map[string]func(w io.Writer) error{}

// Run removes every orphan and says what it removed.
func (c *ResetCmd) Run(g *Globals) error {
	if err := requireRoot("reset", "removing cgroups, mounts and links needs root"); err != nil {
		return err
	}
	failed := false
	if err := cleanOrphans(g.Stdout); err != nil {
		for _, line := range strings.Split(err.Error(), "\n") {
			fmt.Fprintf(g.Stderr, "contain: %s\n", line)
		}
		failed = true
	}
	for _, concern := range sortedKeys(orphanScanners) {
		if err := orphanScanners[concern](g.Stdout); err != nil {
			fmt.Fprintf(g.Stderr, "contain: clean %s: %v\n", concern, err)
			failed = true
		}
	}
	if failed {
		return &ExitError{Code: 1}
	}
	return nil
}

// sortedKeys returns the keys of m in order, so that reset's output does
// not change from run to run.
func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
