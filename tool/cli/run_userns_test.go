package cli_test

import (
	"fmt"
	"net"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/contain-dev/contain/tool/internal/state"
	"github.com/contain-dev/contain/tool/probe"
	"github.com/contain-dev/contain/tool/testkit"
)

// rangeSeq makes the id ranges of one test binary distinct; the pid makes
// them distinct from parallel test binaries.
var rangeSeq atomic.Uint32

// uniqueRange returns the start of 65536 ids that no other test uses at the
// same time, from 1000000 up (above the ranges useradd hands out).
func uniqueRange() uint32 {
	slot := uint32(os.Getpid()%4000)*8 + rangeSeq.Add(1)%8
	return 1000000 + slot*65536
}

// userRootfs builds a rootfs for a container whose root is uid and gid
// start outside: every file belongs to start, as scripts/mkrootfs.sh
// --owner makes it, and the directories above it are open to all.
func userRootfs(t *testing.T, start uint32) string {
	t.Helper()
	rootfs := testkit.Rootfs(t)
	owner := fmt.Sprintf("%d:%d", start, start)
	if out, err := exec.Command("chown", "-hR", owner, rootfs).CombinedOutput(); err != nil {
		t.Fatalf("chown: %v %s", err, out)
	}
	openParents(t, rootfs)
	return rootfs
}

