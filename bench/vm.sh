#!/bin/bash
# bench/vm.sh — figures for the VM test bench (issue 3):
#   image build cold (empty cache) and warm (cached), rootfs reproducibility,
#   boot to the test shell, and each VM scenario's wall time.
#
# Usage: bench/vm.sh [--cold] [--repro] [--scenarios]   (no option: all three)
#   --cold       build terminal.toml into an empty cache, then again (warm)
#   --repro      a second cold build into another empty cache; cmp the rootfs
#                tars (and the disk images) of the two
#   --scenarios  run every tests/vm/test-* once, timed
# Cold builds download from deb.debian.org and take minutes; they use
# throwaway cache directories under /var/tmp, removed at the end.
# Never run two VM benches at once on a 2-core machine.
set -eu
cd "$(dirname "$0")/.."
cold=0 repro=0 scen=0
[ $# -eq 0 ] && cold=1 repro=1 scen=1
for a in "$@"; do
	case $a in
	--cold) cold=1 ;;
	--repro) repro=1 ;;
	--scenarios) scen=1 ;;
	*) echo "usage: $0 [--cold] [--repro] [--scenarios]" >&2; exit 2 ;;
	esac
done
make -s all tests >/dev/null
K=build/keystone
host=tests/vm/hosts/terminal.toml
keydir=/var/tmp/ks-bench-key
mkdir -p "$keydir"
[ -f "$keydir/id" ] || ssh-keygen -q -t ed25519 -N '' -C keystone-bench -f "$keydir/id"
pub=$(cat "$keydir/id.pub")
tmps=()
cleanup() { for d in "${tmps[@]}"; do rm -rf --one-file-system "$d"; done; }
trap cleanup EXIT

secs() { printf '%.1f' "$(echo "$2 - $1" | bc)"; }
build() { # cache-dir → prints wall seconds
	local t0 t1
	t0=$(date +%s.%N)
	"$K" image --test --ssh-key="$pub" --cache-dir="$1" "$host" >"$1.out"
	t1=$(date +%s.%N)
	secs "$t0" "$t1"
}

echo "machine: $(nproc) cores, load $(cut -d' ' -f1-3 /proc/loadavg)"
if [ $cold = 1 ] || [ $repro = 1 ]; then
	c1=$(mktemp -d /var/tmp/ks-bench-cache.XXXXXX); tmps+=("$c1")
	t=$(build "$c1")
	echo "image build, cold (mmdebstrap + disk): ${t} s  [$(grep -- -stage "$c1.out" | tr '\n' ' ')]"
	t=$(build "$c1")
	echo "image build, warm (cached):            ${t} s"
	echo "rootfs.tar: $(stat -c %s "$(awk '/^rootfs /{print $2}' "$c1.out")") bytes, root.img in use: $(du -m "$(awk '/^disk /{print $2}' "$c1.out")" | cut -f1) MiB"
fi
if [ $repro = 1 ]; then
	c2=$(mktemp -d /var/tmp/ks-bench-cache.XXXXXX); tmps+=("$c2")
	t=$(build "$c2")
	echo "image build, second cold build:        ${t} s"
	r1=$(awk '/^rootfs /{print $2}' "$c1.out"); r2=$(awk '/^rootfs /{print $2}' "$c2.out")
	d1=$(awk '/^disk /{print $2}' "$c1.out"); d2=$(awk '/^disk /{print $2}' "$c2.out")
	if cmp -s "$r1" "$r2"; then echo "rootfs.tar of two cold builds: identical ($(sha256sum <"$r1" | cut -c1-16)…)"
	else echo "rootfs.tar of two cold builds: DIFFERENT"; fi
	if cmp -s "$d1" "$d2"; then echo "root.img of two cold builds: identical"
	else echo "root.img of two cold builds: different"; fi
fi
if [ $scen = 1 ]; then
	for t in build/tests/vm/test-*; do
		n=$(basename "$t")
		log=build/bench-$n.log
		t0=$(date +%s.%N)
		if BUILD=$PWD/build SRCDIR=$PWD "$t" >"$log" 2>&1; then st=pass; else st="FAIL (see $log)"; fi
		t1=$(date +%s.%N)
		shell=$(grep -o 'shell answered after [0-9.]* s' "$log" | head -1 | grep -o '[0-9.]* s' || true)
		echo "scenario ${n#test-}: $(secs "$t0" "$t1") s, $st; first boot to shell: ${shell:-?}"
	done
fi
