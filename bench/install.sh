#!/bin/sh
# The issue's figures for `make demo` (keystone vm examples/server.toml):
#   cold: an empty cache (KEYSTONE_CACHE_DIR = a fresh directory): the build
#         chroot, Keystone's .deb, the rootfs, the ZFS modules (dkms), the
#         generation and the installer image are all built; goal < 15 min
#   warm: the same again with that cache, installed anew (--fresh); goal < 5 min
# Each run is a whole install: keys, build, installer, install, first boot
# with the TPM enrolled, and the reboot that unlocks by itself.
# Usage: bench/install.sh [HOST.toml]   (BENCH_KEEP=1 keeps the cache)
set -eu
cd "$(dirname "$0")/.."
HOST=${1:-examples/server.toml}
make -s build/keystone
K=$PWD/build/keystone
T=$(mktemp -d /var/tmp/keystone-bench-install.XXXXXX)
[ -n "${BENCH_KEEP:-}" ] || trap 'rm -rf "$T"' EXIT
run() {
	label=$1; shift
	start=$(date +%s)
	KEYSTONE_CACHE_DIR=$T/cache "$K" vm "$HOST" --state "$T/state" "$@" > "$T/$label.out" 2>&1 || {
		echo "$label run failed:"; tail -30 "$T/$label.out"; exit 1; }
	end=$(date +%s)
	echo "$label: $((end - start)) s"
	sed -n '/time:/,/total/p' "$T/$label.out"
}
echo "bench/install.sh: keystone vm $HOST, cache $T/cache (load: $(cut -d' ' -f1-3 /proc/loadavg))"
run cold --fresh
run warm --fresh
echo "goals: cold < 900 s, warm < 300 s (under TCG, 2 cores)"
