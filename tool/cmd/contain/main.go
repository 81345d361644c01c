// Command contain is a container toolkit written to be read: each chapter of
// the book adds one Linux isolation primitive to it. See README.md.
package main

import (
	"os"

	"github.com/contain-dev/contain/tool/cli"
)

func main() {
	os.Exit(cli.Main(os.Args[1:], cli.Globals{Stdin: os.Stdin, Stdout: os.Stdout, Stderr: os.Stderr}))
}
