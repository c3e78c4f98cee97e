#!/bin/bash
# keystone disk on image files: the plan (golden), the GPT and ESP it writes
# (checked with sgdisk, sfdisk, blkid, mtools), idempotence, and refusals that
# change nothing.
set -u
. "$SRCDIR/tests/lib/assert.sh"
T=$(mktemp -d /tmp/keystone-test-XXXXXX)
LOOP=
cleanup() {
	[ -n "$LOOP" ] && { umount "$T/mnt" 2>/dev/null; losetup -d "$LOOP" 2>/dev/null; }
	rm -rf "$T"
}
trap cleanup EXIT
cd "$T"
HOST=$SRCDIR/tests/host/hosts/small-disk.toml
sum() { /usr/bin/python3 "$SRCDIR/tests/lib/sparse-sum.py" "$1"; }

# 1. The plan for the server example matches the reviewed golden file, and
#    plan creates nothing.
run_ok "$KEYSTONE" disk plan "$SRCDIR/examples/server.toml" --image disk.img --size 20G --seed golden
diff -u "$SRCDIR/tests/host/golden/disk-plan-server.txt" <(echo "$OUT") || fail "plan differs from the golden file"
[ ! -e disk.img ] || fail "plan created the image"

# 2. Without --yes and without a terminal nothing is written.
run_status 1 "$KEYSTONE" disk apply "$HOST" --image a.img --size 1536M --seed t
assert_contains "$ERR" "Nothing was written to a.img"
[ ! -e a.img ] || fail "apply without confirmation created the image"

# 3. Apply up to the ESP on a blank 1.5 GiB image.
run_ok "$KEYSTONE" disk apply "$HOST" --image a.img --size 1536M --seed t --yes --until esp
assert_contains "$OUT" "partition  done"
assert_contains "$OUT" "esp        done"
sgdisk -v a.img | grep -q "No problems found" || fail "sgdisk -v: $(sgdisk -v a.img)"
D=$(sfdisk -d a.img)
echo "$D"
# 1536 MiB = 3145728 sectors; the end is aligned below the backup GPT.
echo "$D" | grep -q 'a.img1 : start=        2048, size=      204800, type=C12A7328-F81F-11D2-BA4B-00A0C93EC93B, uuid=[0-9A-F-]*, name="ESP"' || fail "ESP entry"
echo "$D" | grep -q 'a.img2 : start=      206848, size=     2805760, type=6A898CC3-1DD2-11B2-99A6-080020736631, uuid=[0-9A-F-]*, name="zfs"' || fail "ZFS entry"
echo "$D" | grep -q 'a.img3 : start=     3012608, size=      131072, type=0657FD6D-A4AB-43C4-84E5-0933C84B4F4F, uuid=[0-9A-F-]*, name="swap"' || fail "swap entry"
B=$(blkid -p -O $((2048 * 512)) -o export a.img)
echo "$B" | grep -qx 'TYPE=vfat' || fail "no vfat at partition 1: $B"
echo "$B" | grep -qx 'LABEL=ESP' || fail "ESP label: $B"
echo "$B" | grep -qx 'VERSION=FAT32' || fail "not FAT32: $B"
mdir -i a.img@@$((2048 * 512)) :: >/dev/null || fail "mtools cannot read the ESP (a FAT32 with too few clusters?)"
# the seed makes the layout reproducible
run_ok "$KEYSTONE" disk plan "$HOST" --image a.img --seed t
assert_contains "$OUT" "$(sfdisk --part-uuid a.img 2)"

# 4. A second apply changes nothing, and says so.
before=$(sum a.img)
run_ok "$KEYSTONE" disk apply "$HOST" --image a.img --seed t --yes --until esp
assert_contains "$OUT" "partition  already done"
assert_contains "$OUT" "esp        already done"
[ "$(sum a.img)" = "$before" ] || fail "a second apply changed the image"
run_ok "$KEYSTONE" disk status "$HOST" --image a.img
assert_contains "$OUT" "the GPT matches the host file"

