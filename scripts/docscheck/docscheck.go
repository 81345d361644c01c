// Package docscheck keeps the chapters honest. It parses the Markdown of
// README.md, chapters/ and labs/ and checks four things:
//
//  1. Every code excerpt is tied to the repository. A fenced block is
//     preceded by a marker naming its source:
//
//     <!-- code: steps/03-mount-namespace/main.go#pivotRoot -->
//
//     "path#Name" is a Go declaration (a func, "Type.Method", a type, var or
//     const), taken with its doc comment; "path#name" in any other file, or
//     for a piece of a Go function, is the text between the marker lines
//     "excerpt: name" and "end excerpt" (comment characters before them
//     are ignored); a bare "path" is the whole file. The block must equal
//     that source byte for byte. Fenced code in a language (go, sh, c, ...)
//     without a marker is an error.
//
//  2. Every transcript marked runnable is run. A "console" block preceded by
//     <!-- run --> holds commands after a "# " prompt (root), continued on
//     lines starting with "> ", each followed by its expected output
//     (stdout and stderr together, as a terminal shows them). In the
//     expected output a line "..." matches any number of lines, "…"
//     inside a line matches any text, "≈" before a number (a measurement
//     shown as one run printed it: "≈49.9%") matches any number, and a
//     last line "[N]" says the command exits with status N (as cram(1)
//     writes it); otherwise it must exit 0. The blocks of one file run in order in one bash
//     session, from the repository root. A console block that is not run
//     says why: <!-- norun: needs a VM -->.
//
//     A transcript that only holds on one cgroup layout says which:
//     <!-- run: cgroup v1 --> runs where the controllers sit in v1
//     hierarchies (v1 and hybrid hosts), <!-- run: cgroup v2 --> where
//     /sys/fs/cgroup is the unified hierarchy alone. A chapter gives both,
//     so the host suite runs one and the VM stage (scripts/vm-test.sh)
//     the other.
//
//     A transcript that only runs what the VM stage runs by itself, a
//     package's `go test` or a lab's grader (whose TestGrade runs in the
//     guest too), says <!-- run: outside the VM stage -->: the host's pass
//     checks its text, and the guest, where each command costs ten times
//     as much under emulation, does not do the same work twice. The guest
//     sets CONTAIN_IN_VM_STAGE=1 (scripts/vm/guest.sh).
//
//     A file's transcripts must leave the host as they found it: each
//     file starts from a host that `contain reset` has cleared, and after
//     its last transcript (the chapter's Undo) the network links, the
//     nftables ruleset, net.ipv4.ip_forward and the cgroups under
//     contain/ must be as before, besides the mount table. A chapter whose
//     containers used the default network says `contain reset` in its
//     Undo.
//
//  3. Every relative link resolves to a file, and a "#fragment" to a
//     heading in it.
//
//  4. Nothing refers to line numbers ("line 42", "main.go:42"), which go
//     stale with the first edit.
//
//  5. Every chapter named by number ("chapter 07", "chapters 04 and 05"),
//     in the prose or in a block, exists as chapters/NN-*.md. A chapter still to come is
//     named by its topic, as the README's "Still to come" list does ("the
//     hardening chapter, still to come"): its number is not settled until
//     it is written, and chapters may be split.
package docscheck

import (
	"bufio"
	"bytes"
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"os"
	"path/filepath"
	"regexp"
	"strings"
)

// Block is one fenced block of a Markdown file.
type Block struct {
	File string // path relative to the repository
	Line int    // of the opening fence, for error messages
	Info string // the info string after the fence: "go", "console", ...
	Body string // the content, each line ending in "\n"
	// Marker is the HTML comment right before the fence, without "<!--"
	// and "-->", trimmed: "code: PATH", "run", "run: cgroup v1",
	// "norun: why", or "".
	Marker string
}

// Conditions are what a "run:" marker may require, each with the test
// that tells whether this host meets it.
var Conditions = map[string]func() bool{
	"cgroup v1":            func() bool { return !cgroupUnified() },
	"cgroup v2":            cgroupUnified,
	"outside the VM stage": func() bool { return os.Getenv("CONTAIN_IN_VM_STAGE") != "1" },
}

// cgroupUnified tells whether /sys/fs/cgroup is a cgroup2 mount (pure v2):
// only the root of the unified hierarchy has cgroup.controllers, and on a
// hybrid host that root is /sys/fs/cgroup/unified.
func cgroupUnified() bool {
	_, err := os.Stat("/sys/fs/cgroup/cgroup.controllers")
	return err == nil
}

