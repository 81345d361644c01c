package cli_test

import (
	"fmt"
	"os"
	"strconv"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/contain-dev/contain/tool/testkit"
)

// TestEnter starts a container and enters it with contain enter, by name
// and by pid, checking what the entered command sees.
func TestEnter(t *testing.T) {
	testkit.RequireRoot(t)
	testkit.CheckHostMounts(t)
	rootfs := testkit.Rootfs(t)
	contain := testkit.Contain(t)
	name := fmt.Sprintf("enter-test-%d", os.Getpid())
	b := startContain(t, "run", "--rootfs", rootfs, "--name", name, "--hostname", "entered", "--", "sh", "-c", "echo ready; exec sleep 1000")
	if got := b.line(t); got != "ready" {
		t.Fatalf("first line %q, want ready", got)
	}
	pid := strconv.Itoa(initStagePid(t, b.cmd.Process.Pid))
	tests := []struct {
		name string
		args []string
		want string
	}{
		{"all, by name", []string{name, "--", "sh", "-c", "hostname; cat /etc/hostname; cat /proc/1/cmdline | tr '\\0' ' '"}, "entered\ncontain\nsleep 1000 "},
		{"uts only, by pid", []string{pid, "--uts", "--", "sh", "-c", "hostname; test -e /var/lib/contain && echo host fs"}, "entered\nhost fs\n"},
		{"mount only: the container's files, the host's hostname", []string{pid, "--mount", "--", "sh", "-c", "cat /etc/os-release | head -1"}, "NAME=\"contain busybox\"\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res := testkit.Run(t, contain, append([]string{"enter"}, tt.args...)...)
			if res.Code != 0 {
				t.Fatalf("%s", res)
			}
			if diff := cmp.Diff(tt.want, res.Stdout); diff != "" {
				t.Errorf("output (-want +got):\n%s", diff)
			}
		})
	}
}

// TestEnterBadInput checks the refusals: one line each.
func TestEnterBadInput(t *testing.T) {
	testkit.RequireRoot(t)
	contain := testkit.Contain(t)
	for _, tt := range []struct {
		args []string
		code int
		want string
	}{
		{[]string{"enter", "999999999", "--", "true"}, 1, "contain: no process 999999999: give the host pid of a running process (ps) or a container name"},
		{[]string{"enter", "no-such-container", "--", "true"}, 1, "contain: no running container no-such-container: see the --name given to contain run"},
		{[]string{"enter", "1", "--bogus"}, 2, "contain: unknown flag --bogus: see 'contain --help'"},
	} {
		t.Run(strings.Join(tt.args, " "), func(t *testing.T) {
			checkOneLineError(t, testkit.Run(t, contain, tt.args...), tt.code, tt.want)
		})
	}
}
