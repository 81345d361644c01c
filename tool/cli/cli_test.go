package cli

import (
	"bytes"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// TestParse parses command lines into the CLI struct without starting a
// process, the way kong's own examples test. kong keeps the "--" of a
// passthrough argument; commandOrShell drops it.
func TestParse(t *testing.T) {
	tests := []struct {
		name    string
		args    []string
		command string
		want    CLI
	}{
		{
			name:    "run with hostname and command",
			args:    []string{"run", "--rootfs", "/r", "--hostname", "box", "--", "sh", "-c", "echo hi"},
			command: "run <command>",
			want:    CLI{Run: RunCmd{Rootfs: "/r", Hostname: "box", Command: []string{"--", "sh", "-c", "echo hi"}}},
		},
		{
			name:    "run without a command",
			args:    []string{"run", "--rootfs", "/r"},
			command: "run",
			want:    CLI{Run: RunCmd{Rootfs: "/r"}},
		},
		{
			name:    "chroot",
			args:    []string{"chroot", "/r", "--", "escape", "cat", "/etc/os-release"},
			command: "chroot <dir> <command>",
			want:    CLI{Chroot: ChrootCmd{Dir: "/r", Command: []string{"--", "escape", "cat", "/etc/os-release"}}},
		},
		{
			name:    "checkconfig json",
			args:    []string{"checkconfig", "--json"},
			command: "checkconfig",
			want:    CLI{Checkconfig: CheckconfigCmd{JSON: true}},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var got CLI
			p, err := Parser(&got)
			if err != nil {
				t.Fatal(err)
			}
			ctx, err := p.Parse(tt.args)
			if err != nil {
				t.Fatalf("Parse(%q): %v", tt.args, err)
			}
			if ctx.Command() != tt.command {
				t.Errorf("command = %q, want %q", ctx.Command(), tt.command)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("Parse(%q) (-want +got):\n%s", tt.args, diff)
			}
		})
	}
}

// TestCommandOrShell checks the "--" handling of passthrough arguments.
func TestCommandOrShell(t *testing.T) {
	tests := []struct {
		in, want []string
	}{
		{nil, []string{"/bin/sh"}},
		{[]string{"--"}, []string{"/bin/sh"}},
		{[]string{"--", "ls", "-l"}, []string{"ls", "-l"}},
		{[]string{"ls"}, []string{"ls"}},
	}
	for _, tt := range tests {
		if diff := cmp.Diff(tt.want, commandOrShell(tt.in)); diff != "" {
			t.Errorf("commandOrShell(%q) (-want +got):\n%s", tt.in, diff)
		}
	}
}

// TestMainErrors checks that usage errors are one line and exit 2, and that
// the hidden init stage is not listed in the help.
func TestMainErrors(t *testing.T) {
	tests := []struct {
		name     string
		args     []string
		code     int
		stderr   string
		stdoutIn string
	}{
		{"unknown command", []string{"frobnicate"}, 2, "contain: unexpected argument frobnicate: see 'contain --help'\n", ""},
		{"run without rootfs", []string{"run", "--", "true"}, 2, "contain: missing flags: --rootfs=DIR: see 'contain --help'\n", ""},
		{"help", []string{"--help"}, 0, "", "Usage: contain <command>"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			code := Main(tt.args, Globals{Stdin: strings.NewReader(""), Stdout: &stdout, Stderr: &stderr})
			if code != tt.code {
				t.Errorf("exit %d, want %d", code, tt.code)
			}
			if diff := cmp.Diff(tt.stderr, stderr.String()); diff != "" {
				t.Errorf("stderr (-want +got):\n%s", diff)
			}
			if !strings.Contains(stdout.String(), tt.stdoutIn) {
				t.Errorf("stdout %q does not contain %q", stdout.String(), tt.stdoutIn)
			}
			if strings.Contains(stdout.String(), " init ") {
				t.Errorf("help lists the hidden init stage:\n%s", stdout.String())
			}
		})
	}
}