// openParents opens the two directories above a test's rootfs
// (t.TempDir makes them 0700) to all, as /var/lib/contain/rootfs is: a
// container's root mapped to another uid must reach the rootfs.
func openParents(t *testing.T, rootfs string) {
	t.Helper()
	for _, d := range []string{filepath.Dir(rootfs), filepath.Dir(filepath.Dir(rootfs))} {
		if err := os.Chmod(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
}

// ownerOf returns the uid and gid of path as the host sees them.
func ownerOf(t *testing.T, path string) (uint32, uint32) {
	t.Helper()
	st, err := os.Lstat(path)
	if err != nil {
		t.Fatal(err)
	}
	s := st.Sys().(*syscall.Stat_t)
	return s.Uid, s.Gid
}

// TestRunUserns runs containers in user namespaces as root, with a range
// of its own: root inside, the range outside.
func TestRunUserns(t *testing.T) {
	testkit.RequireRoot(t)
	testkit.CheckHostMounts(t)
	start := uniqueRange()
	rootfs := userRootfs(t, start)
	m := fmt.Sprintf("0:%d:65536", start)
	// --net none: the user namespace comes with a network namespace, and
	// the default bridge network is chapter 08's business.
	flags := []string{"--net", "none", "--uidmap", m, "--gidmap", m}

	rep := runProbe(t, rootfs, flags...)
	if rep.Uid != 0 || rep.Gid != 0 || rep.Pid != 1 {
		t.Errorf("probe uid %d gid %d pid %d, want 0 0 1", rep.Uid, rep.Gid, rep.Pid)
	}
	for _, ns := range []string{"user", "net", "mnt", "pid"} {
		if host := testkit.NSInode(t, "self", ns); rep.NS[ns] == host {
			t.Errorf("%s namespace is the host's, want a new one", ns)
		}
	}
	var sys *probe.Mount
	for i := range rep.Mounts {
		if rep.Mounts[i].MountPoint == "/sys" {
			sys = &rep.Mounts[i]
		}
	}
	if sys == nil || sys.FSType != "sysfs" || !strings.HasPrefix(sys.Options, "ro") {
		t.Errorf("/sys is %+v, want a read-only sysfs", sys)
	}

	script := `set -e
cat /proc/self/uid_map /proc/self/gid_map
echo hi >/dev/null && head -c 4 /dev/zero | wc -c
touch /root/made-inside && stat -c '%u:%g' /root/made-inside`
	res := testkit.Run(t, testkit.Contain(t), append(append([]string{"run", "--rootfs", rootfs}, flags...), "--", "sh", "-c", script)...)
	if res.Code != 0 {
		t.Fatalf("contain run: %s", res)
	}
	want := fmt.Sprintf("0 %d 65536\n0 %d 65536\n4\n0:0\n", start, start)
	got := strings.Join(strings.Fields(strings.ReplaceAll(res.Stdout, "\n", " | ")), " ")
	if diff := cmp.Diff(strings.Join(strings.Fields(strings.ReplaceAll(want, "\n", " | ")), " "), got); diff != "" {
		t.Errorf("inside (-want +got):\n%s", diff)
	}
	if uid, gid := ownerOf(t, filepath.Join(rootfs, "root", "made-inside")); uid != start || gid != start {
		t.Errorf("outside, the file belongs to %d:%d, want %d:%d", uid, gid, start, start)
	}
}

// TestRunUsernsDefault checks root's default map and the device nodes bound
// from the host, which show as nobody's: root of the host is not mapped.
func TestRunUsernsDefault(t *testing.T) {
	testkit.RequireRoot(t)
	testkit.CheckHostMounts(t)
	rootfs := userRootfs(t, 100000)
	res := testkit.Run(t, testkit.Contain(t), "run", "--userns", "--net", "none", "--rootfs", rootfs, "--", "sh", "-c",
		"cat /proc/self/uid_map; stat -c '%n %F %t:%T %U' /dev/null /dev/tty")
	if res.Code != 0 {
		t.Fatalf("contain run: %s", res)
	}
	want := []string{"0", "100000", "65536", // unless /etc/subuid has a range for root
		"/dev/null", "character", "special", "file", "1:3", "nobody",
		"/dev/tty", "character", "special", "file", "5:0", "nobody"}
	if b, _ := os.ReadFile("/etc/subuid"); strings.Contains(string(b), "\nroot:") || strings.HasPrefix(string(b), "root:") {
		t.Skip("/etc/subuid has a range for root, which replaces the default")
	}
	if diff := cmp.Diff(want, strings.Fields(res.Stdout)); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
}

// TestRunUsernsDefaultNetwork runs a user namespace on the default bridge
// network, as a reader of chapter 06 does after chapter 08: the init
// stage is root of a namespace mapped to an unprivileged uid and cannot
// reach /run/contain, yet its /etc/hosts and /etc/resolv.conf are bound
// from there (issue: "bind /run/contain/net/NAME/hosts on /etc/hosts:
// permission denied").
func TestRunUsernsDefaultNetwork(t *testing.T) {
	testkit.RequireRoot(t)
	testkit.CheckHostMounts(t)
	checkNetClean(t)
	rootfs := testkit.Rootfs(t) // owned by the host's root, as the default one
	openParents(t, rootfs)
	name := uniqueName(t, "usernet")
	start := uniqueRange()
	m := fmt.Sprintf("0:%d:65536", start)
	res := testkit.Run(t, testkit.Contain(t), "run", "--userns", "--uidmap", m, "--gidmap", m, "--name", name,
		"--dns", "192.0.2.53", "--rootfs", rootfs, "--", "sh", "-c",
		"cat /proc/self/uid_map; ip -4 -o addr show eth0 | cut -d' ' -f7; grep -v '^#' /etc/resolv.conf; tail -1 /etc/hosts")
	if res.Code != 0 {
		t.Fatalf("contain run --userns on the default network: %s", res)
	}
	f := strings.Fields(res.Stdout)
	if len(f) != 8 {
		t.Fatalf("want uid_map, address, nameserver and hosts line, got %q", res.Stdout)
	}
	addr, _, _ := strings.Cut(f[3], "/")
	want := []string{"0", fmt.Sprint(start), "65536", addr + "/24", "nameserver", "192.0.2.53", addr, name}
	if diff := cmp.Diff(want, f); diff != "" {
		t.Errorf("inside (-want +got):\n%s", diff)
	}
	if !strings.HasPrefix(addr, "10.") {
		t.Errorf("eth0 has %q, want an address of the default network", f[3])
	}
	if state.Exists(name) {
		t.Errorf("the record of %s was left", name)
	}
	if _, err := os.Stat(filepath.Join("/run/contain/net", name)); !os.IsNotExist(err) {
		t.Errorf("the container's hosts and resolv.conf were left: %v", err)
	}
	if st, err := os.Stat("/run/contain"); err == nil && st.Mode().Perm()&0o077 != 0 {
		t.Errorf("/run/contain is %v, want it closed to others (0700)", st.Mode().Perm())
	}
}

// TestRunUsernsBadInput checks each refused map: one line, exit status
// 125, no record left and nothing mounted.
func TestRunUsernsBadInput(t *testing.T) {
	testkit.RequireRoot(t)
	rootfs := testkit.Rootfs(t)
	tests := []struct {
		name   string
		flags  []string
		stderr string
	}{
		{"malformed", []string{"--uidmap", "0:100000"},
			`contain: map "0:100000": want INSIDE:OUTSIDE:LENGTH, such as 0:100000:65536`},
		{"not a number", []string{"--gidmap", "0:lots:1"},
			`contain: map "0:lots:1": "lots" is not an id (0 to 4294967294)`},
		{"overlapping inside", []string{"--uidmap", "0:100000:100", "--uidmap", "50:300000:10"},
			`contain: uid map: ranges "0 100000 100" and "50 300000 10" overlap inside the namespace: an id may appear in one range only`},
		{"overlapping outside", []string{"--gidmap", "0:100000:100", "--gidmap", "100:100050:10"},
			`contain: gid map: ranges "0 100000 100" and "100 100050 10" overlap outside the namespace: an id may appear in one range only`},
		{"no root", []string{"--uidmap", "1:100000:100"},
			`contain: uid map 1 100000 100: no range maps id 0 inside: the container's init becomes root in its namespace, so add a range starting at 0 (--uidmap 0:OUTSIDE:LENGTH)`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			testkit.CheckHostMounts(t)
			name := fmt.Sprintf("bad-userns-%d", os.Getpid())
			args := append(append([]string{"run", "--name", name, "--rootfs", rootfs}, tt.flags...), "--", "true")
			res := testkit.Run(t, testkit.Contain(t), args...)
			checkOneLineError(t, res, 125, tt.stderr)
			if state.Exists(name) {
				t.Errorf("a record of %s was left in %s", name, state.Dir)
			}
		})
	}
}

// rootlessUser is an ordinary user made for one test, with a subordinate
// uid and gid range of its own.
type rootlessUser struct {
	name     string
	uid, gid uint32
	start    uint32 // of its 65536 ids in /etc/subuid and /etc/subgid
}

// newRootlessUser creates the user with useradd (no home, and no ranges
// of useradd's choosing) and gives it a unique range with usermod, which
// locks /etc/subuid and /etc/subgid as shadow's tools do; userdel removes
// the user, its ranges and its state directory when t ends.
func newRootlessUser(t *testing.T) rootlessUser {
	t.Helper()
	if _, err := exec.LookPath("newuidmap"); err != nil {
		t.Fatal("newuidmap not found: install Debian's uidmap package (scripts/provision.sh does)")
	}
	u := rootlessUser{name: fmt.Sprintf("ct06-%d-%d", os.Getpid(), rangeSeq.Add(1)), start: uniqueRange()}
	run := func(name string, args ...string) {
		t.Helper()
		if out, err := exec.Command(name, args...).CombinedOutput(); err != nil {
			t.Fatalf("%s %v: %v\n%s", name, args, err, out)
		}
	}
	run("useradd", "--no-create-home", "--shell", "/bin/sh", "--user-group",
		"-K", "SUB_UID_COUNT=0", "-K", "SUB_GID_COUNT=0", u.name)
	t.Cleanup(func() {
		if out, err := exec.Command("userdel", u.name).CombinedOutput(); err != nil {
			t.Errorf("userdel %s: %v %s", u.name, err, out)
		}
		os.RemoveAll(state.DefaultDir(int(u.uid), ""))
	})
	ids := fmt.Sprintf("%d-%d", u.start, u.start+65535)
	run("usermod", "--add-subuids", ids, "--add-subgids", ids, u.name)
	pw, err := user.Lookup(u.name)
	if err != nil {
		t.Fatal(err)
	}
	uid, _ := strconv.ParseUint(pw.Uid, 10, 32)
	gid, _ := strconv.ParseUint(pw.Gid, 10, 32)
	u.uid, u.gid = uint32(uid), uint32(gid)
	return u
}

// command makes the command bin with args as the user, with no
// supplementary group and an environment of its own, from "/".
func (u rootlessUser) command(bin string, args ...string) *exec.Cmd {
	cmd := exec.Command(bin, args...)
	cmd.Dir = "/"
	cmd.Env = []string{"PATH=/usr/local/bin:/usr/bin:/bin", "USER=" + u.name}
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: u.uid, Gid: u.gid, Groups: []uint32{}}}
	return cmd
}

