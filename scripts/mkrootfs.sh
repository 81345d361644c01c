#!/bin/sh
# mkrootfs.sh builds the default root filesystem for contain: Debian's static
# busybox, one symlink per applet, a few files in /etc, and the two helper
# programs the chapters use inside a container: probe (what do I see?) and
# escape (the chroot break-out of chapter 02). Nothing is downloaded.
#
# usage: scripts/mkrootfs.sh [--probe FILE] [--escape FILE] [--owner UID:GID] DIR
#
# Without --probe/--escape the helpers are built from this repository with
# the go command (CGO_ENABLED=0, so they are static and run in a rootfs with
# no libc). DIR is replaced only when it is absent or was made by this script.
# --owner makes every file belong to UID:GID instead of root: the ids that
# root of a user namespace has outside it (chapter 06). With --owner
# 100000:100000, a container mapped 0:100000:65536 owns its rootfs.
set -eu

usage() { echo "usage: $0 [--probe FILE] [--escape FILE] [--owner UID:GID] DIR" >&2; exit 2; }

probe="" escape="" owner=""
while [ $# -gt 1 ]; do
	case "$1" in
	--probe) probe="$2"; shift 2 ;;
	--escape) escape="$2"; shift 2 ;;
	--owner) owner="$2"; shift 2 ;;
	*) usage ;;
	esac
done
[ $# -eq 1 ] || usage
if [ -n "$owner" ] && ! echo "$owner" | grep -qE '^[0-9]+:[0-9]+$'; then
	echo "mkrootfs: --owner $owner: want UID:GID in numbers, such as 100000:100000" >&2
	exit 2
fi
dir="${1%/}"
case "$dir" in
"" | / | /bin | /etc | /usr | /var | /root | /home) echo "mkrootfs: refusing to build into '$1': pick an empty directory" >&2; exit 2 ;;
esac

busybox=/bin/busybox
if ! [ -x "$busybox" ] || ! "$busybox" --list >/dev/null 2>&1; then
	echo "mkrootfs: $busybox not found: install it with 'apt-get install busybox-static'" >&2
	exit 1
fi
# A dynamically linked busybox (Debian's "busybox" package) would need the
# host's libc inside the rootfs; the static one needs nothing.
if LC_ALL=C ldd "$busybox" >/dev/null 2>&1; then
	echo "mkrootfs: $busybox is dynamically linked: install 'busybox-static' instead of 'busybox'" >&2
	exit 1
fi
if [ -e "$dir" ] && ! [ -e "$dir/.contain-rootfs" ] && [ -n "$(ls -A "$dir" 2>/dev/null)" ]; then
	echo "mkrootfs: $dir exists and was not made by mkrootfs.sh: remove it or pick another directory" >&2
	exit 1
fi

repo=$(cd "$(dirname "$0")/.." && pwd)
tmp="$dir.tmp.$$"
trap 'rm -rf "$tmp"' EXIT
mkdir -p "$tmp"

# The directories a Linux userland expects; proc, sys, dev and tmp are empty
# mount points that contain fills at start.
for d in bin sbin usr/bin usr/sbin usr/local/bin etc root tmp proc sys dev var/log run home; do
	mkdir -p "$tmp/$d"
done
chmod 1777 "$tmp/tmp"
chmod 0700 "$tmp/root"

cp "$busybox" "$tmp/bin/busybox"
# `busybox --list-full` prints each applet with its usual path (bin/sh,
# usr/bin/awk, ...); every one becomes a symlink to the single binary.
"$busybox" --list-full | while read -r applet; do
	[ "$applet" = bin/busybox ] && continue
	ln -sf /bin/busybox "$tmp/$applet"
done

cat >"$tmp/etc/passwd" <<'PASSWD'
root:x:0:0:root:/root:/bin/sh
nobody:x:65534:65534:nobody:/nonexistent:/bin/false
PASSWD
cat >"$tmp/etc/group" <<'GROUP'
root:x:0:
nogroup:x:65534:
GROUP
echo contain >"$tmp/etc/hostname"
printf '127.0.0.1\tlocalhost\n::1\tlocalhost\n' >"$tmp/etc/hosts"
cat >"$tmp/etc/os-release" <<'OSREL'
NAME="contain busybox"
ID=contain-busybox
PRETTY_NAME="contain busybox rootfs"
OSREL

helper() { # helper NAME PREBUILT PACKAGE
	if [ -n "$2" ]; then
		cp "$2" "$tmp/usr/local/bin/$1"
	elif command -v go >/dev/null 2>&1; then
		# go run -exec cp is go build -o through the build cache, which
		# keeps what go run links (Go 1.24 and later): building the rootfs
		# again does not link the helpers again.
		(cd "$repo" && CGO_ENABLED=0 go run -trimpath -exec cp "$3" "$tmp/usr/local/bin/$1")
	else
		echo "mkrootfs: go not found, $1 left out of the rootfs (run scripts/provision.sh)" >&2
	fi
}
helper probe "$probe" ./tool/cmd/probe
helper escape "$escape" ./steps/02-chroot/escape

date -u +%Y-%m-%dT%H:%M:%SZ >"$tmp/.contain-rootfs"
if [ -n "$owner" ]; then
	# Shift ownership, not modes: a file of root becomes a file of
	# $owner; -h changes the applet symlinks themselves.
	chown -hR "$owner" "$tmp"
fi
rm -rf "$dir"
mv "$tmp" "$dir"
trap - EXIT
echo "mkrootfs: built $dir ($(find "$dir" -type l | wc -l) applets)"
