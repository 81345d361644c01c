#!/bin/bash
# build-image.sh makes the Vagrant box that scripts/vm-test.sh brings up
# with the repository's Vagrantfile: Debian made with debootstrap, the
# kernel from linux-image-amd64, systemd as init, so that cgroup v2 is
# unified exactly as in the workshop's box, and what Debian's own
# debian/bookworm64 box has that Vagrant and the chapters rely on.
#
#   scripts/vm/build-image.sh OUT RELEASE SOURCES PACKAGE...
#
# OUT        directory to create, a libvirt box: box.img (qcow2),
#            metadata.json, and the box's own Vagrantfile
# RELEASE    Debian suite, such as bookworm
# SOURCES    file of "URI SUITE" lines, the host's apt sources for RELEASE
# PACKAGE... what scripts/provision.sh --test installs, so that the guest's
#            run of provision.sh finds it all there (and stays quick)
#
# Nothing is downloaded but Debian's packages: the vagrant user's key is
# Vagrant's well-known insecure key from the host's vagrant package, which
# Vagrant replaces with a key of its own at the first `vagrant up`.
#
# Everything runs in a private mount namespace (unshare(1) --mount): the
# /proc, /sys and /dev mounts the chroot needs vanish with it, even when the
# build fails, and the host's mount table never sees them. The disk is
# written without a loop device or a mount: mkfs.ext4 -d fills the file
# system at its offset in the disk image, and GRUB's boot sector and core
# image go in front of it with dd.
set -euo pipefail

if [ -z "${CONTAIN_VM_UNSHARED:-}" ]; then
	exec env CONTAIN_VM_UNSHARED=1 unshare --mount --propagation private "$0" "$@"
fi
out=$1 release=$2 sources=$3
shift 3

# Vagrant's insecure public key, as the host's vagrant package ships it
# (the same key every public base box carries).
insecure_key=$( (find /usr/share/rubygems-integration /opt/vagrant -path '*/keys/vagrant.pub' 2>/dev/null || true) | head -n 1)
[ -f "$insecure_key" ] || { echo "vm image: Vagrant's keys/vagrant.pub not found: install vagrant (scripts/provision.sh --test)"; exit 1; }

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
#    take an emulated CPU a long while to unpack at every boot.
mkdir -p "$root/etc/initramfs-tools/conf.d"
echo MODULES=list >"$root/etc/initramfs-tools/conf.d/contain-vm"
printf '%s\n' virtio_pci virtio_blk ext4 >>"$root/etc/initramfs-tools/modules"