// run runs bin with args as the user (see command).
func (u rootlessUser) run(t *testing.T, bin string, args ...string) testkit.Result {
	t.Helper()
	return u.runCmd(t, u.command(bin, args...))
}

// runCmd runs cmd, made by command, and returns its result.
func (u rootlessUser) runCmd(t *testing.T, cmd *exec.Cmd) testkit.Result {
	t.Helper()
	var stdout, stderr strings.Builder
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	res := testkit.Result{Stdout: stdout.String(), Stderr: stderr.String()}
	var ee *exec.ExitError
	switch {
	case errorsAs(err, &ee):
		res.Code = ee.ExitCode()
	case err != nil:
		t.Fatalf("%s as %s: %v", cmd.Path, u.name, err)
	}
	return res
}

func errorsAs(err error, ee **exec.ExitError) bool {
	e, ok := err.(*exec.ExitError)
	if ok {
		*ee = e
	}
	return ok
}

// TestRunRootless runs contain as an ordinary user with a subuid range: no
// root anywhere, root inside, and the range outside.
func TestRunRootless(t *testing.T) {
	testkit.RequireRoot(t) // to create the user
	testkit.CheckHostMounts(t)
	u := newRootlessUser(t)
	bin := testkit.WorldExecutable(t, testkit.Contain(t))
	rootfs := userRootfs(t, u.start)

	res := u.run(t, bin, "run", "--userns", "--net", "none", "--rootfs", rootfs, "--", "/usr/local/bin/probe")
	if res.Code != 0 {
		t.Fatalf("contain run as %s: %s", u.name, res)
	}
	rep, err := probe.Decode([]byte(res.Stdout))
	if err != nil {
		t.Fatal(err)
	}
	if rep.Uid != 0 || rep.Gid != 0 || rep.Pid != 1 {
		t.Errorf("probe uid %d gid %d pid %d, want 0 0 1", rep.Uid, rep.Gid, rep.Pid)
	}

	// The map newuidmap wrote, a file root makes, and contain's own ids,
	// which must be the user's: status lines of the parent of pid 1 are
	// out of reach inside, so contain idmap and stat tell from outside.
	res = u.run(t, bin, "run", "--userns", "--net", "none", "--rootfs", rootfs, "--", "sh", "-c",
		"cat /proc/self/uid_map /proc/self/setgroups; touch /root/made-inside")
	if res.Code != 0 {
		t.Fatalf("contain run as %s: %s", u.name, res)
	}
	if diff := cmp.Diff([]string{"0", fmt.Sprint(u.start), "65536", "allow"}, strings.Fields(res.Stdout)); diff != "" {
		t.Errorf("uid_map and setgroups inside (-want +got):\n%s", diff)
	}
	if uid, gid := ownerOf(t, filepath.Join(rootfs, "root", "made-inside")); uid != u.start || gid != u.start {
		t.Errorf("outside, the file belongs to %d:%d, want %d:%d", uid, gid, u.start, u.start)
	}
	if _, err := os.Stat(filepath.Join(state.DefaultDir(int(u.uid), ""))); err != nil {
		t.Errorf("the user's state directory: %v", err)
	}
	if ents, _ := os.ReadDir(state.DefaultDir(int(u.uid), "")); len(ents) != 0 {
		t.Errorf("records left after the runs: %v", ents)
	}
}

