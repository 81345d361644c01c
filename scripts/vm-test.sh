#!/bin/bash
# vm-test.sh runs the suite inside the workshop VM, brought up as an
# attendee brings it up: `vagrant up` on libvirt with the repository's own
# Vagrantfile (its box, rsync synced folder, provider settings and
# provisioner), then the suite through `vagrant ssh`. The VM is Debian 12
# with systemd, pure cgroup v2: the layout a host with cgroup v1 or hybrid
# and no systemd cannot show. scripts/test.sh runs it after the host
# suite. As root:
#
#  1. builds the box (scripts/vm/build-image.sh: debootstrap, Debian's
#     kernel, systemd, sshd, the vagrant user, the packages provision.sh
#     installs) unless the cache holds one made from the same inputs;
#  2. starts libvirt's daemons for the run when none runs
#     (scripts/vm/libvirt-host.sh), adds the box under the name the
#     Vagrantfile uses to a Vagrant home of the run's own, and starts
#     `vagrant up --provider=libvirt --no-provision`; while it boots,
#  3. compiles every package's test binary here, statically, and warms a
#     Go build cache for what the tests build themselves, the programs
#     they link included: under software emulation (TCG, when KVM does
#     not really work) compiling in the guest would take most of an hour;
#     then writes GOROOT, the module cache, that build cache and the test
#     binaries on a disk image, which it attaches to the running VM;
#  4. in the guest: scripts/vm/guest.sh prepare mounts that disk; `vagrant
#     provision` runs the Vagrantfile's provisioner (provision.sh), which
#     finds Go and a warm cache there instead of downloading and compiling;
#     guest.sh run runs every test binary as root, then as the
#     unprivileged user vagrant;
#  5. stops the VM, reads the results from the work disk, runs `vagrant
#     destroy -f`, and puts the host back: the box, libvirt's network,
#     pool, firewall rules and daemons, ip_forward;
#  6. prints each part's time, one line per package and pass in go test's
#     form, the slowest packages, the output of every failure and the
#     guest's kernel log tail, and exits non-zero on any failure.
#
# Vagrant is kept off the network: the box is added from a local file,
# VAGRANT_CHECKPOINT_DISABLE and VAGRANT_BOX_UPDATE_CHECK_DISABLE stop its
# version and box update checks.
#
# usage: scripts/vm-test.sh
# environment: CONTAIN_VM_CACHE (default /var/cache/contain-vm),
#              CONTAIN_VM_TIMEOUT (minutes the guest may run, default 40),
#              CONTAIN_VM_PACKAGES (go package patterns, default ./...;
#              a few packages make a quick run while working on them),
#              CONTAIN_VM_KEEP (a directory to copy the guest's logs, each
#              test binary's output and Vagrant's into, for a closer look)
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
cache=${CONTAIN_VM_CACHE:-/var/cache/contain-vm}
timeout_min=${CONTAIN_VM_TIMEOUT:-40}
release=bookworm
export PATH="/usr/local/go/bin:$PATH"

die() { echo "vm-test: $*" >&2; exit 1; }
[ "$(id -u)" -eq 0 ] || die "run it as root (sudo $0)"
for c in vagrant virsh qemu-system-x86_64 qemu-img debootstrap mkfs.ext4 go; do
	command -v "$c" >/dev/null || die "$c is missing: run scripts/provision.sh --test first"
done
vagrant plugin list 2>/dev/null | grep -q '^vagrant-libvirt ' || die "the vagrant-libvirt plugin is missing: run scripts/provision.sh --test first"
# What the Vagrantfile names: the box, and where the rsync synced folder
# puts the repository in the guest.
box_name=$(awk -F'"' '/^ *config\.vm\.box *=/ { print $2; exit }' "$repo/Vagrantfile")
guest_repo=$(awk -F'"' '/^ *config\.vm\.synced_folder/ && /type: "rsync"/ { print $4; exit }' "$repo/Vagrantfile")
[ -n "$box_name" ] && [ -n "$guest_repo" ] || die "the Vagrantfile names no config.vm.box or no rsync synced folder"
started=$(date +%s)
elapsed() { echo "$(($(date +%s) - started))s"; }
# timed NAME SECONDS: one part of the stage, as a line scripts/test.sh
# gathers into its summary.
times=()
timed() { times+=("$(printf 'vm-test: time: %-26s %5ss' "$1" "$2")"); }
since() { echo $(($(date +%s) - $1)); }

