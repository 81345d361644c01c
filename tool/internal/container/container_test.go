package container

import (
	"bufio"
	"errors"
	"fmt"
	"net/netip"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/contain-dev/contain/tool/internal/cgroup"
	"github.com/contain-dev/contain/tool/internal/idmap"
	"github.com/contain-dev/contain/tool/internal/initstage"
	"github.com/contain-dev/contain/tool/internal/network"
	"github.com/contain-dev/contain/tool/internal/state"
	"github.com/contain-dev/contain/tool/testkit"
)

// TestMain lets the test binary serve as its own init stage: Create runs
// /proc/self/exe init, and here /proc/self/exe is this test binary.
func TestMain(m *testing.M) {
	if len(os.Args) > 1 && os.Args[1] == "init" {
		initstage.Main()
		return
	}
	os.Exit(m.Run())
}

func validConfig() *Config {
	return &Config{
		Name:       "web",
		Rootfs:     "/srv/rootfs",
		Process:    Process{Args: []string{"/bin/true"}, Env: initstage.DefaultEnv("")},
		Namespaces: []string{"mnt", "uts", "ipc", "pid"},
		Network:    Network{Mode: NetNone},
	}
}

func TestValidate(t *testing.T) {
	root := idmap.Map{{Inside: 0, Outside: 100000, Length: 65536}}
	tests := []struct {
		name   string
		change func(c *Config)
		want   string // a part of the error; "" for none
	}{
		{"valid", func(c *Config) {}, ""},
		{"bridge with ports and dns", func(c *Config) {
			c.Network = Network{Mode: NetBridge, Name: "contain0", Ports: []network.Port{{HostPort: 8080, CtrPort: 80, Proto: "tcp"}}, DNS: []netip.Addr{netip.MustParseAddr("192.0.2.53")}}
		}, ""},
		{"user namespace", func(c *Config) { c.UserNS = &UserNS{UIDMap: root, GIDMap: root} }, ""},
		{"bad name", func(c *Config) { c.Name = "a/b" }, `container name "a/b"`},
		{"relative rootfs", func(c *Config) { c.Rootfs = "rootfs" }, "not an absolute path"},
		{"long hostname", func(c *Config) { c.Hostname = strings.Repeat("h", 65) }, "longer than 64 bytes"},
		{"no command", func(c *Config) { c.Process.Args = nil }, "no command"},
		{"negative stop timeout", func(c *Config) { c.Process.StopTimeout = -time.Second }, "negative"},
		{"unknown namespace", func(c *Config) { c.Namespaces = append(c.Namespaces, "nope") }, "nope"},
		{"unknown network mode", func(c *Config) { c.Network.Mode = "wifi" }, `unknown network mode "wifi"`},
		{"bridge without a name", func(c *Config) { c.Network.Mode = NetBridge }, "network name"},
		{"ports without NAT", func(c *Config) { c.Network.Ports = []network.Port{{HostPort: 1, CtrPort: 1, Proto: "tcp"}} }, "ports are published"},
		{"dns with the host's network", func(c *Config) {
			c.Network = Network{Mode: NetHost, DNS: []netip.Addr{netip.MustParseAddr("192.0.2.53")}}
		}, "DNS servers"},
		{"user namespace with the host's network", func(c *Config) {
			c.UserNS = &UserNS{UIDMap: root, GIDMap: root}
			c.Network.Mode = NetHost
		}, "cannot keep the host's network"},
		{"map without root", func(c *Config) {
			m := idmap.Map{{Inside: 1, Outside: 100000, Length: 10}}
			c.UserNS = &UserNS{UIDMap: m, GIDMap: root}
		}, "0"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := validConfig()
			tt.change(c)
			err := c.Validate()
			got := ""
			if err != nil {
				got = err.Error()
			}
			if (tt.want == "") != (err == nil) || !strings.Contains(got, tt.want) {
				t.Errorf("Validate() = %q, want an error with %q", got, tt.want)
			}
		})
	}
}

// uniqueName is a container name no other test or run uses.
func uniqueName(t *testing.T, what string) string {
	return fmt.Sprintf("ct-%s-%d", what, os.Getpid()%100000)
}