# 5. The ZFS steps need a block device (and ZFS); apply stops and says why.
run_status 1 "$KEYSTONE" disk apply "$HOST" --image a.img --yes
assert_contains "$ERR" "step pool needs the disk as a block device; attach the image with \`losetup -P -f --show a.img\`"
[ "$(sum a.img)" = "$before" ] || fail "the failed pool step changed the image"
if [ ! -e /dev/zfs ] && L=$(losetup -f --show a.img 2>/dev/null); then
	run_status 1 "$KEYSTONE" disk apply "$HOST" --device "$L" --yes
	losetup -d "$L"
	assert_contains "$OUT" "partition  already done"
	assert_contains "$ERR" "step pool needs ZFS, and this machine has no /dev/zfs"
	[ "$(sum a.img)" = "$before" ] || fail "the failed pool step changed the image"
fi

# 6. A different partition table is refused without --force and kept intact.
truncate -s 1536M b.img
sgdisk -n 1:2048:+300M -t 1:8300 -c 1:data b.img >/dev/null
before=$(sum b.img)
run_status 1 "$KEYSTONE" disk apply "$HOST" --image b.img --yes --until esp
assert_contains "$ERR" "b.img holds a GPT that differs from the host file: the disk has 1 partitions, the host file wants 3"
assert_contains "$ERR" "nothing was changed"
[ "$(sum b.img)" = "$before" ] || fail "a refused apply changed the image"
run_ok "$KEYSTONE" disk apply "$HOST" --image b.img --yes --force --until esp --seed t
[ "$(sfdisk -d b.img | grep -c '^b.img')" = 3 ] || fail "--force did not write the plan's table"

# 7. A file system without a table is refused too.
truncate -s 1536M c.img
mkfs.btrfs -q c.img
before=$(sum c.img)
run_status 1 "$KEYSTONE" disk apply "$HOST" --image c.img --yes
assert_contains "$ERR" "c.img holds data (btrfs signature)"
[ "$(sum c.img)" = "$before" ] || fail "a refused apply changed the btrfs image"

# 7b. A disk that cannot be read is not blank: a failed probe (reads of the
#     image fail with EIO) is refused without --force and nothing is written.
truncate -s 1536M e.img
before=$(sum e.img)
FAIL_READ_PATH=$T/e.img LD_PRELOAD=$BUILD/tests/lib/fail-read.so ASAN_OPTIONS=$ASAN_OPTIONS:verify_asan_link_order=0 \
	run_status 1 "$KEYSTONE" disk apply "$HOST" --image e.img --yes --until esp
assert_contains "$ERR" "e.img cannot be examined (reading it failed: Input/output error), so it may hold data"
assert_contains "$ERR" "run again with --force"
[ "$(sum e.img)" = "$before" ] || fail "apply on an unreadable image changed it"
[ -z "$(dd if=e.img bs=512 count=34 status=none | tr -d '\0')" ] || fail "apply wrote a GPT on an unreadable image"

# 8. Too small, and a size that contradicts the image.
run_status 1 "$KEYSTONE" disk apply "$HOST" --image small.img --size 1G --yes
assert_contains "$ERR" "too small for this layout"
[ ! -e small.img ] || fail "a refused apply created the image"
run_status 1 "$KEYSTONE" disk apply "$HOST" --image a.img --size 2G --yes
assert_contains "$ERR" "a.img is 1.5 GiB, but --size says 2 GiB"

# 8b. Sizes beyond what can exist are refused when parsed, saying why;
#     nothing is planned or created.
run_status 2 "$KEYSTONE" disk apply "$HOST" --image big.img --size 99999999T --yes
assert_contains "$ERR" "--size '99999999T' is too large: it overflows 64 bits"
run_status 2 "$KEYSTONE" disk apply "$HOST" --image big.img --size 16777215T --yes
assert_contains "$ERR" "--size '16777215T' is too large: more than 8 EiB"
run_status 2 "$KEYSTONE" disk plan "$HOST" --image big.img --size 8388608T
assert_contains "$ERR" "a disk or image is at most 8 EiB"
[ ! -e big.img ] || fail "a refused size created the image"