# The host's apt sources for the release, as "URI SUITE" lines: the guest
# gets the same archive (debootstrap and its apt), whatever mirror the
# host is configured with.
sources=$(apt-get indextargets --format '$(SITE) $(RELEASE) $(ORIGIN) $(COMPONENT)' 'Created-By: Packages' 2>/dev/null |
	awk -v r="$release" '$3 == "Debian" && $4 == "main" && ($2 == r || index($2, r "-") == 1) { print $1, $2 }' | sort -u)
if ! grep -q " $release\$" <<<"$sources"; then
	sources="http://deb.debian.org/debian $release"
fi
# What provision.sh --test installs, less what only the suite's host
# needs (vagrant, libvirt, qemu, debootstrap).
packages=$(PROVISION_PRINT_PACKAGES=image "$repo/scripts/provision.sh" --test | sort | tr '\n' ' ')

# 1. The box, cached under a hash of everything that goes into it.
key=$( {
	cat "$repo/scripts/vm/build-image.sh"
	echo "$release" "$packages" "$sources"
} | sha256sum | cut -c1-16)
box=$cache/box-$key.box
mkdir -p "$cache"
if ! [ -f "$box" ]; then
	echo "vm-test: building the box (first run on this machine, or its inputs changed)"
	# Only one box is kept: the others were made from older inputs (and
	# image-* from before the VM came up through Vagrant).
	find "$cache" -mindepth 1 -maxdepth 1 \( -name 'box-*' -o -name 'image-*' -o -name 'work-*.img' \) -exec rm -rf {} +
	srcfile=$(mktemp)
	echo "$sources" >"$srcfile"
	# shellcheck disable=SC2086 # one word per package
	if ! "$repo/scripts/vm/build-image.sh" "$cache/build-$key" "$release" "$srcfile" $packages; then
		rm -rf "$srcfile" "$cache/build-$key"
		die "building the box failed (log above)"
	fi
	rm -f "$srcfile"
	# A box is a tar of its files (uncompressed: the disk is qcow2).
	tar -C "$cache/build-$key" -cf "$box.tmp" metadata.json Vagrantfile box.img && mv "$box.tmp" "$box"
	rm -rf "$cache/build-$key"
	echo "vm-test: box built in $(elapsed)"
fi
timed box "$(since "$started")"

