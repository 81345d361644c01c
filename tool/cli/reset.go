package cli

import (
	"fmt"
	"strings"

	"github.com/contain-dev/contain/tool/internal/cgroup"
	"github.com/contain-dev/contain/tool/internal/container"
)

// ResetCmd is `contain reset`: it puts the host back after containers
// whose contain was killed (see container.Reset): it destroys each dead
// container from its record, then removes what each concern finds by its
// own prefix with no record behind it.
type ResetCmd struct{}

// Run removes every orphan and says what it removed.
func (c *ResetCmd) Run(g *Globals) error {
	if err := requireRoot("reset", "removing cgroups, mounts and links needs root"); err != nil {
		return err
	}
	found, err := container.Reset()
	for _, f := range found {
		switch {
		case f.Concern == "container":
			fmt.Fprintf(g.Stdout, "removed dead container %s\n", f.Name)
		case f.Concern == "cgroup" && len(f.Pids) > 0:
			fmt.Fprintf(g.Stdout, "kept cgroup %s: it has processes %v (contain cgroup rm --force %s)\n", cgroup.Rel(f.Name), f.Pids, f.Name)
		default:
			fmt.Fprintf(g.Stdout, "removed %s %s\n", f.Concern, findingName(f))
		}
	}
	if err != nil {
		for _, line := range strings.Split(err.Error(), "\n") {
			fmt.Fprintf(g.Stderr, "contain: %s\n", line)
		}
		return &ExitError{Code: 1}
	}
	return nil
}

// findingName is how reset names what it removed: a cgroup by its path.
func findingName(f container.Finding) string {
	if f.Concern == "cgroup" {
		return cgroup.Rel(f.Name)
	}
	return f.Name
}
