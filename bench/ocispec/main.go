// Command ocispec adapts the config.json that `runc spec` writes so that runc
// and crun run the benchmark's command in the same namespaces as the other
// tools: the rootfs given (read-only, as runc spec sets it), the command
// given, no terminal, and no network namespace (contain run, unshare and
// lxc-start in the benchmark create none). Every other setting, such as
// mounts, capabilities, masked paths and the device cgroup, stays as the
// runtime's default, because that is what a user of the runtime gets.
//
// usage: ocispec CONFIG ROOTFS CMD [ARG...]
//
// Equivalent to editing CONFIG by hand: "root": {"path": ROOTFS},
// "process": {"terminal": false, "args": [CMD, ARG...]}, and deleting
// {"type": "network"} from "linux": {"namespaces": [...]}.
package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
)

func main() {
	if len(os.Args) < 4 {
		fmt.Fprintln(os.Stderr, "usage: ocispec CONFIG ROOTFS CMD [ARG...]   (CONFIG as written by `runc spec`)")
		os.Exit(2)
	}
	if err := rewrite(os.Args[1], os.Args[2], os.Args[3:]); err != nil {
		fmt.Fprintln(os.Stderr, "ocispec:", err)
		os.Exit(1)
	}
}

// rewrite edits the config file at path in place.
func rewrite(path, rootfs string, args []string) error {
	in, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	out, err := adapt(in, rootfs, args)
	if err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	return os.WriteFile(path, out, 0o644)
}

// adapt returns the config with the benchmark's root, command and
// namespaces. It works on generic JSON objects rather than on the OCI
// runtime-spec types so that fields it does not know survive unchanged.
func adapt(config []byte, rootfs string, args []string) ([]byte, error) {
	var spec map[string]any
	if err := json.Unmarshal(config, &spec); err != nil {
		return nil, fmt.Errorf("not a JSON object: %w", err)
	}
	process, ok1 := spec["process"].(map[string]any)
	root, ok2 := spec["root"].(map[string]any)
	linux, ok3 := spec["linux"].(map[string]any)
	if !ok1 || !ok2 || !ok3 {
		return nil, errors.New(`"process", "root" or "linux" is missing: generate the file with "runc spec"`)
	}
	process["args"] = args
	process["terminal"] = false
	root["path"] = rootfs
	namespaces, _ := linux["namespaces"].([]any)
	kept := []any{}
	for _, ns := range namespaces {
		if m, ok := ns.(map[string]any); ok && m["type"] == "network" {
			continue
		}
		kept = append(kept, ns)
	}
	linux["namespaces"] = kept
	return json.MarshalIndent(spec, "", "\t")
}
