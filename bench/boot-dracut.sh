#!/bin/sh
# bench/boot-dracut.sh — Debian's own initrd for a disk laid out by
# `keystone disk apply`: dracut with systemd in the initrd, zfs-dracut, and
# the credstore in crypttab with tpm2-device=auto.  It is the other side of
# bench/boot.sh (issue 7): the same disk booted by Keystone's initrd
# (keystone-init) and by this one, time from kernel start to switch_root.
#
# Usage: bench/boot-dracut.sh ROOTFS_TAR ZFS_MODULES_TAR OUTDIR [HOSTID_FILE]
#   ROOTFS_TAR       the generation's rootfs (a keystone rootfs stage,
#                    /var/cache/keystone/rootfs-*/rootfs.tar, with a kernel
#                    in boot/vmlinuz-*)
#   ZFS_MODULES_TAR  /var/cache/keystone/zfs-*/modules.tar: updates/dkms/
#                    {zfs,spl}.ko.xz built for that kernel
#   OUTDIR           receives vmlinuz (the rootfs's kernel), initrd-dracut.img
#                    and cmdline (the kernel parameters this initrd needs;
#                    add the console yourself)
#   HOSTID_FILE      the installed system's /etc/hostid (keystone build
#                    writes one per host); zfs-dracut copies /etc/hostid into
#                    the initrd, and a pool last imported under another
#                    hostid is not imported by zfs-import-scan
#
# A throwaway trixie chroot (mmdebstrap, main+contrib, SOURCE_DATE_EPOCH)
# gets the same kernel, dracut, zfs-dracut, systemd-cryptsetup and the
# tpm2-tss libraries; the ZFS modules go in before the kernel's postinst so
# that depmod and dracut find them (Debian's zfs-dkms would build the same
# ones); dracut is configured the way docs/boot-bench.md explains and run
# for the rootfs's kernel.  The result is cached in
# $KEYSTONE_CACHE_DIR/dracut-<sha256 of the inputs> (default
# /var/cache/keystone), built in a .tmp directory and renamed, like the
# image stages.  Needs root (mmdebstrap in root mode, chroot) and the
# network to deb.debian.org the first time.
#
# Generation datasets: root=zfs:DATASET works with mountpoint=legacy (mounted
# without zfsutil) or with a real mountpoint such as / plus canmount=noauto
# (zfs-dracut adds zfsutil then); the script does not care which.
set -eu