// TestRunRootlessDefaultNetwork runs a rootless container without --net:
// pasta's user-mode network, through which the container reaches a
// listener on the host's loopback at the gateway's address, and through
// which a port published with -p reaches the container. Without pasta,
// and with --dns, it is one line saying what to do.
func TestRunRootlessDefaultNetwork(t *testing.T) {
	testkit.RequireRoot(t) // to create the user
	testkit.CheckHostMounts(t)
	checkNetClean(t)
	u := newRootlessUser(t)
	bin := testkit.WorldExecutable(t, testkit.Contain(t))
	rootfs := userRootfs(t, u.start)
	ln, err := net.Listen("tcp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			fmt.Fprintln(c, "hello from the host")
			c.Close()
		}
	}()
	port := ln.Addr().(*net.TCPAddr).Port
	res := u.run(t, bin, "run", "--userns", "--rootfs", rootfs, "--", "sh", "-c",
		// timeout: busybox nc waits for the end of the connection, which
		// bookworm's pasta does not always pass on once the host closes.
		fmt.Sprintf("ip -4 -o addr show eth0 | wc -l; gw=$(ip route | awk '/^default/ {print $3}'); timeout 5 nc $gw %d; true", port))
	if res.Code != 0 {
		t.Fatalf("contain run --userns as %s: %s", u.name, res)
	}
	if lines := strings.SplitN(res.Stdout, "\n", 3); len(lines) < 2 || lines[0] != "1" || lines[1] != "hello from the host" {
		t.Errorf("eth0's addresses and the host's loopback at the gateway: %q, want \"1\\nhello from the host\\n\"", res.Stdout)
	}

	hostPort := 18600 + int(rangeSeq.Add(1)%100)
	srv := u.command(bin, "run", "--userns", "--rootfs", rootfs, "-p", fmt.Sprintf("%d:80", hostPort), "--",
		"sh", "-c", "trap exit TERM; nc -ll -p 80 -e echo pong & wait")
	if err := srv.Start(); err != nil {
		t.Fatal(err)
	}
	var got string
	for deadline := time.Now().Add(30 * time.Second); time.Now().Before(deadline); time.Sleep(100 * time.Millisecond) {
		if got, err = dial(fmt.Sprintf("127.0.0.1:%d", hostPort)); err == nil {
			break
		}
	}
	srv.Process.Signal(syscall.SIGTERM)
	srv.Wait()
	if got != "pong\n" {
		t.Errorf("-p %d:80 of a rootless container, from the host: %q, %v", hostPort, got, err)
	}

	res = u.run(t, bin, "run", "--userns", "--dns", "192.0.2.53", "--rootfs", rootfs, "--", "true")
	checkOneLineError(t, res, 125, "contain: --dns writes the resolv.conf of a bridge or ovs network, which need root: drop --dns to keep the rootfs's own")
	// Without pasta on PATH (newuidmap is not needed before the check).
	noPasta := u.command(bin, "run", "--userns", "--rootfs", rootfs, "--", "true")
	noPasta.Env[0] = "PATH=/nonexistent"
	checkOneLineError(t, u.runCmd(t, noPasta), 125,
		"contain: a rootless container's default network is pasta's, and pasta is missing: install Debian's passt package, or use --net none for an empty network namespace (--net host cannot go with --userns)")
	if ents, _ := os.ReadDir(state.DefaultDir(int(u.uid), "")); len(ents) != 0 {
		t.Errorf("records left: %v", ents)
	}
	// Zombies included: init reaps the stopped pasta a moment later.
	var left []byte
	for deadline := time.Now().Add(2 * time.Second); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		if left, _ = exec.Command("pgrep", "-u", fmt.Sprint(u.uid)).Output(); len(left) == 0 {
			break
		}
	}
	if len(left) != 0 {
		t.Errorf("processes of %s left (a pasta?): %s", u.name, left)
	}
}

