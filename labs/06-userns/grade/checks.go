package main

import (
	"fmt"
	"regexp"
	"strings"

	"github.com/contain-dev/contain/labs/internal/grading"
)

// observation is what the grader saw of one run of the container, as
// nobody; each check reads it and nothing else.
type observation struct {
	Code           int
	Stdout, Stderr string
	// FileUID and FileGID own the file the container created, as the host
	// sees it; -1 when there is none.
	FileUID, FileGID int
	// lines maps "uid_map", "gid_map", "setgroups" and "ids" to what the
	// script printed after them, spaces squeezed.
	lines map[string]string
	// ranges is the stretch goal's run, with -subids, nil when it did not
	// run; skip says why, or "".
	ranges *observation
	skip   string
}

// parse reads the script's "key: value" lines or, when the command never
// ran, the state the container's child reported when it could not become
// root: uid_map "…", gid_map "…", setgroups "…".
func (o *observation) parse() {
	o.lines = map[string]string{}
	for _, l := range strings.Split(o.Stdout, "\n") {
		if k, v, ok := strings.Cut(l, ":"); ok {
			o.lines[k] = strings.Join(strings.Fields(v), " ")
		}
	}
	if o.lines["ids"] != "" {
		return
	}
	for _, m := range childState.FindAllStringSubmatch(o.Stderr, -1) {
		o.lines[m[1]] = m[2]
	}
}

// childState matches the maps in the child's error message.
var childState = regexp.MustCompile(`(uid_map|gid_map|setgroups) "([^"]*)"`)

// failed tells whether the container reported a failure containing s.
func (o *observation) failed(s string) bool { return strings.Contains(o.Stderr, s) }

// checks are graded in the order writeMaps writes.
var checks = []grading.Check[*observation]{
	{Name: "the command runs in the user namespace", Points: 1, Run: checkRuns},
	{Name: "setgroups is deny, written before gid_map", Points: 2, Run: checkSetgroups},
	{Name: "gid_map maps group 0 onto your gid", Points: 2, Run: checkGidMap},
	{Name: "uid_map maps root onto your uid", Points: 2, Run: checkUidMap},
	{Name: "the command runs as uid 0 and gid 0", Points: 2, Run: checkIDs},
	{Name: "a file root creates inside is yours outside", Points: 1, Run: checkFile},
	{Name: "through newuidmap, 65536 more ids map onto nobody's subuid range", Stretch: true, Skip: func(o *observation) string { return o.skip }, Run: checkRanges},
}

// notStarted explains a container that stopped before the command, from
// its error message.
func notStarted(o *observation) string {
	switch {
	case o.failed("setgroups: operation not permitted"):
		return "writing /proc/PID/setgroups failed with EPERM: the kernel takes deny only while gid_map is still empty, so write it first"
	case o.failed("gid_map: operation not permitted"):
		return "gid_map write failed with EPERM: write deny to /proc/PID/setgroups first (an ordinary user may write gid_map only then), and map only your own gid, length 1"
	case o.failed("uid_map: operation not permitted"):
		return "uid_map write failed with EPERM: an ordinary user may map only its own uid, one range of length 1: \"0 UID 1\"; and a map takes one write, once: a second one fails"
	case o.failed("invalid argument") && o.failed("writeMaps"):
		return "the kernel refused a map with EINVAL. It takes each map in one write(2), at offset 0, and parses that write alone: build the whole text first, \"INSIDE OUTSIDE LENGTH\\n\", and write it at once (os.WriteFile), not in pieces (fmt.Fprintf field by field into an open file, or the newline on its own); three numbers, length at least 1"
	case o.failed("gid 0 is not mapped"):
		return "the child could not become gid 0: setresgid(2) fails with EINVAL while gid 0 has no mapping (see the gid_map check)"
	case o.failed("uid 0 is not mapped"):
		return "the child could not become uid 0: setresuid(2) fails with EINVAL while uid 0 has no mapping (see the uid_map check)"
	}
	return fmt.Sprintf("the container exited with status %d before the command ran: %q", o.Code, grading.FirstLine(o.Stderr))
}

