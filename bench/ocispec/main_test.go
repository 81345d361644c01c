package main

import (
	"encoding/json"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// specIn is the part of `runc spec`'s output (runc 1.1) that adapt changes,
// plus a field it must keep.
const specIn = `{
	"ociVersion": "1.0.2-dev",
	"process": {"terminal": true, "args": ["sh"], "cwd": "/"},
	"root": {"path": "rootfs", "readonly": true},
	"hostname": "runc",
	"linux": {"namespaces": [
		{"type": "pid"}, {"type": "network"}, {"type": "ipc"},
		{"type": "uts"}, {"type": "mount"}
	]}
}`

func TestAdapt(t *testing.T) {
	tests := []struct {
		name    string
		in      string
		want    any // the adapted config, decoded; nil when adapt must fail
		wantErr bool
	}{
		{
			name: "runc spec default",
			in:   specIn,
			want: map[string]any{
				"ociVersion": "1.0.2-dev",
				"process":    map[string]any{"terminal": false, "args": []any{"/bin/true"}, "cwd": "/"},
				"root":       map[string]any{"path": "/srv/rootfs", "readonly": true},
				"hostname":   "runc",
				"linux": map[string]any{"namespaces": []any{
					map[string]any{"type": "pid"}, map[string]any{"type": "ipc"},
					map[string]any{"type": "uts"}, map[string]any{"type": "mount"},
				}},
			},
		},
		{
			name: "no namespaces at all",
			in:   `{"process": {}, "root": {}, "linux": {}}`,
			want: map[string]any{
				"process": map[string]any{"terminal": false, "args": []any{"/bin/true"}},
				"root":    map[string]any{"path": "/srv/rootfs"},
				"linux":   map[string]any{"namespaces": []any{}},
			},
		},
		{name: "not JSON", in: `process: {}`, wantErr: true},
		{name: "no process", in: `{"root": {}, "linux": {}}`, wantErr: true},
		{name: "root is a string", in: `{"process": {}, "root": "rootfs", "linux": {}}`, wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out, err := adapt([]byte(tt.in), "/srv/rootfs", []string{"/bin/true"})
			if tt.wantErr {
				if err == nil {
					t.Fatalf("adapt succeeded, want an error; output:\n%s", out)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			var got any
			if err := json.Unmarshal(out, &got); err != nil {
				t.Fatalf("output is not JSON: %v\n%s", err, out)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("adapted config (-want +got):\n%s", diff)
			}
		})
	}
}
