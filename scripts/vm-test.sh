#!/bin/bash
# vm-test.sh runs the suite inside a booted Debian 12 VM with systemd, pure
# cgroup v2: the layout of the workshop's Vagrant box, which a host with
# cgroup v1 or hybrid and no systemd cannot show. scripts/test.sh runs it
# after the host suite. As root:
#
#  1. builds the VM image (scripts/vm/build-image.sh: debootstrap, Debian's
#     kernel, systemd, the packages provision.sh installs) unless the cache
#     holds one made from the same inputs;
#  2. compiles every package's test binary here, statically, and warms a
#     Go build cache for what the tests build themselves, the programs
#     they link included: the guest runs under emulation (TCG) when KVM
#     does not really work, and compiling there would take most of an
#     hour; then writes the repository, GOROOT, the module cache and the
#     build cache on a disk image for the guest;
#  3. boots the image with qemu, with that disk, the run directory and the
#     repository shared over 9p, and user-mode networking for apt; the
#     guest runs scripts/vm/guest.sh (provision.sh, then every test binary
#     as root and again as an unprivileged user) and powers off;
#  4. prints each part's time, one line per package and pass in go test's
#     form, the slowest packages, the output of every failure and the
#     guest's kernel log tail, and exits non-zero on any failure.
#
# usage: scripts/vm-test.sh
# environment: CONTAIN_VM_CACHE (default /var/cache/contain-vm),
#              CONTAIN_VM_TIMEOUT (minutes the guest may run, default 40),
#              CONTAIN_VM_PACKAGES (go package patterns, default ./...;
#              a few packages make a quick run while working on them),
#              CONTAIN_VM_KEEP (a directory to copy the guest's logs and
#              each test binary's output into, for a closer look)
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
cache=${CONTAIN_VM_CACHE:-/var/cache/contain-vm}
timeout_min=${CONTAIN_VM_TIMEOUT:-40}
release=bookworm
export PATH="/usr/local/go/bin:$PATH"

die() { echo "vm-test: $*" >&2; exit 1; }
[ "$(id -u)" -eq 0 ] || die "run it as root (sudo $0)"
for c in qemu-system-x86_64 debootstrap mkfs.ext4 go; do
	command -v "$c" >/dev/null || die "$c is missing: run scripts/provision.sh --test first"
done
started=$(date +%s)
elapsed() { echo "$(($(date +%s) - started))s"; }
# timed NAME SECONDS: one part of the stage, as a line scripts/test.sh
# gathers into its summary.
times=()
timed() { times+=("$(printf 'vm-test: time: %-24s %5ss' "$1" "$2")"); }

# The host's apt sources for the release, as "URI SUITE" lines: the guest
# gets the same archive (debootstrap and its apt), whatever mirror the
# host is configured with.
sources=$(apt-get indextargets --format '$(SITE) $(RELEASE) $(ORIGIN) $(COMPONENT)' 'Created-By: Packages' 2>/dev/null |
	awk -v r="$release" '$3 == "Debian" && $4 == "main" && ($2 == r || index($2, r "-") == 1) { print $1, $2 }' | sort -u)
if ! grep -q " $release\$" <<<"$sources"; then
	sources="http://deb.debian.org/debian $release"
fi
# What provision.sh --test installs, less what only the suite's host
# needs (vagrant, qemu, debootstrap).
packages=$(PROVISION_PRINT_PACKAGES=image "$repo/scripts/provision.sh" --test | sort | tr '\n' ' ')

# 1. The image, cached under a hash of everything that goes into it.
key=$( {
	cat "$repo/scripts/vm/build-image.sh" "$repo/scripts/vm/contain-vm-boot" "$repo/scripts/vm/contain-vm-test.service"
	echo "$release" "$packages" "$sources"
} | sha256sum | cut -c1-16)
image=$cache/image-$key
mkdir -p "$cache"
if ! [ -f "$image/root.img" ]; then
	echo "vm-test: building the image (first run on this machine, or its inputs changed)"
	# Only one image is kept: the others were made from older inputs.
	find "$cache" -mindepth 1 -maxdepth 1 -name 'image-*' -exec rm -rf {} +
	srcfile=$(mktemp)
	echo "$sources" >"$srcfile"
	# shellcheck disable=SC2086 # one word per package
	if ! "$repo/scripts/vm/build-image.sh" "$image" "$release" "$srcfile" $packages; then
		rm -f "$srcfile"
		die "building the image failed (log above)"
	fi
	rm -f "$srcfile"
	echo "vm-test: image built in $(elapsed)"
fi
timed image $(($(date +%s) - started))

