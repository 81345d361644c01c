package cli

import (
	"bytes"
	"strings"
	"testing"
	"time"

	"github.com/alecthomas/kong"
	"github.com/google/go-cmp/cmp"

	"github.com/contain-dev/contain/tool/internal/namespace"
)

// defaultInit is InitFlags as kong fills them when no flag is given.
var defaultInit = InitFlags{StopTimeout: 10 * time.Second}

// TestParse parses command lines into the CLI struct without starting a
// process, the way kong's own examples test. kong keeps the "--" of a
// passthrough argument; commandOrShell drops it.
func TestParse(t *testing.T) {
	tests := []struct {
		name    string
		args    []string
		command string
		// want is the selected command's struct: the others are filled
		// with their flags' defaults and do not matter here.
		want any
	}{
		{
			name:    "run with hostname and command",
			args:    []string{"run", "--rootfs", "/r", "--hostname", "box", "--", "sh", "-c", "echo hi"},
			command: "run <command>",
			want:    RunCmd{Rootfs: "/r", Hostname: "box", Command: []string{"--", "sh", "-c", "echo hi"}, InitFlags: defaultInit},
		},
		{
			name:    "run without a command",
			args:    []string{"run", "--rootfs", "/r"},
			command: "run",
			want:    RunCmd{Rootfs: "/r", InitFlags: defaultInit},
		},
		// Chapters 04 and 05.
		{
			name:    "run with a time offset, --init and a stop timeout",
			args:    []string{"run", "--rootfs", "/r", "--time-offset", "boottime=86400,monotonic=-1h", "--init", "--stop-timeout", "1s"},
			command: "run",
			want: RunCmd{Rootfs: "/r",
				TimeFlags: TimeFlags{TimeOffset: timeOffsetFlag{Set: true, Offsets: namespace.TimeOffsets{Boottime: 24 * time.Hour, Monotonic: -time.Hour}}},
				InitFlags: InitFlags{Init: true, StopTimeout: time.Second}},
		},
		{
			name:    "ns with short flags, like unshare",
			args:    []string{"ns", "-m", "-u", "-p", "-f", "--mount-proc", "-r", "--", "ps"},
			command: "ns <command>",
			want:    NsCmd{Mount: true, UTS: true, PID: true, Fork: true, MountProc: true, MapRootUser: true, Command: []string{"--", "ps"}},
		},
		{
			name:    "enter a container by name",
			args:    []string{"enter", "box", "--uts", "--", "hostname"},
			command: "enter <target> <command>",
			want:    EnterCmd{Target: "box", UTS: true, Command: []string{"--", "hostname"}},
		},
		{
			name:    "chroot",
			args:    []string{"chroot", "/r", "--", "escape", "cat", "/etc/os-release"},
			command: "chroot <dir> <command>",
			want:    ChrootCmd{Dir: "/r", Command: []string{"--", "escape", "cat", "/etc/os-release"}},
		},
		{
			name:    "checkconfig json",
			args:    []string{"checkconfig", "--json"},
			command: "checkconfig",
			want:    CheckconfigCmd{JSON: true},
		},
	}
	for _, tt := range tests {
		// Main parses with the grammar of the named command alone
		// (commandOnly); both must give the same result.
		grammars := map[string]func(*CLI) any{
			"whole CLI":    func(c *CLI) any { return c },
			"command only": func(c *CLI) any { return commandOnly(c, tt.args) },
		}
		for gname, grammar := range grammars {
			t.Run(tt.name+"/"+gname, func(t *testing.T) {
				var cli CLI
				p, err := newParser(grammar(&cli))
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
				if diff := cmp.Diff(tt.want, ctx.Selected().Target.Interface()); diff != "" {
					t.Errorf("Parse(%q) (-want +got):\n%s", tt.args, diff)
				}
			})
		}
	}
}

// TestCommandOnlySameOutput checks that the one-command grammar Main uses
// says exactly what the whole CLI says: for every command and subcommand,
// its --help, an unknown flag and (for those that want some) missing
// arguments give the same output and exit status both ways.
func TestCommandOnlySameOutput(t *testing.T) {
	var cli CLI
	p, err := Parser(&cli)
	if err != nil {
		t.Fatal(err)
	}
	// Each command with the arguments to try: --help, an unknown flag,
	// and bare when it has subcommands (kong then asks for one; a bare
	// leaf command might act on the host).
	var cases [][]string
	var walk func(n *kong.Node, path []string)
	walk = func(n *kong.Node, path []string) {
		for _, c := range n.Children {
			if c.Type != kong.CommandNode {
				continue
			}
			p := append(append([]string(nil), path...), c.Name)
			cases = append(cases, append(p, "--help"), append(p, "--no-such-flag"))
			if len(c.Children) > 0 {
				cases = append(cases, p)
			}
			walk(c, p)
		}
	}
	walk(p.Model.Node, nil)
	if len(cases) < 40 {
		t.Fatalf("found %d cases in the model, want every command and subcommand", len(cases))
	}
	type result struct {
		Code           int
		Stdout, Stderr string
	}
	run := func(grammar any, args []string) result {
		var stdout, stderr bytes.Buffer
		code := mainWith(grammar, args, Globals{Stdin: strings.NewReader(""), Stdout: &stdout, Stderr: &stderr})
		return result{code, stdout.String(), stderr.String()}
	}
	for _, args := range cases {
		var whole, one CLI
		want := run(&whole, args)
		got := run(commandOnly(&one, args), args)
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("contain %s (-whole CLI +command only):\n%s", strings.Join(args, " "), diff)
		}
	}
	// Arguments that name no command get the whole CLI.
	for _, args := range [][]string{nil, {"--help"}, {"frobnicate"}, {"-h"}} {
		var cli CLI
		if got := commandOnly(&cli, args); got != &cli {
			t.Errorf("commandOnly(%q) = %T, want the whole *CLI", args, got)
		}
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
