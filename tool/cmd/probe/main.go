// Command probe prints, as one JSON object, what the calling process sees of
// its isolation (see package probe). It is built static (CGO_ENABLED=0) and
// copied to /probe in every test root filesystem, so that tests can ask the
// container instead of scraping shell output:
//
//	contain run --rootfs DIR -- /probe
package main

import (
	"encoding/json"
	"flag"
	"fmt"
	"os"

	"github.com/contain-dev/contain/tool/probe"
)

func main() {
	pretty := flag.Bool("pretty", false, "indent the JSON for people")
	summary := flag.Bool("summary", false, "print a few lines for people instead of JSON")
	flag.Parse()
	if *summary {
		for _, l := range probe.Collect().Summary() {
			fmt.Println(l)
		}
		return
	}
	enc := json.NewEncoder(os.Stdout)
	if *pretty {
		enc.SetIndent("", "  ")
	}
	if err := enc.Encode(probe.Collect()); err != nil {
		os.Exit(1)
	}
}
