#!/bin/sh
# A stock Debian 12 machine as a cloud or rented one comes, for the
# remote-install scenarios: made with mmdebstrap, not by Keystone's image
# builder; no kexec-tools, no Keystone.  UEFI: GPT with an ESP (FAT32,
# systemd-boot from Debian's systemd-boot-efi at \EFI\BOOT\BOOTX64.EFI,
# the kernel and initrd beside it) and an ext4 root.  Assembled without a
# mount: mkfs.vfat --offset and mtools, mkfs.ext4 -E offset -d.
# root logs in over SSH with the key given (publickey only); the SSH host
# keys are made on the machine's first boot (ssh-keygen -A, before sshd).
# systemd-networkd: qemu user net's addresses, static, on the first NIC
# (10.0.2.15/24, gateway 10.0.2.2, DNS 10.0.2.3 in /etc/resolv.conf): with
# restrict=on qemu's DHCP offers no router and no DNS server, and a
# remote install must find a gateway to carry over.
#
# Usage: debian-target.sh OUT-DIR ID PUBLIC-KEY-LINE
#   writes OUT-DIR/disk.img (4 GiB sparse); ID is 64 hex digits (the
#   cache key: the UUIDs are taken from it, so one ID gives one layout).
# tests/lib/vmtest-debian.c caches the result keyed by this file's text.
set -eu

suite=bookworm
mirror=http://deb.debian.org/debian
packages=linux-image-cloud-amd64,initramfs-tools,systemd-sysv,udev,dbus,openssh-server,iproute2,util-linux,systemd-boot-efi
epoch=1700000000

# hooks mmdebstrap runs: "$0 essential|customize ROOT ..."
case ${1:-} in
essential)
	# a small initrd (MODULES=list): what a virtio disk with ext4 needs;
	# written before the kernel package runs update-initramfs
	root=$2
	mkdir -p "$root/etc/initramfs-tools/conf.d" "$root/etc/initramfs-tools/hooks"
	echo MODULES=list >"$root/etc/initramfs-tools/conf.d/small.conf"
	cat >"$root/etc/initramfs-tools/hooks/virtio" <<-'EOF'
	#!/bin/sh
	[ "$1" = prereqs ] && exit 0
	. /usr/share/initramfs-tools/hook-functions
	manual_add_modules virtio_pci virtio_blk virtio_scsi sd_mod ext4 crc32c_generic
	EOF
	chmod 0755 "$root/etc/initramfs-tools/hooks/virtio"
	exit 0
	;;
customize)
	root=$2 root_uuid=$3 esp_id=$4 key=$5
	rm -f "$root"/etc/ssh/ssh_host_*
	echo debian-target >"$root/etc/hostname"
	printf '127.0.0.1\tlocalhost\n127.0.1.1\tdebian-target\n::1\tlocalhost ip6-localhost ip6-loopback\n' \
		>"$root/etc/hosts"
	printf 'uninitialized\n' >"$root/etc/machine-id"
	cat >"$root/etc/fstab" <<-EOF
	UUID=$root_uuid / ext4 errors=remount-ro 0 1
	UUID=$esp_id /boot/efi vfat umask=0077,nofail 0 0
	EOF
	mkdir -p "$root/boot/efi"
	cat >"$root/etc/systemd/network/10-first-nic.network" <<-'EOF'
	# the user-net NIC, not the driver's LAN NIC (.lan_netns: 52:54:00:4b:53:01)
	[Match]
	Name=en*
	MACAddress=!52:54:00:4b:53:01
	[Network]
	Address=10.0.2.15/24
	Gateway=10.0.2.2
	DNS=10.0.2.3
	EOF
	echo 'nameserver 10.0.2.3' >"$root/etc/resolv.conf"
	chroot "$root" systemctl enable systemd-networkd.service >/dev/null 2>&1
	cat >"$root/etc/systemd/system/ssh-host-keys.service" <<-'EOF'
	[Unit]
	Description=SSH host keys of this machine, made on its first boot
	ConditionPathExists=!/etc/ssh/ssh_host_ed25519_key
	Before=ssh.service
	[Service]
	Type=oneshot
	ExecStart=/usr/bin/ssh-keygen -A
	[Install]
	WantedBy=ssh.service
	EOF
	chroot "$root" systemctl enable ssh.service ssh-host-keys.service >/dev/null 2>&1
	cat >"$root/etc/ssh/sshd_config.d/50-target.conf" <<-'EOF'
	PermitRootLogin prohibit-password
	PasswordAuthentication no
	KbdInteractiveAuthentication no
	EOF
	install -d -m 0700 "$root/root/.ssh"
	printf '%s\n' "$key" >"$root/root/.ssh/authorized_keys"
	chmod 0600 "$root/root/.ssh/authorized_keys"
	exit 0
	;;