# 2. The run directory, shared with the guest: test binaries, lists, results.
#    World-readable: the unprivileged pass runs binaries from it.
run=$(mktemp -d /tmp/contain-vm.XXXXXX)
qemu_pid=
cleanup() {
	if [ -n "$qemu_pid" ] && kill -0 "$qemu_pid" 2>/dev/null; then
		kill "$qemu_pid" 2>/dev/null || true
		wait "$qemu_pid" 2>/dev/null || true
	fi
	if [ -n "${CONTAIN_VM_KEEP:-}" ]; then
		mkdir -p "$CONTAIN_VM_KEEP"
		cp -r "$run/results" "$run/out" "$run/guest.log" "$run/console.log" "$CONTAIN_VM_KEEP/" 2>/dev/null || true
	fi
	rm -rf "$run"
	rm -f "${disk:-}"
}
trap cleanup EXIT
chmod 755 "$run"
mkdir -p "$run/bin" "$cache/gocache"
touch "$run/tests" "$run/results" "$run/stages"

goroot=$(go env GOROOT)
gomodcache=$(go env GOMODCACHE)
# The guest builds with these settings (see guest.sh); the cache is warmed
# with the same ones, at the same paths, so that its entries match there.
gocache() {
	GOCACHE=$cache/gocache GOFLAGS=-buildvcs=false GOTOOLCHAIN=local CGO_ENABLED=0 "$@"
}
echo "vm-test: compiling the test binaries and warming the guest's build cache"
compiled=$(date +%s)
cd "$repo"
# shellcheck disable=SC2086 # patterns are words
gocache go list -e -f '{{if or .TestGoFiles .XTestGoFiles}}{{.ImportPath}} {{.Dir}}{{end}}' ${CONTAIN_VM_PACKAGES:-./...} >"$run/packages"
# compile PKG DIR: one test binary; the guest runs those that compiled,
# and a package that does not compile is a failure of this stage too.
export -f gocache
export run cache
compile() {
	local pkg=$1 dir=$2 bin
	bin=$run/bin/$(echo "${pkg#github.com/contain-dev/contain/}" | tr / _).test
	if gocache go test -c -o "$bin" "$pkg" >"$bin.log" 2>&1; then
		echo "$pkg $dir ${bin#"$run"/}" >>"$run/tests"
	else
		printf 'FAIL\t%s (build)\t0s\tgo test -c\t%s\n' "$pkg" "${bin#"$run"/}.log" >>"$run/results"
	fi
}
export -f compile
xargs -r -P 2 -L 1 bash -c 'compile "$@"' _ <"$run/packages"
sort -o "$run/tests" "$run/tests"
# What the tests and transcripts build themselves: testkit.Bin and the
# graders use -trimpath, go run does not; the labs' solutions use a tag.
# A failure here shows up again where a test builds.
for flags in "" "-trimpath" "-tags solution" "-trimpath -tags solution"; do
	# shellcheck disable=SC2086 # flags are words
	gocache go build $flags ./... >/dev/null 2>&1 || true
done
# What go run links: the chapters' `go run ./steps/...`, and testkit.Bin
# and the graders, which build through go run -exec cp (testkit.Bin's doc
# says why). Since Go 1.24 the go command keeps those executables in the
# build cache; -exec true links without running. One job per package and
# set of flags: the main packages with -trimpath, the labs' programs also
# with their solutions, the steps and graders also as go run builds them.
gocache go list -f '{{if eq .Name "main"}}{{.ImportPath}}{{end}}' ./... | sed 's/^/-trimpath /' >"$run/link"
gocache go list -f '{{if eq .Name "main"}}{{.ImportPath}}{{end}}' ./labs/... ./tool/cmd/probe ./steps/02-chroot/escape |
	sed 's/^/-trimpath -tags=solution /' >>"$run/link"
