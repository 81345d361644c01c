#!/bin/bash
# net.sh measures what a network costs a container: `contain run --net
# bridge` against `contain run --net none`, /bin/true in each, side by
# side in one hyperfine run. It prints both medians, the difference and
# the ratio; the target (chapter 08) is at most 5 ms more at the median. A
# missed target is reported, not an error.
#
# usage: bench/net.sh [--runs N]   (default 100, after 3 warm-up runs)
#
# Needs root and hyperfine. It creates a bridge network of its own on the
# first free 10.213.2xx.0/24 and removes it on exit.
set -euo pipefail

runs=100
if [ "${1:-}" = --runs ]; then runs=$2; fi
repo=$(cd "$(dirname "$0")/.." && pwd)
tmp=$(mktemp -d)
net=bench8
trap '"$tmp/contain" net rm $net >/dev/null 2>&1 || true; rm -rf "$tmp"' EXIT

cd "$repo"
CGO_ENABLED=0 go build -o "$tmp/contain" ./tool/cmd/contain
rootfs=/var/lib/contain/rootfs/busybox
for i in $(seq 200 250); do
	"$tmp/contain" net create $net --subnet "10.213.$i.0/24" 2>/dev/null && break
done
run="$tmp/contain run --rootfs $rootfs"
hyperfine -N --warmup 3 --runs "$runs" --export-csv "$tmp/net.csv" \
	-n none "$run --net none -- /bin/true" \
	-n bridge "$run --net bridge=$net -- /bin/true" >/dev/null
awk -F, '
	$1 == "none"   { none = $4 * 1000 }
	$1 == "bridge" { bridge = $4 * 1000 }
	END {
		printf "median --net none:   %.2f ms\n", none
		printf "median --net bridge: %.2f ms\n", bridge
		printf "difference:          %+.2f ms (target: at most +5 ms): %s\n", bridge - none, (bridge - none <= 5 ? "met" : "NOT met")
		printf "ratio bridge/none:   %.2fx\n", bridge / none
	}' "$tmp/net.csv"