func checkRuns(o *observation) string {
	if o.Code == 0 && o.lines["ids"] != "" {
		return ""
	}
	if o.lines["ids"] == "" {
		return notStarted(o)
	}
	return fmt.Sprintf("the command failed with status %d: %q", o.Code, grading.FirstLine(o.Stderr))
}

func checkSetgroups(o *observation) string {
	switch got := o.lines["setgroups"]; {
	case got == "deny":
		return ""
	case o.failed("gid_map: operation not permitted"), o.failed("setgroups: operation not permitted"):
		return notStarted(o)
	case got == "":
		return notStarted(o)
	default:
		return fmt.Sprintf("/proc/PID/setgroups is still %q: as an ordinary user, write deny to it before gid_map", got)
	}
}

// checkMap checks one map line for "0 ID 1".
func checkMap(o *observation, file string, id int) string {
	want := fmt.Sprintf("0 %d 1", id)
	got, seen := o.lines[file]
	switch {
	case got == want:
		return ""
	case !seen:
		return notStarted(o)
	case got == "" && o.failed(file+": operation not permitted"):
		return notStarted(o)
	case got == "":
		return fmt.Sprintf("%s is empty: the parent must write it before the child goes on (%q into /proc/PID/%s)", file, want, file)
	default:
		return fmt.Sprintf("%s is %q, want %q: inside 0, outside your own id (%d), length 1", file, got, want, id)
	}
}

func checkGidMap(o *observation) string { return checkMap(o, "gid_map", nobody) }
func checkUidMap(o *observation) string { return checkMap(o, "uid_map", nobody) }

func checkIDs(o *observation) string {
	switch got := o.lines["ids"]; {
	case got == "0 0":
		return ""
	case got == "":
		return notStarted(o)
	default:
		return fmt.Sprintf("id says uid and gid %s, want 0 0", got)
	}
}

func checkFile(o *observation) string {
	switch {
	case o.FileUID == nobody && o.FileGID == nobody:
		return ""
	case o.FileUID < 0:
		return "the container created no file: " + notStarted(o)
	default:
		return fmt.Sprintf("the file belongs to %d:%d outside, want %d:%d: root inside is nobody outside", o.FileUID, o.FileGID, nobody, nobody)
	}
}

// wantRanges is a map of the stretch goal as the script prints it.
var wantRanges = fmt.Sprintf("0 %d 1; 1 %d %d;", nobody, subStart, subCount)

func checkRanges(o *observation) string {
	r := o.ranges
	if r.lines["ids"] == "" {
		switch {
		case r.failed("writeRanges") && r.failed("operation not permitted") && !r.failed("newuidmap") && !r.failed("newgidmap"):
			return "the kernel refused the map with EPERM: an ordinary user may write one line only, the one that maps its own id; a map of several ranges takes newgidmap and newuidmap, setuid helpers that check them against /etc/subgid and /etc/subuid"
		case r.failed("not allowed"):
			return fmt.Sprintf("%s: the grader's /etc/subuid and /etc/subgid grant nobody %d:%d (in the container's mount namespace only), and its own id, length 1: no more", grading.FirstLine(r.Stderr), subStart, subCount)
		}
		return fmt.Sprintf("with -subids the container exited with status %d before the command ran: %q", r.Code, grading.FirstLine(r.Stderr))
	}
	for _, m := range []string{"uid_map", "gid_map"} {
		if got := strings.Join(strings.Fields(strings.ReplaceAll(r.lines[m], ";", "; ")), " "); got != wantRanges {
			return fmt.Sprintf("with -subids, %s is %q, want %q: your own id for root, then 1 to %d inside onto %d onward", m, got, wantRanges, subCount, subStart)
		}
	}
	if want := subStart + 999; r.FileUID != want || r.FileGID != want {
		return fmt.Sprintf("the file chowned to 1000:1000 inside belongs to %d:%d outside, want %d:%d (status %d, %q)", r.FileUID, r.FileGID, want, want, r.Code, grading.FirstLine(r.Stderr))
	}
	return ""
}
