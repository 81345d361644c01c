package main

import (
	"fmt"
	"maps"
	"path/filepath"
	"slices"
	"strconv"
	"strings"

	"github.com/contain-dev/contain/labs/internal/grading"
	"github.com/contain-dev/contain/tool/probe"
)

// result is what one container run left for the checks to look at.
type result struct {
	Rootfs         string   // the rootfs it ran on, a copy of the pristine one
	Code           int      // its exit status
	Stdout, Stderr string   // what it printed
	Changed        []string // the sandbox's mount table changes, see outcome
}

// devEntry is one line of devScript's output: a file in the container's
// /dev or /dev/pts.
type devEntry struct {
	Type         string // as stat(1) says it: "character special file", ...
	Major, Minor uint64
	Mode         string // octal permissions, "666"
	Target       string // of a symlink
}

// observation is everything the grader saw of the learner's container;
// each check reads it and nothing else.
type observation struct {
	probe  result // the container ran the probe, as its pid 1
	dev    result // the container listed /dev with devScript
	escape result // the container ran chapter 02's escape
	// report is the probe's decoded output, nil when it did not run.
	report *probe.Report
	// reportErr says why report is nil.
	reportErr error
	// devEntries maps "null", "pts/ptmx", ... to what devScript saw.
	devEntries map[string]devEntry
	// umask is the one the grader started the containers with, as
	// umask(1) prints it ("0022"); see startUmask in main.go.
	umask string
	// entries counts what devScript found in "/proc" and "/sys"; a
	// directory it did not count is missing.
	entries map[string]int
	// skip says why the stretch goal is not graded, or "".
	skip string
}

// parse decodes the probe's report and the /dev listing.
func (o *observation) parse() {
	if o.probe.Code == 0 {
		r, err := probe.Decode([]byte(o.probe.Stdout))
		if err == nil {
			o.report = &r
		}
		o.reportErr = err
	}
	o.devEntries = map[string]devEntry{}
	o.entries = map[string]int{}
	for _, line := range strings.Split(o.dev.Stdout, "\n") {
		var dir string
		var n int
		if _, err := fmt.Sscanf(line, "=%s %d", &dir, &n); err == nil {
			o.entries[dir] = n
			continue
		}
		f := strings.Split(line, "|")
		if len(f) != 6 {
			continue
		}
		major, _ := strconv.ParseUint(f[2], 16, 32)
		minor, _ := strconv.ParseUint(f[3], 16, 32)
		o.devEntries[f[0]] = devEntry{Type: f[1], Major: major, Minor: minor, Mode: f[4], Target: f[5]}
	}
}

// checks are graded in the order setup runs its steps.
var checks = []grading.Check[*observation]{
	{Name: "the command runs as pid 1 of the container", Points: 1, Run: checkRuns},
	{Name: "no mount propagates back to the host", Points: 3, Run: checkPropagation},
	{Name: "/proc is a new procfs listing only the container's pids", Points: 3, Run: checkProc},
	{Name: "/dev is a tmpfs with only null, zero, full, random, urandom, tty", Points: 3, Run: checkDev},
	{Name: "the command runs with the umask it was started with", Points: 1, Run: checkUmask},
	{Name: "/dev/pts is a devpts of its own, /dev/ptmx leads into it", Points: 2, Run: checkDevpts},
	{Name: "/sys is a read-only sysfs", Points: 2, Run: checkSys},
	{Name: "/ is the rootfs, and the host's tree is gone", Points: 3, Run: checkRoot},
	{Name: "chapter 02's escape stays inside", Points: 2, Run: checkEscape},
	{Name: "/ is read-only, /dev is not", Stretch: true, Skip: func(o *observation) string { return o.skip }, Run: checkReadOnly},
}

// noReport is the hint of the checks that need the probe's report when
// there is none.
const noReport = "the probe did not run, so there is nothing to look at: see the first check"

// hidden tells whether /proc, /dev and /sys all look like the empty
// directories of the rootfs on disk. The starter binds them and a
// finished setup mounts them: when none shows, they were most likely
// mounted and then covered, by a bind of the rootfs made after them.
func (o *observation) hidden() bool {
	return o.report != nil && !o.report.ProcMounted && len(o.devEntries) == 0 && o.entries["/sys"] == 0 && o.entries["/proc"] == 0 && o.dev.Code == 0
}

