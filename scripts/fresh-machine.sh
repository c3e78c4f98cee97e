#!/bin/bash
# Run one of the README's commands on a fresh machine: a clean Debian
# bookworm chroot holding only what a fresh machine of this project's kind
# has (the `apt` lines of ../shared/testdata/fresh-machine-packages.txt),
# with the committed tree cloned into it and nothing of mk/deps/*.list
# installed.  This is how to know that `make demo` and `make check` work as
# the very first command, which CI (a machine that already has the packages)
# cannot show.
#
#   scripts/fresh-machine.sh [--buildd] [--dir DIR] [--keep] [COMMAND…]
#
#   COMMAND     what to run in /work/main (default: make check-fast),
#               e.g. `scripts/fresh-machine.sh make demo`
#   --buildd    a stricter stand-in: mmdebstrap --variant=buildd plus git,
#               instead of the fresh-machine package list
#   --dir DIR   where the chroot goes (default /var/tmp/keystone-fresh);
#               it is made anew on every run
#   --keep      leave the chroot in place afterwards (to look at logs)
#
# The base root (before the tree is cloned in) is cached as a tarball under
# /var/cache/keystone/fresh-root-<sha256 of the package list>.tar: it holds
# Debian packages only, so reusing it keeps the machine fresh.  The run
# happens in its own mount namespace with DIR bound onto itself (so `/` is a
# mount point), /proc, /sys, /dev and /dev/pts bound in (the VM needs them),
# an /etc/hosts with localhost, the tree at /work/main and shared/ at
# /work/shared.  The command's output is shown and kept in
# /var/tmp/keystone-fresh-<word>.log; the last line gives its wall time.
set -euo pipefail

die() { echo "fresh-machine: $*" >&2; exit 1; }

repo=$(cd "$(dirname "$0")/.." && pwd)
shared=$(cd "$repo/.." && pwd)/shared
dir=/var/tmp/keystone-fresh
variant=list
pkgs=
keep=0
while [ $# -gt 0 ]; do
	case "$1" in
	--buildd) variant=buildd; shift ;;
	--dir) [ $# -ge 2 ] || die "--dir needs a directory"; dir=$2; shift 2 ;;
	--keep) keep=1; shift ;;
	-h|--help) sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
	--) shift; break ;;
	-*) die "unknown option $1 (see --help)" ;;
	*) break ;;
	esac
done
[ $# -gt 0 ] || set -- make check-fast

[ "$(id -u)" = 0 ] || die "needs root (mmdebstrap, mounts, chroot); run it as root"
[ -d "$shared" ] || die "$shared not found: the tests read ../shared next to the tree"
case "$dir" in /|/var|/var/tmp|/tmp|/work|"") die "--dir $dir: refusing a system directory" ;; esac
git -C "$repo" rev-parse --verify -q HEAD >/dev/null || die "$repo is not a git tree with a commit"
if ! git -C "$repo" diff --quiet HEAD -- 2>/dev/null; then
	echo "fresh-machine: note: uncommitted changes in $repo are not part of the run (it clones HEAD)" >&2
fi
command -v mmdebstrap >/dev/null || {
	echo "fresh-machine: installing mmdebstrap" >&2
	DEBIAN_FRONTEND=noninteractive apt-get install -y -qq mmdebstrap >/dev/null
}

# unmount_under DIR: whatever a killed run left mounted below DIR, deepest first
unmount_under() {
	local d=$1 m
	for m in $(awk -v d="$d" '$5 == d || index($5, d "/") == 1 { print $5 }' /proc/self/mountinfo | sort -r); do
		umount -l "$m" 2>/dev/null || true
	done
}
cleanup() {
	unmount_under "$dir"
	[ "$keep" = 1 ] || rm -rf --one-file-system "$dir"
}