mount -t proc proc "$root/proc"
mount -t sysfs sys "$root/sys"
mount --rbind /dev "$root/dev"
# The caller's TMPDIR (scripts/test.sh sets one) does not exist inside
# the tree: maintainer scripts that mktemp there would fail.
in_root() { env -u TMPDIR DEBIAN_FRONTEND=noninteractive chroot "$root" "$@"; }
# What Debian's box has and Vagrant uses: sshd, sudo, rsync for the
# synced folder (Debian's box has none and Vagrant installs it at the
# first `vagrant up`, over the network: here it is there already), the
# network brought up by ifupdown's DHCP client on eth0, D-Bus and
# pam_systemd, so that a `vagrant ssh` login is a session of its own
# (user-1000.slice) as on the workshop VM. grub-pc-bin for the boot
# loader, written into the disk below.
box_packages=(openssh-server sudo rsync ifupdown isc-dhcp-client dbus libpam-systemd kmod grub-pc-bin)
echo "vm image: installing the kernel, ${box_packages[*]} and ${*}"
{
	in_root apt-get -q update &&
		in_root apt-get -q -y install --no-install-recommends linux-image-amd64 initramfs-tools "${box_packages[@]}" "$@" &&
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

# 4. The machine, as Debian's box is made (debian-vagrant-images): named
#    after the release (the Vagrantfile renames it), the vagrant user
#    (uid 1000) with the insecure key and sudo without a password, sshd
#    without reverse DNS lookups, eth0 by DHCP.
uuid=$(cat /proc/sys/kernel/random/uuid)
echo "$release" >"$root/etc/hostname"
printf '127.0.0.1\tlocalhost\n127.0.0.2\t%s\n' "$release" >"$root/etc/hosts"
echo "UUID=$uuid / ext4 rw,errors=remount-ro 0 1" >"$root/etc/fstab"
printf 'source-directory /etc/network/interfaces.d\n\nauto lo\niface lo inet loopback\n\nallow-hotplug eth0\niface eth0 inet dhcp\n' >"$root/etc/network/interfaces"
in_root useradd --create-home --uid 1000 --shell /bin/bash vagrant
install -d -m 700 "$root/home/vagrant/.ssh"
install -m 600 "$insecure_key" "$root/home/vagrant/.ssh/authorized_keys"
in_root chown -R vagrant:vagrant /home/vagrant/.ssh
echo 'vagrant ALL=(ALL) NOPASSWD:ALL' >"$root/etc/sudoers.d/vagrant"
chmod 440 "$root/etc/sudoers.d/vagrant"
printf '\n# as in Debian'"'"'s box: no reverse lookup of the client\nUseDNS no\n' >>"$root/etc/ssh/sshd_config"
# Units that would change the guest under the tests (lxc-net makes a
# bridge) or only cost boot time under emulation.
for u in lxc.service lxc-net.service lxc-monitord.service apt-daily.timer \
	apt-daily-upgrade.timer e2scrub_all.timer e2scrub_reap.service fstrim.timer dpkg-db-backup.timer; do
	in_root systemctl mask "$u" >/dev/null 2>&1
done

# 5. The boot loader's files in the tree: GRUB's modules, a core image
#    that finds them on the first partition, and a configuration that
#    boots the kernel at once. net.ifnames=0 keeps the name eth0, as
#    Debian's box does. quiet: the kernel's messages (a line for every
#    veth and bridge port the tests make) stay in its log, not drawn on
#    an emulated frame buffer. tsc=reliable: under software emulation the
#    guest's kernel finds the emulated CPU's TSCs "unsynchronized" and
#    falls back to the HPET, so that every clock_gettime(2), which the Go
#    runtime calls all the time, becomes an emulated device read; qemu's
#    TSC follows the host's clock, so it is safe to trust
#    (kernel-parameters.txt). Under KVM the kvm-clock is used anyway.
kernel=$(basename "$(readlink -f "$root/vmlinuz")")
initrd=$(basename "$(readlink -f "$root/initrd.img")")
mkdir -p "$root/boot/grub/i386-pc"
cp "$root"/usr/lib/grub/i386-pc/*.mod "$root"/usr/lib/grub/i386-pc/*.lst "$root/boot/grub/i386-pc/"
in_root grub-mkimage -O i386-pc -o /boot/grub/i386-pc/core.img -p '(hd0,msdos1)/boot/grub' biosdisk part_msdos ext2
cat >"$root/boot/grub/grub.cfg" <<EOF
set timeout=0
insmod part_msdos
insmod ext2
set root=(hd0,msdos1)
linux /boot/$kernel root=UUID=$uuid ro quiet net.ifnames=0 biosdevname=0 tsc=reliable
initrd /boot/$initrd
boot
EOF
umount -R "$root/dev" "$root/sys" "$root/proc"

# 6. The disk: an MBR with one bootable Linux partition from sector 2048,
#    the tree as ext4 in it (mkfs.ext4 -d at that offset), GRUB's boot
#    sector (its code, the first 440 bytes, before the partition table)
#    and its core image from sector 1. Both carry GRUB's default sector
#    numbers (boot.img reads sector 1, core.img's first sector the rest
#    from sector 2), so nothing needs patching, as grub-bios-setup would
#    for another layout.
disk=$work/disk.raw
fs_mib=8192 start=2048
truncate -s $((fs_mib + 1))M "$disk"
le32() { printf '\\x%02x\\x%02x\\x%02x\\x%02x' $(($1 & 255)) $(($1 >> 8 & 255)) $(($1 >> 16 & 255)) $(($1 >> 24 & 255)); }
# shellcheck disable=SC2059 # the format is the bytes
printf "\\x80\\xfe\\xff\\xff\\x83\\xfe\\xff\\xff$(le32 $start)$(le32 $((fs_mib * 2048)))" |
	dd of="$disk" bs=1 seek=446 conv=notrunc status=none
printf '\x55\xaa' | dd of="$disk" bs=1 seek=510 conv=notrunc status=none
mkfs.ext4 -q -F -L root -U "$uuid" -E offset=$((start * 512)),nodiscard -d "$root" "$disk" "${fs_mib}M"
dd if="$root/usr/lib/grub/i386-pc/boot.img" of="$disk" bs=440 count=1 conv=notrunc status=none
dd if="$root/boot/grub/i386-pc/core.img" of="$disk" bs=512 seek=1 conv=notrunc status=none

# 7. The box (vagrant-libvirt's format): the disk as qcow2, its metadata,
#    and the box's own Vagrantfile, which says what Debian's says: a
#    KVM domain, /vagrant over NFS. The repository's Vagrantfile must
#    cope with both (it disables /vagrant; vm-test.sh's host settings
#    choose software emulation where KVM does not work).
mkdir -p "$work/out"
qemu-img convert -O qcow2 "$disk" "$work/out/box.img"
rm -f "$disk"
printf '{"provider": "libvirt", "format": "qcow2", "virtual_size": %d}\n' $(((fs_mib + 1023) / 1024 + 1)) >"$work/out/metadata.json"
cat >"$work/out/Vagrantfile" <<'EOF'
# The box's own Vagrantfile, as in Debian's debian/bookworm64 box.
Vagrant.configure("2") do |config|
  config.vm.synced_folder ".", "/vagrant", type: "nfs", nfs_version: "4", nfs_udp: false
  config.vm.provider :libvirt do |libvirt|
    libvirt.driver = "kvm"
  end
end
EOF
mv "$work/out" "$out"
echo "vm image: $out (box.img $(du -sh "$out/box.img" | cut -f1))"
