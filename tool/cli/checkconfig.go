package cli

// CheckconfigCmd is `contain checkconfig` (chapter 00).
type CheckconfigCmd struct {
	JSON bool `help:"Print the findings as JSON, for scripts." name:"json"`
}

// Run prints the host's findings.
func (c *CheckconfigCmd) Run(g *Globals) error {
	return nil
}
