#!/bin/sh
# The steps of `keystone disk apply` for disk-target.toml as a plain shell
# script: the baseline bench/disk.sh times apply against (issue 6).  Same
# tools and parameters as the plan prints; no checks, no resume.
# Usage: disk-plain.sh DEVICE SECRET-FILE
set -eu
dev=$1 secret=$2
root=/run/plain-disk
umask 077
head -c 32 /dev/urandom >"$secret"
sgdisk --zap-all "$dev" >/dev/null 2>&1 || true
sgdisk -n 1:1M:+64M -t 1:EF00 -c 1:ESP \
       -n 2:0:-128M -t 2:BF01 -c 2:zfs \
       -n 3:0:0 -t 3:8200 -c 3:swap "$dev" >/dev/null
udevadm settle
mkfs.vfat -F 32 -n ESP "${dev}1" >/dev/null
zpool create -f -o ashift=12 -o autotrim=on -O compression=zstd -O acltype=posixacl -O xattr=sa \
      -O relatime=on -O mountpoint=none -O canmount=off -R "$root" rpool "${dev}2"
zfs create -V 104857600 -o compression=off rpool/credstore
udevadm settle
z=/dev/zvol/rpool/credstore
cryptsetup luksFormat -q --type luks2 --cipher aes-xts-plain64 --key-size 512 --sector-size 512 \
           --label credstore --key-file "$secret" "$z"
cryptsetup open --key-file "$secret" "$z" plain-credstore
mkfs.ext4 -q -L credstore /dev/mapper/plain-credstore
mkdir -p "$root/etc/credstore"
mount /dev/mapper/plain-credstore "$root/etc/credstore"
head -c 32 /dev/urandom >"$root/etc/credstore/zfs-sysroot.mount"
chmod 0400 "$root/etc/credstore/zfs-sysroot.mount"
zfs create -o encryption=aes-256-gcm -o keyformat=raw \
    -o keylocation="file://$root/etc/credstore/zfs-sysroot.mount" -o mountpoint=none rpool/crypt
zfs set keylocation=file:///etc/credstore/zfs-sysroot.mount rpool/crypt
zfs create -o mountpoint=none rpool/crypt/system
zfs create -o mountpoint=/var rpool/crypt/system/var
zfs create -o mountpoint=/home rpool/crypt/home
zfs create -o mountpoint=/srv rpool/crypt/srv
umount "$root/etc/credstore"
cryptsetup close plain-credstore
zpool export rpool
