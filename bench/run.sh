#!/bin/bash
# run.sh times /bin/true in a fresh container, side by side, in one
# hyperfine run: contain run, unshare, lxc-start -F, crun and runc, all on
# the same freshly built busybox rootfs and in the same namespaces (mount,
# UTS, IPC, PID; no network namespace). It prints each tool's median, its
# ratio to contain in both directions, and whether contain meets the
# targets in bench/README.md. A missed target is reported, not an error.
#
# usage: bench/run.sh [--runs N] [--out DIR]
#
#   --runs N   timed runs per tool (default 100), after 3 warm-up runs
#   --out DIR  keep hyperfine's JSON export and the report there
#
# Needs root. A peer that is not installed is skipped with a note
# (scripts/provision.sh --test installs them all). The exit status is
# non-zero only when a tool fails to run at all, or when the host could
# not be put back as it was.
#
# In order: build contain, a rootfs, the OCI bundle and the LXC config in a
# temporary directory; on a cgroup v1/v2 hybrid host, move the controllers
# of the v2 hierarchy to v1 for crun; run each command once to see that it
# works; time them all; report. On exit, whatever happens: remove the
# cgroups the tools left, move the controllers back, remove the directory.
set -euo pipefail

usage() {
	echo "usage: bench/run.sh [--runs N] [--out DIR]" >&2
	exit 2
}
runs=100 out=""
while [ $# -gt 0 ]; do
	case "$1" in
	--runs) [ $# -ge 2 ] || usage; runs=$2; shift 2 ;;
	--out) [ $# -ge 2 ] || usage; out=$2; shift 2 ;;
	-h | --help) usage ;;
	*) echo "bench/run.sh: unknown argument '$1'" >&2; usage ;;
	esac
done
if ! [[ "$runs" =~ ^[0-9]+$ ]] || [ "$runs" -lt 2 ]; then
	echo "bench/run.sh: --runs wants a whole number of at least 2, not '$runs'" >&2
	exit 2
fi
if [ "$(id -u)" != 0 ]; then
	echo "bench/run.sh: needs root (namespaces, mounts, cgroups): run it with sudo" >&2
	exit 2
fi
if ! command -v hyperfine >/dev/null; then
	echo "bench/run.sh: hyperfine not found: install it with 'apt-get install hyperfine' (or scripts/provision.sh --test)" >&2
	exit 1
fi
command -v go >/dev/null || PATH="/usr/local/go/bin:$PATH"
repo=$(cd "$(dirname "$0")/.." && pwd)
warmup=3
id="contain-bench-$$" # names the containers, and so their cgroups

cgroups() { find /sys/fs/cgroup -mindepth 1 -maxdepth 3 -type d 2>/dev/null | sort; }
snapshot() { # what the tools could leave behind: mounts and cgroups
	awk '{ print $5, $9, $10 }' /proc/self/mountinfo | sort
	cgroups
}