[ $# -eq 3 ] || [ $# -eq 4 ] || { echo "usage: $0 ROOTFS_TAR ZFS_MODULES_TAR OUTDIR [HOSTID_FILE]" >&2; exit 2; }
rootfs=$1 zfsmods=$2 out=$3 hostid=${4:-}
[ "$(id -u)" = 0 ] || { echo "$0: needs root (mmdebstrap in root mode, chroot)" >&2; exit 1; }
for f in "$rootfs" "$zfsmods" ${hostid:+"$hostid"}; do
	[ -r "$f" ] || { echo "$0: cannot read $f" >&2; exit 1; }
done
for t in mmdebstrap sha256sum tar; do
	command -v $t >/dev/null || { echo "$0: $t is not installed (apt-get install $t)" >&2; exit 1; }
done

suite=trixie
mirror=http://deb.debian.org/debian
sde=1735689600
dataset=rpool/crypt/system/generations/1
cache=${KEYSTONE_CACHE_DIR:-/var/cache/keystone}

kver=$(tar -tf "$rootfs" | sed -n 's|^\./boot/vmlinuz-||p; s|^boot/vmlinuz-||p' | head -n 1)
[ -n "$kver" ] || { echo "$0: $rootfs has no boot/vmlinuz-*" >&2; exit 1; }
tar -tf "$zfsmods" | grep -q 'updates/dkms/zfs.ko' ||
	{ echo "$0: $zfsmods has no updates/dkms/zfs.ko*" >&2; exit 1; }

packages="linux-image-$kver,dracut,zfs-dracut,zfsutils-linux,systemd-cryptsetup,cryptsetup-bin,\
tpm2-tools,libtss2-esys-3.0.2-0t64,libtss2-rc0t64,libtss2-mu-4.0.1-0t64,libtss2-tcti-device0t64,\
e2fsprogs,kmod,udev,zstd"

# ---- the admin's configuration (see docs/boot-bench.md) ----
dracut_conf='# /etc/dracut.conf.d/50-keystone-disk.conf: the initrd for this machine.
# Built in a chroot, where dracut --hostonly would look at the wrong machine:
# no-hostonly, with what hostonly finds on the VM named and the modules it
# would leave out omitted.
hostonly="no"
compress="zstd"
early_microcode="no"
add_dracutmodules+=" systemd systemd-cryptsetup tpm2-tss zfs "
omit_dracutmodules+=" hwdb resume nvdimm virtiofs lunmask kernel-modules-extra systemd-battery-check overlay-root "
drivers+=" virtio_pci virtio_blk "
filesystems+=" ext4 "
install_items+=" /etc/crypttab /etc/systemd/system/dracut-pre-mount.service.d/credstore.conf "
add_fstab+=" /etc/dracut-credstore.fstab "'
crypttab='# The credstore zvol: unlocked by the TPM (PCRs 1+7), else asks for its passphrase.
# noauto: opened when /etc/credstore is mounted.  nofail: not ordered before
# cryptsetup.target, which zfs-import-{scan,cache}.service wait for — the
# zvol only exists after the import.
credstore /dev/zvol/rpool/credstore none noauto,nofail,tpm2-device=auto'
fstab='# initrd only: the credstore, read-only, holding the key of rpool/crypt
/dev/mapper/credstore /etc/credstore ext4 ro,noauto,nofail 0 0'
dropin="# zfs-dracut loads the keys in its pre-mount hook; rpool/crypt's keylocation
# is file:///etc/credstore/zfs-sysroot.mount: mount the credstore first.
[Unit]
Requires=etc-credstore.mount
After=etc-credstore.mount"
cmdline="root=zfs:$dataset rw"

rootfs_sha=$(sha256sum <"$rootfs" | cut -d' ' -f1)
zfs_sha=$(sha256sum <"$zfsmods" | cut -d' ' -f1)
hostid_sha=$([ -n "$hostid" ] && sha256sum <"$hostid" | cut -d' ' -f1 || echo none)
inputs="keystone-dracut 1
suite=$suite
mirror=$mirror
components=main,contrib
variant=apt
source_date_epoch=$sde
kernel=$kver
rootfs_sha256=$rootfs_sha
zfs_modules_sha256=$zfs_sha
hostid_sha256=$hostid_sha
packages=$packages
cmdline=$cmdline
dracut.conf:
$dracut_conf
crypttab:
$crypttab
fstab:
$fstab
dracut-pre-mount.service.d/credstore.conf:
$dropin"
key=$(printf '%s\n' "$inputs" | sha256sum | cut -d' ' -f1)
dir=$cache/dracut-$key

if [ ! -s "$dir/initrd-dracut.img" ]; then
	tmp=$dir.tmp
	rm -rf --one-file-system "$tmp"
	mkdir -p "$tmp/conf"
	printf '%s\n' "$inputs" >"$tmp/inputs.txt"
	printf '%s\n' "$dracut_conf" >"$tmp/conf/dracut.conf"
	printf '%s\n' "$crypttab" >"$tmp/conf/crypttab"
	printf '%s\n' "$fstab" >"$tmp/conf/fstab"
	printf '%s\n' "$dropin" >"$tmp/conf/credstore.conf"
	[ -z "$hostid" ] || cp "$hostid" "$tmp/conf/hostid"
	echo "boot-dracut: building the dracut chroot for $kver (mmdebstrap, a few minutes)" >&2
	s=$(date +%s)
	# the modules go in before the packages: the kernel's postinst runs
	# depmod and dracut, and zfs-dracut's module needs zfs.ko to be there
	SOURCE_DATE_EPOCH=$sde mmdebstrap --mode=root --variant=apt --components=main,contrib \
		--include="$packages" \
		--essential-hook="mkdir -p \"\$1/usr/lib/modules/$kver\" && tar -C \"\$1/usr/lib/modules/$kver\" -xf '$zfsmods'" \
		--customize-hook="install -D -m 0644 '$tmp/conf/dracut.conf' \"\$1/etc/dracut.conf.d/50-keystone-disk.conf\"" \
		--customize-hook="install -m 0644 '$tmp/conf/crypttab' \"\$1/etc/crypttab\"" \
		--customize-hook="install -m 0644 '$tmp/conf/fstab' \"\$1/etc/dracut-credstore.fstab\"" \
		--customize-hook="install -D -m 0644 '$tmp/conf/credstore.conf' \"\$1/etc/systemd/system/dracut-pre-mount.service.d/credstore.conf\"" \
		--customize-hook="if [ -e '$tmp/conf/hostid' ]; then install -m 0644 '$tmp/conf/hostid' \"\$1/etc/hostid\"; fi" \
		--customize-hook="chroot \"\$1\" dracut --force --kver '$kver' /boot/initrd-dracut.img" \
		--customize-hook="chroot \"\$1\" dpkg-query -W -f '\${Package} \${Version}\n' >'$tmp/packages.txt'" \
		--customize-hook="copy-out /boot/initrd-dracut.img '$tmp'" \
		--customize-hook="chroot \"\$1\" lsinitrd /boot/initrd-dracut.img >'$tmp/lsinitrd.txt' 2>&1 || true" \
		"$suite" /dev/null "$mirror" >"$tmp/build.log" 2>&1 ||
		{ echo "boot-dracut: mmdebstrap failed; see $tmp/build.log:" >&2; tail -n 20 "$tmp/build.log" >&2; exit 1; }
	echo "boot-dracut: built in $(( $(date +%s) - s )) s" >&2
	printf '%s\n' "$cmdline" >"$tmp/cmdline"
	rm -rf --one-file-system "$tmp/conf"
	rm -rf --one-file-system "$dir"
	mv "$tmp" "$dir"
else
	echo "boot-dracut: cached in $dir" >&2
fi

mkdir -p "$out"
( cd "$out" && tar -xf "$rootfs" --strip-components=2 "./boot/vmlinuz-$kver" 2>/dev/null ||
	tar -xf "$rootfs" --strip-components=1 "boot/vmlinuz-$kver" ) && mv "$out/vmlinuz-$kver" "$out/vmlinuz"
cp "$dir/initrd-dracut.img" "$out/initrd-dracut.img"
cp "$dir/cmdline" "$out/cmdline"   # last: a waiting VM bench starts when it appears
size=$(stat -c %s "$out/initrd-dracut.img")
echo "boot-dracut: $out/initrd-dracut.img $size bytes ($(awk "BEGIN { printf \"%.1f\", $size / 1048576 }") MiB), kernel $kver"
echo "boot-dracut: cmdline: $(cat "$out/cmdline")"