// checkGone fails t if anything of the container called name is left on
// the host: its record and the files beside it, its cgroup node, its
// network files.
func checkGone(t *testing.T, name string) {
	t.Helper()
	var left []string
	if state.Exists(name) {
		left = append(left, "record")
	}
	if m, _ := filepath.Glob(state.File(name, "*")); len(m) > 0 {
		left = append(left, m...)
	}
	if lay, err := cgroup.Detect(); err == nil && slices.Contains(cgroup.Names(lay), name) {
		left = append(left, "cgroup "+cgroup.Rel(name))
	}
	if _, err := os.Stat(filepath.Join(NetFilesDir, name)); err == nil {
		left = append(left, "network files")
	}
	if len(left) > 0 {
		t.Errorf("left behind for %s: %v", name, left)
	}
}

// TestLifecycle creates a container, finds it by name as another process
// would, stops it from there, waits for it and destroys it, checking the
// status at each step and that nothing is left.
func TestLifecycle(t *testing.T) {
	testkit.RequireRoot(t)
	name := uniqueName(t, "life")
	cfg := validConfig()
	cfg.Name = name
	cfg.Rootfs = testkit.Rootfs(t)
	// sleep as pid 1 has no handler for SIGTERM, which the kernel then
	// does not deliver (pid_namespaces(7)): Stop must escalate to SIGKILL.
	cfg.Process.Args = []string{"sleep", "60"}
	cfg.Cgroup = &cgroup.Limits{PidsLimit: 16}
	ct, err := Create(cfg, IO{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ct.Destroy(); checkGone(t, name) })
	var got []Status
	got = append(got, ct.State())
	// At the barrier the init stage is still contain's (here the test
	// binary's), not sleep: nothing of the command has run.
	if comm := readComm(t, ct.Pid()); comm == "sleep" {
		t.Errorf("after Create the command runs already (comm %q)", comm)
	}
	if err := ct.Start(); err != nil {
		t.Fatal(err)
	}
	if comm := readComm(t, ct.Pid()); comm != "sleep" {
		t.Errorf("after Start pid %d is %q, want sleep", ct.Pid(), comm)
	}
	other, err := Load(name)
	if err != nil {
		t.Fatal(err)
	}
	got = append(got, other.State())
	if other.Pid() != ct.Pid() || other.Pid() <= 0 {
		t.Errorf("Load: pid %d, the creator's is %d", other.Pid(), ct.Pid())
	}
	if other.Record().Cgroup == nil {
		t.Errorf("Load: the record has no cgroup part")
	}
	done := make(chan Exit, 1)
	go func() { e, _ := ct.Wait(); done <- e }()
	began := time.Now()
	if err := other.Stop(200 * time.Millisecond); err != nil {
		t.Fatal(err)
	}
	exit := <-done
	if took := time.Since(began); took < 200*time.Millisecond {
		t.Errorf("Stop returned after %v, before its timeout: SIGTERM ended a pid 1 without a handler?", took)
	}
	got = append(got, other.State())
	if err := other.Signal(9); !errors.Is(err, ErrNotRunning) {
		t.Errorf("Signal after the end = %v, want ErrNotRunning", err)
	}
	if diff := cmp.Diff([]Status{Created, Running, Stopped}, got); diff != "" {
		t.Errorf("statuses (-want +got):\n%s", diff)
	}
	if exit.Code != 128+9 {
		t.Errorf("exit code %d, want 137 (SIGKILL)", exit.Code)
	}
	if err := ct.Destroy(); err != nil {
		t.Fatal(err)
	}
	checkGone(t, name)
}

// readComm returns the command name of pid (proc_pid_comm(5)).
func readComm(t *testing.T, pid int) string {
	t.Helper()
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/comm", pid))
	if err != nil {
		t.Fatal(err)
	}
	return strings.TrimSpace(string(b))
}

