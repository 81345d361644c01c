// Command contain is a container toolkit written to be read: each chapter of
// the book adds one Linux isolation primitive to it. See README.md.
package main

import (
	"os"

	"github.com/contain-dev/contain/tool/cli"
	"github.com/contain-dev/contain/tool/internal/initstage"
)

func main() {
	// The hidden init stage needs none of the command line parser: going
	// straight to it takes the parser's set-up off every container start.
	if len(os.Args) == 2 && os.Args[1] == "init" {
		initstage.Main()
	}
	os.Exit(cli.Main(os.Args[1:], cli.Globals{Stdin: os.Stdin, Stdout: os.Stdout, Stderr: os.Stderr}))
}
