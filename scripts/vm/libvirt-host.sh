#!/bin/bash
# libvirt-host.sh gives scripts/vm-test.sh a libvirt to bring the workshop
# VM up with, and puts the host back afterwards, as root:
#
#   scripts/vm/libvirt-host.sh up STATE     start what is not running
#   scripts/vm/libvirt-host.sh down STATE   undo what up (and the run) did
#
# STATE is a directory of vm-test.sh's run, where up notes what the host
# had, so that down removes only what the run added:
#
#  - the daemons: libvirtd and virtlogd (libvirt-daemon-system), started
#    here as daemons (-d) when none runs, as on a machine without systemd,
#    whose socket units would start them on demand; stopped by the pid they
#    wrote, and only when started here;
#  - libvirt's networks and storage pools that were not there before (the
#    management network vagrant-libvirt makes, 192.168.121.0/24 with NAT,
#    is removed by `vagrant destroy` already; this catches a run that
#    failed before that);
#  - the firewall: a libvirt network with NAT adds its chains (LIBVIRT_INP,
#    LIBVIRT_FWO, LIBVIRT_PRT, ...) and the jumps into them to the filter,
#    nat and mangle tables, for IPv4 and IPv6, and destroying the network
#    empties them but leaves them; with iptables-nft the tables themselves
#    are nftables tables (ip filter, ip6 nat, ...), which stay too;
#  - net.ipv4.ip_forward, which libvirt sets to 1 for a NAT network and
#    never resets;
#  - the cgroup "machine" under each hierarchy, where libvirtd without
#    systemd puts its VMs (libvirt's cgroup partition, /machine): removing
#    a VM removes its own cgroup, not the partition;
#  - /run/libvirt, the daemons' run-time directory, and the logs they
#    began under /var/log/libvirt.
#
# What stays, on purpose: the packages, and libvirt's cache of what the
# qemu binary can do (/var/cache/libvirt/qemu/capabilities), which takes
# libvirtd a minute under load to make again and is remade whenever qemu
# or libvirt changes.
set -euo pipefail
cmd=${1:-} state=${2:-}
die() { echo "libvirt-host: $*" >&2; exit 1; }
[ -n "$state" ] && [ -d "$state" ] || die "usage: $0 up|down STATE-DIRECTORY"
virsh() { command virsh -q -c qemu:///system "$@"; }

# running NAME: is the daemon NAME running, by the pid file it keeps?
running() {
	local pid
	pid=$(cat "/run/$1.pid" 2>/dev/null) || return 1
	[ -n "$pid" ] && [ "$(readlink "/proc/$pid/exe" 2>/dev/null)" = "/usr/sbin/$1" ]
}

# libvirt_rules: libvirt's chains and the jumps into them, one
# "COMMAND TABLE RULE" line each (iptables -S form).
libvirt_rules() {
	local c t
	for c in iptables ip6tables; do
		command -v "$c" >/dev/null || continue
		for t in filter nat mangle; do
			"$c" -t "$t" -S 2>/dev/null | grep -E '^-N LIBVIRT_|-j LIBVIRT_' | sed "s/^/$c $t /" || true
		done
	done
}

nft_tables() { nft list tables 2>/dev/null | sort || true; }

# machine_cgroups: libvirt's cgroup partition in each hierarchy, where
# there is one.
machine_cgroups() { find /sys/fs/cgroup -mindepth 1 -maxdepth 2 -type d -name machine 2>/dev/null | sort || true; }

up() {
	# What down reads, first, so that an up that fails half-way is undone
	# as far as it got; the lists of libvirt's objects last.
	touch "$state/started"
	cat /proc/sys/net/ipv4/ip_forward >"$state/ip_forward"
	[ -d /run/libvirt ] && echo yes >"$state/run_dir" || echo no >"$state/run_dir"
	libvirt_rules >"$state/rules"
	nft_tables >"$state/nft_tables"
	find /var/log/libvirt -type f 2>/dev/null | sort >"$state/logs"
	machine_cgroups >"$state/cgroups"
	# virtlogd first: libvirtd's qemu driver writes each domain's log
	# through it.
	local d
	for d in virtlogd libvirtd; do
		if running "$d"; then
			echo "libvirt-host: $d runs already (pid $(cat "/run/$d.pid")): using it"
			continue
		fi
		command -v "/usr/sbin/$d" >/dev/null || die "/usr/sbin/$d is missing: run scripts/provision.sh --test"
		if [ "$d" = libvirtd ] && [ -e /dev/kvm ] && ! grep -qwE 'vmx|svm' /proc/cpuinfo; then
			# /dev/kvm can exist on a CPU without VMX/SVM, where no VM
			# can use it. libvirtd then probes qemu with KVM, finds a
			# /dev/kvm its qemu user cannot use, takes its cache of qemu's
			# capabilities for outdated at once, and probes qemu again at
			# every call that needs them: four seconds each, over a
			# minute for one `vagrant up`. So libvirtd runs in a mount
			# namespace of its own where /dev/kvm is an empty file that
			# nobody may open (KVM is absent both when it probes and when
			# it checks, and the cache holds), with a qemu.conf that
			# leaves out the per-VM /dev (namespaces = [], qemu.conf's
			# own option), which cannot take a file mounted there. The
			# namespace goes with the daemon and the qemu it starts; the
			# host's /dev/kvm and qemu.conf are untouched.
			install -m 000 /dev/null "$state/no-kvm"
			{ grep -v '^namespaces' /etc/libvirt/qemu.conf; echo 'namespaces = []'; } >"$state/qemu.conf"
			unshare --mount --propagation private sh -c '
				mount --bind "$1" /dev/kvm && mount --bind "$2" /etc/libvirt/qemu.conf && exec /usr/sbin/libvirtd -d' \
				_ "$state/no-kvm" "$state/qemu.conf"
		else
			"/usr/sbin/$d" -d
		fi
		local i
		for i in $(seq 50); do running "$d" && break; sleep 0.2; done
		running "$d" || die "$d did not start"
		echo "$d $(cat "/run/$d.pid")" >>"$state/started"
	done
	local i
	for i in $(seq 100); do virsh version >/dev/null 2>&1 && break; sleep 0.3; done
	virsh version >/dev/null || die "libvirtd does not answer on qemu:///system"
	virsh net-list --all --name | sort >"$state/networks"
	virsh pool-list --all --name | sort >"$state/pools"
}

down() {
	local fail=0 n p
	# 1. What the run defined in libvirt and left behind.
	if [ -f "$state/pools" ] && virsh version >/dev/null 2>&1; then
		for n in $(virsh net-list --all --name | sort | comm -13 "$state/networks" -); do
			echo "libvirt-host: removing the network $n the run left"
			virsh net-destroy "$n" >/dev/null 2>&1 || true
			virsh net-undefine "$n" >/dev/null 2>&1 || true
		done
		for p in $(virsh pool-list --all --name | sort | comm -13 "$state/pools" -); do
			echo "libvirt-host: removing the storage pool $p the run left"
			virsh pool-destroy "$p" >/dev/null 2>&1 || true
			virsh pool-undefine "$p" >/dev/null 2>&1 || true
		done
	fi
	# 2. The daemons started by up, libvirtd first.
	local d pid i
	for d in libvirtd virtlogd; do
		pid=$(awk -v d="$d" '$1 == d { print $2 }' "$state/started")
		[ -n "$pid" ] || continue
		kill "$pid" 2>/dev/null || true
		for i in $(seq 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.2; done
		if kill -0 "$pid" 2>/dev/null; then
			echo "libvirt-host: $d (pid $pid) did not stop" >&2
			fail=1
		fi
	done
	# 3. The firewall: libvirt's chains and jumps that were not there
	#    before, the jumps first (a chain in use cannot go), then the
	#    tables that the run created and left empty.
	local c t rule added
	added=$(libvirt_rules | grep -vxF -f "$state/rules" || true)
	while read -r c t rule; do
		# shellcheck disable=SC2086 # the rule is words
		"$c" -t "$t" ${rule/#-A/-D} || fail=1
	done < <(grep ' -A ' <<<"$added" || true)
	while read -r c t rule; do
		"$c" -t "$t" -F "${rule#-N }" && "$c" -t "$t" -X "${rule#-N }" || fail=1
	done < <(grep ' -N ' <<<"$added" || true)
	local family table
	while read -r _ family table; do
		# Only iptables' own tables (iptables-nft makes them on first use),
		# and only with no rule left: anything else is someone else's.
		case "$family $table" in
		"ip filter" | "ip nat" | "ip mangle" | "ip6 filter" | "ip6 nat" | "ip6 mangle") ;;
		*) continue ;;
		esac
		if ! nft list table "$family" "$table" 2>/dev/null | grep -qvE '^\s*(table|chain|type|policy|\}|$)'; then
			nft delete table "$family" "$table" || fail=1
		fi
	done < <(nft_tables | grep -vxF -f "$state/nft_tables" || true)
	# 4. libvirt's cgroup partitions the run made, once empty: rmdir(2)
	#    removes only an empty cgroup (its VMs' cgroups went with them).
	local cg
	for cg in $(machine_cgroups | comm -13 "$state/cgroups" -); do
		rmdir "$cg" 2>/dev/null || { echo "libvirt-host: $cg is not empty" >&2; fail=1; }
	done
	# 5. ip_forward.
	if [ "$(cat /proc/sys/net/ipv4/ip_forward)" != "$(cat "$state/ip_forward")" ]; then
		cat "$state/ip_forward" >/proc/sys/net/ipv4/ip_forward
	fi
	# 6. When the daemons were the run's: their run-time directory and
	#    the logs they began (libvirtd.log, virtlogd.log, a domain's).
	if [ -s "$state/started" ]; then
		[ "$(cat "$state/run_dir")" = yes ] || rm -rf /run/libvirt
		find /var/log/libvirt -type f 2>/dev/null | sort | comm -13 "$state/logs" - | xargs -r rm -f
	fi
	return "$fail"
}

case $cmd in
up) up ;;
down) down ;;
*) die "usage: $0 up|down STATE-DIRECTORY" ;;
esac
