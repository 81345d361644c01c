#!/bin/bash
# test.sh is the README's second command and all that CI runs: it
# provisions the machine with the test packages, then runs the whole suite
# as root and checks that the host is left as it was.
#
#  1. scripts/provision.sh --test
#  2. gofmt and go vet
#  3. go test: tool, steps, labs (starter fails, solution passes); then,
#     alone, the chapters' excerpts, transcripts and links
#  4. vagrant validate, and a short run of the benchmark script
#  5. the VM stage, scripts/vm-test.sh: the workshop VM brought up with
#     `vagrant up` and this Vagrantfile on libvirt, and the same packages
#     again inside it, Debian 12 with systemd and pure cgroup v2, a layout
#     this host may not have (README.md, "The VM stage")
#  6. the host's mounts, cgroups, links, rules, state, and what libvirt
#     and Vagrant could leave (daemons, definitions, boxes) compared with
#     the start
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
cd "$repo"

# Each stage's time, printed together at the end, so that the suite's
# budget (README.md, "How long it takes") is visible on every run.
stage_times=()
stage_name="" stage_start=0
begin() { # NAME TITLE: start a stage
	end_stage
	stage_name=$1 stage_start=$(date +%s)
	echo; echo "== $2"
}
end_stage() { # record the stage begun last, if any
	[ -n "$stage_name" ] || return 0
	stage_times+=("$(printf '%-26s %5ss' "$stage_name" $(($(date +%s) - stage_start)))")
	stage_name=""
}

begin provision "scripts/provision.sh --test"
"$repo/scripts/provision.sh" --test
export PATH="/usr/local/go/bin:$PATH"
# What the suite relies on, with versions: a package missing from
# provision.sh shows here on the first run, not as a puzzle later.
echo "the suite runs with: $(uname -r), $(go version | cut -d' ' -f3)"
# shellcheck disable=SC2046 # one word per package
dpkg-query -W -f='  ${Package} ${Version}\n' $(PROVISION_PRINT_PACKAGES=all scripts/provision.sh --test) 2>&1 | sort || true

