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

// The init stage's files, as the parent passes them (see the package
// comment).
const (
	configFD  = 3
	errorFD   = 4
	barrierFD = 5
)

// Main is the init stage: `contain init`, started by Create or Exec. It
// reads its Config and follows the recipe of its mode. It never returns
// when the command starts; otherwise it reports the failure to the parent
// and exits with its status.
func Main() {
	st := newStage()
	cfg, err := st.config()
	// The barrier's fifo, before any step (openBarrier says why); Exec's
	// stage has none.
	if err == nil && cfg.Mode != ModeExec {
		err = st.openBarrier()
	}
	if err == nil {
		switch cfg.Mode {
		case ModeRun:
			err = initRun(st, cfg)
		case ModeChroot:
			err = initChroot(st, cfg)
		case ModeNS:
			err = initNS(st, cfg)
		case ModeExec:
			err = initExec(st, cfg)
		}
	}
	st.fail(err)
}

// initRun is the recipe of contain run, the whole container, as runc's
// standard init is. The parent created the stage in new namespaces and
// ran its Prepare hooks before it sent the config: the maps, the cgroup
// and the network link are in place.
func initRun(st *stage, cfg *Config) error {
	// 1. (chapter 06) In a new user namespace, become its root first: the
	//    mounts below need the capabilities of uid 0 there.
	if cfg.UserNS {
		if err := becomeRoot(); err != nil {
			return err
		}
	}
	// 2. (chapter 08) Loopback, when the parent could not bring it up:
	//    only the namespace's root may, which we are since step 1.
	if cfg.LoopbackUp {
		if err := network.LoopbackUpHere(); err != nil {
			return err
		}
	}
	// 3. (chapter 07) A new cgroup namespace, now that the parent has
	//    moved us into the container's cgroup: that node becomes its
	//    root, and /proc/self/cgroup shows "/" (cgroup_namespaces(7)).
	if cfg.CgroupNS {
		if err := unix.Unshare(unix.CLONE_NEWCGROUP); err != nil {
			return fmt.Errorf("unshare cgroup namespace: %w", err)
		}
	}
	// 4. (chapter 03) The root filesystem: "/" private, /proc, /dev and
	//    /sys mounted from inside the new namespaces, then pivot_root(2).
	if err := rootfs.Setup(cfg.Rootfs); err != nil {
		return err
	}
	// 5. (chapter 07) The cgroup hierarchies at /sys/fs/cgroup, after
	//    pivot_root, on the /sys of step 4, and inside the cgroup
	//    namespace of step 3, so that they show the container's node.
	if len(cfg.Cgroupfs) > 0 {
		if err := rootfs.MountCgroupfs(cfg.Cgroupfs); err != nil {
			return err
		}
	}
	// 6. (chapter 08) The host's files bound over the container's, last
	//    of the mounts: in the new root, so that any file of it can be
	//    covered, one under /proc or /sys too.
	if err := rootfs.BindFiles(cfg.BindFDs); err != nil {
		return err
	}
	// 7. (chapter 04) The hostname, in the container's own UTS namespace.
	if cfg.Hostname != "" {
		if err := unix.Sethostname([]byte(cfg.Hostname)); err != nil {
			return fmt.Errorf("sethostname %q: %w", cfg.Hostname, err)
		}
	}
	// 8. (chapter 04) The clocks: a new time namespace, whose offsets can
	//    only be written before any process is in it, that is before the
	//    command is forked in step 9.
	if cfg.Time != nil {
		if err := namespace.NewTime(*cfg.Time); err != nil {
			return err
		}
	}
	// 9. The command: looked up in the container's root, then held at the
	//    barrier until Start, then run. (chapter 05) With --init as a
	//    child, the stage staying pid 1 to reap and forward signals;
	//    (chapter 04) into a time namespace always as a child made by a
	//    real fork, the only way into time_for_children on every kernel
	//    (see forkExec). Otherwise the command takes our place.
	return st.command(cfg, cfg.Init || cfg.Time != nil)
}

// initChroot is the recipe of contain chroot (chapter 02): chroot(2) and
// nothing else. No namespace was created.
func initChroot(st *stage, cfg *Config) error {
	// 1. The new root. It changes no mount, pid or hostname, and a process
	//    that keeps CAP_SYS_CHROOT can climb back out (chapter 02).
	if err := rootfs.Chroot(cfg.Rootfs); err != nil {
		return err
	}
	// 2. The command, looked up inside the new root, then held at the
	//    barrier, then in our place.
	return st.command(cfg, false)
}