// hiddenHint is the hint of the /proc, /dev and /sys checks when hidden.
const hiddenHint = "/proc, /dev and /sys are all empty directories, as if nothing were mounted on them. If setup mounts them, something made later hides them: a bind of the rootfs onto itself takes the directory alone, without the mounts below it (unless MS_REC), and what the container sees is that bind. Bind the rootfs before mounting /proc, /dev and /sys"

// noTable is the hint of the checks that need the container's mount table
// when /proc, from which the probe reads it, is not mounted.
const noTable = "the probe cannot tell what is mounted where: it reads the mount table from /proc, and /proc is not mounted (see the /proc check)"

// list shows at most four items, then how many more there are.
func list(items []string) string {
	if len(items) <= 4 {
		return strings.Join(items, ", ")
	}
	return fmt.Sprintf("%s and %d more", strings.Join(items[:4], ", "), len(items)-4)
}

// relative writes rootfs as ROOTFS in each item, which is shorter and the
// same from run to run.
func relative(items []string, rootfs string) []string {
	out := make([]string, len(items))
	for i, s := range items {
		out[i] = strings.ReplaceAll(s, rootfs, "ROOTFS")
	}
	return out
}

// startAdvice explains the errors that stop a half-done setup, matched by
// the words of the error.
var startAdvice = []struct {
	words  []string
	advice string
}{
	{[]string{"pivot_root", "invalid argument"}, "pivot_root(2) fails with EINVAL when a mount involved is shared (make / private first) or when new_root is not a mount point"},
	{[]string{"pivot_root", "device or resource busy"}, "pivot_root(2) fails with EBUSY when new_root is on the same mount as the current root: bind the rootfs onto itself first"},
	{[]string{"mount", "device or resource busy"}, "the old root is busy, if only because this very program runs from it: unmount it lazily, with MNT_DETACH"},
	{[]string{"not found in the container"}, "The probe is in the rootfs: is / the rootfs by the time main looks the command up?"},
}

func checkRuns(o *observation) string {
	r := o.report
	if r != nil && r.Pid == 1 {
		return ""
	}
	if r != nil {
		return fmt.Sprintf("the probe is pid %d, not 1: clone(2) must create the container's first process in the new PID namespace", r.Pid)
	}
	said := grading.FirstLine(strings.ReplaceAll(o.probe.Stderr, o.probe.Rootfs, "ROOTFS"))
	switch {
	case o.probe.Code == 0:
		return fmt.Sprintf("the probe ran but its output is not a report: %v", o.reportErr)
	case said == "":
		return fmt.Sprintf("the container exited with status %d and said nothing", o.probe.Code)
	}
	if wd, ok := workingDir(said); ok && wd != "ROOTFS" && !strings.HasPrefix(wd, "ROOTFS/") && strings.Contains(said, "pivot_root") {
		return fmt.Sprintf("the container did not start: %q. pivot_root(\".\", \".\") pivots into \".\", the working directory, which was %s, not the rootfs: chdir into the rootfs first", said, wd)
	}
	for _, a := range startAdvice {
		if !slices.ContainsFunc(a.words, func(w string) bool { return !strings.Contains(said, w) }) {
			return fmt.Sprintf("the container did not start: %q. %s", said, a.advice)
		}
	}
	return fmt.Sprintf("the container did not start: %q (exit status %d)", said, o.probe.Code)
}

// workingDir finds the working directory that the container's main adds
// to a setup failure, "(working directory DIR)".
func workingDir(said string) (string, bool) {
	_, rest, ok := strings.Cut(said, "(working directory ")
	if !ok {
		return "", false
	}
	wd, _, ok := strings.Cut(rest, ")")
	return wd, ok
}

