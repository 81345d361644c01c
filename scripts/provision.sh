#!/bin/bash
# provision.sh prepares a Debian 12 machine (or the workshop VM) for
# contain, as root. It is safe to run again.
#
#  1. installs the Debian packages the chapters use;
#  2. installs a Go toolchain when `go` is missing or older than go.mod
#     needs (from Debian's golang-go, which then fetches the toolchain module
#     named in go.mod from the Go module proxy: nothing else is downloaded);
#  3. builds contain into /usr/local/bin;
#  4. builds the default root filesystem, /var/lib/contain/rootfs/busybox,
#     from Debian's busybox-static.
#
# usage: scripts/provision.sh [--test]   (--test adds what the suite needs)
set -euo pipefail

repo=$(cd "$(dirname "$0")/.." && pwd)
ROOTFS=${CONTAIN_ROOTFS:-/var/lib/contain/rootfs/busybox}

if [ "$(id -u)" -ne 0 ]; then
	echo "provision.sh: run it as root (sudo $0)" >&2
	exit 1
fi

# excerpt: packages
# What contain and the chapters use: busybox-static for the rootfs,
# util-linux for unshare/nsenter, iproute2, libcap2-bin for capsh,
# uidmap for newuidmap/newgidmap (rootless containers, chapter 06), and
# git/ca-certificates for Go modules.
packages=(busybox-static util-linux iproute2 procps libcap2-bin uidmap git ca-certificates)
if [ "${1:-}" = --test ]; then
	# The peers the benchmark compares against, and vagrant with its
	# libvirt provider, which bring the workshop VM up in the VM stage.
	packages+=(hyperfine lxc crun runc vagrant vagrant-libvirt)
fi
# end excerpt
# Chapter 08: NAT and published ports with nftables (iptables for the
# fallback), Open vSwitch for run --net ovs=NAME, and passt for pasta,
# the default network of a rootless container.
packages+=(nftables iptables openvswitch-switch passt)
# What only the host of the suite needs: the VM stage
# (scripts/vm-test.sh) builds a box with debootstrap, mkfs.ext4 -d
# (e2fsprogs) and qemu-img (qemu-utils), and brings it up with vagrant on
# libvirt: its daemons (libvirt-daemon-system; on a machine without
# systemd with the sysv scripts rather than the systemd units, which would
# pull a newer systemd in), qemu, and dnsmasq for the DHCP of the network
# vagrant-libvirt makes. None of it goes into the guest.
host_only=()
if [ "${1:-}" = --test ]; then
	host_only=(vagrant vagrant-libvirt libvirt-daemon-system qemu-system-x86 qemu-utils dnsmasq-base debootstrap e2fsprogs)
	[ -d /run/systemd/system ] || host_only+=(libvirt-daemon-system-sysv)
fi
# PROVISION_PRINT_PACKAGES=image prints what the VM stage's image gets
# (all but host_only), =all everything, and installs nothing.
case "${PROVISION_PRINT_PACKAGES:-}" in
image)
	printf '%s\n' "${packages[@]}" | grep -vxF -f <(printf '%s\n' "${host_only[@]}" "")
	exit 0
	;;
all)
	printf '%s\n' "${packages[@]}" "${host_only[@]}" | sort -u
	exit 0
	;;
"") ;;
*)
	echo "provision.sh: PROVISION_PRINT_PACKAGES is image or all, not '$PROVISION_PRINT_PACKAGES'" >&2
	exit 2
	;;
esac
packages+=("${host_only[@]}")

apt_get() {
	# Wait for another apt/dpkg (unattended-upgrades, a second session)
	# instead of failing on its lock.
	DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=600 -y -q "$@"
}

missing=()
for p in "${packages[@]}"; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
	echo "provision: installing ${missing[*]}"
	apt_get update >/dev/null
	apt_get install --no-install-recommends "${missing[@]}" >/dev/null
fi

# version_ge A B: is Go version A (1.26.0, 1.19) at least B?
version_ge() {
	[ "$(printf '%s\n%s\n' "$2" "$1" | sort -V | head -n1)" = "$2" ]
}

# ensure_go makes `go` at least the version in go.mod's go line.
ensure_go() {
	local need toolchain have arch gobin cache dir
	need=$(awk '$1 == "go" {print $2; exit}' "$repo/go.mod")
	toolchain=$(awk '$1 == "toolchain" {print $2; exit}' "$repo/go.mod")
	toolchain=${toolchain:-go$need}
	export PATH="/usr/local/go/bin:$PATH"
	if command -v go >/dev/null; then
		have=$(go env GOVERSION 2>/dev/null | sed 's/^go//')
		# Go 1.21 and later fetch the toolchain go.mod names by themselves
		# (GOTOOLCHAIN=auto); only older ones need the steps below.
		if version_ge "${have:-0}" 1.21; then
			return
		fi
	fi
	echo "provision: installing Go $toolchain (go.mod needs $need)"
	if ! [ -x /usr/lib/go-1.19/bin/go ] && ! command -v go >/dev/null; then
		apt_get update >/dev/null
		apt_get install --no-install-recommends golang-go >/dev/null
	fi
	gobin=$(command -v go || echo /usr/lib/go-1.19/bin/go)
	case "$(uname -m)" in
	x86_64) arch=amd64 ;; aarch64) arch=arm64 ;; *) arch=$(uname -m) ;;
	esac
	# A Go toolchain is itself a module, golang.org/toolchain, served by the
	# module proxy; this is what GOTOOLCHAIN=auto does in newer Go.
	# Run outside the repository: an old go cannot parse our go.mod.
	cache=$(mktemp -d)
	dir=$(cd "$cache" && GOFLAGS=-mod=mod GOMODCACHE="$cache" GO111MODULE=on \
		"$gobin" mod download -json "golang.org/toolchain@v0.0.1-$toolchain.linux-$arch" |
		sed -n 's/^[[:space:]]*"Dir": "\(.*\)",$/\1/p')
	if [ -z "$dir" ] || ! [ -f "$dir/bin/go" ]; then
		echo "provision: could not fetch the Go toolchain module for $toolchain" >&2
		exit 1
	fi
	rm -rf /usr/local/go.new
	cp -r "$dir" /usr/local/go.new
	chmod -R u+w "$cache" /usr/local/go.new && rm -rf "$cache"
	# Module zips keep no file modes: the binaries need their x bit back.
	chmod -R a+rX /usr/local/go.new
	chmod a+x /usr/local/go.new/bin/* /usr/local/go.new/pkg/tool/*/*
	rm -rf /usr/local/go && mv /usr/local/go.new /usr/local/go
	ln -sf /usr/local/go/bin/go /usr/local/go/bin/gofmt /usr/local/bin/
	echo "provision: $(/usr/local/go/bin/go version)"
}
ensure_go

# excerpt: build
cd "$repo"
echo "provision: building contain"
CGO_ENABLED=0 go build -trimpath -o /usr/local/bin/contain ./tool/cmd/contain
mkdir -p "$(dirname "$ROOTFS")"
sh scripts/mkrootfs.sh "$ROOTFS" >/dev/null
echo "provision: ready: contain $(command -v contain), rootfs $ROOTFS"
# end excerpt