// Runs tells whether a console block with this marker is run here, and
// why not when it is not. A marker that is neither "run", "run: COND"
// with a known condition, nor "norun: why" is an error.
func Runs(marker string, conditions map[string]func() bool) (bool, string, error) {
	if marker == "run" {
		return true, "", nil
	}
	if why, ok := strings.CutPrefix(marker, "norun:"); ok {
		return false, strings.TrimSpace(why), nil
	}
	if cond, ok := strings.CutPrefix(marker, "run:"); ok {
		cond = strings.TrimSpace(cond)
		holds, known := conditions[cond]
		if !known {
			return false, "", fmt.Errorf("unknown condition in <!-- %s -->", marker)
		}
		if !holds() {
			return false, "only on " + cond, nil
		}
		return true, "", nil
	}
	return false, "", fmt.Errorf("console block is neither <!-- run -->, <!-- run: CONDITION --> nor <!-- norun: why -->")
}

// isFence tells whether a Markdown line opens or closes a fenced block: a
// run of backticks, indented or not (inside a list item, a block is
// indented like the item's text).
func isFence(line string) bool {
	return strings.HasPrefix(strings.TrimLeft(line, " "), "```")
}

// ParseBlocks returns the fenced blocks of a Markdown text. A block
// indented inside a list item has its indentation removed from every line.
func ParseBlocks(file, text string) ([]Block, error) {
	var blocks []Block
	lines := strings.SplitAfter(text, "\n")
	marker := ""
	for i := 0; i < len(lines); i++ {
		line := strings.TrimRight(lines[i], "\n")
		trimmed := strings.TrimSpace(line)
		if strings.HasPrefix(trimmed, "<!--") && strings.HasSuffix(trimmed, "-->") {
			marker = strings.TrimSpace(strings.TrimSuffix(strings.TrimPrefix(trimmed, "<!--"), "-->"))
			continue
		}
		if !isFence(line) {
			if trimmed != "" {
				marker = ""
			}
			continue
		}
		indent := line[:len(line)-len(strings.TrimLeft(line, " "))]
		fence := line[:strings.LastIndex(line, "`")+1]
		b := Block{File: file, Line: i + 1, Info: strings.TrimSpace(line[len(fence):]), Marker: marker}
		marker = ""
		var body strings.Builder
		closed := false
		for i++; i < len(lines); i++ {
			if strings.TrimRight(lines[i], "\n") == fence {
				closed = true
				break
			}
			body.WriteString(strings.TrimPrefix(lines[i], indent))
		}
		if !closed {
			return blocks, fmt.Errorf("%s:%d: fenced block is never closed", file, b.Line)
		}
		b.Body = body.String()
		blocks = append(blocks, b)
	}
	return blocks, nil
}

// codeLanguages are the info strings whose blocks must be excerpts.
var codeLanguages = map[string]bool{"go": true, "sh": true, "bash": true, "c": true, "ruby": true, "yaml": true, "json": true, "make": true}

// Source returns the text that a "code:" marker names. root is the
// repository directory.
func Source(root, ref string) (string, error) {
	path, name, _ := strings.Cut(ref, "#")
	full := filepath.Join(root, path)
	src, err := os.ReadFile(full)
	if err != nil {
		return "", fmt.Errorf("excerpt source %s: %w", path, err)
	}
	if name == "" {
		return string(src), nil
	}
	if strings.HasSuffix(path, ".go") {
		if text, ok, err := goDecl(full, src, name); err != nil {
			return "", err
		} else if ok {
			return text, nil
		}
	}
	return region(path, string(src), name)
}

