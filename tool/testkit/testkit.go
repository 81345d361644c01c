// Package testkit holds what the tests of the tool, the steps and the labs
// share: building binaries once, making a fresh root filesystem per test,
// running commands, and checking that the host is left as it was.
//
// Privileged tests call RequireRoot. Outside CI, a non-root run skips them;
// in CI (CI=true), where the suite runs as root, a missing root fails the
// test instead, so a privileged check can never be skipped silently there.
package testkit

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/contain-dev/contain/tool/probe"
)

// InCI tells whether the suite runs under CI (CI=true).
func InCI() bool { return os.Getenv("CI") == "true" }

// RequireRoot skips t unless it runs as root, or fails it under CI.
func RequireRoot(t testing.TB) {
	t.Helper()
	if os.Geteuid() == 0 {
		return
	}
	if InCI() {
		t.Fatal("this test needs root, and CI runs as root: run the suite as root")
	}
	t.Skip("needs root: run the suite as root (scripts/test.sh)")
}

var (
	repoOnce sync.Once
	repoDir  string
	repoErr  error
)

// RepoRoot returns the directory that holds go.mod.
func RepoRoot(t testing.TB) string {
	t.Helper()
	repoOnce.Do(func() {
		dir, err := os.Getwd()
		if err != nil {
			repoErr = err
			return
		}
		for {
			if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
				repoDir = dir
				return
			}
			parent := filepath.Dir(dir)
			if parent == dir {
				repoErr = errors.New("go.mod not found above the working directory")
				return
			}
			dir = parent
		}
	})
	if repoErr != nil {
		t.Fatal(repoErr)
	}
	return repoDir
}

var (
	buildMu  sync.Mutex
	built    = map[string]string{}
	buildDir string
)

// Bin builds the main package pkg (a path relative to the repository, such
// as "./tool/cmd/contain") once per test binary, statically, and returns the
// path of the executable.
//
// It builds through `go run -exec cp`, not `go build -o`: since Go 1.24 the
// go command keeps the executables of go run in its build cache, so a
// package that has not changed is linked once for all the test binaries
// that need it, not once per test binary. That matters most in the VM
// stage, where the host warms the cache (scripts/vm-test.sh) and linking
// under emulation would take most of a minute per binary. The executable
// is the same program; go run leaves out the debugging information.
//
// Equivalent to: CGO_ENABLED=0 go run -trimpath -exec cp $pkg $out
func Bin(t testing.TB, pkg string) string {
	t.Helper()
	buildMu.Lock()
	defer buildMu.Unlock()
	if p, ok := built[pkg]; ok {
		return p
	}
	if buildDir == "" {
		d, err := os.MkdirTemp("", "contain-testbin-")
		if err != nil {
			t.Fatal(err)
		}
		buildDir = d
	}
	out := filepath.Join(buildDir, strings.NewReplacer("/", "_", ".", "_").Replace(pkg))
	cmd := exec.Command("go", "run", "-trimpath", "-exec", "cp", pkg, out)
	cmd.Dir = RepoRoot(t)
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("build %s: %v\n%s", pkg, err, b)
	}
	built[pkg] = out
	return out
}

// Contain returns the path of a freshly built contain binary.
func Contain(t testing.TB) string { return Bin(t, "./tool/cmd/contain") }

var (
	templateMu  sync.Mutex
	templateDir string
)

// Rootfs gives t a fresh busybox root filesystem, with probe and escape in
// /usr/local/bin, and removes it when t ends. scripts/mkrootfs.sh builds it
// once per test binary; each test gets its own copy (cp -a), so that one
// test's changes never reach another's.
func Rootfs(t testing.TB) string {
	t.Helper()
	templateMu.Lock()
	if templateDir == "" {
		d, err := os.MkdirTemp("", "contain-rootfs-")
		if err != nil {
			templateMu.Unlock()
			t.Fatal(err)
		}
		cmd := exec.Command("sh", filepath.Join(RepoRoot(t), "scripts", "mkrootfs.sh"),
			"--probe", Bin(t, "./tool/cmd/probe"),
			"--escape", Bin(t, "./steps/02-chroot/escape"),
			filepath.Join(d, "rootfs"))
		if b, err := cmd.CombinedOutput(); err != nil {
			templateMu.Unlock()
			os.RemoveAll(d)
			t.Fatalf("mkrootfs: %v\n%s", err, b)
		}
		templateDir = filepath.Join(d, "rootfs")
	}
	template := templateDir
	templateMu.Unlock()
	dir := filepath.Join(t.TempDir(), "rootfs")
	if b, err := exec.Command("cp", "-a", template, dir).CombinedOutput(); err != nil {
		t.Fatalf("copy rootfs: %v\n%s", err, b)
	}
	return dir
}

