package initstage

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strings"

	"golang.org/x/sys/unix"

	"github.com/contain-dev/contain/tool/internal/rootfs"
)

const (
	configFD = 3
	errorFD  = 4
)

// Main is the init stage: `contain init`, started by Start. It never returns
// when the command starts; otherwise it reports the failure to the parent
// and exits.
func Main() {
	// Started by hand, fd 4 is not the parent's pipe: refuse before
	// reading or writing anything.
	var st unix.Stat_t
	if err := unix.Fstat(errorFD, &st); err != nil || st.Mode&unix.S_IFMT != unix.S_IFIFO {
		fmt.Fprintln(os.Stderr, "contain: init is the internal stage of contain run and contain chroot: do not start it by hand")
		os.Exit(ExitSetup)
	}
	errPipe := os.NewFile(errorFD, "errors")
	// Close-on-exec: a successful execve(2) closes the pipe, and that EOF
	// is the parent's signal that the command runs.
	unix.CloseOnExec(errorFD)
	fail := func(code int, format string, args ...any) {
		json.NewEncoder(errPipe).Encode(Failure{Msg: fmt.Sprintf(format, args...), Code: code})
		os.Exit(code)
	}

	var cfg Config
	cfgPipe := os.NewFile(configFD, "config")
	if err := json.NewDecoder(cfgPipe).Decode(&cfg); err != nil {
		fail(ExitSetup, "init stage: read config: %v (contain init is started by contain run, not by hand)", err)
	}
	cfgPipe.Close()
	if err := cfg.validate(); err != nil {
		fail(ExitSetup, "init stage: %v", err)
	}

	// 1. The filesystem view: a full rootfs behind pivot_root, or a chroot.
	switch cfg.Mode {
	case ModeRun:
		if err := rootfs.Setup(cfg.Rootfs); err != nil {
			fail(ExitSetup, "%v", err)
		}
	case ModeChroot:
		if err := rootfs.Chroot(cfg.Rootfs); err != nil {
			fail(ExitSetup, "%v", err)
		}
	}
	// 2. The hostname, in the container's own UTS namespace.
	if cfg.Hostname != "" {
		if err := unix.Sethostname([]byte(cfg.Hostname)); err != nil {
			fail(ExitSetup, "sethostname %q: %v", cfg.Hostname, err)
		}
	}
	// 3. The command: looked up only now, in the container's PATH and
	//    root, so that /bin/sh means the rootfs's shell, not the host's.
	os.Clearenv()
	for _, kv := range cfg.Env {
		if k, v, ok := strings.Cut(kv, "="); ok {
			os.Setenv(k, v)
		}
	}
	path, err := exec.LookPath(cfg.Args[0])
	if err != nil {
		if found := findFile(cfg.Args[0]); found != "" {
			fail(ExitNotExecutable, "%s: not executable in the container: chmod +x %s inside the rootfs", cfg.Args[0], found)
		}
		fail(ExitNotFound, "%s: not found in the container: check that the rootfs has it (PATH=%s)", cfg.Args[0], os.Getenv("PATH"))
	}
	err = unix.Exec(path, cfg.Args, cfg.Env)
	switch {
	case errors.Is(err, fs.ErrPermission), errors.Is(err, unix.ENOEXEC):
		fail(ExitNotExecutable, "%s: cannot execute in the container: %v", path, err)
	default:
		fail(ExitNotFound, "exec %s: %v", path, err)
	}
}

// findFile returns where name exists as a regular file, as exec.LookPath
// would search for it, whether or not it is executable. It tells "not
// executable" (126) apart from "not found" (127).
func findFile(name string) string {
	candidates := []string{name}
	if !strings.Contains(name, "/") {
		candidates = nil
		for _, dir := range filepath.SplitList(os.Getenv("PATH")) {
			candidates = append(candidates, filepath.Join(dir, name))
		}
	}
	for _, c := range candidates {
		if st, err := os.Stat(c); err == nil && st.Mode().IsRegular() {
			return c
		}
	}
	return ""
}
