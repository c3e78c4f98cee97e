# SPDX-License-Identifier: MIT
# Keystone's probe of an install target (src/install/probe.h documents the
# report).  Sent as it is to `sh -s` on the target, as root; it only reads
# (/proc, /sys, /dev/disk/by-id, the first MiB of each disk) and prints
# "KEY VALUE" lines.  POSIX sh and coreutils; blkid, ip and zpool are used
# when present.  For tests, arguments: "with-loop" also reports loop
# devices, "no-blkid" reads signatures as if blkid were not installed.
export LC_ALL=C
IFS=' 	
'
PATH=/usr/sbin:/usr/bin:/sbin:/bin
with_loop=
no_blkid=
for a in "$@"; do
	case $a in
	with-loop) with_loop=1 ;;
	no-blkid) no_blkid=1 ;;
	esac
done

# esc VALUE: the value with backslash, control and non-ASCII bytes as \xHH
esc() {
	case $1 in
	*[!A-Za-z0-9\ ./:_+=,@%-]*) ;;
	*) printf '%s' "$1"; return ;;
	esac
	for h in $(printf '%s' "$1" | od -An -v -tx1); do
		n=$((0x$h))
		if [ "$n" -ge 32 ] && [ "$n" -lt 127 ] && [ "$n" -ne 92 ]; then
			# shellcheck disable=SC2059
			printf "\\$(printf %o "$n")"
		else
			printf '\\x%s' "$h"
		fi
	done
}
# put KEY VALUE
put() { printf '%s %s\n' "$1" "$(esc "$2")"; }
# putf KEY FILE: the file's first line, when it can be read
putf() {
	[ -r "$2" ] || return 1
	v=
	{ read -r v || [ -n "$v" ]; } <"$2" 2>/dev/null && put "$1" "$v"
}
# hexf FILE [SKIP]: the bytes of FILE as lower-case hex
hexf() { od -An -v -tx1 -j "${2:-0}" "$1" 2>/dev/null | tr -d ' \n'; }

echo "keystone-probe 1"
put arch "$(uname -m)"
while read -r k v _; do
	[ "$k" = MemTotal: ] && put mem.total-kib "$v"
done </proc/meminfo

# firmware
if [ -d /sys/firmware/efi ]; then
	put efi yes
	ev=/sys/firmware/efi/efivars
	g=8be4df61-93ca-11d2-aa0d-00e098032b8c
	if [ -e "$ev/SecureBoot-$g" ] || [ -e "$ev/SetupMode-$g" ] || [ -e "$ev/PK-$g" ] \
	   || [ -n "$(ls -A "$ev" 2>/dev/null)" ]; then
		put efivars yes
		[ -r "$ev/SecureBoot-$g" ] && put sb.secure-boot "$(hexf "$ev/SecureBoot-$g" 4)"
		[ -r "$ev/SetupMode-$g" ] && put sb.setup-mode "$(hexf "$ev/SetupMode-$g" 4)"
		[ -r "$ev/PK-$g" ] && put sb.pk "$(hexf "$ev/PK-$g" 4)"
	else
		put efivars no
	fi
else
	put efi no
fi

# TPM
if [ -e /sys/class/tpm/tpm0 ]; then
	put tpm yes
	putf tpm.version-major /sys/class/tpm/tpm0/tpm_version_major
else
	put tpm no
fi

# kexec
putf kexec.load-disabled /proc/sys/kernel/kexec_load_disabled
if [ -r /sys/kernel/security/lockdown ]; then
	read -r l </sys/kernel/security/lockdown
	l=${l#*[}; l=${l%%]*}
	put lockdown "$l"
fi

# disks
have_blkid=
[ -z "$no_blkid" ] && command -v blkid >/dev/null 2>&1 && have_blkid=1
put blkid "$([ -n "$have_blkid" ] && echo yes || echo no)"
zfs_devs=
command -v zpool >/dev/null 2>&1 && \
	zfs_devs=$(zpool status -P 2>/dev/null | while read -r d _; do
		case $d in /dev/*) readlink -f "$d" ;; esac
	done)

# magic DEV: what the first sectors of DEV show, without blkid
magic() {
	m=$(dd if="$1" bs=4096 count=17 2>/dev/null | od -An -v -tx1 | tr -d ' \n')
	[ -n "$m" ] || return 0
	# offsets in hex digits: byte N is at 2N
	at() { printf '%s' "$m" | cut -c$(($1 * 2 + 1))-$(($1 * 2 + $2 * 2)); }
	[ "$(at 512 8)" = 4546492050415254 ] && echo "pttype gpt"
	[ "$(at 512 8)" != 4546492050415254 ] && [ "$(at 510 2)" = 55aa ] && echo "pttype dos"
	[ "$(at 1080 2)" = 53ef ] && echo "fs ext4"
	[ "$(at 0 4)" = 58465342 ] && echo "fs xfs"
	[ "$(at 0 6)" = 4c554b53babe ] && echo "fs crypto_LUKS"
	[ "$(at 4086 10)" = 53574150535041434532 ] && echo "fs swap"
	[ "$(at 536 8)" = 4c564d3220303031 ] && echo "fs LVM2_member"
	[ "$(at 65600 8)" = 5f42485266535f4d ] && echo "fs btrfs"
	{ [ "$(at 54 3)" = 464154 ] || [ "$(at 82 3)" = 464154 ]; } && echo "fs vfat"
	:
}
# signatures DEV NAME: the disk's partition table and file systems
signatures() {
	if [ -n "$have_blkid" ]; then
		blkid -p -o export "$1" 2>/dev/null | while IFS='=' read -r k v; do
			case $k in
			PTTYPE) [ "$2" = "$disk" ] && put disk.pttype "$v" ;;
			TYPE) put disk.fs "$2 $v" ;;
			esac
		done
	else
		magic "$1" | while read -r k v; do
			case $k in
			pttype) [ "$2" = "$disk" ] && put disk.pttype "$v" ;;
			fs) put disk.fs "$2 $v" ;;
			esac
		done
	fi
}
# in_use DEV NAME SYSDIR: mounts (by device number, or by source when
# the number is the file system's own, as btrfs's), swaps, holders and ZFS
# pools using DEV
in_use() {
	mm=
	read -r mm <"$3/dev" 2>/dev/null
	while read -r _ _ n _ mp rest; do
		src=${rest#* - }; src=${src#* }; src=${src%% *}
		if [ "$n" = "$mm" ] || { case $src in /*) true ;; *) false ;; esac &&
		   [ "$(readlink -f "$src" 2>/dev/null)" = "$1" ]; }; then
			put disk.mount "$2 $mp"
		fi
	done </proc/self/mountinfo
	while read -r src _; do
		[ "$(readlink -f "$src" 2>/dev/null)" = "$1" ] && put disk.swap "$2"
	done </proc/swaps
	for h in "$3"/holders/*; do
		[ -e "$h" ] && put disk.holder "$2 ${h##*/}"
	done
	for z in $zfs_devs; do
		[ "$z" = "$1" ] && put disk.holder "$2 zfs"
	done
	:
}

