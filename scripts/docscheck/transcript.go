package docscheck

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"regexp"
	"strconv"
	"strings"
	"time"
)

// Step is one command of a transcript and what it must print.
type Step struct {
	Block   *Block
	Command string   // with continuation lines joined by "\n"
	Want    []string // expected output lines, "..." and "…" as wildcards
	Exit    int      // expected exit status
}

var exitLine = regexp.MustCompile(`^\[(\d+)\]$`)

// ParseTranscript splits a console block into steps.
func ParseTranscript(b *Block) ([]Step, error) {
	var steps []Step
	for _, l := range strings.Split(strings.TrimSuffix(b.Body, "\n"), "\n") {
		switch {
		case strings.HasPrefix(l, "# ") || l == "#":
			steps = append(steps, Step{Block: b, Command: strings.TrimPrefix(strings.TrimPrefix(l, "#"), " ")})
		case strings.HasPrefix(l, "> ") && len(steps) > 0 && len(steps[len(steps)-1].Want) == 0:
			steps[len(steps)-1].Command += "\n" + l[2:]
		case len(steps) == 0:
			return nil, fmt.Errorf("%s:%d: transcript starts with output %q, not with a \"# \" command", b.File, b.Line, l)
		default:
			s := &steps[len(steps)-1]
			if m := exitLine.FindStringSubmatch(l); m != nil {
				s.Exit, _ = strconv.Atoi(m[1])
				continue
			}
			s.Want = append(s.Want, l)
		}
	}
	return steps, nil
}

// Match tells whether got (output lines) matches want, with "..." lines
// matching any run of lines, "…" any text within a line, and "≈" before a
// number (a measurement: "≈49.9%") any number.
func Match(want, got []string) bool {
	if len(want) == 0 {
		return len(got) == 0
	}
	if want[0] == "..." {
		for i := 0; i <= len(got); i++ {
			if Match(want[1:], got[i:]) {
				return true
			}
		}
		return false
	}
	if len(got) == 0 || !lineMatch(want[0], got[0]) {
		return false
	}
	return Match(want[1:], got[1:])
}

// wildcardRE finds what lineMatch treats as a pattern in an expected
// line: "…", or "≈" and the number it stands before.
var wildcardRE = regexp.MustCompile(`…|≈\d+(?:\.\d+)?`)

func lineMatch(want, got string) bool {
	if !wildcardRE.MatchString(want) {
		return want == got
	}
	var re strings.Builder
	re.WriteString("^")
	rest := want
	for _, loc := range wildcardRE.FindAllStringIndex(want, -1) {
		off := len(want) - len(rest)
		re.WriteString(regexp.QuoteMeta(rest[:loc[0]-off]))
		if want[loc[0]:loc[1]] == "…" {
			re.WriteString(".*")
		} else {
			re.WriteString(`\d+(?:\.\d+)?`)
		}
		rest = want[loc[1]:]
	}
	re.WriteString(regexp.QuoteMeta(rest) + "$")
	return regexp.MustCompile(re.String()).MatchString(got)
}

// Session runs the steps of one file in a single bash process, so that
// `cd`, variables and functions carry over from one block to the next,
// as they would in the reader's terminal.
type Session struct {
	cmd    *exec.Cmd
	stdin  io.WriteCloser
	out    *bufio.Reader
	cancel context.CancelFunc
	seq    int
}

// NewSession starts bash in dir with env.
func NewSession(dir string, env []string, timeout time.Duration) (*Session, error) {
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	cmd := exec.CommandContext(ctx, "bash", "--noprofile", "--norc")
	cmd.Dir = dir
	cmd.Env = env
	pr, pw, err := os.Pipe()
	if err != nil {
		cancel()
		return nil, err
	}
	cmd.Stdout, cmd.Stderr = pw, pw
	stdin, err := cmd.StdinPipe()
	if err != nil {
		cancel()
		return nil, err
	}
	if err := cmd.Start(); err != nil {
		cancel()
		return nil, err
	}
	pw.Close()
	return &Session{cmd: cmd, stdin: stdin, out: bufio.NewReader(pr), cancel: cancel}, nil
}

// Run runs one command and returns its output lines and exit status. The
// command's stdin is /dev/null, so that nothing can swallow the rest of the
// session's input.
func (s *Session) Run(command string) ([]string, int, error) {
	s.seq++
	mark := fmt.Sprintf("@@docscheck-%d-%d@@", os.Getpid(), s.seq)
	script := fmt.Sprintf("{\n%s\n} </dev/null\nprintf '\\n%s %%d\\n' $?\n", command, mark)
	if _, err := io.WriteString(s.stdin, script); err != nil {
		return nil, 0, fmt.Errorf("session ended: %w", err)
	}
	var buf bytes.Buffer
	for {
		line, err := s.out.ReadString('\n')
		if strings.HasPrefix(line, mark+" ") {
			code, _ := strconv.Atoi(strings.TrimSpace(strings.TrimPrefix(line, mark+" ")))
			// One newline is the one printf put before the mark (for
			// output that does not end in one), the other ends the
			// command's last line.
			out := strings.TrimSuffix(strings.TrimSuffix(buf.String(), "\n"), "\n")
			if out == "" {
				return nil, code, nil
			}
			return strings.Split(out, "\n"), code, nil
		}
		buf.WriteString(line)
		if err != nil {
			return strings.Split(buf.String(), "\n"), -1, fmt.Errorf("session ended (timeout?): %w", err)
		}
	}
}

// Close ends the session.
func (s *Session) Close() {
	s.stdin.Close()
	s.cmd.Wait()
	s.cancel()
}