// goDecl finds the top-level declaration name ("F", "T.M", a type, var or
// const) and returns its source with its doc comment.
func goDecl(file string, src []byte, name string) (string, bool, error) {
	fset := token.NewFileSet()
	f, err := parser.ParseFile(fset, file, src, parser.ParseComments)
	if err != nil {
		return "", false, err
	}
	slice := func(doc *ast.CommentGroup, node ast.Node) string {
		start := node.Pos()
		if doc != nil {
			start = doc.Pos()
		}
		return string(src[fset.Position(start).Offset:fset.Position(node.End()).Offset]) + "\n"
	}
	for _, d := range f.Decls {
		switch d := d.(type) {
		case *ast.FuncDecl:
			n := d.Name.Name
			if d.Recv != nil && len(d.Recv.List) == 1 {
				n = recvName(d.Recv.List[0].Type) + "." + n
			}
			if n == name {
				return slice(d.Doc, d), true, nil
			}
		case *ast.GenDecl:
			for _, s := range d.Specs {
				var names []string
				switch s := s.(type) {
				case *ast.TypeSpec:
					names = []string{s.Name.Name}
				case *ast.ValueSpec:
					for _, id := range s.Names {
						names = append(names, id.Name)
					}
				}
				for _, n := range names {
					if n != name {
						continue
					}
					if len(d.Specs) == 1 || d.Lparen == token.NoPos {
						return slice(d.Doc, d), true, nil
					}
					// One spec of a grouped declaration: the whole group
					// is the excerpt, so that it still reads as Go.
					return slice(d.Doc, d), true, nil
				}
			}
		}
	}
	return "", false, nil
}

func recvName(e ast.Expr) string {
	switch e := e.(type) {
	case *ast.StarExpr:
		return recvName(e.X)
	case *ast.Ident:
		return e.Name
	case *ast.IndexExpr:
		return recvName(e.X)
	}
	return ""
}

var regionStart = regexp.MustCompile(`^\s*(?://|#|;|--)?\s*excerpt:\s*(\S+)\s*$`)
var regionEnd = regexp.MustCompile(`^\s*(?://|#|;|--)?\s*end excerpt\s*$`)

// region returns the lines between "excerpt: name" and "end excerpt",
// with the common leading tabs removed.
func region(path, src, name string) (string, error) {
	var out []string
	in, found := false, false
	for _, line := range strings.SplitAfter(src, "\n") {
		l := strings.TrimRight(line, "\n")
		if m := regionStart.FindStringSubmatch(l); m != nil {
			if m[1] == name {
				in, found = true, true
			}
			continue
		}
		if regionEnd.MatchString(l) {
			in = false
			continue
		}
		if in {
			out = append(out, line)
		}
	}
	if !found {
		return "", fmt.Errorf("%s has no declaration or \"excerpt: %s\" region", path, name)
	}
	return dedent(out), nil
}

// dedent removes the tabs that every non-empty line starts with.
func dedent(lines []string) string {
	common := -1
	for _, l := range lines {
		if strings.TrimSpace(l) == "" {
			continue
		}
		n := len(l) - len(strings.TrimLeft(l, "\t"))
		if common < 0 || n < common {
			common = n
		}
	}
	var b strings.Builder
	for _, l := range lines {
		if strings.TrimSpace(l) == "" {
			b.WriteString(strings.TrimLeft(l, "\t"))
			continue
		}
		b.WriteString(l[common:])
	}
	return b.String()
}

// CheckExcerpts compares every marked block to its source and reports
// unmarked code blocks.
func CheckExcerpts(root string, blocks []Block) []error {
	var errs []error
	for _, b := range blocks {
		ref, isCode := strings.CutPrefix(b.Marker, "code:")
		if !isCode {
			if codeLanguages[b.Info] {
				errs = append(errs, fmt.Errorf("%s:%d: %s block has no <!-- code: PATH#NAME --> marker tying it to the repository", b.File, b.Line, b.Info))
			}
			continue
		}
		want, err := Source(root, strings.TrimSpace(ref))
		if err != nil {
			errs = append(errs, fmt.Errorf("%s:%d: %v", b.File, b.Line, err))
			continue
		}
		if want != b.Body {
			errs = append(errs, fmt.Errorf("%s:%d: excerpt differs from %s:\n%s", b.File, b.Line, strings.TrimSpace(ref), lineDiff(want, b.Body)))
		}
	}
	return errs
}

// lineDiff is a small (-source +chapter) listing of the first difference.
func lineDiff(want, got string) string {
	w := strings.Split(want, "\n")
	g := strings.Split(got, "\n")
	for i := 0; i < len(w) || i < len(g); i++ {
		var wl, gl string
		if i < len(w) {
			wl = w[i]
		}
		if i < len(g) {
			gl = g[i]
		}
		if wl != gl {
			return fmt.Sprintf("first difference at excerpt line %d (-source +chapter):\n-%q\n+%q", i+1, wl, gl)
		}
	}
	return ""
}

