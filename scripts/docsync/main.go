// Command docsync rewrites the code excerpts of Markdown files so that they
// equal their sources again, after the code has changed. It is the writing
// side of scripts/docscheck, like `gofmt -w` is to `gofmt -l`: run it, then
// read the diff, because the prose around an excerpt may need to change too.
//
// usage: go run ./scripts/docsync [FILE.md ...]   (default: every checked file)
package main

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/contain-dev/contain/scripts/docscheck"
)

func main() {
	files := os.Args[1:]
	if len(files) == 0 {
		files = []string{"README.md"}
		for _, pat := range []string{"chapters/*.md", "labs/*/README.md", "bench/README.md"} {
			m, _ := filepath.Glob(pat)
			files = append(files, m...)
		}
	}
	failed := false
	for _, f := range files {
		n, err := syncFile(f)
		if err != nil {
			fmt.Fprintln(os.Stderr, "docsync:", err)
			failed = true
			continue
		}
		if n > 0 {
			fmt.Printf("%s: %d excerpt(s) updated\n", f, n)
		}
	}
	if failed {
		os.Exit(1)
	}
}

// syncFile replaces each stale excerpt of file with its source and returns
// how many it replaced. It runs from the repository root.
func syncFile(file string) (int, error) {
	b, err := os.ReadFile(file)
	if err != nil {
		return 0, err
	}
	text := string(b)
	blocks, err := docscheck.ParseBlocks(file, text)
	if err != nil {
		return 0, err
	}
	n := 0
	for _, bl := range blocks {
		ref, ok := strings.CutPrefix(bl.Marker, "code:")
		if !ok {
			continue
		}
		want, err := docscheck.Source(".", strings.TrimSpace(ref))
		if err != nil {
			return n, fmt.Errorf("%s:%d: %w", file, bl.Line, err)
		}
		if want == bl.Body {
			continue
		}
		fence := "```" + bl.Info + "\n"
		old := "<!-- " + bl.Marker + " -->\n" + fence + bl.Body + "```"
		if strings.Count(text, old) != 1 {
			return n, fmt.Errorf("%s:%d: cannot place the excerpt of %s unambiguously: fix it by hand", file, bl.Line, ref)
		}
		text = strings.Replace(text, old, "<!-- "+bl.Marker+" -->\n"+fence+want+"```", 1)
		n++
	}
	if n > 0 {
		return n, os.WriteFile(file, []byte(text), 0o644)
	}
	return 0, nil
}