// initNS is the recipe of contain ns (chapter 05), unshare(1) in contain's
// terms: the namespaces clone(2) made, and the host's filesystem.
func initNS(st *stage, cfg *Config) error {
	// 1. (chapter 06) With --map-root-user, become root of the user
	//    namespace, whose maps the parent wrote: step 2 needs it.
	if cfg.UserNS {
		if err := becomeRoot(); err != nil {
			return err
		}
	}
	// 2. --mount-proc: a procfs of this PID namespace at /proc, after "/"
	//    is made private so that it stays in this mount namespace.
	if err := mountProcHere(cfg.MountProc); err != nil {
		return err
	}
	// 3. (chapter 04) The time namespace, before any process is in it.
	if cfg.Time != nil {
		if err := namespace.NewTime(*cfg.Time); err != nil {
			return err
		}
	}
	// 4. --pid without --fork: a PID namespace for the command's children
	//    only, as unshare(1) makes it, unshared on this locked main thread
	//    (see unsharePID).
	if err := unsharePID(cfg.UnsharePID); err != nil {
		return err
	}
	// 5. The command, in the host's PATH and our working directory, held
	//    at the barrier, then run: in our place, or into a time namespace
	//    as a child made by a real fork (see forkExec).
	return st.command(cfg, cfg.Time != nil)
}

// initExec is the recipe of a command run in a container that has started
// (see Exec), as runc's setns init is: it joins the container and finds
// everything else in place. A later chapter drops capabilities here, as
// it does for ModeRun. There is no barrier: Exec returns once the command
// runs.
func initExec(st *stage, cfg *Config) error {
	// 1. The container's namespaces, but the PID namespace we were born
	//    in: joined now that our program is loaded, the mount namespace
	//    last, which also moves us to the container's root (setns(2)).
	if err := joinNamespaces(cfg.JoinFDs); err != nil {
		return err
	}
	// 2. The working directory, "/" unless Cwd says otherwise: without the
	//    mount namespace we would be where the caller was.
	if cfg.Cwd == "" {
		cfg.Cwd = "/"
	}
	// 3. The command, looked up in the container's root.
	path, err := lookup(cfg)
	if err != nil {
		return err
	}
	// 4. The command in our place: it keeps this thread's namespaces,
	//    since execve(2) ends every other thread.
	return st.exec(path, cfg, false)
}

// joinNamespaces moves the main thread, to which the stage's main
// goroutine is locked (see init), into the namespaces fds, descriptors of
// /proc/PID/ns files, in namespace.EnterOrder: with "mnt" last, and after
// unshare(CLONE_FS), because setns(2) wants the caller's root and
// working directory its own, where Go's threads share one.
//
// Equivalent to: nsenter --net=/proc/$pid/ns/net ... --mount=/proc/$pid/ns/mnt
func joinNamespaces(fds map[string]int) error {
	if _, ok := fds["mnt"]; ok {
		if err := unix.Unshare(unix.CLONE_FS); err != nil {
			return fmt.Errorf("unshare(CLONE_FS): %w", err)
		}
	}
	for _, name := range namespace.EnterOrder {
		fd, ok := fds[name]
		if !ok {
			continue
		}
		k, err := namespace.Lookup(name)
		if err != nil {
			return err
		}
		if err := unix.Setns(fd, int(k.Flag)); err != nil {
			return fmt.Errorf("setns %s: %w", name, err)
		}
		unix.Close(fd)
	}
	return nil
}

// command is the end of the recipes that have a barrier: it looks the
// command up, reports ready and waits at the barrier (wait), and runs it
// (exec), as a child when asChild. Everything that can fail before the
// execve(2) has been tried by the time the parent's Create returns.
func (st *stage) command(cfg *Config, asChild bool) error {
	path, err := lookup(cfg)
	if err != nil {
		return err
	}
	if err := st.wait(); err != nil {
		return err
	}
	return st.exec(path, cfg, asChild)
}

