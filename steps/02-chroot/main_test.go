package main

import (
	"bufio"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"golang.org/x/sys/unix"

	"github.com/contain-dev/contain/tool/probe"
	"github.com/contain-dev/contain/tool/testkit"
)

// TestStep runs commands through the step inside a fresh rootfs and checks
// what they print: the rootfs's files, and after escape the host's.
func TestStep(t *testing.T) {
	step, root := setup(t)
	hostRelease := readFile(t, "/etc/os-release")
	rootRelease := readFile(t, filepath.Join(root, "etc/os-release"))
	if hostRelease == rootRelease {
		t.Fatal("the rootfs has the host's /etc/os-release: the test could not tell them apart")
	}

	tests := []struct {
		name       string
		args       []string
		env        []string
		code       int
		stdout     string
		stderrHave string // a substring of stderr
	}{
		{"the rootfs's files", []string{root, "cat", "/etc/os-release"}, nil, 0, rootRelease, ""},
		{"command looked up in the rootfs", []string{root, "escape", "cat", "/etc/os-release"}, nil, 0, hostRelease, "escape: out of the chroot"},
		{"not found", []string{root, "no-such-command"}, nil, 127, "", `"no-such-command": executable file not found`},
		{"not executable", []string{root, "/etc/os-release"}, nil, 126, "", "permission denied"},
		{"missing dir", []string{filepath.Join(root, "missing"), "true"}, nil, 125, "", "chdir " + filepath.Join(root, "missing") + ": no such file or directory"},
		{"no command: the rootfs's shell", []string{root}, nil, 0, "", ""},
		// The shortcut looks cat up in the host's PATH, and finds
		// /usr/bin/cat (Debian has merged /usr), but the busybox rootfs
		// has cat in /bin only.
		{"sysprocattr: host lookup", []string{"-sysprocattr", root, "cat", "/etc/os-release"}, []string{"PATH=/usr/bin"}, 127, "", "fork/exec /usr/bin/cat: no such file or directory"},
		{"sysprocattr: not on the host", []string{"-sysprocattr", root, "escape"}, nil, 127, "", `exec: "escape": executable file not found`},
		{"sysprocattr: absolute path works", []string{"-sysprocattr", root, "/bin/cat", "/etc/os-release"}, nil, 0, rootRelease, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := testkit.RunIn(t, "", tt.env, step, tt.args...)
			if r.Code != tt.code || r.Stdout != tt.stdout || !strings.Contains(r.Stderr, tt.stderrHave) {
				t.Errorf("02-chroot %v:\n%s\nwant exit %d, stdout %q, stderr containing %q", tt.args, r, tt.code, tt.stdout, tt.stderrHave)
			}
			// escape removes its scratch directory; nothing else writes.
			if left := listDir(t, filepath.Join(root, "tmp")); len(left) > 0 {
				t.Errorf("left behind in the rootfs's /tmp: %v", left)
			}
		})
	}
}

// TestStepChangesOnlyTheRoot looks at a chrooted process from the host:
// its root and working directory are the rootfs, and every namespace is
// the host's own.
func TestStepChangesOnlyTheRoot(t *testing.T) {
	step, root := setup(t)

	// The shell says "ready" once it runs, chrooted, and then waits for
	// a line on stdin, which we send when we have looked.
	cmd := exec.Command(step, root, "/bin/sh", "-c", "echo ready; read line")
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		stdin.Write([]byte("done\n"))
		stdin.Close()
		if err := cmd.Wait(); err != nil {
			t.Errorf("chrooted shell: %v", err)
		}
	})
	line, err := bufio.NewReader(stdout).ReadString('\n')
	if err != nil || line != "ready\n" {
		t.Fatalf("chrooted shell said %q, %v; want \"ready\"", line, err)
	}
	pid := filepath.Join("/proc", strconv.Itoa(cmd.Process.Pid))

	got := map[string]string{}
	want := map[string]string{"root": root, "cwd": root}
	for _, link := range []string{"root", "cwd"} {
		if got[link], err = os.Readlink(filepath.Join(pid, link)); err != nil {
			t.Fatal(err)
		}
	}
	for _, ns := range probe.Namespaces {
		self, err := os.Readlink("/proc/self/ns/" + ns)
		if err != nil {
			continue // a namespace this kernel lacks
		}
		want["ns/"+ns] = self
		got["ns/"+ns] = testkit.NSInode(t, strconv.Itoa(cmd.Process.Pid), ns)
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("the chrooted shell, seen from the host (-want +got):\n%s", diff)
	}
}

// TestStepProbe runs probe through the step, first as the rootfs is, then
// with a procfs mounted in it, as a reader would to look around.
func TestStepProbe(t *testing.T) {
	step, root := setup(t)
	hostname, err := os.Hostname()
	if err != nil {
		t.Fatal(err)
	}

	// Without /proc the probe sees nothing of processes or namespaces,
	// which is not isolation: it is only blindness.
	r := testkit.RunProbe(t, step, root, "probe")
	if r.Cwd != "/" || r.Hostname != hostname || r.ProcMounted || len(r.Pids) != 0 || len(r.NS) != 0 {
		t.Errorf("probe without /proc: cwd %q, hostname %q, proc mounted %v, %d pids, ns %v; want cwd /, hostname %q (the host's), no /proc, no pids, no ns",
			r.Cwd, r.Hostname, r.ProcMounted, len(r.Pids), r.NS, hostname)
	}

	// With a procfs in the rootfs: it is the host's mount namespace that
	// gets the mount, and the host's PID namespace that fills it.
	proc := filepath.Join(root, "proc")
	if err := unix.Mount("proc", proc, "proc", unix.MS_NOSUID|unix.MS_NODEV|unix.MS_NOEXEC, ""); err != nil {
		t.Fatalf("mount proc on %s: %v", proc, err)
	}
	t.Cleanup(func() {
		if err := unix.Unmount(proc, 0); err != nil {
			t.Errorf("umount %s: %v", proc, err)
		}
	})
	r = testkit.RunProbe(t, step, root, "probe")
	for _, ns := range []string{"mnt", "pid", "uts", "net", "ipc", "user"} {
		if host := testkit.NSInode(t, "self", ns); r.NS[ns] != host {
			t.Errorf("ns %s in the chroot is %q, want the host's %q", ns, r.NS[ns], host)
		}
	}
	if !slices.Contains(r.Pids, os.Getpid()) {
		t.Errorf("the chroot's /proc does not list the test's own pid %d: %v", os.Getpid(), r.Pids)
	}
	// mountinfo shows only the mounts under the process's root, with
	// paths relative to it: the host's "/" is there but out of sight.
	var points []string
	for _, m := range r.Mounts {
		points = append(points, m.MountPoint)
	}
	if diff := cmp.Diff([]string{"/proc"}, points); diff != "" {
		t.Errorf("mount points seen in the chroot (-want +got):\n%s", diff)
	}
}

// setup is the start of every test here: root, a check that the host's
// mounts come out as they went in, the step binary and a fresh rootfs.
func setup(t *testing.T) (step, root string) {
	t.Helper()
	testkit.RequireRoot(t)
	testkit.CheckHostMounts(t)
	return testkit.Bin(t, "./steps/02-chroot"), testkit.Rootfs(t)
}

func readFile(t *testing.T, name string) string {
	t.Helper()
	b, err := os.ReadFile(name)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func listDir(t *testing.T, dir string) []string {
	t.Helper()
	ents, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range ents {
		names = append(names, e.Name())
	}
	return names
}