# The package set: the apt lines of the list, without the architecture
# qualifier and without what comes from outside Debian's archive; names the
# archive does not have (packages of the image's own sources) are left out
# and counted.
pkgfile=$shared/testdata/fresh-machine-packages.txt
if [ "$variant" = list ]; then
	[ -r "$pkgfile" ] || die "$pkgfile not found; use --buildd for the stricter stand-in"
	want=$(awk -F'\t' '$1 == "apt" { sub(/:.*/, "", $2); print $2 }' "$pkgfile" |
		grep -v -e '^google-cloud-cli' -e '^kubectl$' | sort -u)
	known=$(apt-cache pkgnames | sort -u)
	pkgs=$(comm -12 <(echo "$want") <(echo "$known"))
	dropped=$(comm -23 <(echo "$want") <(echo "$known") | tr '\n' ' ')
	[ -n "$dropped" ] && echo "fresh-machine: not in Debian's archive, left out: $dropped" >&2
	key=$(printf '%s\n' "$pkgs" | sha256sum | cut -c1-16)
	mm_args=(--variant=minbase --include="$(echo "$pkgs" | paste -sd, -)")
else
	key=buildd-git
	mm_args=(--variant=buildd --include=git,ca-certificates)
fi
cache=/var/cache/keystone
base=$cache/fresh-root-$key.tar

trap cleanup EXIT
unmount_under "$dir"
rm -rf --one-file-system "$dir"
if [ ! -s "$base" ]; then
	mkdir -p "$cache"
	echo "fresh-machine: making the base root ($variant, $(echo "$pkgs" 2>/dev/null | wc -l) packages) with mmdebstrap" >&2
	t0=$(date +%s)
	# mmdebstrap's own default mirrors (bookworm, -updates, -security), as a
	# fresh machine has them
	mmdebstrap --quiet --format=tar "${mm_args[@]}" bookworm "$base.tmp" || { rm -f "$base.tmp"; die "mmdebstrap failed (see above)"; }
	mv "$base.tmp" "$base"
	echo "fresh-machine: base root made in $(( $(date +%s) - t0 )) s: $base" >&2
fi
mkdir -p "$dir"
tar -C "$dir" -xf "$base"
printf '127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost ip6-loopback\n' > "$dir/etc/hosts"
cp /etc/resolv.conf "$dir/etc/resolv.conf" 2>/dev/null || true
mkdir -p "$dir/work/shared"
git clone -q --no-local "$repo" "$dir/work/main"

word=$(printf '%s' "$*" | tr -c 'a-zA-Z0-9' '-' | sed 's/-\{2,\}/-/g; s/-$//')
log=/var/tmp/keystone-fresh-$word.log
echo "fresh-machine: running '$*' in a fresh $variant root at $dir (log: $log)" >&2
cmd=$(printf '%q ' "$@")
t0=$(date +%s)
set +e
unshare -m --propagation private /bin/bash -euc '
	dir=$1 shared=$2 cmd=$3
	mount --bind "$dir" "$dir"
	mount --bind -o ro "$shared" "$dir/work/shared"
	mount -t proc proc "$dir/proc"
	mount --rbind /sys "$dir/sys"
	mount --rbind /dev "$dir/dev"
	mount -t tmpfs -o mode=1777 tmpfs "$dir/dev/shm"
	mount -t tmpfs -o mode=755 tmpfs "$dir/run"
	exec chroot "$dir" /usr/bin/env -i HOME=/root TERM="${TERM:-dumb}" LANG=C.UTF-8 \
		PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
		/bin/bash -c "cd /work/main && $cmd"
' fresh "$dir" "$shared" "$cmd" 2>&1 | tee "$log"
rc=${PIPESTATUS[0]}
set -e
secs=$(( $(date +%s) - t0 ))
printf 'fresh-machine: %s: exit %d after %d min %02d s on a fresh %s root (%s)\n' \
	"$*" "$rc" $((secs / 60)) $((secs % 60)) "$variant" "$(git -C "$repo" rev-parse --short HEAD)" | tee -a "$log"
exit "$rc"