gocache go list -f '{{if eq .Name "main"}}{{.ImportPath}}{{end}}' ./steps/... ./labs/... >>"$run/link"
# shellcheck disable=SC2016 # expanded by the inner shell
xargs -r -P 2 -L 1 bash -c 'gocache go run -exec true "$@" >/dev/null 2>&1 || true' _ <"$run/link" 2>/dev/null
chmod -R a+rX "$run"
# The guest's unprivileged pass builds with the same cache.
chmod -R a+rwX "$cache/gocache"
# The trees the guest's go command reads go on a disk of their own,
# written with mkfs.ext4 -d like the image: over 9p every one of the
# thousands of stat(2) calls with which go loads packages is a round trip
# to qemu, and one `go list` took 45 s; on a local disk, seconds. The
# guest mounts them where the host has them, so that the build cache's
# keys match. What the guest adds to the build cache stays there.
disk=$cache/work-$$.img
stage=$(mktemp -d)
# Bind mounts in a namespace of their own: they vanish with it, whatever
# happens, and the host's mount table never sees them.
size=$(du -scm "$repo" "$goroot" "$gomodcache" "$cache/gocache" | awk 'END { print $1 + 4096 }')
if ! unshare --mount --propagation private sh -c '
	set -e
	stage=$1 disk=$2 size=$3; shift 3
	while [ $# -gt 0 ]; do
		mkdir "$stage/$1"; mount --bind "$2" "$stage/$1"; shift 2
	done
	truncate -s "${size}M" "$disk"
	mkfs.ext4 -q -L work -d "$stage" "$disk"' _ "$stage" "$disk" "$size" \
	repo "$repo" goroot "$goroot" gomodcache "$gomodcache" gocache "$cache/gocache"; then
	rmdir "$stage"/* "$stage" 2>/dev/null
	die "writing the guest's work disk failed"
fi
rmdir "$stage"/* "$stage"
timed "compile, warm the cache" $(($(date +%s) - compiled))
cat >"$run/env" <<EOF
REPO=$repo
GOROOT=$goroot
GOMODCACHE=$gomodcache
GUEST_GOCACHE=$cache/gocache
EOF

# 3. Boot. KVM only when it really works: /dev/kvm can open on a CPU
#    without VMX/SVM, and then qemu fails; TCG emulates, slowly but truly.
accel=tcg,thread=multi
if [ -w /dev/kvm ] && grep -qwE 'vmx|svm' /proc/cpuinfo; then
	accel=kvm
fi
# Under TCG the guest's kernel finds the emulated AMD CPU's TSCs
# "unsynchronized" (no constant_tsc) and falls back to the HPET: then
# every clock_gettime(2), which the Go runtime calls all the time, is a
# system call and an emulated device read instead of a vDSO rdtsc. qemu's
# TSC follows the host's clock, so it is safe to trust
# (tsc=reliable, kernel-parameters.txt). KVM brings its own clock.
clock=""
[ "$accel" = kvm ] || clock="tsc=reliable"
echo "vm-test: booting Debian $release (${accel%%,*}, 2 CPUs); the guest runs provision.sh and the suite"
share() { # TAG DIR [readonly]
	echo "-virtfs local,path=$2,mount_tag=$1,security_model=none${3:+,readonly=on}"
}
# shellcheck disable=SC2046 # share prints words
qemu-system-x86_64 -machine q35 -accel "$accel" -cpu max -smp 2 -m 4096 \
	-kernel "$image/vmlinuz" -initrd "$image/initrd.img" \
	-append "root=/dev/vda rw console=ttyS0 panic=-1 $clock" \
	-drive "file=$image/root.img,format=raw,if=virtio,snapshot=on" \
	-drive "file=$disk,format=raw,if=virtio" \
	-nic user,model=virtio-net-pci \
	$(share results "$run") $(share repo "$repo" ro) \
	-display none -monitor none -serial "file:$run/console.log" -no-reboot &
qemu_pid=$!
booted=$(date +%s)
deadline=$(($(date +%s) + timeout_min * 60))
while kill -0 "$qemu_pid" 2>/dev/null; do
	if [ "$(date +%s)" -ge "$deadline" ]; then
		echo "vm-test: the guest still runs after $timeout_min minutes: stopping it"
		kill "$qemu_pid" 2>/dev/null || true
		break
	fi
	sleep 5
done
wait "$qemu_pid" 2>/dev/null || true
qemu_pid=
guest=$(($(date +%s) - booted))

# 4. What came out: the guest's parts (RUN/stages, see guest.sh), and what
#    is left of its time for power-off; each package's line; the slowest.
declare -A part=()
while read -r what secs; do part[$what]=$secs; done <"$run/stages" 2>/dev/null || true
timed "guest boot" "${part[boot]:-?}"
timed "guest provision" "${part[provision]:-?}"
timed "guest root pass" "${part[root]:-?}"
timed "guest unprivileged pass" "${part[tester]:-?}"
timed "guest in all" "$guest"
echo
cut -f1-4 "$run/results" 2>/dev/null || true
echo
echo "vm-test: the slowest packages"
sort -t$'\t' -k3,3 -rn "$run/results" 2>/dev/null | head -n 12 | awk -F'\t' '{ printf "  %6s  %s\n", $3, $2 }'
fail=0
if ! [ -f "$run/done" ]; then
	echo "vm-test: the guest did not finish its run; the end of its console:"
	tail -n 60 "$run/console.log" 2>/dev/null
	tail -n 30 "$run/guest.log" 2>/dev/null
	fail=1
fi
if grep -q '^FAIL' "$run/results" 2>/dev/null; then
	fail=1
	while IFS=$'\t' read -r _ what _ _ out; do
		echo
		echo "--- $what: output"
		if [ -n "$out" ]; then
			# The binaries ran with -test.v: what passed only hides
			# what failed.
			grep -vE '^ *(=== (RUN|PAUSE|CONT|NAME)|--- PASS)' "$run/$out"
		else # provision.sh
			sed -n '/^== scripts\/provision.sh/,/^== /p' "$run/guest.log"
		fi
	done < <(grep '^FAIL' "$run/results")
	echo
	echo "--- the guest's kernel log, last lines"
	cat "$run/kernel.log" 2>/dev/null
fi
passed=$(grep -c '^ok ' "$run/results" 2>/dev/null || true)
failed=$(grep -c '^FAIL' "$run/results" 2>/dev/null || true)
echo
printf '%s\n' "${times[@]}"
echo "vm packages: $passed passed, $failed failed (VM stage $(elapsed))"
exit "$fail"
