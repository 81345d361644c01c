package checkconfig

import (
	"fmt"
	"io"
	"strings"
)

// colours are the ANSI SGR sequences for each status, as lxc-checkconfig
// uses them: green for what works, yellow for a warning, red for missing.
var colours = map[Status]string{OK: "\033[1;32m", Warn: "\033[1;33m", Missing: "\033[1;31m", Info: "\033[1;34m"}

const colourReset = "\033[0m"

// WriteText prints findings the way lxc-checkconfig does: a "--- Section
// ---" header, one "Name: value" line per finding, and under anything that
// is not OK its hint. colour adds ANSI colours to the values; pass it only
// when w is a terminal.
func WriteText(w io.Writer, fs []Finding, colour bool) error {
	var b strings.Builder
	section := ""
	for _, f := range fs {
		if f.Section != section {
			if section != "" {
				b.WriteString("\n")
			}
			section = f.Section
			fmt.Fprintf(&b, "--- %s ---\n", section)
		}
		value := f.Value
		if colour {
			value = colours[f.Status] + value + colourReset
		}
		fmt.Fprintf(&b, "%s: %s\n", f.Name, value)
		if f.Status != OK && f.Hint != "" {
			fmt.Fprintf(&b, "  hint: %s\n", f.Hint)
		}
	}
	_, err := io.WriteString(w, b.String())
	return err
}