// TestExec runs a process into a running container, as another process
// would after Load, and checks that it is in every namespace of the
// container's first process and in its cgroup.
func TestExec(t *testing.T) {
	testkit.RequireRoot(t)
	name := uniqueName(t, "exec")
	cfg := validConfig()
	cfg.Name = name
	cfg.Rootfs = testkit.Rootfs(t)
	cfg.Hostname = "exec-test"
	cfg.Process.Args = []string{"sleep", "60"}
	cfg.Cgroup = &cgroup.Limits{}
	ct, err := Create(cfg, IO{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ct.Destroy(); checkGone(t, name) })
	if err := ct.Start(); err != nil {
		t.Fatal(err)
	}
	other, err := Load(name)
	if err != nil {
		t.Fatal(err)
	}
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	p, err := other.Exec(Process{Args: []string{"sh", "-c", "hostname; exec sleep 60"}, Env: initstage.DefaultEnv("")}, IO{Stdout: w})
	w.Close()
	if err != nil {
		t.Fatal(err)
	}
	line, _ := bufio.NewReader(r).ReadString('\n')
	defer func() { syscall.Kill(p.Pid(), syscall.SIGKILL); p.Wait() }()
	for deadline := time.Now().Add(5 * time.Second); readComm(t, p.Pid()) != "sleep"; time.Sleep(10 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("the exec'd command did not start")
		}
	}
	for _, ns := range []string{"mnt", "uts", "ipc", "pid", "net", "cgroup"} {
		want := testkit.NSInode(t, fmt.Sprint(ct.Pid()), ns)
		if got := testkit.NSInode(t, fmt.Sprint(p.Pid()), ns); got != want {
			t.Errorf("%s namespace: %s, the container's is %s", ns, got, want)
		}
	}
	if got := strings.TrimSpace(line); got != "exec-test" {
		t.Errorf("hostname in the exec'd process = %q, want exec-test", got)
	}
	lay, err := cgroup.Detect()
	if err != nil {
		t.Fatal(err)
	}
	pids, _ := cgroup.Open(lay, name).Procs()
	if !slices.Contains(pids, p.Pid()) {
		t.Errorf("the exec'd pid %d is not in the container's cgroup (procs %v)", p.Pid(), pids)
	}
}

// TestCreateFails checks that a Create that fails at any step returns
// the failure and leaves nothing of the container on the host.
func TestCreateFails(t *testing.T) {
	testkit.RequireRoot(t)
	rootfs := testkit.Rootfs(t)
	tests := []struct {
		name   string
		change func(c *Config)
		want   string
		code   int // the init stage's exit code, 0 for an error of Create's own
	}{
		{"invalid config", func(c *Config) { c.Process.Args = nil }, "no command", 0},
		{"missing rootfs", func(c *Config) { c.Rootfs = "/nonexistent/rootfs" }, "does not exist", 0},
		{"limit the host cannot give", func(c *Config) { c.Cgroup = &cgroup.Limits{CpusetCPUs: "999"} }, "999", 0},
		{"unknown network", func(c *Config) { c.Network = Network{Mode: NetBridge, Name: "nosuchnet"} }, "nosuchnet", 0},
		{"command not found", func(c *Config) { c.Process.Args = []string{"/no/such/command"} }, "not found", initstage.ExitNotFound},
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := validConfig()
			cfg.Name = fmt.Sprintf("%s%d", uniqueName(t, "fail"), i)
			cfg.Rootfs = rootfs
			cfg.Cgroup = &cgroup.Limits{}
			tt.change(cfg)
			ct, err := Create(cfg, IO{})
			if err == nil {
				ct.Start()
				ct.Wait()
				ct.Destroy()
				t.Fatalf("Create succeeded")
			}
			if !strings.Contains(err.Error(), tt.want) {
				t.Errorf("Create = %v, want an error with %q", err, tt.want)
			}
			var f *initstage.Failure
			if code := 0; errors.As(err, &f) {
				code = f.Code
				if code != tt.code {
					t.Errorf("exit code %d, want %d", code, tt.code)
				}
			} else if tt.code != 0 {
				t.Errorf("not an init stage failure: %v", err)
			}
			checkGone(t, cfg.Name)
		})
	}
}

// TestCleanOrphans leaves the record of a container whose creator is gone
// (no owner holds its lock), naming a cgroup node that exists, and checks
// that CleanOrphans destroys both from the record alone.
func TestCleanOrphans(t *testing.T) {
	testkit.RequireRoot(t)
	lay, err := cgroup.Detect()
	if err != nil {
		t.Fatal(err)
	}
	name := uniqueName(t, "orphan")
	cg, err := cgroup.Create(lay, name, &cgroup.Limits{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cg.Delete(); state.Remove(name) })
	rec := &Record{Name: name, Status: Running, Cgroup: &CgroupPart{Name: name}}
	owner, err := state.Create(name, rec)
	if err != nil {
		t.Fatal(err)
	}
	found, err := CleanOrphans()
	if err != nil {
		t.Fatal(err)
	}
	if slices.ContainsFunc(found, func(f Finding) bool { return f.Name == name }) {
		t.Fatalf("CleanOrphans removed %s while its owner lives", name)
	}
	owner.Release() // as the kernel does when the owner dies
	found, err = CleanOrphans()
	if err != nil {
		t.Fatal(err)
	}
	if !slices.ContainsFunc(found, func(f Finding) bool { return f.Name == name }) {
		t.Errorf("CleanOrphans = %v, want %s among them", found, name)
	}
	checkGone(t, name)
}
