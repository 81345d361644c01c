#!/bin/bash
# guest.sh runs inside the VM that scripts/vm-test.sh boots, as root, from
# the unit contain-vm-test.service (through contain-vm-boot), and writes
# everything the host reads back into the run directory RUN (9p):
#
#   RUN/guest.log     this script's log: the guest's facts, provision.sh
#   RUN/results       one line per package and pass, in go test's form
#   RUN/out/N.PASS    each test binary's output
#   RUN/kernel.log    the tail of the guest's kernel log
#   RUN/done          written last: the run got to the end
#
# RUN/env (from the host) names the repository, GOROOT, GOMODCACHE and the
# Go build cache the host warmed; RUN/tests lists "IMPORTPATH DIR BINARY"
# (BINARY relative to RUN)
# for the test binaries the host compiled, so that nothing is compiled here
# but what the tests build themselves (from the warm cache).
set -uo pipefail
run=$1
# shellcheck source=/dev/null
. "$run/env"
exec >>"$run/guest.log" 2>&1

# The work disk (/dev/vdb, see vm-test.sh) holds the repository, GOROOT,
# the module cache and the warm build cache; each goes where the host has
# it. The repository was mounted over 9p at boot (contain-vm-boot), to
# find this script: the disk's copy goes on top.
mkdir -p /mnt/work
mount /dev/vdb /mnt/work
for d in repo:"$REPO" goroot:"$GOROOT" gomodcache:"$GOMODCACHE" gocache:"$GUEST_GOCACHE"; do
	mkdir -p "${d#*:}"
	mount --bind "/mnt/work/${d%%:*}" "${d#*:}"
done

export PATH="$GOROOT/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
export HOME=/root GOROOT GOMODCACHE GOCACHE=$GUEST_GOCACHE
# The host's Go settings, so that the warm cache matches; never the
# network (GOPROXY=off): the modules are all in GOMODCACHE.
export GOFLAGS=-buildvcs=false GOTOOLCHAIN=local GOPROXY=off CGO_ENABLED=0
# The chapters' transcripts that only repeat what this run does anyway
# are left to the host (docscheck's "run: outside the VM stage").
export CONTAIN_IN_VM_STAGE=1

# RUN/stages gets "NAME SECONDS" for each part of the run, for the host's
# summary: first how long the guest took to boot this far.
echo "boot $(cut -d. -f1 /proc/uptime)" >>"$run/stages"
echo "== guest: $(uname -r), init $(cat /proc/1/comm), /sys/fs/cgroup is $(stat -fc %T /sys/fs/cgroup)"
echo "cgroup.controllers: $(cat /sys/fs/cgroup/cgroup.controllers 2>/dev/null)"

# 1. Provision, as the Vagrantfile's provisioner does.
echo "== scripts/provision.sh"
start=$(date +%s)
if "$REPO/scripts/provision.sh"; then
	echo "ok  	scripts/provision.sh (in the VM)	$(($(date +%s) - start))s" >>"$run/results"
else
	echo "FAIL	scripts/provision.sh (in the VM)	$(($(date +%s) - start))s" >>"$run/results"
fi
echo "provision $(($(date +%s) - start))" >>"$run/stages"

# 2. The suite: every test binary as root under CI=true (a privileged
#    test cannot skip), then as the unprivileged user "tester" without CI,
#    where the privileged tests skip and the rest run rootless. As on the
#    host (scripts/test.sh), two packages run side by side and the
#    chapters' transcripts (scripts/docscheck) run alone afterwards: they
#    look at machine-wide state, as a reader's terminal would.
mkdir -p "$run/out"
# one PASS N PKG DIR BIN: run one test binary (line N of RUN/tests) in
# the pass PASS, and append its line to RUN/results.
one() {
	local name=$1 n=$2 pkg=$3 dir=$4 bin=$5 start code out runner limit
	case $name in
	root) runner=(env CI=true) ;;
	tester) runner=(runuser -u tester -- env -u CI HOME=/home/tester) ;;
	esac
	out=$run/out/$n.$name
	start=$(date +%s)
	echo "== $pkg ($name)"
	# -test.v: a binary that times out still says which tests passed.
	# The chapters' transcripts get longer than a package's usual limit.
	limit=10
	[ "${pkg##*/}" = docscheck ] && limit=25
	(cd "$dir" && timeout $((limit + 2))m "${runner[@]}" "$run/$bin" -test.count=1 -test.v -test.timeout=${limit}m -test.paniconexit0) </dev/null >"$out" 2>&1
	code=$?
	if [ $code -eq 0 ]; then
		printf 'ok  \t%s (%s)\t%ss\n' "$pkg" "$name" $(($(date +%s) - start)) >>"$run/results"
	else
		printf 'FAIL\t%s (%s)\t%ss\texit %s\t%s\n' "$pkg" "$name" $(($(date +%s) - start)) $code "${out#"$run"/}" >>"$run/results"
	fi
}
export -f one
export run
pass() { # PASS: every test binary of RUN/tests, the chapters' last
	local start
	start=$(date +%s)
	# tool/cli first: it runs longest, a third of the pass, and started
	# last it would run alone at the end.
	awk -v p="$1" '$1 !~ /\/scripts\/docscheck$/ { print ($1 ~ /\/tool\/cli$/ ? 0 : 1), p, NR, $0 }' "$run/tests" |
		sort -s -k1,1n | cut -d' ' -f2- |
		xargs -r -P 2 -L 1 bash -c 'one "$@"' _
	awk -v p="$1" '$1 ~ /\/scripts\/docscheck$/ { print p, NR, $0 }' "$run/tests" |
		xargs -r -L 1 bash -c 'one "$@"' _
	echo "$1 $(($(date +%s) - start))" >>"$run/stages"
}
pass root
# The module cache is mounted below /root, as on the host; the tester's go
# build must reach it (it cannot list /root, only pass through). The build
# cache the host made writable for all: a cold one costs minutes here.
chmod 711 /root
pass tester

# 3. The kernel's view of the run, for failures that left no Go output.
journalctl -k --no-pager -o short-monotonic | tail -n 60 >"$run/kernel.log"
echo end >"$run/done"