func checkPropagation(o *observation) string {
	var added, removed []string
	for _, r := range []result{o.probe, o.dev, o.escape} {
		for _, c := range relative(r.Changed, r.Rootfs) {
			switch {
			case strings.HasPrefix(c, "-") && !slices.Contains(removed, c):
				removed = append(removed, c)
			case strings.HasPrefix(c, "+") && !slices.Contains(added, c):
				added = append(added, c)
			}
		}
	}
	switch {
	case len(removed) > 0:
		// The mounts below / stayed peers of the host's: the
		// unmount of the old root (MNT_DETACH takes its whole
		// subtree) propagated to them.
		return fmt.Sprintf("mounts vanished from the host while the container ran (%s): the container's unmount of its old root propagated to the host's copies. / was made private, but not the mounts below it, which stay peers of the host's: pass MS_REC with MS_PRIVATE, so that the change applies to every mount from / down", list(removed))
	case len(added) > 0:
		return fmt.Sprintf("the host's mount table changed while the container ran (%s). On a host whose / is shared, as systemd makes it (and as the grader's stand-in for the host is), the copies clone(2) made stay peers of the host's mounts: make / private, recursively, before the first mount", list(added))
	}
	return ""
}

func checkProc(o *observation) string {
	r := o.report
	if r == nil {
		return noReport
	}
	m, mounted := r.MountAt("/proc")
	switch {
	case o.hidden():
		return hiddenHint
	case !mounted && !r.ProcMounted:
		return "/proc is empty: nothing is mounted there. Mount a new procfs on ROOTFS/proc, as mount -t proc proc ROOTFS/proc does"
	case mounted && m.FSType != "proc":
		return fmt.Sprintf("/proc is a %s mount, not a procfs", m.FSType)
	case len(r.Pids) == 1 && r.Pids[0] == 1:
		return ""
	case len(r.Pids) > 1:
		shown := make([]string, 0, 4)
		for _, p := range r.Pids[:min(4, len(r.Pids))] {
			shown = append(shown, strconv.Itoa(p))
		}
		return fmt.Sprintf("/proc lists %d pids (%s, …) where the container has one process: that is the host's procfs, bound in or mounted outside the new PID namespace. Did you mount proc after entering the PID namespace?", len(r.Pids), strings.Join(shown, ", "))
	}
	return fmt.Sprintf("/proc lists the pids %v, want only [1], the probe itself", r.Pids)
}

// wantDevice is a character device /dev must hold.
type wantDevice struct {
	name         string
	major, minor uint64
}

// wantDevices are the devices /dev must hold, with their numbers from the
// kernel's Documentation/admin-guide/devices.txt.
var wantDevices = []wantDevice{
	{"null", 1, 3}, {"zero", 1, 5}, {"full", 1, 7}, {"random", 1, 8}, {"urandom", 1, 9}, {"tty", 5, 0},
}

// allowedDev are the other names /dev may hold: the devpts pieces, and
// what runc and LXC add besides.
var allowedDev = []string{"pts", "ptmx", "fd", "stdin", "stdout", "stderr", "shm", "mqueue", "console", "core"}

func checkDev(o *observation) string {
	r := o.report
	if r == nil {
		return noReport
	}
	m, mounted := r.MountAt("/dev")
	var extra []string
	for name := range o.devEntries {
		if strings.HasPrefix(name, "pts/") || slices.Contains(allowedDev, name) ||
			slices.ContainsFunc(wantDevices, func(d wantDevice) bool { return d.name == name }) {
			continue
		}
		extra = append(extra, name)
	}
	slices.Sort(extra)
	switch {
	case o.hidden():
		return hiddenHint
	case len(r.Mounts) == 0:
		return noTable
	case !mounted:
		return "/dev is not a mount, so the nodes made there land in the rootfs on disk: mount a tmpfs on ROOTFS/dev first"
	case m.FSType == "devtmpfs":
		return fmt.Sprintf("the /dev you see is the host's (a devtmpfs, with %s): mount a tmpfs and mknod only null, zero, full, random, urandom, tty", list(extra))
	case m.FSType != "tmpfs":
		return fmt.Sprintf("/dev is a %s mount, not a tmpfs", m.FSType)
	case o.dev.Code != 0:
		return fmt.Sprintf("listing /dev in the container failed: %q", grading.FirstLine(o.dev.Stderr))
	}
	var missing, wrong, badMode []string
	modes := map[string]bool{}
	for _, d := range wantDevices {
		e, ok := o.devEntries[d.name]
		switch {
		case !ok:
			missing = append(missing, d.name)
		case e.Type != "character special file" || e.Major != d.major || e.Minor != d.minor:
			wrong = append(wrong, fmt.Sprintf("%s is a %s %d:%d, want a character special file %d:%d", d.name, e.Type, e.Major, e.Minor, d.major, d.minor))
		case e.Mode != "666":
			badMode = append(badMode, d.name)
			modes[e.Mode] = true
		}
	}
	if len(missing) > 0 {
		wrong = append(wrong, "missing "+strings.Join(missing, ", "))
	}
	if len(badMode) > 0 {
		ms := slices.Sorted(maps.Keys(modes))
		msg := fmt.Sprintf("%s %s mode %s, want 666", strings.Join(badMode, ", "), map[bool]string{true: "has", false: "have"}[len(badMode) == 1], strings.Join(ms, " or "))
		if modes["644"] {
			msg += " (mknod(2) applies the umask: clear it with umask(2) first)"
		}
		wrong = append(wrong, msg)
	}
	if len(wrong) > 0 {
		return "in /dev, " + strings.Join(wrong, "; ")
	}
	if len(extra) > 0 {
		return fmt.Sprintf("/dev holds more than a container should see: %s", list(extra))
	}
	return ""
}