// Result is what a finished command did.
type Result struct {
	Stdout, Stderr string
	Code           int
}

func (r Result) String() string {
	return fmt.Sprintf("exit %d\nstdout:\n%s\nstderr:\n%s", r.Code, r.Stdout, r.Stderr)
}

// runLimit is how long Run lets a command take before it kills it: a
// guard against a hung container, not a speed check. It is generous
// because the VM stage runs the suite under emulation, where a lab's
// grader, which builds the lab first, takes more than a minute.
const runLimit = 5 * time.Minute

// Run runs name with args, with no stdin, and gives up after runLimit so
// that a hung container fails the test instead of the whole suite.
func Run(t testing.TB, name string, args ...string) Result {
	t.Helper()
	return RunIn(t, "", nil, name, args...)
}

// RunProbe runs name with args, a command line that ends by running the
// probe (tool/cmd/probe) in a container, and returns the probe's report.
// The command must exit 0 and print nothing else on stdout.
func RunProbe(t testing.TB, name string, args ...string) probe.Report {
	t.Helper()
	res := Run(t, name, args...)
	if res.Code != 0 {
		t.Fatalf("%s %v: %s", filepath.Base(name), args, res)
	}
	rep, err := probe.Decode([]byte(res.Stdout))
	if err != nil {
		t.Fatalf("%s %v: %v\n%s", filepath.Base(name), args, err, res)
	}
	return rep
}

// RunIn is Run with a working directory and extra environment.
func RunIn(t testing.TB, dir string, env []string, name string, args ...string) Result {
	t.Helper()
	var stdout, stderr bytes.Buffer
	cmd := exec.Command(name, args...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), env...)
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Start(); err != nil {
		t.Fatalf("start %s: %v", name, err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	var err error
	select {
	case err = <-done:
	case <-time.After(runLimit):
		cmd.Process.Kill()
		<-done
		t.Fatalf("%s %v: still running after %v, killed\nstdout:\n%s\nstderr:\n%s", name, args, runLimit, stdout.String(), stderr.String())
	}
	r := Result{Stdout: stdout.String(), Stderr: stderr.String()}
	var ee *exec.ExitError
	switch {
	case errors.As(err, &ee):
		r.Code = ee.ExitCode()
	case err != nil:
		t.Fatalf("%s: %v", name, err)
	}
	return r
}

// Nobody is the uid and gid tests use for an unprivileged caller.
const Nobody = 65534

// WorldExecutable copies the executable at path into a fresh 0755
// directory, so that an unprivileged user can run it (t.TempDir is 0700),
// and returns the copy's path.
func WorldExecutable(t testing.TB, path string) string {
	t.Helper()
	dir, err := os.MkdirTemp("", "contain-world-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	if err := os.Chmod(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(dir, filepath.Base(path))
	if err := os.WriteFile(out, b, 0o755); err != nil {
		t.Fatal(err)
	}
	return out
}

// RunAsNobody runs bin with args as uid and gid Nobody, from "/".
func RunAsNobody(t testing.TB, bin string, args ...string) Result {
	t.Helper()
	var stdout, stderr bytes.Buffer
	cmd := exec.Command(bin, args...)
	cmd.Dir = "/"
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: Nobody, Gid: Nobody}}
	err := cmd.Run()
	r := Result{Stdout: stdout.String(), Stderr: stderr.String()}
	var ee *exec.ExitError
	switch {
	case errors.As(err, &ee):
		r.Code = ee.ExitCode()
	case err != nil:
		t.Fatalf("%s as nobody: %v", bin, err)
	}
	return r
}