for b in /sys/block/*; do
	[ -e "$b" ] || continue
	disk=${b##*/}
	case $disk in
	loop*) [ -n "$with_loop" ] || continue
	       # an unattached loop device has no size
	       [ "$(cat "$b/size" 2>/dev/null)" = 0 ] && continue ;;
	ram*|zram*|sr*|dm-*|md*|fd*|nbd*|mmcblk*boot*|mmcblk*rpmb) continue ;;
	esac
	put disk "$disk"
	read -r sectors <"$b/size" && put disk.size "$((sectors * 512))"
	putf disk.model "$b/device/model"
	putf disk.serial "$b/device/serial" || putf disk.serial "$b/serial"
	putf disk.wwid "$b/device/wwid" || putf disk.wwid "$b/wwid"
	putf disk.rotational "$b/queue/rotational"
	putf disk.removable "$b/removable"
	for l in /dev/disk/by-id/*; do
		[ -L "$l" ] && [ "$(readlink -f "$l")" = "/dev/$disk" ] && put disk.id "${l##*/}"
	done
	in_use "/dev/$disk" "$disk" "$b"
	signatures "/dev/$disk" "$disk"
	for p in "$b/$disk"*; do
		[ -e "$p/partition" ] || continue
		part=${p##*/}
		put disk.part "$part"
		in_use "/dev/$part" "$part" "$p"
		signatures "/dev/$part" "$part"
	done
	# the first MiB: all zeros, or not, or unreadable (od prints nothing)
	z=$(dd if="/dev/$disk" bs=65536 count=16 2>/dev/null | od -An)
	if [ -z "$z" ]; then
		put disk.zero unknown
	elif [ -z "$(printf '%s' "$z" | tr -d ' 0*\n')" ]; then
		put disk.zero yes
	else
		put disk.zero no
	fi
done

# network (what the installer keeps after kexec)
for n in /sys/class/net/*; do
	[ -e "$n" ] || continue
	i=${n##*/}
	[ "$i" = lo ] && continue
	put net.if "$i"
	putf net.if.mac "$n/address"
	putf net.if.state "$n/operstate"
	if command -v ip >/dev/null 2>&1; then
		ip -o addr show dev "$i" 2>/dev/null | while read -r _ _ fam a rest; do
			case $fam in inet|inet6) ;; *) continue ;; esac
			case " $rest" in *" scope link"*|*" scope host"*) continue ;; esac
			put net.if.addr "$a"
			case " $rest" in *" dynamic"*) put net.if.dynamic "$a" ;; esac
		done
	fi
done
if command -v ip >/dev/null 2>&1; then
	put net.ip yes
	for f in -4 -6; do
		ip "$f" route show default 2>/dev/null | while read -r _ via gw dev d _; do
			[ "$via" = via ] && [ "$dev" = dev ] && put net.gateway "$gw $d"
		done
	done
else
	put net.ip no
	while read -r d dst gw _ _ _ _ mask _; do
		if [ "$dst" != 00000000 ] || [ "$mask" != 00000000 ]; then continue; fi
		put net.gateway "$((0x${gw#??????})).$((0x$(printf %s "$gw" | cut -c5-6))).$((0x$(printf %s "$gw" | cut -c3-4))).$((0x${gw%??????})) $d"
	done </proc/net/route
fi
if [ -r /etc/resolv.conf ]; then
	while read -r k v _; do
		[ "$k" = nameserver ] && put net.dns "$v"
	done </etc/resolv.conf
fi
echo "end"
