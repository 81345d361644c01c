package cli

import "github.com/contain-dev/contain/tool/internal/initstage"

// InitCmd is the hidden init stage (see package initstage).
type InitCmd struct{}

// Run never returns when the container's command starts.
func (c *InitCmd) Run() error {
	initstage.Main()
	return nil
}