// lookup gives the command its environment and working directory and
// finds its executable.
// It runs after the root has changed, so that /bin/sh means the rootfs's
// shell, not the host's, and a relative Cwd or path means the container's.
func lookup(cfg *Config) (string, error) {
	os.Clearenv()
	for _, kv := range cfg.Env {
		if k, v, ok := strings.Cut(kv, "="); ok {
			os.Setenv(k, v)
		}
	}
	if cfg.Cwd != "" {
		if err := unix.Chdir(cfg.Cwd); err != nil {
			return "", fmt.Errorf("working directory %s in the container: %w", cfg.Cwd, err)
		}
	}
	path, err := exec.LookPath(cfg.Args[0])
	if err == nil {
		return path, nil
	}
	if found := findFile(cfg.Args[0]); found != "" {
		return "", &Failure{Code: ExitNotExecutable, Msg: fmt.Sprintf("%s: not executable in the container: chmod +x %s inside the rootfs", cfg.Args[0], found)}
	}
	return "", &Failure{Code: ExitNotFound, Msg: fmt.Sprintf("%s: not found in the container: check that the rootfs has it (PATH=%s)", cfg.Args[0], os.Getenv("PATH"))}
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

// stage is the init stage's side of the files the parent passed.
type stage struct {
	// errPipe is fd 4, close-on-exec: what the stage tells the parent.
	errPipe *os.File
	// barrier is the fifo of fd 5, opened for reading and writing by
	// openBarrier; -1 in ModeExec, which has none.
	barrier int
}

// report is one message of the init stage on fd 4: Ready once, at the
// barrier, or a Failure, after which the stage exits.
type report struct {
	Ready bool `json:"ready,omitempty"`
	Failure
}

// newStage checks that the stage was started by its parent and makes fd 4
// close-on-exec: a successful execve(2) closes the pipe, and that EOF is
// the parent's signal that the command runs.
func newStage() *stage {
	// Started by hand, fd 4 is not the parent's pipe: refuse before
	// reading or writing anything.
	var st unix.Stat_t
	if err := unix.Fstat(errorFD, &st); err != nil || st.Mode&unix.S_IFMT != unix.S_IFIFO {
		fmt.Fprintln(os.Stderr, "contain: init is the internal stage of contain run and contain chroot: do not start it by hand")
		os.Exit(ExitSetup)
	}
	unix.CloseOnExec(errorFD)
	return &stage{errPipe: os.NewFile(errorFD, "errors"), barrier: -1}
}

// config reads the Config from fd 3, to its end, and checks it.
func (st *stage) config() (*Config, error) {
	var cfg Config
	f := os.NewFile(configFD, "config")
	defer f.Close()
	if err := json.NewDecoder(f).Decode(&cfg); err != nil {
		return nil, fmt.Errorf("init stage: read config: %v (contain init is started by contain run, not by hand)", err)
	}
	if err := cfg.validate(); err != nil {
		return nil, fmt.Errorf("init stage: %w", err)
	}
	return &cfg, nil
}

// openBarrier opens the fifo of fd 5 again, through /proc/self/fd, for
// reading and writing, and closes fd 5, an O_PATH descriptor that only
// names it. It comes before every step of the recipes, for three reasons:
//
//   - /proc is still the host's: after chroot(2) there may be none, and
//     after pivot_root(2) it is a new one;
//   - the fifo is the caller's, mode 0600, and so are we until becomeRoot
//     makes us uid 0 of a user namespace, a uid the host sees as another;
//   - from here on the fifo has a reader, which is what Release checks
//     for: open(2) of a fifo for reading and writing never blocks on
//     Linux (fifo(7)), and Release may come as soon as Create returns.
func (st *stage) openBarrier() error {
	fd, err := unix.Open(fmt.Sprintf("/proc/self/fd/%d", barrierFD), unix.O_RDWR|unix.O_CLOEXEC, 0)
	if err != nil {
		return fmt.Errorf("open the barrier's fifo: %w", err)
	}
	unix.Close(barrierFD)
	st.barrier = fd
	return nil
}

// wait is the barrier, runc's exec.fifo the other way round: it tells the
// parent that the container is ready, blocks reading the fifo until
// Release or Process.Start writes a byte into it, and closes it, which
// tells Release that the command is on its way.
func (st *stage) wait() error {
	if err := json.NewEncoder(st.errPipe).Encode(report{Ready: true}); err != nil {
		return fmt.Errorf("report ready: %w", err)
	}
	var b [1]byte
	_, err := unix.Read(st.barrier, b[:])
	for err == unix.EINTR {
		_, err = unix.Read(st.barrier, b[:])
	}
	if err != nil {
		return fmt.Errorf("wait at the barrier: %w", err)
	}
	unix.Close(st.barrier)
	return nil
}

// exec runs the command at path, the last step of every recipe: in place
// of the stage, or as its child (runInit) when asChild, for --init
// (chapter 05) and time namespaces (chapter 04). It returns only when the
// command could not start, as a *Failure with the shells' status.
func (st *stage) exec(path string, cfg *Config, asChild bool) error {
	var err error
	if asChild {
		err = runInit(path, cfg.Args, cfg.Env, st.errPipe, cfg.Time != nil)
	} else {
		err = unix.Exec(path, cfg.Args, cfg.Env)
	}
	if errors.Is(err, fs.ErrPermission) || errors.Is(err, unix.ENOEXEC) {
		return &Failure{Code: ExitNotExecutable, Msg: fmt.Sprintf("%s: cannot execute in the container: %v", path, err)}
	}
	return &Failure{Code: ExitNotFound, Msg: fmt.Sprintf("exec %s: %v", path, err)}
}

// fail reports err to the parent as a Failure, with its own status when
// it is one and ExitSetup otherwise, and exits with that status.
func (st *stage) fail(err error) {
	f := &Failure{Msg: err.Error(), Code: ExitSetup}
	errors.As(err, &f)
	json.NewEncoder(st.errPipe).Encode(report{Failure: *f})
	os.Exit(f.Code)
}