before=$(snapshot)
tmp=$(mktemp -d -t contain-bench.XXXXXX) # in $TMPDIR, /tmp by default
cgroups >"$tmp/cgroups.before"
for f in /sys/fs/cgroup/*/cgroup.clone_children; do echo "$f $(cat "$f")"; done >"$tmp/clone_children"
# lxc-start -P DIR keeps a lock under /run/lxc/lock/DIR; note which of its
# parents it will create, deepest first, to remove them afterwards.
lxclock="/run/lxc/lock$tmp" lxcdirs=()
d=$(dirname "$lxclock")
while [ "$d" != /run ]; do
	[ -d "$d" ] || lxcdirs+=("$d")
	d=$(dirname "$d")
done

# --- cgroup v1/v2 hybrid: crun refuses to start while the v2 hierarchy
# has controllers ("cgroups in hybrid mode not supported"). Mounting a v1
# hierarchy for each of them moves it off v2 for the run; unmounting moves
# it back, but only once the v1 hierarchy has no cgroup left, dying ones
# included (cgroup_kill_sb in kernel/cgroup/cgroup.c), and only after an
# RCU grace period.
unified=/sys/fs/cgroup/unified/cgroup.controllers
saved_controllers="" moved=()
hybrid_on() {
	[ -r "$unified" ] || return 0
	saved_controllers=$(cat "$unified")
	local c
	for c in $saved_controllers; do
		if [ -e "/sys/fs/cgroup/$c" ]; then
			echo "bench/run.sh: /sys/fs/cgroup/$c exists, cannot mount a v1 $c hierarchy there for crun" >&2
			return 1
		fi
		mkdir "/sys/fs/cgroup/$c"
		moved+=("$c")
		mount -t cgroup -o "$c" "$c" "/sys/fs/cgroup/$c"
	done
}
cgroup_count() { awk -v c="$1" '$1 == c { print $3 }' /proc/cgroups; }
wait_for() { # wait_for TRIES COMMAND...: poll every 0.1 s
	local i
	for ((i = 0; i < $1; i++)); do
		"${@:2}" && return 0
		sleep 0.1
	done
	return 1
}
controllers_back() { [ "$(cat "$unified")" = "$saved_controllers" ]; }
hybrid_off() {
	local c try
	for c in "${moved[@]}"; do
		wait_for 50 test "$(cgroup_count "$c")" = 1 || true
		umount "/sys/fs/cgroup/$c" 2>/dev/null || true
		rmdir "/sys/fs/cgroup/$c"
	done
	[ ${#moved[@]} -gt 0 ] || return 0
	# If a dying cgroup outlived the unmount, the hierarchy stays. Mounting
	# it again and unmounting it now that it is empty releases it.
	for try in 1 2 3; do
		wait_for 30 controllers_back && return 0
		for c in "${moved[@]}"; do
			mkdir "/sys/fs/cgroup/$c"
			mount -t cgroup -o "$c" "$c" "/sys/fs/cgroup/$c"
			wait_for 50 test "$(cgroup_count "$c")" = 1 || true
			umount "/sys/fs/cgroup/$c"
			rmdir "/sys/fs/cgroup/$c"
		done
	done
	controllers_back && return 0
	echo "bench/run.sh: $unified lists '$(cat "$unified")', not '$saved_controllers' as before;" \
		"to move them back: mkdir /sys/fs/cgroup/C && mount -t cgroup -o C C /sys/fs/cgroup/C && umount /sys/fs/cgroup/C && rmdir /sys/fs/cgroup/C" >&2
	return 1
}

cleanup() {
	local rc=$? c
	set +e
	for c in "runc --root $tmp/runc" "crun --root $tmp/crun"; do # after an interrupt
		[ -d "${c##* }" ] && $c delete --force "$id" >/dev/null 2>&1
	done
	# The runtimes remove their cgroups; lxc leaves an empty lxc.pivot in
	# each hierarchy (where it parks its monitor). Remove the new ones that
	# are ours, deepest first; rmdir refuses a cgroup with processes.
	comm -13 "$tmp/cgroups.before" <(cgroups) | grep -E "/lxc\.pivot$|$id" | sort -r | xargs -r rmdir
	hybrid_off || rc=1
	# lxc turns on cgroup.clone_children at the v1 roots it uses (cpuset
	# at least); put back what the host had.
	while read -r f v; do
		[ -f "$f" ] && [ "$(cat "$f")" != "$v" ] && echo "$v" >"$f"
	done <"$tmp/clone_children"
	rm -rf "$lxclock" "$tmp"
	for c in "${lxcdirs[@]}"; do rmdir "$c" 2>/dev/null; done
	# A warning, not a failure: something else on the machine may have
	# mounted or made a cgroup meanwhile.
	if ! diff -u <(echo "$before") <(snapshot) >&2; then
		echo "bench/run.sh: warning: mounts or cgroups changed during the run (-before +after above)" >&2
	fi
	exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# --- what every tool runs: one rootfs, one command.
(cd "$repo" && CGO_ENABLED=0 go build -trimpath -o "$tmp/contain" ./tool/cmd/contain && go build -o "$tmp/report" ./bench/report &&
	go build -o "$tmp/ocispec" ./bench/ocispec && CGO_ENABLED=0 go build -trimpath -o "$tmp/step03" ./steps/03-mount-namespace)
rootfs="$tmp/rootfs"
"$repo/scripts/mkrootfs.sh" "$rootfs" >/dev/null

names=() cmds=() notes=() failed=0
add() { # add NAME COMMAND...
	names+=("$1")
	cmds+=("${*:2}")
}
skip() { # skip NAME WHY
	notes+=("skipped $1: $2")
	echo "bench/run.sh: skipped $1: $2" >&2
}

# --net host: the namespaces of chapter 03 (mount, UTS, IPC, PID) and no
# network namespace, as for every tool here: the OCI bundle drops it and
# lxc is told to share the host's (lxc.net.0.type = none). bench/net.sh
# times contain's network namespace and default network.
add contain "$tmp/contain" run --net host --rootfs "$rootfs" -- /bin/true
# The step program of chapter 03: the same namespaces, pivot_root and /proc,
# started the way contain starts its init stage (a Go program re-executing
# itself), and nothing else: no cgroup, no /dev, no state. The floor of a
# Go container runtime built like contain.
add "steps/03" "$tmp/step03" run "$rootfs" /bin/true
# unshare: the namespaces and a chroot, nothing else: the floor.
add unshare unshare --fork --pid --mount --uts --ipc --root "$rootfs" /bin/true

if command -v lxc-start >/dev/null; then
	mkdir -p "$tmp/lxc/$id"
	cat >"$tmp/lxc/$id/config" <<-EOF
		lxc.uts.name = bench
		lxc.rootfs.path = dir:$rootfs
		lxc.net.0.type = none
		lxc.init.cmd = /bin/true
	EOF
	add lxc-start lxc-start -n "$id" -P "$tmp/lxc" -F
else
	skip lxc-start "not installed (apt-get install lxc)"
fi

runtimes=()
for r in crun runc; do
	if command -v "$r" >/dev/null; then runtimes+=("$r"); else skip "$r" "not installed (apt-get install $r)"; fi
done
if [ ${#runtimes[@]} -gt 0 ]; then
	mkdir "$tmp/bundle"
	(cd "$tmp/bundle" && "${runtimes[0]}" spec)
	"$tmp/ocispec" "$tmp/bundle/config.json" "$rootfs" /bin/true
fi
# --root: each runtime keeps its container state in the temporary directory,
# not under /run, so nothing of it outlives the run.
for r in "${runtimes[@]}"; do
	add "$r" "$r" --root "$tmp/$r" run --bundle "$tmp/bundle" "$id"
	if [ "$r" = crun ]; then
		add "crun (no cgroups)" crun --root "$tmp/crun" --cgroup-manager=disabled run --bundle "$tmp/bundle" "$id"
	fi
done

mode="cgroup v1"
if [ -e /sys/fs/cgroup/cgroup.controllers ]; then
	mode="cgroup v2"
elif [ -d /sys/fs/cgroup/unified ]; then
	mode="cgroup v1/v2 hybrid"
	if [[ " ${runtimes[*]} " == *" crun "* ]]; then
		hybrid_on
		[ ${#moved[@]} -eq 0 ] || mode+=" (${moved[*]} moved to v1 for crun)"
	fi
fi

# --- each command once: hyperfine stops at the first failing command, so
# a tool that cannot run here is reported and left out instead.
args=()
for i in "${!names[@]}"; do
	status=0
	${cmds[$i]} >"$tmp/trial.out" 2>&1 || status=$?
	if [ "$status" = 0 ]; then
		args+=(-n "${names[$i]}" "${cmds[$i]}")
		continue
	fi
	why="exit status $status: $(grep -m1 . "$tmp/trial.out" || true)"
	notes+=("FAILED ${names[$i]}: $why")
	echo "bench/run.sh: ${names[$i]} failed to run: $why" >&2
	failed=1
	[ "${names[$i]}" != contain ] || exit 1
done

echo "bench/run.sh: timing $((${#args[@]} / 3)) tools, $runs runs each..." >&2
hyperfine -N --style none --warmup "$warmup" --runs "$runs" --export-json "$tmp/hyperfine.json" "${args[@]}"

{
	echo "/bin/true in a fresh container: $runs runs per tool after $warmup warm-up runs, one hyperfine run"
	echo "$(date -u +%Y-%m-%d), Linux $(uname -r), $(nproc) CPUs, $mode"
	for n in "${notes[@]}"; do echo "$n"; done
	echo
	"$tmp/report" "$tmp/hyperfine.json"
} | tee "$tmp/report.txt"
if [ -n "$out" ]; then
	mkdir -p "$out"
	cp "$tmp/hyperfine.json" "$tmp/report.txt" "$out/"
fi
exit "$failed"