func checkUmask(o *observation) string {
	r := o.report
	switch {
	case r == nil:
		return noReport
	case r.Umask == o.umask:
		return ""
	case r.Umask == "0000":
		return fmt.Sprintf("the command runs with umask 0000, so every file it creates is writable by anyone; the grader started the container with %s. The umask(0) before mknod(2) is still in force at execve(2), which keeps it: save the value umask(2) returns and put it back once the nodes are made", o.umask)
	}
	return fmt.Sprintf("the command runs with umask %s, the grader started the container with %s: put back the value umask(2) returned, rather than a umask of your choosing", r.Umask, o.umask)
}

func checkDevpts(o *observation) string {
	r := o.report
	if r == nil {
		return noReport
	}
	m, mounted := r.MountAt("/dev/pts")
	var terminals []string
	for name := range o.devEntries {
		if strings.HasPrefix(name, "pts/") && name != "pts/ptmx" {
			terminals = append(terminals, name)
		}
	}
	slices.Sort(terminals)
	mux, hasMux := o.devEntries["pts/ptmx"]
	ptmx, hasPtmx := o.devEntries["ptmx"]
	switch {
	case o.hidden():
		return hiddenHint
	case len(r.Mounts) == 0:
		return noTable
	case !mounted:
		return "/dev/pts is not mounted: mount a devpts of the container's own there (option newinstance)"
	case m.FSType != "devpts":
		return fmt.Sprintf("/dev/pts is a %s mount, not a devpts", m.FSType)
	case len(terminals) > 0:
		return fmt.Sprintf("/dev/pts shows terminals the container never opened (%s): that is the host's devpts; mount a new instance", list(terminals))
	case !hasMux:
		return "/dev/pts has no ptmx: is it a devpts?"
	case mux.Mode != "666":
		return fmt.Sprintf("/dev/pts/ptmx has mode %s, so no one can open a terminal: mount devpts with ptmxmode=0666", mux.Mode)
	case !hasPtmx:
		return "/dev/ptmx is missing: make it a symlink to pts/ptmx"
	case ptmx.Type == "symbolic link" && (ptmx.Target == "pts/ptmx" || ptmx.Target == "/dev/pts/ptmx"):
		return ""
	case ptmx.Type == "symbolic link":
		return fmt.Sprintf("/dev/ptmx points to %s: make it point to pts/ptmx", ptmx.Target)
	case ptmx.Type == "character special file" && ptmx.Major == 5 && ptmx.Minor == 2:
		// Since Linux 4.7 a 5:2 node opens the devpts next to it.
		return ""
	}
	return fmt.Sprintf("/dev/ptmx is a %s: make it a symlink to pts/ptmx", ptmx.Type)
}

