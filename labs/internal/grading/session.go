package grading

import (
	"bytes"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
)

// Main is a grader's main function. It parses the flag -solution, which
// solutionHelp describes, calls grade with it and the other arguments,
// prints grade's error after "grade: " on standard error, and exits with
// the status grade returns. usage, when not "", is the first line of the
// -help text, for graders that take a command.
func Main(solutionHelp, usage string, grade func(solution bool, args []string) (int, error)) {
	solution := flag.Bool("solution", false, solutionHelp)
	if usage != "" {
		flag.Usage = func() {
			fmt.Fprintln(flag.CommandLine.Output(), usage)
			flag.PrintDefaults()
		}
	}
	flag.Parse()
	code, err := grade(*solution, flag.Args())
	if err != nil {
		fmt.Fprintln(os.Stderr, "grade:", err)
	}
	os.Exit(code)
}

// Session is one run of a grader: the repository it builds from and a
// temporary directory, removed by Close.
type Session struct {
	// Repo is the root of the contain repository.
	Repo string
	// Tmp is the session's own directory, /tmp/PREFIX-..., mode 0700.
	Tmp string
}

// Start opens a session named prefix ("lab03") for a grader that needs
// root for why ("for namespaces"): it checks that it runs as root, finds
// the repository and makes the temporary directory. Its errors are the
// grader's, not the learner's: exit with status 2.
func Start(prefix, why string) (*Session, error) {
	if os.Geteuid() != 0 {
		return nil, fmt.Errorf("needs root, %s: run it as root", why)
	}
	repo, err := RepoRoot()
	if err != nil {
		return nil, err
	}
	tmp, err := os.MkdirTemp("", prefix+"-")
	if err != nil {
		return nil, err
	}
	return &Session{Repo: repo, Tmp: tmp}, nil
}

// Close deletes the session's directory, unless something is mounted
// below it: deleting through a bind of the host's /dev would delete the
// host's device nodes. Then it says so and leaves the directory.
//
// Equivalent to: findmnt | grep -q "$tmp" || rm -r "$tmp"
func (s *Session) Close() {
	mounts, err := os.ReadFile("/proc/self/mountinfo")
	if err != nil || bytes.Contains(mounts, []byte(" "+s.Tmp+"/")) || bytes.Contains(mounts, []byte(" "+s.Tmp+" ")) {
		fmt.Fprintf(os.Stderr, "grade: not removing %s: something is mounted below it (see /proc/self/mountinfo); unmount it, then rm -r it\n", s.Tmp)
		return
	}
	os.RemoveAll(s.Tmp)
}

// Build compiles the main packages pkgs (relative to the repository, as
// "./labs/04-uts-ipc-time/container") into dir, with -tags solution to
// build the reference solutions instead of the learner's files. It returns
// the executables' paths, in the order of pkgs, each named after its
// package's directory. They are static, so that they also run inside a
// busybox root filesystem. An error is the learner's to fix: the grader
// exits with status 1.
//
// Each goes through `go run -exec cp` rather than `go build -o`: the go
// command keeps what go run links in its build cache (Go 1.24 and later),
// so grading again after a change links only the package that changed,
// and the suite's VM stage finds every unchanged grader's programs linked
// already (scripts/vm-test.sh).
//
// Equivalent to: for p in $pkgs; do CGO_ENABLED=0 go run -trimpath [-tags solution] -exec cp $p $dir/$(basename $p); done
func (s *Session) Build(dir string, solution bool, pkgs ...string) ([]string, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, err
	}
	bins := make([]string, len(pkgs))
	for i, p := range pkgs {
		bins[i] = filepath.Join(dir, filepath.Base(p))
		args := []string{"run", "-trimpath", "-exec", "cp"}
		if solution {
			args = append(args, "-tags", "solution")
		}
		cmd := exec.Command("go", append(args, p, bins[i])...)
		cmd.Dir = s.Repo
		cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
		if out, err := cmd.CombinedOutput(); err != nil {
			return nil, fmt.Errorf("go build failed: fix the errors below, then grade again\n%s", out)
		}
	}
	return bins, nil
}

// StretchMarker is the line a starter holds until its learner starts the
// stretch goal.
const StretchMarker = "TODO(stretch)"

// Stretch tells whether the stretch goal of the lab program pkg (as
// "./labs/05-pid-init/container") is to be graded: "" when it is, that is
// for the reference solution (solution true) and for a starter whose Go
// files no longer hold StretchMarker; otherwise why not, for the SKIP line
// of the report. The learner deletes the marker to say "grade it": an
// attempt cannot always be told from a mistake by what the program does.
//
// Equivalent to: grep -l 'TODO(stretch)' $(go list -f '{{range .GoFiles}}{{$.Dir}}/{{.}} {{end}}' $pkg)
func (s *Session) Stretch(solution bool, pkg string) (string, error) {
	if solution {
		return "", nil
	}
	cmd := exec.Command("go", "list", "-f", "{{.Dir}}{{range .GoFiles}}|{{.}}{{end}}", pkg)
	cmd.Dir = s.Repo
	out, err := cmd.Output()
	if err != nil {
		return "", fmt.Errorf("go list %s: %w", pkg, err)
	}
	files := strings.Split(strings.TrimSpace(string(out)), "|")
	var marked []string
	for _, f := range files[1:] {
		b, err := os.ReadFile(filepath.Join(files[0], f))
		if err != nil {
			return "", err
		}
		if bytes.Contains(b, []byte(StretchMarker)) {
			marked = append(marked, f)
		}
	}
	if len(marked) == 0 {
		return "", nil
	}
	return fmt.Sprintf("not attempted: delete the line %s in %s when you start it", StretchMarker, strings.Join(marked, ", ")), nil
}

// RepoRoot returns the directory at or above the working directory that
// holds contain's go.mod, so that a grader runs from anywhere inside the
// repository.
func RepoRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		b, err := os.ReadFile(filepath.Join(dir, "go.mod"))
		if err == nil && bytes.Contains(b, []byte("module github.com/contain-dev/contain\n")) {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", errors.New("run me from inside the contain repository (cd to it first)")
		}
		dir = parent
	}
}
