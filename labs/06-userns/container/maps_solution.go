//go:build solution

package main

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"strconv"
)

// writeMaps gives the child pid its maps: uid 0 and gid 0 inside are uid
// and gid outside. Without CAP_SETGID over the parent namespace, gid_map
// may be written only after setgroups is "deny": otherwise the new root
// could drop a supplementary group with setgroups(2) and get past a file
// whose mode denies that group (CVE-2014-8989).
func writeMaps(pid, uid, gid int) error {
	for _, w := range []struct{ file, text string }{
		{"setgroups", "deny"},
		{"gid_map", fmt.Sprintf("0 %d 1\n", gid)},
		{"uid_map", fmt.Sprintf("0 %d 1\n", uid)},
	} {
		p := fmt.Sprintf("/proc/%d/%s", pid, w.file)
		if err := os.WriteFile(p, []byte(w.text), 0); err != nil {
			return err
		}
	}
	return nil
}

// writeRanges maps root inside onto uid (gid) and 1 to sub.Count inside
// onto sub.Start onward, through newgidmap and newuidmap: setuid root,
// they may write what the kernel refuses an ordinary user, after checking
// every range against /etc/subgid and /etc/subuid (one's own id, length
// 1, is always allowed). Both lines go into one write of each map, as the
// kernel wants it. newgidmap leaves setgroups "allow" when the map holds
// more than one's own gid: the container may manage its groups.
//
// Equivalent to:
//
//	newgidmap $pid 0 $gid 1 1 $start $count
//	newuidmap $pid 0 $uid 1 1 $start $count
func writeRanges(pid, uid, gid int, sub idRange) error {
	for _, m := range []struct {
		helper string
		id     int
	}{{"newgidmap", gid}, {"newuidmap", uid}} {
		args := []string{strconv.Itoa(pid), "0", strconv.Itoa(m.id), "1", "1", strconv.Itoa(sub.Start), strconv.Itoa(sub.Count)}
		if out, err := exec.Command(m.helper, args...).CombinedOutput(); err != nil {
			return fmt.Errorf("%s: %v: %s", m.helper, err, bytes.TrimSpace(out))
		}
	}
	return nil
}
