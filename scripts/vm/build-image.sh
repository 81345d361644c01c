#!/bin/bash
# build-image.sh makes the disk image scripts/vm-test.sh boots: Debian made
# with debootstrap, the kernel from linux-image-amd64, systemd as init, so
# that cgroup v2 is unified exactly as in the workshop's Vagrant box.
#
#   scripts/vm/build-image.sh OUT RELEASE SOURCES PACKAGE...
#
# OUT        directory to create with root.img (raw ext4), vmlinuz, initrd.img
# RELEASE    Debian suite, such as bookworm
# SOURCES    file of "URI SUITE" lines, the host's apt sources for RELEASE
# PACKAGE... what scripts/provision.sh --test installs, so that the guest's
#            run of provision.sh finds it all there (and stays quick)
#
# Everything runs in a private mount namespace (unshare(1) --mount): the
# /proc, /sys and /dev mounts the chroot needs vanish with it, even when the
# build fails, and the host's mount table never sees them.
set -euo pipefail

if [ -z "${CONTAIN_VM_UNSHARED:-}" ]; then
	exec env CONTAIN_VM_UNSHARED=1 unshare --mount --propagation private "$0" "$@"
fi
out=$1 release=$2 sources=$3
shift 3
here=$(cd "$(dirname "$0")" && pwd)

work=$(mktemp -d "$out.build.XXXXXX")
trap 'rm -rf "$work"' EXIT
root=$work/root

# 1. The base system. minbase is essential packages plus apt: no
#    recommends, no docs beyond what dpkg keeps.
mirror=$(awk -v s="$release" '$2 == s { print $1; exit }' "$sources")
echo "vm image: debootstrap $release from $mirror"
debootstrap --variant=minbase --include=systemd-sysv "$release" "$root" "$mirror" >"$work/debootstrap.log" 2>&1 ||
	{ tail -n 30 "$work/debootstrap.log"; exit 1; }

# 2. The guest's apt sees the same archive as the host's.
awk '{ print "deb", $1, $2, "main" }' "$sources" >"$root/etc/apt/sources.list"
# No service may start inside the chroot while packages install
# (invoke-rc.d reads policy-rc.d; 101 means "action forbidden").
printf '#!/bin/sh\nexit 101\n' >"$root/usr/sbin/policy-rc.d"
chmod 755 "$root/usr/sbin/policy-rc.d"

# 3. A small initramfs: only what finds the root disk. MODULES=most would
#    take TCG a long while to unpack at every boot.
mkdir -p "$root/etc/initramfs-tools/conf.d"
echo MODULES=list >"$root/etc/initramfs-tools/conf.d/contain-vm"
printf '%s\n' virtio_pci virtio_blk ext4 >>"$root/etc/initramfs-tools/modules"

mount -t proc proc "$root/proc"
mount -t sysfs sys "$root/sys"
mount --rbind /dev "$root/dev"
# The caller's TMPDIR (scripts/test.sh sets one) does not exist inside
# the tree: maintainer scripts that mktemp there would fail.
in_root() { env -u TMPDIR DEBIAN_FRONTEND=noninteractive chroot "$root" "$@"; }
echo "vm image: installing the kernel and ${*}"
{
	in_root apt-get -q update &&
		in_root apt-get -q -y install --no-install-recommends linux-image-amd64 initramfs-tools "$@" &&
		in_root apt-get clean
} >"$work/apt.log" 2>&1 || { tail -n 30 "$work/apt.log"; exit 1; }
# Every package must be configured: one left half-configured (its
# maintainer script failed without failing apt-get) would be installed
# again by provision.sh in the guest, over emulated networking, at every
# run of the suite.
unconfigured=$(in_root dpkg-query -W -f='${Status} ${Package}\n' | grep -v '^install ok installed ' || true)
if [ -n "$unconfigured" ]; then
	echo "vm image: packages not fully installed:"
	echo "$unconfigured"
	tail -n 30 "$work/apt.log"
	exit 1
fi
rm -f "$root/usr/sbin/policy-rc.d"
rm -rf "$root"/var/lib/apt/lists/*

# 4. The machine: name, root disk, network through qemu's user-mode
#    networking (DHCP from 10.0.2.2, DNS at 10.0.2.3), an unprivileged
#    user for the rootless pass.
echo contain >"$root/etc/hostname"
printf '127.0.0.1 localhost\n127.0.1.1 contain\n' >"$root/etc/hosts"
echo '/dev/vda / ext4 rw,errors=remount-ro 0 1' >"$root/etc/fstab"
echo 'nameserver 10.0.2.3' >"$root/etc/resolv.conf"
printf '[Match]\nName=en*\n\n[Network]\nDHCP=ipv4\n' >"$root/etc/systemd/network/10-user.network"
in_root systemctl enable systemd-networkd.service >/dev/null 2>&1
in_root useradd --create-home --shell /bin/bash tester
# Units that would change the guest under the tests (lxc-net makes a
# bridge) or only cost boot time under TCG.
for u in lxc.service lxc-net.service lxc-monitord.service apt-daily.timer \
	apt-daily-upgrade.timer e2scrub_all.timer fstrim.timer dpkg-db-backup.timer; do
	in_root systemctl mask "$u" >/dev/null 2>&1
done

# 5. The test runner: a unit that starts at boot and powers off after it.
install -m 755 "$here/contain-vm-boot" "$root/usr/local/sbin/contain-vm-boot"
install -m 644 "$here/contain-vm-test.service" "$root/etc/systemd/system/contain-vm-test.service"
in_root systemctl enable contain-vm-test.service >/dev/null 2>&1

# 6. The kernel and initramfs go beside the image (qemu -kernel/-initrd),
#    the tree into an ext4 image without a loop device (mkfs.ext4 -d).
mkdir -p "$work/out"
cp "$(readlink -f "$root/vmlinuz")" "$work/out/vmlinuz"
cp "$(readlink -f "$root/initrd.img")" "$work/out/initrd.img"
umount -R "$root/dev" "$root/sys" "$root/proc"
mkfs.ext4 -q -L root -d "$root" "$work/out/root.img" 8G
mv "$work/out" "$out"
echo "vm image: $out ($(du -sh --apparent-size "$out/root.img" | cut -f1) apparent, $(du -sh "$out/root.img" | cut -f1) used)"