# 2. The run directory: Vagrant's home and machine data, libvirt's pool
#    for the box's volume and the VM's disk, the work disk, the results.
#    World-searchable: qemu runs as libvirt-qemu.
run=$(mktemp -d /tmp/contain-vm.XXXXXX)
chmod 755 "$run"
mkdir -p "$run/host" "$run/pool" "$run/bin" "$run/guest" "$cache/gocache"
touch "$run/tests" "$run/results"
export VAGRANT_HOME=$run/vagrant.d VAGRANT_DOTFILE_PATH=$run/dotvagrant
export VAGRANT_CHECKPOINT_DISABLE=1 VAGRANT_BOX_UPDATE_CHECK_DISABLE=1 VAGRANT_DEFAULT_PROVIDER=libvirt
unset VAGRANT_VAGRANTFILE VAGRANT_CWD
pool=contain-vm-$$
domain=contain-vm-$$_default
up_pid="" libvirt_up=""
vagrant_log() { # FILE: Vagrant's output, without its progress bars
	tr '\r' '\n' <"$1" | grep -v -e 'Progress: ' -e '^\s*$' | sed 's/^/  /'
}
# teardown: the VM destroyed, the host put back; once, at the end of a
# run or at whatever failure came first.
teardown() {
	set +e
	[ -n "$libvirt_up" ] || return 0
	if [ -n "$up_pid" ]; then
		kill -- "-$up_pid" 2>/dev/null
		wait "$up_pid" 2>/dev/null
		up_pid=""
	fi
	echo "vm-test: vagrant destroy -f"
	(cd "$repo" && vagrant destroy -f) >"$run/destroy.log" 2>&1 || vagrant_log "$run/destroy.log"
	# The domain's log, for a closer look, before it goes; the domain
	# and pool, should vagrant have left them.
	cp "/var/log/libvirt/qemu/$domain.log" "$run/domain.log" 2>/dev/null
	rm -f "/var/log/libvirt/qemu/$domain.log"
	virsh -q -c qemu:///system destroy "$domain" >/dev/null 2>&1
	virsh -q -c qemu:///system undefine "$domain" >/dev/null 2>&1
	virsh -q -c qemu:///system pool-destroy "$pool" >/dev/null 2>&1
	"$repo/scripts/vm/libvirt-host.sh" down "$run/host" || echo "vm-test: libvirt-host.sh down could not put everything back (above)"
	libvirt_up=""
	set -e
}
finish() {
	teardown
	if [ -n "${CONTAIN_VM_KEEP:-}" ]; then
		mkdir -p "$CONTAIN_VM_KEEP"
		cp -r "$run/guest/." "$run"/*.log "$CONTAIN_VM_KEEP/" 2>/dev/null
	fi
	# The box the run added lives in its Vagrant home, its volume in the
	# run's pool: both go with the directory.
	rm -rf "$run"
}
trap finish EXIT

libvirt_up=1
"$repo/scripts/vm/libvirt-host.sh" up "$run/host"
# The pool is transient (pool-create-as): libvirt keeps no definition of
# it once it is destroyed.
virsh -q -c qemu:///system pool-create-as "$pool" dir --target "$run/pool" >/dev/null
# The run's own Vagrant settings, which Vagrant merges between the box's
# Vagrantfile and the repository's (which stays as it is): a domain name
# and a pool of the run's own, so that nothing of a developer's own
# Vagrant machines is touched; no graphical console (no VNC server on a
# port of the host, nothing for an emulated CPU to draw); and, where the
# CPU offers no KVM, software emulation, as chapter 00 tells an attendee
# without nested virtualisation to set in ~/.vagrant.d/Vagrantfile, with
# all the CPU features qemu can emulate (mode maximum, qemu's -cpu max)
# rather than a model derived from the host's CPU (host-model, which
# made the root pass about 15% slower).
driver=qemu cpu=maximum
if [ -w /dev/kvm ] && grep -qwE 'vmx|svm' /proc/cpuinfo; then
	driver=kvm cpu=host-model
fi
mkdir -p "$VAGRANT_HOME"
cat >"$VAGRANT_HOME/Vagrantfile" <<EOF
Vagrant.configure("2") do |config|
  config.vm.provider :libvirt do |lv|
    lv.default_prefix = "contain-vm-$$_"
    lv.storage_pool_name = "$pool"
    lv.graphics_type = "none"
    lv.driver = "$driver"
    lv.cpu_mode = "$cpu"
  end
end
EOF
echo "vm-test: vagrant up --provider=libvirt ($driver, box $box_name from $(basename "$box")); meanwhile compiling the test binaries"
upped=$(date +%s)
# In a session of its own, so that a failure here stops all of it; each
# line with the seconds since the start, to show where the time goes.
setsid bash -c '
	cd "$1"
	t0=$(date +%s)
	{
		vagrant box add --name "$2" "$3" &&
			vagrant up --provider=libvirt --no-provision
		echo "exit $?"
	} 2>&1 | while IFS= read -r l; do printf "%4ss %s\n" $(($(date +%s) - t0)) "$l"; done' _ "$repo" "$box_name" "$box" >"$run/up.log" 2>&1 &
up_pid=$!

# 3. Test binaries and the warm build cache, while the VM boots.
goroot=$(go env GOROOT)
gomodcache=$(go env GOMODCACHE)
# The guest builds with these settings (see guest.sh); the cache is warmed
# with the same ones, at the same paths, so that its entries match there.
gocache() {
	GOCACHE=$cache/gocache GOFLAGS=-buildvcs=false GOTOOLCHAIN=local CGO_ENABLED=0 "$@"
}
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
	bin=bin/$(echo "${pkg#github.com/contain-dev/contain/}" | tr / _).test
	if gocache go test -c -o "$run/$bin" "$pkg" >"$run/$bin.log" 2>&1; then
		echo "$pkg $dir $bin" >>"$run/tests"
	else
		printf 'FAIL\t%s (build)\t0s\tgo test -c\t%s\n' "$pkg" "$bin.log" >>"$run/results"
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
chmod -R a+rX "$run/bin"
# The guest's unprivileged pass builds with the same cache.
chmod -R a+rwX "$cache/gocache"
cat >"$run/env" <<EOF
REPO=$repo
GOROOT=$goroot
GOMODCACHE=$gomodcache
GUEST_GOCACHE=$cache/gocache
EOF
# The trees the guest's go command reads go on a disk of their own,
# written with mkfs.ext4 -d like the box: over a network file system
# every one of the thousands of stat(2) calls with which go loads
# packages is a round trip, and one `go list` took 45 s; on a local disk,
# seconds. The guest mounts them where the host has them, so that the
# build cache's keys match. What the guest adds to the build cache stays
# there.
# In the run's pool, where libvirt knows it as a volume (vagrant destroy
# looks up every disk of the domain there, and deletes them).
disk=$run/pool/work.img
stage=$(mktemp -d)
cp "$run/env" "$run/tests" "$stage/"
# Bind mounts in a namespace of their own: they vanish with it, whatever
# happens, and the host's mount table never sees them.
size=$(du -scm "$goroot" "$gomodcache" "$cache/gocache" "$run/bin" | awk 'END { print $1 + 4096 }')
if ! unshare --mount --propagation private sh -c '
	set -e
	stage=$1 disk=$2 size=$3; shift 3
	while [ $# -gt 0 ]; do
		mkdir "$stage/$1"; mount --bind "$2" "$stage/$1"; shift 2
	done
	truncate -s "${size}M" "$disk"
	mkfs.ext4 -q -L work -d "$stage" "$disk"' _ "$stage" "$disk" "$size" \
	goroot "$goroot" gomodcache "$gomodcache" gocache "$cache/gocache" bin "$run/bin"; then
	rm -rf "$stage"
	die "writing the guest's work disk failed"
fi
rm -rf "$stage"
timed "compile, warm, work disk" "$(since "$compiled")"

# 4. The VM, up; the work disk, attached; then the guest's parts.
waited=$(date +%s)
wait "$up_pid" || true
up_pid=""
timed "vagrant up (boot, rsync)" "$(since "$upped")"
timed "  of it after the compile" "$(since "$waited")"
echo "vm-test: vagrant up:"
vagrant_log "$run/up.log"
tail -n 1 "$run/up.log" | grep -q 's exit 0$' || die "vagrant up failed (above)"
virsh -q -c qemu:///system pool-refresh "$pool" >/dev/null
virsh -q -c qemu:///system attach-disk "$domain" "$disk" vdb --targetbus virtio --subdriver raw --live >/dev/null
vssh() { (cd "$repo" && vagrant ssh --no-tty -c "$1"); }
prepared=$(date +%s)
vssh "sudo bash $guest_repo/scripts/vm/guest.sh prepare" || die "preparing the guest failed (above)"
timed "attach, prepare" "$(since "$prepared")"
echo "vm-test: vagrant provision (the Vagrantfile's provisioner, scripts/provision.sh)"
provisioned=$(date +%s)
provision_ok=0
(cd "$repo" && vagrant provision) >"$run/provision.log" 2>&1 && provision_ok=1
vagrant_log "$run/provision.log"
provision_secs=$(since "$provisioned")
timed "guest provision" "$provision_secs"
if [ "$provision_ok" = 1 ]; then
	printf 'ok  \tscripts/provision.sh (vagrant provision)\t%ss\n' "$provision_secs" >>"$run/results"
else
	printf 'FAIL\tscripts/provision.sh (vagrant provision)\t%ss\tvagrant provision\t\n' "$provision_secs" >>"$run/results"
fi
echo "vm-test: the suite in the guest (vagrant ssh), as root, then as vagrant"
passes=$(date +%s)
if ! timeout "${timeout_min}m" bash -c "cd '$repo' && vagrant ssh --no-tty -c 'sudo bash $guest_repo/scripts/vm/guest.sh run'"; then
	echo "vm-test: the guest's run ended early, or after $timeout_min minutes"
fi
guest_secs=$(since "$passes")
# The results, from the work disk, once the VM is off: read so, they
# survive a guest that lost its network or hangs. The power is cut
# (vagrant destroy would do the same); e2fsck replays the journal of
# what the guest synced, debugfs copies it out without a mount.
virsh -q -c qemu:///system destroy "$domain" >/dev/null 2>&1 || true
e2fsck -fy "$disk" >/dev/null 2>&1 || true
debugfs -R "rdump /run $run/guest" "$disk" >/dev/null 2>&1 || echo "vm-test: could not read the guest's results from its work disk"
[ -d "$run/guest/run" ] && mv "$run/guest/run"/* "$run/guest/" && rmdir "$run/guest/run"
cat "$run/guest/results" >>"$run/results" 2>/dev/null || true

# 5. Down, and the host put back (finish does it too, on any failure
#    above).
torn=$(date +%s)
teardown
timed "destroy, host put back" "$(since "$torn")"

# 6. What came out: the guest's parts (RUN/stages, see guest.sh); each
#    package's line; the slowest.
declare -A part=()
while read -r what secs; do part[$what]=$secs; done <"$run/guest/stages" 2>/dev/null || true
timed "guest root pass" "${part[root]:-?}"
timed "guest unprivileged pass" "${part[unprivileged]:-?}"
timed "guest passes in all" "$guest_secs"
echo
cut -f1-4 "$run/results" 2>/dev/null || true
echo
echo "vm-test: the slowest packages"
sort -t$'\t' -k3,3 -rn "$run/results" 2>/dev/null | head -n 12 | awk -F'\t' '{ printf "  %6s  %s\n", $3, $2 }'
fail=0
if ! [ -f "$run/guest/done" ]; then
	echo "vm-test: the guest did not finish its run; the end of its log:"
	tail -n 30 "$run/guest/guest.log" 2>/dev/null
	# The binaries still running then: where each had got to.
	for out in "$run"/guest/out/*; do
		case $out in *.end) continue ;; esac
		[ -f "$out" ] && ! [ -f "$out.end" ] || continue
		echo
		echo "--- unfinished: ${out#"$run"/guest/}, its last lines"
		tail -n 20 "$out"
	done
	fail=1
fi
if grep -q '^FAIL' "$run/results" 2>/dev/null; then
	fail=1
	while IFS=$'\t' read -r _ what _ _ out; do
		echo
		echo "--- $what: output"
		case $what in
		*"(build)") cat "$run/$out" 2>/dev/null ;;
		*"(vagrant provision)") ;; # printed above
		*)
			# The binaries ran with -test.v: what passed only hides
			# what failed.
			grep -vE '^ *(=== (RUN|PAUSE|CONT|NAME)|--- PASS)' "$run/guest/$out"
			;;
		esac
	done < <(grep '^FAIL' "$run/results")
	echo
	echo "--- the guest's kernel log, last lines"
	cat "$run/guest/kernel.log" 2>/dev/null
fi
passed=$(grep -c '^ok ' "$run/results" 2>/dev/null || true)
failed=$(grep -c '^FAIL' "$run/results" 2>/dev/null || true)
echo
printf '%s\n' "${times[@]}"
echo "vm packages: $passed passed, $failed failed (VM stage $(elapsed))"
exit "$fail"
