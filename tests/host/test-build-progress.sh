#!/bin/bash
# keystone build reports its steps (util/progress.h): with stderr not a
# terminal, one plain line as each step starts and ends, with its elapsed
# time, in order; on a terminal (script(1) gives it a pty) the same on one
# line rewritten with "\r" + clear-line.  A host file without keystone.lock
# is built unpinned and says so; with the lock the ZFS modules are the first
# stage (their kernel comes from the lock).  The stages are first made (or
# found) in the shared cache, by builds of the example as it is, unlocked
# and locked; each checked build then gets another SSH key and a cache
# directory of its own that links to those stages, so its generation is
# built there and removed with it (warm: ~20 s each; on a cold cache the
# first builds make every stage).
# test-timeout: 2700
set -u
. "$SRCDIR/tests/lib/assert.sh"
cd "$SRCDIR"
command -v mmdebstrap >/dev/null || { echo "mmdebstrap missing"; exit 77; }
command -v script >/dev/null || { echo "script (util-linux) missing"; exit 77; }
T=$(mktemp -d /var/tmp/keystone-test-progress-XXXXXX); trap 'rm -rf "$T"' EXIT
export KEYSTONE_CACHE_DIR=${KEYSTONE_CACHE_DIR:-/var/cache/keystone}

# the server example with a key of its own (a generation of its own)
host() { sed "s/alice@laptop/progress-$1-$$@test/" examples/server.toml > "$T/server.toml"; }

# the stages before the generation, in the shared cache: unlocked and locked
mkdir "$T/warm"
cp examples/server.toml "$T/warm/server.toml"
run_ok "$KEYSTONE" build "$T/warm/server.toml" --unsigned
cp examples/keystone.lock "$T/warm/keystone.lock"
_run "$KEYSTONE" build "$T/warm/server.toml" --unsigned
case "$RC:$ERR" in
0:*) ;;
*"cannot check keystone.lock against the archive"*) echo "Debian's archive is unreachable: $ERR"; exit 77 ;;
*"no longer serves"*) echo "examples/keystone.lock is older than the archive (run keystone lock): $ERR"; exit 77 ;;
*) fail "keystone build with the examples' lock failed" ;;
esac
# ...linked into a cache of the test's own
mkdir "$T/cache"
for d in "$KEYSTONE_CACHE_DIR"/*-????????????????????????????????????????????????????????????????; do
	case "$d" in */generation-*) continue ;; esac
	[ -d "$d" ] && ln -s "$d" "$T/cache/"
done
export KEYSTONE_CACHE_DIR=$T/cache

# line number of the first line of $ERR matching the ERE $1 (fails if none)
line_of() {
	local n
	n=$(printf '%s\n' "$ERR" | grep -n -E -m1 -- "$1" | cut -d: -f1)
	[ -n "$n" ] || fail "no progress line matching: $1"
	echo "$n"
}
in_order() {
	local prev=0 n
	for re in "$@"; do
		n=$(line_of "$re") || exit 1
		[ "$n" -gt "$prev" ] || fail "progress lines out of order: '$re' (line $n) before line $prev"
		prev=$n
	done
}
T_=' (done in [0-9]+\.[0-9] s|done in [0-9]+ min [0-9]{2} s)$'

# 1: no lock, stderr a file: plain lines and the unpinned warning
host a
run_ok "$KEYSTONE" build "$T/server.toml" --unsigned
assert_contains "$ERR" "$T/server.toml has no $T/keystone.lock: building UNPINNED"
assert_contains "$ERR" "Run \`keystone lock $T/server.toml\` to pin every package."
case "$ERR" in *$'\r'*) fail "plain progress holds a carriage return" ;; esac
in_order '^build: build chroot: (cached|done in)' '^build: Keystone \.deb: (cached|done in)' \
	'^build: rootfs: (cached|done in)' '^build: ZFS modules' \
	'^build: generation: started$' '^build: generation: tree: started$' "^build: generation: tree:$T_" \
	'^build: generation: initrd: started$' "^build: generation: initrd:$T_" \
	'^build: generation: UKI and ESP: started$' "^build: generation: UKI and ESP:$T_" "^build: generation:$T_"
assert_contains "$OUT" "generation 1 of keystone-server"

# 2: with the examples' lock: pinned (no warning), the ZFS modules first
host b
cp examples/keystone.lock "$T/keystone.lock"
run_ok "$KEYSTONE" build "$T/server.toml" --unsigned
assert_not_contains "$ERR" "UNPINNED"
first=$(printf '%s\n' "$ERR" | grep -m1 '^build: ')
case "$first" in "build: ZFS modules"*) ;; *) fail "the first step of a locked build is not the ZFS modules: $first" ;; esac
in_order '^build: ZFS modules' '^build: build chroot' '^build: rootfs' "^build: generation:$T_"

# 3: on a terminal: the same events on one line, rewritten in place
host c
rm "$T/keystone.lock"
script -qec "'$KEYSTONE' build '$T/server.toml' --unsigned >/dev/null" "$T/typescript" > "$T/tty.out" 2>&1 </dev/null ||
	fail "keystone build under script failed: $(tail -5 "$T/tty.out")"
tty=$(cat "$T/tty.out")
assert_contains "$tty" $'\r\e[Kbuild: generation: tree: started'
assert_contains "$tty" $'\r\e[Kbuild: generation: tree: done in '
# no progress line of its own: it is all one updating line
if printf '%s' "$tty" | grep -q $'^build: '; then fail "a plain progress line on a terminal"; fi
pass
