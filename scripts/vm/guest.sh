#!/bin/bash
# guest.sh runs inside the workshop VM that scripts/vm-test.sh brings up
# with `vagrant up`, as root, through `vagrant ssh -c "sudo ..."`, from the
# repository as the Vagrantfile's rsync synced folder put it there:
#
#   guest.sh prepare    before `vagrant provision`
#   guest.sh run        after it: the suite, its results on the work disk
#
# prepare mounts the work disk the host wrote and attached (label "work":
# GOROOT, the module cache, the warm Go build cache, the test binaries)
# where the host has each, so that the build cache's keys match, and puts
# the synced repository at the host's path too (a bind mount: the same
# files). provision.sh then finds Go where it installs it and a warm cache
# where root's go looks (~/.cache/go-build): nothing is downloaded and
# nothing compiled under emulation but what the tests build themselves.
#
# run writes into run/ on the work disk, which the host reads once the VM
# is stopped (so that a guest that lost its network or hangs still tells
# what it did), syncing after every line:
#
#   run/guest.log     this script's log: the guest's facts
#   run/results       one line per package and pass, in go test's form
#   run/stages        "NAME SECONDS" per part of the run
#   run/out/N.PASS    each test binary's output (N.PASS.end once it ended)
#   run/network.log   eth0's address and the default route, every 30 s
#   run/kernel.log    the tail of the guest's kernel log
#   run/done          written last: the run got to the end
#
# The work disk's env names the host's paths (REPO, GOROOT, GOMODCACHE,
# GUEST_GOCACHE); its tests lists "IMPORTPATH DIR BINARY" (BINARY relative
# to the disk) for the test binaries the host compiled.
set -uo pipefail
work=/mnt/contain-work
here=$(cd "$(dirname "$0")/../.." && pwd) # the synced repository

prepare() {
	set -e
	local i
	# The host attaches the disk once it is written, while the guest
	# may already be up: wait for udev to name it.
	for i in $(seq 120); do [ -e /dev/disk/by-label/work ] && break; sleep 1; done
	mkdir -p "$work"
	mount /dev/disk/by-label/work "$work"
	# shellcheck source=/dev/null
	. "$work/env"
	local d
	for d in goroot:"$GOROOT" gomodcache:"$GOMODCACHE" gocache:"$GUEST_GOCACHE" gocache:/root/.cache/go-build; do
		mkdir -p "${d#*:}"
		mount --bind "$work/${d%%:*}" "${d#*:}"
	done
	if [ "$here" != "$REPO" ]; then
		mkdir -p "$REPO"
		mount --bind "$here" "$REPO"
	fi
	# provision.sh looks for go in /usr/local/go/bin and on PATH.
	[ -x /usr/local/go/bin/go ] || ln -sf "$GOROOT/bin/go" "$GOROOT/bin/gofmt" /usr/local/bin/
	# The module cache is mounted below /root, as on the host; the
	# unprivileged pass's go build must reach it (it cannot list /root,
	# only pass through).
	chmod 711 /root
	echo "guest: $(uname -r), init $(cat /proc/1/comm), /sys/fs/cgroup is $(stat -fc %T /sys/fs/cgroup), the repository at $REPO"
}