esac

out=$1 id=$2 key=$3
case $id in *[!0-9a-f]* | '') echo "debian-target: ID must be hex" >&2; exit 2 ;; esac
[ ${#id} -eq 64 ] || { echo "debian-target: ID must be 64 hex digits" >&2; exit 2; }
self=$(readlink -f "$0")
uuid() { echo "$1" | sed 's/^\(........\)\(....\)\(....\)\(....\)\(............\).*/\1-\2-\3-\4-\5/'; }
root_uuid=$(uuid "$(echo "$id" | cut -c1-32)")
root_part=$(uuid "$(echo "$id" | cut -c33-64)")
esp_part=$(uuid "$(echo "$id" | cut -c17-48)")
disk_id=$(uuid "$(echo "$id" | cut -c9-40)")
esp_hex=$(echo "$id" | cut -c57-64)
esp_id=$(echo "$esp_hex" | tr a-f A-F | sed 's/^\(....\)/\1-/')

work=$out/work
rm -rf --one-file-system "$work"
mkdir -p "$work"
cmdline="root=UUID=$root_uuid ro console=ttyS0,115200 systemd.firstboot=off"

echo "debian-target: mmdebstrap $suite ($packages)"
SOURCE_DATE_EPOCH=$epoch mmdebstrap --variant=apt --components=main --include="$packages" \
	--essential-hook="sh '$self' essential \"\$1\"" \
	--customize-hook="sh '$self' customize \"\$1\" '$root_uuid' '$esp_id' '$key'" \
	"$suite" "$work/root.tar" "$mirror"
mkdir "$work/root"
tar -C "$work/root" --numeric-owner -xpf "$work/root.tar"
rm -f "$work/root.tar"
if [ -e "$work/root/usr/sbin/kexec" ]; then
	echo "debian-target: kexec-tools came in with the packages" >&2
	exit 1
fi
# the kernel and initrd go on the ESP (systemd-boot reads them there)
set -- "$work"/root/boot/vmlinuz-*
if [ $# -ne 1 ] || [ ! -e "$1" ]; then
	echo "debian-target: want one kernel in /boot, have: $*" >&2
	exit 1
fi
kernel=${1##*/vmlinuz-}

# GPT: 1 MiB, ESP 256 MiB, root to 1 MiB before the end of 4 GiB
sector=512
disk_sectors=$((4 * 1024 * 1024 * 2))
esp_start=2048 esp_size=$((256 * 2048))
root_start=$((esp_start + esp_size))
root_size=$((disk_sectors - root_start - 2048))
img=$out/disk.img
rm -f "$img"
truncate -s $((disk_sectors * sector)) "$img"
sfdisk --quiet "$img" <<EOF
label: gpt
label-id: $disk_id
start=$esp_start, size=$esp_size, type=C12A7328-F81F-11D2-BA4B-00A0C93EC93B, uuid=$esp_part, name=ESP
start=$root_start, size=$root_size, type=4F68BCE3-E8CD-4DB1-96E7-FBCAF984B709, uuid=$root_part, name=root
EOF

mkfs.vfat -F 32 -s 1 -n ESP -i "$esp_hex" --offset "$esp_start" "$img" $((esp_size / 2)) >/dev/null 2>&1
export MTOOLS_SKIP_CHECK=1
esp="$img@@$((esp_start * sector))"
mmd -i "$esp" ::/EFI ::/EFI/BOOT ::/loader ::/loader/entries ::/debian
mcopy -i "$esp" "$work/root/usr/lib/systemd/boot/efi/systemd-bootx64.efi" ::/EFI/BOOT/BOOTX64.EFI
mcopy -i "$esp" "$work/root/boot/vmlinuz-$kernel" ::/debian/vmlinuz
mcopy -i "$esp" "$work/root/boot/initrd.img-$kernel" ::/debian/initrd.img
printf 'default debian.conf\ntimeout 0\n' >"$work/loader.conf"
printf 'title Debian GNU/Linux 12 (%s)\nlinux /debian/vmlinuz\ninitrd /debian/initrd.img\noptions %s\n' \
	"$kernel" "$cmdline" >"$work/debian.conf"
mcopy -i "$esp" "$work/loader.conf" ::/loader/loader.conf
mcopy -i "$esp" "$work/debian.conf" ::/loader/entries/debian.conf

mkfs.ext4 -q -F -L debian-root -U "$root_uuid" -E "offset=$((root_start * sector)),nodiscard" \
	-d "$work/root" "$img" "$((root_size / 2))k"
echo "$kernel" >"$out/kernel-version"
echo "$cmdline" >"$out/cmdline"
rm -rf --one-file-system "$work"
echo "debian-target: $img: kernel $kernel, root UUID $root_uuid"