// TestRunRootlessBadInput checks the refusals only an ordinary user meets.
func TestRunRootlessBadInput(t *testing.T) {
	testkit.RequireRoot(t)
	testkit.CheckHostMounts(t)
	u := newRootlessUser(t)
	bin := testkit.WorldExecutable(t, testkit.Contain(t))
	rootfs := userRootfs(t, u.start)
	end := u.start + 65535
	tests := []struct {
		name   string
		flags  []string
		stderr string
	}{
		{"beyond the subuid range", []string{"--uidmap", fmt.Sprintf("0:%d:65537", u.start), "--gidmap", fmt.Sprintf("0:%d:1", u.start)},
			fmt.Sprintf(`contain: uid range "0 %d 65537": outside ids %d-%d are beyond what /etc/subuid grants %s (%d-%d, and uid %d itself)`, u.start, u.start, end+1, u.name, u.start, end, u.uid)},
		{"root's uid", []string{"--uidmap", "0:0:1"},
			fmt.Sprintf(`contain: uid range "0 0 1": outside ids 0-0 are beyond what /etc/subuid grants %s (%d-%d, and uid %d itself)`, u.name, u.start, end, u.uid)},
		{"no --userns", nil,
			"contain: run needs root (namespaces, mounts and pivot_root need CAP_SYS_ADMIN): run it as root, e.g. sudo contain run ..."},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code := 125
			if tt.flags == nil {
				code = 1
			}
			res := u.run(t, bin, append(append([]string{"run", "--rootfs", rootfs}, tt.flags...), "--", "true")...)
			checkOneLineError(t, res, code, tt.stderr)
			if ents, _ := os.ReadDir(state.DefaultDir(int(u.uid), "")); len(ents) != 0 {
				t.Errorf("records left: %v", ents)
			}
		})
	}
}

// TestIdmap runs contain idmap on the host's pid 1 and on a pid that does
// not exist.
func TestIdmap(t *testing.T) {
	res := testkit.Run(t, testkit.Contain(t), "idmap", "1")
	want := "MAP  INSIDE  OUTSIDE  LENGTH      OUTSIDE IS\n" +
		"uid  0       0        4294967295  every id: the initial user namespace\n" +
		"gid  0       0        4294967295  every id: the initial user namespace\n"
	if res.Code != 0 || res.Stdout != want {
		t.Errorf("contain idmap 1: %s\nwant stdout:\n%s", res, want)
	}
	res = testkit.Run(t, testkit.Contain(t), "idmap", "4194305") // above pid_max's limit
	checkOneLineError(t, res, 1, "contain: no process 4194305: give the pid of a running process (ps -e lists them)")
}