# 9. A mounted loop device is refused even with --force; an image attached
#    to a loop device is refused too.
if LOOP=$(losetup -f --show c.img 2>/dev/null); then
	mkdir -p mnt
	if mount -o ro "$LOOP" mnt 2>/dev/null; then
		before=$(sum c.img)
		run_status 1 "$KEYSTONE" disk apply "$HOST" --device "$LOOP" --yes --force
		assert_contains "$ERR" "/dev/$(basename "$LOOP") is mounted on $T/mnt"
		assert_contains "$ERR" "not even with --force"
		umount mnt
		[ "$(sum c.img)" = "$before" ] || fail "a refused apply changed the mounted device"
	else
		echo "note: cannot mount btrfs here; mounted-device case not run"
	fi
	run_status 1 "$KEYSTONE" disk apply "$HOST" --image c.img --yes --force
	assert_contains "$ERR" "c.img is attached to $LOOP"
	losetup -d "$LOOP"; LOOP=
else
	echo "note: no loop devices; mounted-device case not run"
fi

# 10. mount needs a block device and ZFS; it says so and leaves nothing open.
run_status 1 "$KEYSTONE" disk mount "$HOST" --device "$T/a.img" --root "$T/root"
if [ ! -e /dev/zfs ]; then
	run_status 1 "$KEYSTONE" disk mount "$HOST" --device /dev/null --root "$T/root"
	assert_contains "$ERR" "mount needs ZFS"
fi
run_ok "$KEYSTONE" disk unmount "$HOST" --root "$T/root"
# unmount takes down every mount below --root, deepest first, also when
# --root itself is a plain directory (mount without --generation)
if unshare -m true 2>/dev/null; then
	mkdir -p "$T/root2/home" "$T/root2/etc/credstore"
	unshare -m --propagation private sh -c '
		mount -t tmpfs none "$1/root2/home" && mount -t tmpfs none "$1/root2/etc/credstore" &&
		mkdir "$1/root2/home/x" && mount -t tmpfs none "$1/root2/home/x" &&
		"$2" disk unmount "$3" --root "$1/root2" &&
		! grep -q " $1/root2" /proc/self/mounts && echo unmounted-all' sh "$T" "$KEYSTONE" "$HOST" >"$T/um.out" 2>&1 || true
	assert_contains "$(cat "$T/um.out")" "unmounted-all"
fi

# 10b. install whose cleanup fails (a busy mount below --root): the error
#     code and both messages, not an abort (a double free once did that).
if unshare -m true 2>/dev/null; then
	mkdir -p "$T/from" "$T/root3/busy"
	echo 'root=x keystone.generation=3' >"$T/from/cmdline"
	echo "{\"artifacts\":[{\"path\":\"cmdline\",\"sha256\":\"$(sha256sum "$T/from/cmdline" | cut -d' ' -f1)\"}]}" >"$T/from/manifest.json"
	# the sanitizer build and the shipped one (where the double free aborted)
	for k in "$KEYSTONE" "$BUILD/keystone"; do
		unshare -m --propagation private sh -c '
			mount -t tmpfs none "$1/root3/busy" || exit 99
			(cd "$1/root3/busy" && exec sleep 60) & p=$!
			sleep 0.2
			"$2" disk install "$3" --device /dev/null --from "$1/from" --root "$1/root3"; rc=$?
			kill $p; wait $p 2>/dev/null; exit $rc' sh "$T" "$k" "$HOST" >"$T/gi.out" 2>"$T/gi.err"
		RC=$?; OUT=$(cat "$T/gi.out"); ERR=$(cat "$T/gi.err")
		echo "+ $k disk install (cleanup fails) -> $RC" >&2
		[ "$RC" != 99 ] || fail "cannot mount a tmpfs in a mount namespace"
		[ "$RC" = 1 ] || fail "install with a failing cleanup exited $RC, not 1"
		assert_contains "$ERR" "Installing $T/from on /dev/null failed"
		assert_contains "$ERR" "cleaning up failed too: unmounting $T/root3/busy failed"
		assert_not_contains "$ERR" "Nothing is left mounted"
	done
