#!/bin/bash
# The probe script of a remote install (src/install/probe.sh, embedded in
# the library) run here as `sh -s` runs it on a target, its report parsed
# by probe_parse(): the architecture, the memory and the disks agree with
# uname, /proc/meminfo and /sys/block; on loop devices it sees a GPT, an
# ext4 (with blkid and without), a blank disk and a mounted one, and probe_check() refuses the first
# two unless --force and the mounted one even with --force.
set -u
. "$SRCDIR/tests/lib/assert.sh"
P=$BUILD/tests/host/probe-report
[ -x "$P" ] || fail "$P not built (make tests)"
T=$(mktemp -d /tmp/keystone-test-XXXXXX)
LOOPS=()
cleanup() {
	umount "$T/mnt" 2>/dev/null
	for l in "${LOOPS[@]}"; do losetup -d "$l" 2>/dev/null; done
	rm -rf "$T"
}
trap cleanup EXIT

# 1. This machine, as the report says it.
run_ok "$P" --raw
REPORT=$OUT
assert_contains "$REPORT" "keystone-probe 1"
echo "$REPORT" | grep -qx end || fail "the report has no end line"
run_ok "$P"
echo "$OUT" | grep -qx "arch $(uname -m)" || fail "arch is not $(uname -m)"
mem=$(awk '$1 == "MemTotal:" { print $2 }' /proc/meminfo)
echo "$OUT" | grep -qx "mem-kib $mem" || fail "mem-kib is not MemTotal $mem"
[ -d /sys/firmware/efi ] && efi=yes || efi=no
echo "$OUT" | grep -qx "efi $efi" || fail "efi is not $efi"
want=
for b in /sys/block/*; do
	n=${b##*/}
	case $n in loop*|ram*|zram*|sr*|dm-*|md*|fd*|nbd*) continue ;; esac
	want="$want $n"
	echo "$OUT" | grep -q "^disk $n $(( $(cat "$b/size") * 512 )) " || fail "disk $n missing or its size wrong"
done
got=$(echo "$OUT" | awk '$1 == "disk" { printf " %s", $2 }')
[ "$got" = "$want" ] || fail "disks: got '$got', /sys/block has '$want'"
# no loop device without with-loop
assert_not_contains "$OUT" "disk loop"
# every interface but lo, with its MAC
for n in /sys/class/net/*; do
	i=${n##*/}; [ "$i" = lo ] && continue
	echo "$OUT" | grep -qx "if $i $(cat "$n/address")" || fail "interface $i missing"
done

# 2. Loop devices: a GPT (partition scanning does not work here, so the
#    ext4 is a second loop device over the first partition), a blank one.
truncate -s 64M "$T/gpt.img" "$T/blank.img"
sgdisk -n1:2048:+32M -t1:8300 "$T/gpt.img" >/dev/null || fail "sgdisk"
GPT=$(losetup -f --show "$T/gpt.img") || fail "losetup"; LOOPS+=("$GPT")
EXT=$(losetup -f --show -o $((2048 * 512)) --sizelimit $((32 * 1024 * 1024)) "$T/gpt.img") || fail "losetup"; LOOPS+=("$EXT")
mkfs.ext4 -q -F "$EXT" || fail "mkfs.ext4"
BLANK=$(losetup -f --show "$T/blank.img") || fail "losetup"; LOOPS+=("$BLANK")
g=${GPT#/dev/} e=${EXT#/dev/} z=${BLANK#/dev/}

run_ok "$P" --with-loop --check "$GPT"
echo "$OUT" | grep -q "^disk $g 67108864 data=yes .* pttype=gpt" || fail "$g: GPT not seen"
echo "$OUT" | grep -q "^disk $e 33554432 data=yes .* fs=$e ext4" || fail "$e: ext4 not seen"
echo "$OUT" | grep -q "^disk $z 67108864 data=no .* pttype=- fs=$" || fail "$z: not blank"
assert_contains "$OUT" "/dev/$g (64 MiB) is not blank (found: a gpt partition table)"
assert_contains "$OUT" "then pass --force"
echo "$OUT" | grep -q "^check $GPT: -" || fail "the GPT disk was not refused"

run_ok "$P" --with-loop --check "$EXT"
assert_contains "$OUT" "/dev/$e (32 MiB) is not blank (found: ext4 on $e)"
assert_contains "$OUT" "plan erase  /dev/$e"

# the same without blkid: the magic bytes the script knows
run_ok "$P" --with-loop --no-blkid --raw
assert_contains "$OUT" "blkid no"
echo "$OUT" | grep -q "^disk $g 67108864 data=yes .* pttype=gpt" || fail "$g: GPT not seen without blkid"
echo "$OUT" | grep -q "^disk $e 33554432 data=yes .* fs=$e ext4" || fail "$e: ext4 not seen without blkid"
echo "$OUT" | grep -q "^disk $z 67108864 data=no .* pttype=- fs=$" || fail "$z: not blank without blkid"

# --force lets a disk with data by, the blank one needs no --force
run_ok "$P" --with-loop --check "$GPT" --force
assert_not_contains "$OUT" "is not blank"
run_ok "$P" --with-loop --check "$BLANK"
assert_not_contains "$OUT" "is not blank"
assert_not_contains "$OUT" "in use"

# a disk that is not there: the refusal lists the disks
run_ok "$P" --with-loop --check /dev/disk/by-id/nothing-like-it
assert_contains "$OUT" "disk.device /dev/disk/by-id/nothing-like-it is not a disk of the target; its disks:"
assert_contains "$OUT" "/dev/$z (64 MiB)"

# 3. Mounted: refused even with --force.
mkdir "$T/mnt"
mount "$EXT" "$T/mnt" || fail "mount"
run_ok "$P" --with-loop --check "$EXT" --force
echo "$OUT" | grep -q "^disk $e 33554432 data=yes .* mounts=1 " || fail "$e: mount not seen"
assert_contains "$OUT" "/dev/$e (32 MiB) is in use on the target: /dev/$e mounted on $T/mnt;"
assert_contains "$OUT" "even with --force"
umount "$T/mnt"
pass
