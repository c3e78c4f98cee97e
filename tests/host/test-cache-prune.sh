#!/bin/bash
# keystone cache prune on a cache directory of its own: entries go least
# recently used first (the .lock file's mtime) until the cache fits; an
# entry locked by a running build and one used within --keep-hours stay;
# files that are not entries (the .deb pool) are neither counted nor
# touched; --dry-run removes nothing; a bad size is refused.
set -u
. "$SRCDIR/tests/lib/assert.sh"
T=$(mktemp -d /var/tmp/keystone-test-XXXXXX); trap 'rm -rf "$T"' EXIT
C=$T/cache
h() { printf '%064d' "$1"; }        # a fake sha256
entry() { # entry KIND N MiB HOURS-AGO
	local d=$C/$1-$(h "$2")
	mkdir -p "$d/sub"
	head -c $(($3 * 1048576)) /dev/urandom >"$d/sub/data"
	touch -d "$4 hours ago" "$d.lock" "$d"
}
mkdir -p "$C/debs"
head -c $((8 * 1048576)) /dev/urandom >"$C/debs/pool.deb"
entry disk 1 4 50        # oldest
entry generation 2 4 40  # locked by a running build: must stay
entry rootfs 3 4 30
entry disk 4 4 20
entry generation 5 4 1   # recent: kept by --keep-hours
entry keystone 6 4 10

_run "$KEYSTONE" cache prune --cache-dir "$C" --max-size 13M --dry-run
[ "$RC" = 0 ] || fail "dry run failed"
assert_contains "$OUT" "would remove disk-$(h 1)"
assert_contains "$OUT" "in 6 entries; would remove 3; would leave 12."
[ "$(find "$C" -mindepth 1 -maxdepth 1 -type d -name "*-0*" | wc -l)" = 6 ] || fail "--dry-run removed something"

exec 9<"$C/generation-$(h 2).lock"
flock 9
_run "$KEYSTONE" cache prune --cache-dir "$C" --max-size 13M
exec 9>&-
[ "$RC" = 0 ] || fail "prune failed"
for gone in disk-$(h 1) rootfs-$(h 3) disk-$(h 4); do
	[ -e "$C/$gone" ] && fail "$gone (least recently used) is still there"
	assert_contains "$OUT" "remove $gone"
done
for kept in generation-$(h 2) generation-$(h 5) keystone-$(h 6); do
	[ -f "$C/$kept/sub/data" ] || fail "$kept was removed"
done
[ -f "$C/debs/pool.deb" ] || fail "the .deb pool was touched"
assert_contains "$OUT" "in 6 entries; removed 3; now 12."
assert_contains "$OUT" "MiB (limit 13 MiB)"
ls -a "$C" | grep -q pruning && fail "a .pruning- directory was left"

# the limit cannot be met: the rest is recent (1 hour) or was just used
touch "$C/keystone-$(h 6).lock"
_run "$KEYSTONE" cache prune --cache-dir "$C" --max-size 1M
assert_contains "$OUT" "removed 1; now 8."
assert_contains "$OUT" "MiB (limit 1 MiB); still over: the rest was used within --keep-hours"
[ -e "$C/generation-$(h 2)" ] && fail "generation-$(h 2) (40 hours) stayed"
[ -e "$C/generation-$(h 5)" ] || fail "a recent entry was removed"
_run "$KEYSTONE" cache prune --cache-dir "$C" --max-size 1M --keep-hours 0
assert_contains "$OUT" "removed 2; now 0 B"

run_status 2 "$KEYSTONE" cache prune --cache-dir "$C" --max-size lots
assert_contains "$ERR" "--max-size 'lots' is not a size"
run_status 2 "$KEYSTONE" cache purge
assert_contains "$ERR" "expected 'prune', not purge"
pass