fi

# 11. Usage errors.
run_status 2 "$KEYSTONE" disk mount "$HOST" --device /dev/null
run_status 2 "$KEYSTONE" disk mount "$HOST" --image a.img --root "$T/root"
run_status 2 "$KEYSTONE" disk frobnicate "$HOST"
run_status 2 "$KEYSTONE" disk apply "$HOST" --image x.img --device /dev/null
run_status 2 "$KEYSTONE" disk apply "$HOST" --image x.img --until nowhere

# 12. The option set says which verbs take an option; the framework refuses
#     the others, and checks the positional arguments, before anything runs.
run_status 2 "$KEYSTONE" disk mount "$HOST" --image a.img --root "$T/root"
assert_contains "$ERR" "keystone disk mount: --image is for plan, apply and status"
run_status 2 "$KEYSTONE" disk plan "$HOST" --image x.img --yes
assert_contains "$ERR" "keystone disk plan: --yes is for apply"
run_status 2 "$KEYSTONE" disk status "$HOST" --image a.img --force
assert_contains "$ERR" "--force is for apply and install"
run_status 2 "$KEYSTONE" disk status "$HOST" --image a.img --root "$T/root"
assert_contains "$ERR" "--root is for apply, mount, unmount and install"
run_status 2 "$KEYSTONE" disk unmount "$HOST" --device /dev/null --root "$T/root"
assert_contains "$ERR" "--device is for plan, apply, status, mount and install"
run_status 2 "$KEYSTONE" disk apply "$HOST" --image x.img --generation 1
assert_contains "$ERR" "--generation is for mount"
run_status 2 "$KEYSTONE" disk apply "$HOST" --image x.img --from "$T/from"
assert_contains "$ERR" "--from is for install"
run_status 2 "$KEYSTONE" disk install "$HOST" --device /dev/null
assert_contains "$ERR" "needs --from BUILD"
run_status 2 "$KEYSTONE" disk apply "$HOST" --image x.img --root relative
assert_contains "$ERR" "--root takes an absolute path"
run_status 2 "$KEYSTONE" disk plan "$HOST" --device /dev/null --size 2G
assert_contains "$ERR" "--size is for --image"
run_status 2 "$KEYSTONE" disk plan
assert_contains "$ERR" "keystone disk plan: missing argument: HOST.toml"
run_status 2 "$KEYSTONE" disk status "$HOST" extra
assert_contains "$ERR" "'extra' is one too many"
[ ! -e x.img ] || fail "a usage error created the image"

# 13. Help from the verb table: the family lists every verb; a verb's help
#     is the same whichever way it is asked for, and names its options.
run_ok "$KEYSTONE" disk --help
list=$OUT
for v in plan apply status mount unmount install; do
	assert_contains "$list" "  $v HOST.toml"
	run_ok "$KEYSTONE" disk $v --help
	h=$OUT
	run_ok "$KEYSTONE" help disk $v
	[ "$OUT" = "$h" ] || fail "'disk $v --help' and 'help disk $v' differ"
done
run_ok "$KEYSTONE" disk apply --help
assert_contains "$OUT" "--credstore-new-key-file F"
assert_contains "$OUT" "altroot while applying"
assert_not_contains "$OUT" "--from"
run_ok "$KEYSTONE" disk install --help
assert_contains "$OUT" "replace an existing generation N"
assert_contains "$OUT" "/run/keystone/install"
assert_not_contains "$OUT" "--until"
pass
