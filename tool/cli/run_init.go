package cli

import (
	"fmt"
	"time"

	"github.com/contain-dev/contain/tool/internal/container"
)

// InitFlags are the flags of run that chapter 05 adds: an init as pid 1,
// and how contain stops the container.
type InitFlags struct {
	Init        bool          `help:"Run an init as pid 1 that forwards signals to the command and reaps orphaned processes, like docker run --init (chapter 05)."`
	StopTimeout time.Duration `help:"After forwarding SIGTERM or SIGINT, how long to wait before killing the container with SIGKILL; 0 waits forever (chapter 05)." default:"10s" placeholder:"DURATION"`
}

// apply puts --init and --stop-timeout in the container's process.
func (f *InitFlags) apply(cfg *container.Config) error {
	if f.StopTimeout < 0 {
		return fmt.Errorf("--stop-timeout %v is negative: give a duration such as 10s, or 0 to wait forever", f.StopTimeout)
	}
	cfg.Process.Init = f.Init
	cfg.Process.StopTimeout = f.StopTimeout
	return nil
}
