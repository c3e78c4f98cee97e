#!/bin/bash
# bench/keystone-deb.sh — figures for Keystone-in-the-guest (issue 3):
# the trixie build chroot (cold), keystone's build in it, and the warm
# lookup, as `keystone image` reports them per stage.
#
# Usage: bench/keystone-deb.sh [--cold]
#   default  in the real cache: touch a copy of the sources so the .deb is
#            rebuilt (chroot cached), then look everything up again (warm)
#   --cold   in a throwaway cache under /var/tmp: chroot + .deb + rootfs +
#            disk from nothing (downloads from deb.debian.org; minutes)
set -eu
cd "$(dirname "$0")/.."
make -s all >/dev/null
K=$PWD/build/keystone
host=$PWD/tests/vm/hosts/terminal.toml
stages() { grep -E '^(buildroot|keystone|rootfs|disk)-stage ' | sed 's/^/  /'; }

if [ "${1:-}" = --cold ]; then
	cache=$(mktemp -d /var/tmp/ks-bench-deb.XXXXXX)
	trap 'rm -rf "$cache"' EXIT
	echo "cold (empty cache $cache):"
	/usr/bin/time -f '  wall %e s' "$K" image --test --cache-dir="$cache" "$host" | stages
	echo "warm:"
	/usr/bin/time -f '  wall %e s' "$K" image --test --cache-dir="$cache" "$host" | stages
	exit 0
fi

# A copy of the tree with one changed source file: a new .deb key (and a
# new disk key), the chroot and rootfs stay cached.
src=$(mktemp -d /var/tmp/ks-bench-src.XXXXXX)
trap 'rm -rf "$src"' EXIT
git ls-files -z --cached --others --exclude-standard | xargs -0 cp --parents -t "$src" 2>/dev/null || true
cp -r .git "$src/.git"
echo "/* bench $(date +%s%N) */" >> "$src/src/keystone.c"
echo "source change (new .deb, cached chroot):"
(cd "$src" && /usr/bin/time -f '  wall %e s' "$K" image --test "$host" | stages)
echo "warm (everything cached):"
(cd "$src" && /usr/bin/time -f '  wall %e s' "$K" image --test "$host" | stages)
