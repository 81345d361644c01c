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

	"github.com/contain-dev/contain/tool/internal/namespace"
	"github.com/contain-dev/contain/tool/internal/network"
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

	// 0. (chapter 06) In a new user namespace, become its root first: the
	//    maps are written by now (the parent does it before sending the
	//    config), and the mounts below need the capabilities of uid 0.
	if cfg.UserNS {
		if err := becomeRoot(); err != nil {
			fail(ExitSetup, "%v", err)
		}
	}
	// (chapter 08) Loopback, when the parent could not bring it up.
	if cfg.LoopbackUp {
		if err := network.LoopbackUpHere(); err != nil {
			fail(ExitSetup, "%v", err)
		}
	}
	// (chapter 07) A new cgroup namespace, now that the parent has moved
	//    us into the container's cgroup: that node becomes its root, and
	//    /proc/self/cgroup shows "/".
	if cfg.CgroupNS {
		if err := unix.Unshare(unix.CLONE_NEWCGROUP); err != nil {
			fail(ExitSetup, "unshare cgroup namespace: %v", err)
		}
	}
	// 1. The filesystem view: a full rootfs behind pivot_root, or a chroot.
	switch cfg.Mode {
	case ModeRun:
		if err := rootfs.BindFiles(cfg.Rootfs, cfg.BindFDs); err != nil {
			fail(ExitSetup, "%v", err)
		}
		if err := rootfs.Setup(cfg.Rootfs); err != nil {
			fail(ExitSetup, "%v", err)
		}
		if len(cfg.Cgroupfs) > 0 {
			if err := rootfs.MountCgroupfs(cfg.Cgroupfs); err != nil {
				fail(ExitSetup, "%v", err)
			}
		}
	case ModeChroot:
		if err := rootfs.Chroot(cfg.Rootfs); err != nil {
			fail(ExitSetup, "%v", err)
		}
	case ModeNS:
		if err := mountProcHere(cfg.MountProc); err != nil {
			fail(ExitSetup, "%v", err)
		}
	}
	// 2. The hostname, in the container's own UTS namespace.
	if cfg.Hostname != "" {
		if err := unix.Sethostname([]byte(cfg.Hostname)); err != nil {
			fail(ExitSetup, "sethostname %q: %v", cfg.Hostname, err)
		}
	}
	// 3. (chapter 04) The clocks: a new time namespace, whose offsets can
	//    only be written before any process is in it, that is before the
	//    command is forked or exec'd below.
	if cfg.Time != nil {
		if err := namespace.NewTime(*cfg.Time); err != nil {
			fail(ExitSetup, "%v", err)
		}
	}
	// 4. The command: looked up only now, in the container's PATH and
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
	// 5. (chapter 05) Run it: with --init as a child, the stage staying
	//    pid 1 to reap and forward signals (runInit returns only when the
	//    command could not start); otherwise the command takes our place.
	//    (chapter 04) With a time namespace, always as a child made by a
	//    real fork: only fork enters time_for_children on every kernel
	//    (see forkExec); the stage stays as its parent, as with --init.
	switch {
	case cfg.Init:
		err = runInit(path, cfg.Args, cfg.Env, errPipe, cfg.Time != nil)
	case cfg.Time != nil:
		if err := unsharePID(cfg.UnsharePID); err != nil {
			fail(ExitSetup, "%v", err)
		}
		err = runInit(path, cfg.Args, cfg.Env, errPipe, true)
	default:
		if err := unsharePID(cfg.UnsharePID); err != nil {
			fail(ExitSetup, "%v", err)
		}
		err = unix.Exec(path, cfg.Args, cfg.Env)
	}
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