snapshot() { # the host state a test could leave behind
	# Each probe may find nothing (grep exits 1): that is not a failure.
	set +o pipefail
	awk '{ print $5, $9, $10 }' /proc/self/mountinfo | sort
	find /sys/fs/cgroup -mindepth 1 -maxdepth 3 -type d 2>/dev/null | sort
	ip -o link show 2>/dev/null | awk -F': ' '{ print "link", $2 }' | sort
	ip netns list 2>/dev/null | sed 's/^/netns /'
	# Without counters (nft -s): the host's other traffic moves them.
	nft -s list ruleset 2>/dev/null | sed 's/^/nft /'
	iptables-save 2>/dev/null | grep -v '^[#:]' | sed 's/^/iptables /'
	echo "ip_forward $(cat /proc/sys/net/ipv4/ip_forward)"
	grep -H . /sys/fs/cgroup/*/cgroup.clone_children 2>/dev/null
	find /run/contain -maxdepth 1 -name '*.json' 2>/dev/null | sed 's/^/state /'
	# The VM stage's: libvirt's daemons and the qemu and dnsmasq they
	# start, the domains, networks and pools libvirt keeps, its run-time
	# directory and logs, the boxes of the host's Vagrant home (the
	# stage adds its box to a home of its own; the bridge and the
	# firewall rules of libvirt's network show above).
	ps -eo comm= | grep -xE 'libvirtd|virtlogd|virtqemud|virtnetworkd|dnsmasq|qemu-system-x86' | sort | sed 's/^/process /'
	find /etc/libvirt/qemu /etc/libvirt/storage /run/libvirt /var/log/libvirt -name '*.xml' -o -name '*.log' -o -path /run/libvirt 2>/dev/null | sort | sed 's/^/libvirt /'
	find "${VAGRANT_HOME:-$HOME/.vagrant.d}/boxes" -mindepth 1 -maxdepth 1 2>/dev/null | sed 's/^/vagrant box /'
	set -o pipefail
	return 0
}
before=$(mktemp)
after=$(mktemp)
log=$(mktemp)
vmlog=$(mktemp)
# Everything the tests put in temporary directories (binaries built once per
# test binary, rootfs templates) goes below one directory, removed at the
# end.
TMPDIR=$(mktemp -d /tmp/contain-test.XXXXXX)
# Tests run some binaries as an unprivileged user, who must be able to
# reach them.
chmod 0755 "$TMPDIR"
export TMPDIR
cleanup() {
	rm -f "$before" "$after" "$log" "$vmlog"
	if grep -q " $TMPDIR" /proc/self/mountinfo; then
		echo "test.sh: something is still mounted below $TMPDIR: not removing it" >&2
	else
		rm -rf "$TMPDIR"
	fi
}
trap cleanup EXIT
# The suite ends with `contain reset`, the chapters' Undo, which removes
# the default network contain0 (kept between containers, like lxcbr0) and
# what dead containers left. Start from the same point: after try.sh, or
# any container of the reader's own, contain0 exists already, and the
# comparison below would count its removal against the suite. Running
# containers are left alone.
contain reset || echo "test.sh: contain reset could not remove everything (above)"
snapshot >"$before"

fail=0

begin vet "gofmt and go vet"
unformatted=$(gofmt -l tool steps labs scripts bench 2>/dev/null || true)
if [ -n "$unformatted" ]; then
	echo "not gofmt'd:"; echo "$unformatted"; fail=1
fi
go vet ./... || fail=1
# The labs' reference solutions sit behind the "solution" build tag.
go vet -tags solution ./labs/... || fail=1

begin "host: tool, steps, labs" "go test: the tool, the steps, the labs"
# -p 2: the machine has two cores; the packages' privileged tests each
# make their own namespaces, cgroups and links, so they may run side by
# side.
if ! go test -p 2 -count=1 -timeout 25m $(go list ./... | grep -v /scripts/docscheck) 2>&1 | tee "$log"; then
	fail=1
fi

begin "host: chapters" "go test: the chapters (excerpts, links, transcripts)"
# Alone: the transcripts look at host-wide state (the cgroup tree, the
# links, the mount table) exactly as a reader's terminal would.
if ! go test -count=1 -timeout 25m ./scripts/docscheck/ 2>&1 | tee -a "$log"; then
	fail=1
fi

begin vagrant "vagrant validate"
# The VM stage brings the VM up with the Vagrantfile; this checks it also
# where that stage does not run (inside the workshop VM).
if ! (cd "$repo" && VAGRANT_DEFAULT_PROVIDER=libvirt vagrant validate --ignore-provider 2>&1); then
	fail=1
fi

begin bench "benchmark script (short run; the numbers are in bench/README.md)"
if ! bench/run.sh --runs 5 >/dev/null; then
	echo "bench/run.sh failed"; fail=1
fi

begin "VM stage" "the VM stage: vagrant up, and the suite in Debian 12 with systemd and cgroup v2"
# After the host stages, so that a failure here never hides one there;
# before the snapshot, which then shows that the VM stage, too, left
# nothing on the host.
# On a machine that has that layout itself (the workshop VM), the host
# stages above were the VM stage, and booting a VM inside it, emulated,
# would take hours: it says so and goes on. CONTAIN_VM_STAGE=always runs it
# anyway.
vm=0
if [ "${CONTAIN_VM_STAGE:-auto}" != always ] && [ "$(stat -fc %T /sys/fs/cgroup)" = cgroup2fs ] && [ -d /run/systemd/system ]; then
	echo "this machine is pure cgroup v2 under systemd, the VM stage's layout: the stages above covered it"
	echo "vm packages: not run here (CONTAIN_VM_STAGE=always runs them)" >>"$vmlog"
elif ! scripts/vm-test.sh 2>&1 | tee -a "$vmlog"; then
	fail=1 vm=1
fi

begin "host check" "host left as it was"
# The chapters' transcripts use the default network, contain0, which
# persists between containers like lxcbr0 or docker0; their Undo is
# `contain reset`, which removes it, its rules and any orphan, and puts
# ip_forward back.
contain reset || fail=1
snapshot >"$after"
if ! diff -u "$before" "$after"; then
	echo "the suite left mounts, cgroups, links, namespaces, rules or libvirt's and Vagrant's things behind (-before +after above)"
	fail=1
else
	echo "mounts, cgroups, links, netns, firewall rules, ip_forward, state, libvirt, Vagrant boxes: unchanged"
fi

end_stage

echo
echo "stage times:"
printf '  %s\n' "${stage_times[@]}"
# The VM stage's own parts, as scripts/vm-test.sh measured them.
sed -n 's/^vm-test: time: /    VM: /p' "$vmlog"

passed=$(grep -c '^ok ' "$log" || true)
failed=$(grep -c '^FAIL'$'\t' "$log" || true)
echo
echo "packages: $passed passed, $failed failed"
grep '^vm packages:' "$vmlog" || echo "vm packages: the VM stage did not finish (its output above)"
[ "$vm" -eq 0 ] || echo "the VM stage failed: its failures are printed under \"the VM stage\" above"
if [ "$fail" -ne 0 ]; then
	echo "test.sh: FAILED"
	exit 1
fi
echo "test.sh: all checks passed"
