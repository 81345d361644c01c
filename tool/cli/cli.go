// Package cli is the command line of contain: one kong command struct per
// file, each with a Run method. Parsing is tested without starting a
// process (cli_test.go).
package cli

import (
	"errors"
	"fmt"
	"io"
	"os"
	"reflect"
	"strings"

	"github.com/alecthomas/kong"
)

// CLI is the root of the command tree. Each field is a subcommand; kong
// reads the help text from the struct tags.
type CLI struct {
	Checkconfig CheckconfigCmd `cmd:"" help:"Check what this host supports: namespaces, cgroups, devices, filesystems, capabilities."`
	Chroot      ChrootCmd      `cmd:"" help:"Run a command with another root directory, and nothing else (chapter 02)."`
	Run         RunCmd         `cmd:"" help:"Run a command in a new container: mount, UTS, IPC and PID namespaces around a rootfs (chapter 03)."`
	Idmap       IdmapCmd       `cmd:"" help:"Show the uid and gid maps of a process's user namespace, with the outside ids named (chapter 06)."`
	Ns          NsCmd          `cmd:"" help:"Run a command in new namespaces, one flag each, with the host's filesystem, like unshare(1) (chapter 05)."`
	Enter       EnterCmd       `cmd:"" help:"Run a command in the namespaces of a running process or container, like nsenter(1) (chapter 05)."`
	Net         NetCmd         `cmd:"" help:"Manage networks: ls, create, rm, inspect (chapter 08)."`
	Info        InfoCmd        `cmd:"" help:"Show a running container's state, pid, address and traffic, like lxc-info (chapter 08)."`
	Cgroup      CgroupCmd      `cmd:"" help:"Make, set, fill, show and remove cgroups by hand; show a container's CPU and memory use (chapter 07)."`
	Freeze      FreezeCmd      `cmd:"" help:"Freeze every process of a running container (chapter 07)."`
	Thaw        ThawCmd        `cmd:"" help:"Thaw a frozen container (chapter 07)."`
	Reset       ResetCmd       `cmd:"" help:"Remove what killed containers left behind: cgroups, records, links."`
	Init        InitCmd        `cmd:"" hidden:"" help:"The container's init stage; started by run, never by hand."`
}

// Globals are what every Run method receives besides its own flags.
type Globals struct {
	Stdin  io.Reader
	Stdout io.Writer
	Stderr io.Writer
}

// ExitError carries a process exit status through kong's error path
// without printing anything more.
type ExitError struct {
	Code int
	Err  error // printed as "contain: Err" when not nil
}

func (e *ExitError) Error() string {
	if e.Err == nil {
		return fmt.Sprintf("exit status %d", e.Code)
	}
	return e.Err.Error()
}

func (e *ExitError) Unwrap() error { return e.Err }

// Parser builds the kong parser of the whole command tree, for tests and
// for the top-level help.
func Parser(cli *CLI, options ...kong.Option) (*kong.Kong, error) {
	return newParser(cli, options...)
}

// newParser builds a kong parser for grammar, the CLI struct or one made
// by commandOnly.
func newParser(grammar any, options ...kong.Option) (*kong.Kong, error) {
	opts := append([]kong.Option{
		kong.Name("contain"),
		kong.Description("A container toolkit to learn from: each chapter adds one Linux isolation primitive."),
		kong.UsageOnError(),
		kong.ConfigureHelp(kong.HelpOptions{Compact: true}),
	}, options...)
	return kong.New(grammar, opts...)
}

// commandOnly returns a grammar with only the subcommand that args names:
// a struct whose one field is that field of CLI, tags and all. It returns
// cli itself when args names no subcommand (no arguments, --help, a typo),
// so that kong lists every command.
//
// Why: kong.New reads the struct tags and interpolates the help text of
// every flag of every subcommand, about 2 ms on each start of contain,
// paid before `contain run` does anything. A container start needs the
// run subcommand alone (see bench/README.md).
func commandOnly(cli *CLI, args []string) any {
	if len(args) == 0 {
		return cli
	}
	t := reflect.TypeOf(cli).Elem()
	for i := range t.NumField() {
		f := t.Field(i)
		name := f.Tag.Get("name")
		if name == "" {
			name = strings.ToLower(f.Name)
		}
		if name == args[0] {
			one := reflect.StructOf([]reflect.StructField{{Name: f.Name, Type: f.Type, Tag: f.Tag}})
			return reflect.New(one).Interface()
		}
	}
	return cli
}

// Main runs contain with args (without the program name) and returns the
// process exit status. Errors are printed as one line, "contain: ...".
func Main(args []string, g Globals) int {
	var cli CLI
	return mainWith(commandOnly(&cli, args), args, g)
}

// mainWith is Main with the grammar given: tests compare the one-command
// grammar of commandOnly with the whole CLI.
func mainWith(grammar any, args []string, g Globals) int {
	exit := -1
	parser, err := newParser(grammar,
		kong.Writers(g.Stdout, g.Stderr),
		kong.Exit(func(code int) { exit = code }),
		kong.Bind(&g),
	)
	if err != nil {
		fmt.Fprintln(g.Stderr, "contain:", err)
		return 2
	}
	ctx, err := parser.Parse(args)
	if exit >= 0 { // --help
		return exit
	}
	if err != nil {
		fmt.Fprintf(g.Stderr, "contain: %v: see 'contain --help'\n", err)
		return 2
	}
	err = ctx.Run(&g)
	if err == nil {
		return 0
	}
	var ee *ExitError
	if errors.As(err, &ee) {
		if ee.Err != nil {
			fmt.Fprintln(g.Stderr, "contain:", explain(ee.Err))
		}
		return ee.Code
	}
	fmt.Fprintln(g.Stderr, "contain:", explain(err))
	return 1
}

// requireRoot refuses to go on without root, before anything is created.
// why names the capability the command needs.
func requireRoot(cmd, why string) error {
	if os.Geteuid() != 0 {
		return &ExitError{Code: 1, Err: fmt.Errorf("%s needs root (%s): run it as root, e.g. sudo contain %s ...", cmd, why, cmd)}
	}
	return nil
}
