#!/bin/bash
# workshop-check.sh tells an attendee, in about a minute, whether this
# machine (the workshop VM) is ready for the day: run it as root from the
# repository. It prints one line per check, OK or FAIL with a hint, then
# the count and the time taken, and exits 1 if any check failed.
#
# It checks, in order: root; the tools the chapters use; Go and contain;
# the default root filesystem; what `contain checkconfig` says, the cgroup
# layout and the user-namespace sysctls among it; that the steps and the
# labs (starters and solutions) build without the network; that an
# ordinary user can create a user namespace (lab 06); and that a container
# starts. The container has no network (--net none), so nothing of it
# outlives it: the host is left as it was.
#
# This is not the test suite: scripts/test.sh is the developers' suite,
# which runs for half an hour and more.
#
# CONTAIN_ROOTFS names another root filesystem than the default.
set -uo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
ROOTFS=${CONTAIN_ROOTFS:-/var/lib/contain/rootfs/busybox}
start=$SECONDS
checks=0
failed=0

# ok NAME and fail NAME HINT print one line each and count it.
ok() {
	checks=$((checks + 1))
	printf 'OK   %s\n' "$1"
}
fail() {
	checks=$((checks + 1))
	failed=$((failed + 1))
	printf 'FAIL %s  hint: %s\n' "$1" "$2"
}

# said OUTPUT gives the last non-empty line of a command's output, the one
# that usually says why it failed.
said() {
	printf '%s\n' "$1" | sed '/^[[:space:]]*$/d' | tail -n 1
}

if [ "$(id -u)" = 0 ]; then
	ok "running as root"
else
	fail "running as root" "the chapters and labs run as root: sudo -i, then cd /home/vagrant/contain and run this again"
fi

# The tools the chapters' transcripts use, each with the Debian package
# that has it; scripts/provision.sh installs them all.
tools="unshare:util-linux nsenter:util-linux setpriv:util-linux ipcmk:util-linux
mount:mount umount:mount chroot:coreutils ip:iproute2 nft:nftables
sysctl:procps busybox:busybox-static capsh:libcap2-bin newuidmap:uidmap
newgidmap:uidmap"
for t in $tools; do
	name=${t%%:*} pkg=${t#*:}
	if command -v "$name" >/dev/null; then
		ok "tool $name"
	else
		fail "tool $name" "not on PATH: apt-get install $pkg, or run scripts/provision.sh again"
	fi
done

# have NAME WHERE checks that the command NAME exists, WHERE saying how
# scripts/provision.sh puts it there; the checks below that need it run
# only when it does.
have() {
	if command -v "$1" >/dev/null; then
		ok "$1: $(command -v "$1")"
	else
		fail "$1" "no $1 command: scripts/provision.sh $2; run it again"
		return 1
	fi
}
have_go=no
have go "installs Go into /usr/local/go" && have_go=yes
have_contain=no
have contain "builds it into /usr/local/bin" && have_contain=yes

if [ -x "$ROOTFS/bin/busybox" ] && [ -x "$ROOTFS/usr/local/bin/probe" ]; then
	ok "root filesystem $ROOTFS"
else
	fail "root filesystem $ROOTFS" "no busybox or probe in it: scripts/provision.sh builds it (or sh scripts/mkrootfs.sh $ROOTFS)"
fi

if [ $have_contain = yes ]; then
	if out=$(contain checkconfig 2>&1); then
		ok "contain checkconfig: nothing contain run needs is missing"
	else
		fail "contain checkconfig" "$(said "$out"); run contain checkconfig to see every finding"
	fi
	# One line per finding, "NAME<tab>STATUS<tab>VALUE<tab>HINT", from
	# the JSON (no jq on the VM): each object's fields are on lines of
	# their own.
	findings=$(contain checkconfig --json 2>/dev/null | awk '
		/^  *"(name|status|value|hint)": / {
			k = $1; gsub(/[":]/, "", k)
			v = $0; sub(/^[^:]*: "/, "", v); sub(/",?$/, "", v)
			f[k] = v
		}
		/^  *},?$/ { print f["name"] "\t" f["status"] "\t" f["value"] "\t" f["hint"]; delete f }')
	mode=$(printf '%s\n' "$findings" | awk -F'\t' '$1 == "Cgroup mode" { print $3 }')
	case $mode in
	# checkconfig's values: "v1", "hybrid", "v2 (unified)".
	v1 | hybrid | "v2 (unified)") ok "cgroup layout: $mode" ;;
	*) fail "cgroup layout: ${mode:-unknown}" "$(printf '%s\n' "$findings" | awk -F'\t' '$1 == "Cgroup mode" { print $4 }')" ;;
	esac
	# The user-namespace sysctls: lab 06 and chapter 06's rootless runs
	# need an ordinary user to create user namespaces.
	while IFS=$'\t' read -r name status value hint; do
		case $status in
		warn | missing) fail "$name: $value" "$hint" ;;
		*) ok "$name: $value" ;;
		esac
	done < <(printf '%s\n' "$findings" | awk -F'\t' '$1 ~ /^(user|kernel)\..*userns|^user\.max_user_namespaces$/')
fi

if [ $have_go = yes ]; then
	# GOPROXY=off: on the day there may be no network, so every module
	# must already be in the module cache.
	if out=$(cd "$repo" && GOPROXY=off go build ./steps/... ./labs/... 2>&1 &&
		GOPROXY=off go build -tags solution ./labs/... 2>&1); then
		ok "the steps and the labs build (starters and solutions)"
	else
		case $out in
		*GOPROXY=off* | *"module lookup disabled"*)
			fail "the steps and the labs build" "a Go module is not in the module cache: run go mod download once with the network (labs/README.md, pre-work)" ;;
		*)
			fail "the steps and the labs build" "$(said "$out")" ;;
		esac
	fi
fi

if out=$(setpriv --reuid=65534 --regid=65534 --clear-groups unshare --user --map-root-user id -u 2>&1) && [ "$out" = 0 ]; then
	ok "an ordinary user can create a user namespace"
else
	fail "an ordinary user can create a user namespace" "nobody's unshare --user --map-root-user said: $(said "$out"). See the user-namespace lines above and chapter 06"
fi

if [ $have_contain = yes ]; then
	if out=$(contain run --name "workshop-check-$$" --rootfs "$ROOTFS" --net none --hostname wscheck --pids-limit 64 -- hostname 2>&1) && [ "$out" = wscheck ]; then
		ok "a container starts (contain run --net none --pids-limit 64)"
	else
		fail "a container starts" "contain run said: $(said "$out")"
	fi
fi

elapsed=$((SECONDS - start))
if [ $failed = 0 ]; then
	echo "workshop check: all $checks checks passed in ${elapsed} s"
else
	echo "workshop check: $failed of $checks checks failed in ${elapsed} s"
	exit 1
fi