run() {
	local run=$work/run
	# shellcheck source=/dev/null
	. "$work/env"
	rm -rf "$run"
	mkdir -p "$run/out"
	touch "$run/results" "$run/stages"
	exec >>"$run/guest.log" 2>&1
	export PATH="$GOROOT/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
	export HOME=/root GOROOT GOMODCACHE GOCACHE=$GUEST_GOCACHE
	# The host's Go settings, so that the warm cache matches; never the
	# network (GOPROXY=off): the modules are all in GOMODCACHE.
	export GOFLAGS=-buildvcs=false GOTOOLCHAIN=local GOPROXY=off CGO_ENABLED=0
	# The chapters' transcripts that only repeat what this run does anyway
	# are left to the host (docscheck's "run: outside the VM stage").
	export CONTAIN_IN_VM_STAGE=1
	export run work
	echo "== guest: $(uname -r), init $(cat /proc/1/comm), /sys/fs/cgroup is $(stat -fc %T /sys/fs/cgroup)"
	echo "cgroup.controllers: $(cat /sys/fs/cgroup/cgroup.controllers 2>/dev/null)"
	echo "this shell's cgroup: $(cat /proc/self/cgroup)"
	# The guest's own network, every 30 s, for a run that lost it.
	while sleep 30; do
		{ date +%T; ip -br addr show eth0; ip route show default; } >>"$run/network.log" 2>&1
		sync "$run/network.log"
	done &
	local watcher=$!

	# The suite: every test binary as root under CI=true (a privileged
	# test cannot skip), then as the unprivileged user vagrant, the
	# workshop's own, without CI, where the privileged tests skip and the
	# rest run rootless. As on the host (scripts/test.sh), two packages
	# run side by side and the chapters' transcripts (scripts/docscheck)
	# run alone afterwards: they look at machine-wide state, as a
	# reader's terminal would.
	export -f one
	pass root
	pass unprivileged

	# The kernel's view of the run, for failures that left no Go output.
	journalctl -k --no-pager -o short-monotonic | tail -n 60 >"$run/kernel.log"
	kill "$watcher"
	echo end >"$run/done"
	sync
}

# one PASS N PKG DIR BIN: run one test binary (line N of the tests list) in
# the pass PASS, and append its line to run/results.
one() {
	local name=$1 n=$2 pkg=$3 dir=$4 bin=$5 start code out runner limit
	case $name in
	root) runner=(env CI=true) ;;
	unprivileged) runner=(runuser -u vagrant -- env -u CI HOME=/home/vagrant) ;;
	esac
	out=$run/out/$n.$name
	start=$(date +%s)
	echo "== $pkg ($name)"
	# -test.v: a binary that times out still says which tests passed.
	# The chapters' transcripts get longer than a package's usual limit.
	limit=10
	[ "${pkg##*/}" = docscheck ] && limit=25
	# --kill-after: a binary that catches SIGTERM (the CLI's tests run
	# contain in-process, and contain forwards it to the container) must
	# still end, so that the pass goes on and says which test hung.
	(cd "$dir" && timeout --kill-after=1m $((limit + 2))m "${runner[@]}" "$work/$bin" -test.count=1 -test.v -test.timeout=${limit}m -test.paniconexit0) </dev/null >"$out" 2>&1
	code=$?
	if [ $code -eq 0 ]; then
		printf 'ok  \t%s (%s)\t%ss\n' "$pkg" "$name" $(($(date +%s) - start)) >>"$run/results"
	else
		printf 'FAIL\t%s (%s)\t%ss\texit %s\t%s\n' "$pkg" "$name" $(($(date +%s) - start)) $code "${out#"$run"/}" >>"$run/results"
	fi
	touch "$out.end"
	sync "$run/results" "$out" "$out.end"
}

pass() { # PASS: every test binary of the list, the chapters' last
	local start
	start=$(date +%s)
	# tool/cli first: it runs longest, a third of the pass, and started
	# last it would run alone at the end.
	awk -v p="$1" '$1 !~ /\/scripts\/docscheck$/ { print ($1 ~ /\/tool\/cli$/ ? 0 : 1), p, NR, $0 }' "$work/tests" |
		sort -s -k1,1n | cut -d' ' -f2- |
		xargs -r -P 2 -L 1 bash -c 'one "$@"' _
	awk -v p="$1" '$1 ~ /\/scripts\/docscheck$/ { print p, NR, $0 }' "$work/tests" |
		xargs -r -L 1 bash -c 'one "$@"' _
	echo "$1 $(($(date +%s) - start))" >>"$run/stages"
}

case ${1:-} in
prepare) prepare ;;
run) run ;;
*)
	echo "usage: guest.sh prepare | run" >&2
	exit 2
	;;
esac
