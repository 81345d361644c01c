package main

import (
	"bufio"
	"os/exec"
	"strconv"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/contain-dev/contain/tool/testkit"
)

// TestRun checks the tiny init: exit statuses pass through, 128+N for a
// signal, and an orphan is reaped.
func TestRun(t *testing.T) {
	testkit.RequireRoot(t)
	testkit.CheckHostMounts(t)
	step := testkit.Bin(t, "./steps/05-pid-init")
	tests := []struct {
		name       string
		script     string
		wantCode   int
		wantStdout string
		wantStderr string
	}{
		{"pid 1 and /proc", "echo $PPID; ls -d /proc/[0-9]* | head -1", 0, "1\n/proc/1\n", ""},
		{"exit status", "exit 3", 3, "", ""},
		{"signal", "kill -TERM $$", 143, "", ""},
		// The orphan's parent exits at once, before the orphan does
		// (sleep 0.2: were it to end first, its parent could reap it
		// itself); sh then watches its /proc entry, which stays as a
		// zombie until someone reaps it. sh cannot (it is not the
		// parent); init must.
		{"orphan", `p=$(sh -c 'sleep 0.2 & echo $!'); i=0
while [ -e /proc/$p ] && [ $i -lt 1000 ]; do sleep 0.01; i=$((i+1)); done
[ -e /proc/$p ] && echo "zombie: $(cat /proc/$p/stat)" || echo gone`, 0, "gone\n", "init: reaped orphan pid "},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res := testkit.Run(t, step, "run", "sh", "-c", tt.script)
			if res.Code != tt.wantCode || res.Stdout != tt.wantStdout || !strings.Contains(res.Stderr, tt.wantStderr) {
				t.Errorf("%s\nwant exit %d, stdout %q, stderr containing %q", res, tt.wantCode, tt.wantStdout, tt.wantStderr)
			}
		})
	}
}

// TestSetns runs the experiment against a process that unshare(1) put in
// new namespaces of every kind.
func TestSetns(t *testing.T) {
	testkit.RequireRoot(t)
	target := exec.Command("unshare", "-U", "-r", "-m", "-u", "-i", "-n", "-p", "-f", "-C", "-T", "--kill-child", "sh", "-c", "echo $$; exec sleep 1000")
	out, err := target.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := target.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { target.Process.Kill(); target.Wait() })
	if _, err := bufio.NewReader(out).ReadString('\n'); err != nil {
		t.Fatal(err)
	}
	// unshare forked: its child, pid 1 inside, is the target.
	children, err := exec.Command("pgrep", "-P", strconv.Itoa(target.Process.Pid)).Output()
	if err != nil {
		t.Fatal(err)
	}
	res := testkit.Run(t, testkit.Bin(t, "./steps/05-pid-init"), "setns", strings.TrimSpace(string(children)))
	lines := strings.Split(strings.TrimSpace(res.Stdout), "\n")
	want := []string{
		"setns user   EINVAL (invalid argument)",
		"setns cgroup ok",
		"setns ipc    ok",
		"setns uts    ok",
		"setns net    ok",
		"setns pid    ok",
		"setns time   EUSERS (too many users)",
		"setns mnt    EINVAL (invalid argument)",
		"setns mnt    ok, after unshare(CLONE_FS)",
	}
	if res.Code != 0 || len(lines) < 2 {
		t.Fatal(res)
	}
	if diff := cmp.Diff(want, lines[1:]); diff != "" {
		t.Errorf("setns results (-want +got):\n%s", diff)
	}
}
