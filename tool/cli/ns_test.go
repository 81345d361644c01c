package cli_test

import (
	"strings"
	"testing"

	"github.com/contain-dev/contain/tool/testkit"
)

// TestNs runs commands under contain ns and checks, from their output and
// the test's own namespaces, that they got exactly the namespaces asked
// for.
func TestNs(t *testing.T) {
	testkit.RequireRoot(t)
	testkit.CheckHostMounts(t)
	contain := testkit.Contain(t)
	tests := []struct {
		name  string
		flags []string
		cmd   string
		// newNS are the namespaces the command must not share with us;
		// every other one it must share.
		newNS []string
		want  string
	}{
		{"uts", []string{"--uts"}, "hostname ns-test && hostname", []string{"uts"}, "ns-test\n"},
		{"pid with --fork is pid 1", []string{"--pid", "--fork", "--mount-proc"}, "echo $$; head -c 2 /proc/1/cmdline; echo", []string{"pid", "mnt"}, "1\nsh\n"},
		{"time with an offset", []string{"--time-offset", "boottime=864000"}, "cut -d. -f1 /proc/uptime | awk '{print ($1 >= 864000)}'", []string{"time"}, "1\n"},
		{"all of them", []string{"-m", "-u", "-i", "-n", "-C", "-p", "-f"}, "true", []string{"mnt", "uts", "ipc", "net", "cgroup", "pid"}, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var script strings.Builder
			script.WriteString(tt.cmd + " && ")
			for _, ns := range []string{"cgroup", "ipc", "mnt", "net", "pid", "time", "user", "uts"} {
				script.WriteString("readlink /proc/self/ns/" + ns + " && ")
			}
			script.WriteString("true")
			args := append(append([]string{"ns"}, tt.flags...), "--", "sh", "-c", script.String())
			res := testkit.Run(t, contain, args...)
			if res.Code != 0 {
				t.Fatalf("contain %v: %s", args, res)
			}
			lines := strings.SplitAfter(res.Stdout, "\n")
			nsLines := lines[len(lines)-9 : len(lines)-1]
			if got := strings.Join(lines[:len(lines)-9], ""); got != tt.want {
				t.Errorf("output %q, want %q", got, tt.want)
			}
			for _, l := range nsLines {
				name := strings.TrimSpace(l[:strings.Index(l, ":")])
				isNew := strings.TrimSpace(l) != testkit.NSInode(t, "self", name)
				wantNew := false
				for _, n := range tt.newNS {
					wantNew = wantNew || n == name
				}
				if isNew != wantNew {
					t.Errorf("%s: new namespace %v, want %v", name, isNew, wantNew)
				}
			}
		})
	}
}

// TestNsPIDWithoutFork checks unshare(1)'s behaviour without --fork: the
// command keeps its pid, its first child is pid 1 of the new namespace,
// and once that child has exited no other can be created there.
func TestNsPIDWithoutFork(t *testing.T) {
	testkit.RequireRoot(t)
	res := testkit.Run(t, testkit.Contain(t), "ns", "--pid", "--", "sh", "-c", "echo $$; sh -c 'echo $$'; sh -c 'echo never'")
	lines := strings.Split(res.Stdout, "\n")
	if res.Code != 2 || len(lines) != 3 || lines[0] == "1" || lines[1] != "1" || !strings.Contains(res.Stderr, "Cannot fork") {
		t.Errorf("%s\nwant the command not pid 1, its first child pid 1, then Cannot fork", res)
	}
}

// TestNsMapRootUser checks --map-root-user as an ordinary user: root in a
// new user namespace, mapped onto the caller's uid, with setgroups denied.
func TestNsMapRootUser(t *testing.T) {
	testkit.RequireRoot(t)
	contain := testkit.WorldExecutable(t, testkit.Contain(t))
	res := testkit.RunAsNobody(t, contain, "ns", "--map-root-user", "--", "/bin/sh", "-c", "id -u; cat /proc/self/uid_map /proc/self/setgroups")
	want := "0\n         0      65534          1\ndeny\n"
	if res.Code != 0 || res.Stdout != want {
		t.Errorf("got %s\nwant stdout %q", res, want)
	}
}

// TestNsBadInput checks the refusals: one line each, nothing started.
func TestNsBadInput(t *testing.T) {
	testkit.RequireRoot(t)
	contain := testkit.Contain(t)
	for _, tt := range []struct {
		args []string
		code int
		want string
	}{
		{[]string{"ns", "--mnt", "true"}, 2, `contain: unknown flag --mnt, did you mean one of "--mount", "--net"?: see 'contain --help'`},
		{[]string{"ns", "--time-offset", "uptime=5", "true"}, 2, `contain: --time-offset: time offset for unknown clock "uptime": only boottime and monotonic have offsets (time_namespaces(7)): see 'contain --help'`},
	} {
		t.Run(strings.Join(tt.args, " "), func(t *testing.T) {
			checkOneLineError(t, testkit.Run(t, contain, tt.args...), tt.code, tt.want)
		})
	}
}