var (
	// chapterRefRE finds "chapter 07", "Chapters 04 and 05", "chapters
	// 01, 02 or 03", "chapters 04–06", across a line break too; chapterNumRE
	// then takes each number out of the match.
	chapterRefRE = regexp.MustCompile(`(?i)\bchapters?\s+\d{1,2}\b(?:(?:\s*,\s*|\s*[–-]\s*|\s+(?:and|or|to)\s+)\d{1,2}\b)*`)
	chapterNumRE = regexp.MustCompile(`\d{1,2}`)
	linkRE       = regexp.MustCompile(`\]\(([^)\s]+)\)`)
	lineNumRE    = regexp.MustCompile(`(?i)\blines? \d+\b|\.(go|sh|c|md|rb|json|ya?ml):\d+|#L\d+`)
	headingRE    = regexp.MustCompile(`^#{1,6}\s+(.*)$`)
)

// Slug is GitHub's anchor for a heading: lower case, spaces to dashes, and
// everything but letters, digits, '-' and '_' dropped.
func Slug(heading string) string {
	var b strings.Builder
	for _, r := range strings.ToLower(strings.TrimSpace(heading)) {
		switch {
		case r == ' ':
			b.WriteRune('-')
		case r == '-' || r == '_' || r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || r > 127:
			b.WriteRune(r)
		}
	}
	return b.String()
}

// Anchors returns the heading anchors of a Markdown text.
func Anchors(text string) map[string]bool {
	a := map[string]bool{}
	inFence := false
	sc := bufio.NewScanner(strings.NewReader(text))
	for sc.Scan() {
		l := sc.Text()
		if isFence(l) {
			inFence = !inFence
			continue
		}
		if m := headingRE.FindStringSubmatch(l); m != nil && !inFence {
			s := Slug(strings.ReplaceAll(m[1], "`", ""))
			a[s] = true
		}
	}
	return a
}

// CheckText checks the links and line-number references of a file's prose
// (fenced blocks are left out), and its chapter references everywhere.
func CheckText(root, file, text string) []error {
	var errs []error
	prose := stripFences(text)
	for _, m := range lineNumRE.FindAllString(prose, -1) {
		errs = append(errs, fmt.Errorf("%s: refers to a line number (%q): name the function or file instead", file, m))
	}
	// Chapter references count in the blocks too: a tool's hint shown in
	// a transcript, a comment in an excerpt.
	errs = append(errs, checkChapterRefs(root, file, text)...)
	for _, m := range linkRE.FindAllStringSubmatch(prose, -1) {
		target := m[1]
		if strings.Contains(target, "://") || strings.HasPrefix(target, "mailto:") {
			continue
		}
		path, frag, _ := strings.Cut(target, "#")
		resolved := filepath.Join(filepath.Dir(filepath.Join(root, file)), path)
		if path == "" {
			resolved = filepath.Join(root, file)
		}
		st, err := os.Stat(resolved)
		if err != nil {
			errs = append(errs, fmt.Errorf("%s: link %s: no such file", file, target))
			continue
		}
		if frag != "" && !st.IsDir() && strings.HasSuffix(resolved, ".md") {
			b, _ := os.ReadFile(resolved)
			if !Anchors(string(b))[frag] {
				errs = append(errs, fmt.Errorf("%s: link %s: no heading with anchor #%s", file, target, frag))
			}
		}
	}
	return errs
}

// checkChapterRefs reports every chapter the prose names by number that
// has no chapters/NN-*.md under root.
func checkChapterRefs(root, file, prose string) []error {
	var errs []error
	exists := map[string]bool{}
	for _, m := range chapterRefRE.FindAllString(prose, -1) {
		for _, n := range chapterNumRE.FindAllString(m, -1) {
			nn := n
			if len(nn) == 1 {
				nn = "0" + nn
			}
			ok, seen := exists[nn]
			if !seen {
				found, _ := filepath.Glob(filepath.Join(root, "chapters", nn+"-*.md"))
				ok = len(found) > 0
				exists[nn] = ok
			}
			if !ok {
				errs = append(errs, fmt.Errorf("%s: %q names chapter %s, and there is no chapters/%s-*.md: name a chapter still to come by its topic (\"the devices chapter, still to come\"), as the README's \"Still to come\" list does", file, strings.Join(strings.Fields(m), " "), nn, nn))
			}
		}
	}
	return errs
}

func stripFences(text string) string {
	var b bytes.Buffer
	in := false
	for _, l := range strings.SplitAfter(text, "\n") {
		if isFence(l) {
			in = !in
			continue
		}
		if !in {
			b.WriteString(l)
		}
	}
	return b.String()
}
