package grading

import (
	"bytes"
	"errors"
	"os/exec"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

func TestRun(t *testing.T) {
	tests := []struct {
		name    string
		script  string
		timeout time.Duration
		want    Result
	}{
		{"exit status", "echo out; echo err >&2; exit 3", 0, Result{Code: 3, Stdout: "out\n", Stderr: "err\n"}},
		{"success within the limit", "echo out", time.Minute, Result{Stdout: "out\n"}},
		{"death by signal", "kill -TERM $$", 0, Result{Code: -1}},
		// A container that never ends is killed at the limit.
		{"killed at the limit", "exec sleep 1000", 50 * time.Millisecond, Result{Code: -1, TimedOut: true}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := Run(exec.Command("/bin/sh", "-c", tt.script), tt.timeout)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("result (-want +got):\n%s", diff)
			}
		})
	}
}

func TestRunNotFound(t *testing.T) {
	r, err := Run(exec.Command("/nonexistent/container"), 0)
	if err == nil || r.Code != -1 {
		t.Errorf("Run of a missing program: %+v, %v; want code -1 and an error", r, err)
	}
}

// TestRunWatch signals the program when it says it is ready, as lab 05
// does to check that SIGTERM reaches the command.
func TestRunWatch(t *testing.T) {
	c := exec.Command("/bin/sh", "-c", `trap 'echo got TERM; exit 5' TERM; printf 'rea'; echo dy; while :; do sleep 0.1; done`)
	var lines []string
	r, err := RunWatch(c, time.Minute, func(line string) {
		lines = append(lines, line)
		if line == "ready" {
			c.Process.Signal(syscall.SIGTERM)
		}
	})
	if err != nil {
		t.Fatal(err)
	}
	want := Result{Code: 5, Stdout: "ready\ngot TERM\n"}
	if diff := cmp.Diff(want, r); diff != "" {
		t.Errorf("result (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]string{"ready", "got TERM"}, lines); diff != "" {
		t.Errorf("lines watched (-want +got):\n%s", diff)
	}
}

func TestExitStatus(t *testing.T) {
	notRun := errors.New("exec: no command")
	tests := []struct {
		name     string
		err      error
		wantCode int
		wantErr  error
	}{
		{"success", nil, 0, nil},
		{"exit status", exec.Command("/bin/sh", "-c", "exit 7").Run(), 7, nil},
		{"not run", notRun, 0, notRun},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, err := ExitStatus(tt.err)
			if code != tt.wantCode || err != tt.wantErr {
				t.Errorf("ExitStatus(%v) = %d, %v; want %d, %v", tt.err, code, err, tt.wantCode, tt.wantErr)
			}
		})
	}
}

// TestLineWriter feeds the output in pieces that cut lines anywhere.
func TestLineWriter(t *testing.T) {
	tests := []struct {
		name   string
		pieces []string
		want   []string
	}{
		{"whole lines", []string{"a\n", "b\n"}, []string{"a", "b"}},
		{"lines cut", []string{"re", "ady\nnex", "t\n"}, []string{"ready", "next"}},
		{"several in one", []string{"a\nb\n\nc"}, []string{"a", "b", ""}},
		{"no newline", []string{"partial"}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var got []string
			var b strings.Builder
			w := &lineWriter{buf: new(bytes.Buffer), watch: func(l string) { got = append(got, l) }}
			for _, p := range tt.pieces {
				b.WriteString(p)
				if n, err := w.Write([]byte(p)); n != len(p) || err != nil {
					t.Fatalf("Write(%q) = %d, %v", p, n, err)
				}
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("lines (-want +got):\n%s", diff)
			}
			if w.buf.String() != b.String() {
				t.Errorf("kept %q, want all of %q", w.buf.String(), b.String())
			}
		})
	}
}
