package cli

import (
	"fmt"
)

// FreezeCmd is `contain freeze NAME`: every process of the container
// stops where it is, without a signal it could see or handle, until
// `contain thaw NAME`. It uses the v1 freezer where it is mounted, else
// v2's cgroup.freeze.
type FreezeCmd struct {
	Name string `arg:"" help:"Name of the running container."`
}

// Run freezes the container's node and waits until the kernel says it is
// frozen.
//
// Equivalent to: echo FROZEN > /sys/fs/cgroup/freezer/contain/$name/freezer.state
func (c *FreezeCmd) Run(g *Globals) error {
	if err := requireRoot("freeze", "cgroupfs is writable by root only"); err != nil {
		return err
	}
	cg, err := cgroupOf(c.Name)
	if err != nil {
		return err
	}
	if err := cg.Freeze(); err != nil {
		return fmt.Errorf("freeze %s: %w", c.Name, err)
	}
	return nil
}

// ThawCmd is `contain thaw NAME`.
type ThawCmd struct {
	Name string `arg:"" help:"Name of the frozen container."`
}

// Run thaws the container's node.
//
// Equivalent to: echo THAWED > /sys/fs/cgroup/freezer/contain/$name/freezer.state
func (c *ThawCmd) Run(g *Globals) error {
	if err := requireRoot("thaw", "cgroupfs is writable by root only"); err != nil {
		return err
	}
	cg, err := cgroupOf(c.Name)
	if err != nil {
		return err
	}
	if err := cg.Thaw(); err != nil {
		return fmt.Errorf("thaw %s: %w", c.Name, err)
	}
	return nil
}
