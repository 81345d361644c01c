//go:build solution

package main

import (
	"fmt"
	"os"
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