func checkSys(o *observation) string {
	r := o.report
	if r == nil {
		return noReport
	}
	m, mounted := r.MountAt("/sys")
	switch {
	case o.hidden():
		return hiddenHint
	case len(r.Mounts) == 0:
		return noTable
	case !mounted:
		return "/sys is not mounted: mount sysfs, read-only, on ROOTFS/sys"
	case m.FSType != "sysfs":
		return fmt.Sprintf("/sys is a %s mount, not a sysfs", m.FSType)
	case !slices.Contains(strings.Split(m.Options, ","), "ro"):
		return "sysfs is mounted read-write, and a container could change settings of the whole machine through it: pass MS_RDONLY"
	}
	return ""
}

func checkRoot(o *observation) string {
	r := o.report
	if r == nil {
		return noReport
	}
	if len(r.Mounts) == 0 {
		return "the container's mount table is unreadable (is /proc mounted?), so / cannot be checked"
	}
	var roots []probe.Mount
	var foreign []string
	for _, m := range r.Mounts {
		switch {
		case m.MountPoint == "/":
			roots = append(roots, m)
		case !underAny(m.MountPoint, "/proc", "/dev", "/sys"):
			foreign = append(foreign, m.MountPoint)
		}
	}
	// The rootfs is a directory of some filesystem; the mount at / shows
	// that directory's path in it, which ends like the rootfs's own.
	want := lastElems(o.probe.Rootfs, 3)
	switch {
	case len(roots) == 0:
		return "/ is not a mount point: this is a chroot(2) into a directory of a bigger filesystem. Bind the rootfs onto itself, then pivot_root(2) into it"
	case len(roots) > 1:
		return fmt.Sprintf("%d mounts are stacked on /: the old root is still there, on top of the new one. After pivot_root(\".\", \".\"), unmount \".\" with MNT_DETACH", len(roots))
	case !strings.HasSuffix(roots[0].Root, want):
		return fmt.Sprintf("/ is %s of %s (%s), not the rootfs: pivot_root(2) into the rootfs", roots[0].Root, roots[0].Source, roots[0].FSType)
	case len(foreign) > 0:
		return fmt.Sprintf("the host's mounts are still visible (%s): after pivot_root(2), unmount the old root with MNT_DETACH", list(foreign))
	}
	return ""
}

// underAny tells whether path is one of dirs or below one of them.
func underAny(path string, dirs ...string) bool {
	for _, d := range dirs {
		if path == d || strings.HasPrefix(path, d+"/") {
			return true
		}
	}
	return false
}

// lastElems returns the last n elements of path, with a leading slash.
func lastElems(path string, n int) string {
	elems := strings.Split(filepath.Clean(path), "/")
	if len(elems) > n {
		elems = elems[len(elems)-n:]
	}
	return "/" + strings.Join(elems, "/")
}

func checkEscape(o *observation) string {
	said := o.escape.Stderr
	switch {
	case strings.Contains(said, "escape: out of the chroot"):
		return "escape climbed out to the host's / and ran a command there: chroot(2) is no jail. pivot_root(2) into the rootfs and detach the old root"
	case !strings.Contains(said, "escape:"):
		return fmt.Sprintf("the container did not run escape: %q (exit status %d)", grading.FirstLine(strings.ReplaceAll(said, o.escape.Rootfs, "ROOTFS")), o.escape.Code)
	}
	return ""
}

func checkReadOnly(o *observation) string {
	r := o.report
	if r == nil {
		return noReport
	}
	if len(r.Mounts) == 0 {
		return noTable
	}
	var roots []probe.Mount
	for _, m := range r.Mounts {
		if m.MountPoint == "/" {
			roots = append(roots, m)
		}
	}
	dev, devMounted := r.MountAt("/dev")
	switch {
	case len(roots) != 1:
		return "first pass the / check: the remount is of the one mount at /"
	case !slices.Contains(strings.Split(roots[0].Options, ","), "ro"):
		return fmt.Sprintf("/ is mounted %s: a bind ignores MS_RDONLY when it is made; remount that mount, MS_REMOUNT|MS_BIND|MS_RDONLY, once it exists", roots[0].Options)
	case devMounted && !slices.Contains(strings.Split(dev.Options, ","), "rw"):
		return fmt.Sprintf("/dev is mounted %s too: remount only the mount at / (without MS_REC), not what is mounted on it", dev.Options)
	}
	return ""
}
