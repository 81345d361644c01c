// Command contain is a container toolkit written to be read: each chapter of
// the book adds one Linux isolation primitive to it. See README.md.
package main

import (
	"math"
	"os"

	"golang.org/x/sys/unix"

	"github.com/contain-dev/contain/tool/cli"
	"github.com/contain-dev/contain/tool/internal/initstage"
)

func main() {
	// The hidden init stage needs none of the command line parser: going
	// straight to it takes the parser's set-up off every container start.
	if len(os.Args) == 2 && os.Args[1] == "init" {
		initstage.Main()
	}
	// Descriptors contain inherited without close-on-exec (a shell's
	// redirections, a caller's leak) must not reach a container, whose
	// root could read or write them through /proc/PID/fd: mark them all
	// close-on-exec first thing, as runc does. What contain hands its
	// init stage it passes on purpose (os/exec's ExtraFiles).
	//
	// Equivalent to: close_range(3, ~0U, CLOSE_RANGE_CLOEXEC) (close_range(2))
	unix.CloseRange(3, math.MaxUint32, unix.CLOSE_RANGE_CLOEXEC)
	os.Exit(cli.Main(os.Args[1:], cli.Globals{Stdin: os.Stdin, Stdout: os.Stdout, Stderr: os.Stderr}))
}
