package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/contain-dev/contain/tool/testkit"
)

// TestEscape runs escape in a chroot made by Go's own fork/exec
// (SysProcAttr.Chroot), as root and as nobody, and once on the host, where
// there is nothing to escape from.
func TestEscape(t *testing.T) {
	testkit.RequireRoot(t)
	testkit.CheckHostMounts(t)
	root := testkit.Rootfs(t)
	host, err := os.ReadFile("/etc/os-release")
	if err != nil {
		t.Fatal(err)
	}
	rootfsRelease, err := os.ReadFile(filepath.Join(root, "etc/os-release"))
	if err != nil {
		t.Fatal(err)
	}
	if string(host) == string(rootfsRelease) {
		t.Fatal("the rootfs has the host's /etc/os-release: the test could not tell them apart")
	}
	nobody := &syscall.Credential{Uid: 65534, Gid: 65534}

	tests := []struct {
		name   string
		chroot string // "" runs escape on the host
		cred   *syscall.Credential
		code   int
		stdout string
		stderr string // the first line, "…" matching any text
	}{
		{"root in a chroot gets out", root, nil, 0, string(host), "escape: out of the chroot, running cat in the real root"},
		// Without CAP_SYS_CHROOT the first chroot(2) fails, before any
		// climbing: the capability is the whole hole.
		{"nobody in a chroot stays", root, nobody, 1, "", "escape: chroot ./escape-…: operation not permitted"},
		{"on the host there is nothing above", "", nil, 1, "", "escape: failed: .. stops at this root, there is nothing above it"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var stdout, stderr strings.Builder
			bin := "/usr/local/bin/escape" // inside the chroot
			if tt.chroot == "" {
				bin = testkit.Bin(t, "./steps/02-chroot/escape")
			}
			cmd := exec.Command(bin, "cat", "/etc/os-release")
			cmd.Stdout, cmd.Stderr = &stdout, &stderr
			cmd.SysProcAttr = &syscall.SysProcAttr{Chroot: tt.chroot, Credential: tt.cred}
			cmd.Dir = "/"
			err := cmd.Run()
			code := 0
			if ee, ok := err.(*exec.ExitError); ok {
				code = ee.ExitCode()
			} else if err != nil {
				t.Fatal(err)
			}
			if code != tt.code || stdout.String() != tt.stdout || !matchLine(tt.stderr, testkit.FirstLine(stderr.String())) {
				t.Errorf("escape cat /etc/os-release: exit %d\nstdout:\n%s\nstderr:\n%s\nwant exit %d, stdout %q, stderr %q",
					code, stdout.String(), stderr.String(), tt.code, tt.stdout, tt.stderr)
			}
			ents, err := os.ReadDir(filepath.Join(root, "tmp"))
			if err != nil || len(ents) != 0 {
				t.Errorf("escape left its scratch directory behind in the rootfs's /tmp: %v %v", ents, err)
			}
		})
	}
}

// matchLine tells whether got is want, where a "…" in want matches any
// text.
func matchLine(want, got string) bool {
	before, after, ok := strings.Cut(want, "…")
	if !ok {
		return want == got
	}
	return len(got) >= len(before)+len(after) && strings.HasPrefix(got, before) && strings.HasSuffix(got, after)
}
