#!/bin/sh
# The issue's figures for `make demo` (keystone vm examples/server.toml):
#   cold: an empty cache (KEYSTONE_CACHE_DIR = a fresh directory): the build
#         chroot, Keystone's .deb, the rootfs, the ZFS modules (dkms), the
#         generation and the installer image are all built; goal < 15 min
#   warm: the same again with that cache, installed anew (--fresh); goal < 5 min
# Each run is a whole install: keys, build, installer, install, first boot
# with the TPM enrolled, and the reboot that unlocks by itself.
# Usage: bench/install.sh [HOST.toml]   (BENCH_KEEP=1 keeps the cache)
#        bench/install.sh remote
#   remote: `keystone install --target` (every phase: kexec, disk, install,
#   reboot, enroll) onto a stock Debian 12 VM in setup mode with a swtpm,
#   driven by the remote-install scenario (KEYSTONE_BENCH_REMOTE=1: only
#   this run, nothing cut), with the warm cache of /var/cache/keystone (the
#   scenario builds the target image and the generation once); goal < 5 min
set -eu
cd "$(dirname "$0")/.."
if [ "${1:-}" = remote ]; then
	make -s build/keystone build/asan/keystone build/tests/vm/test-remote-install
	echo "bench/install.sh remote: warming the cache with one run first (load: $(cut -d' ' -f1-3 /proc/loadavg))"
	KEYSTONE_BENCH_REMOTE=1 BUILD=$PWD/build SRCDIR=$PWD build/tests/vm/test-remote-install >/dev/null 2>&1 || {
		echo "the warm-up run failed: see build/test-logs or run it by hand"; exit 1; }
	start=$(date +%s)
	KEYSTONE_BENCH_REMOTE=1 BUILD=$PWD/build SRCDIR=$PWD build/tests/vm/test-remote-install 2>/dev/null | grep '^bench:'
	echo "warm: $(( $(date +%s) - start )) s in all, with booting the target (goal for the install: < 300 s under TCG, 2 cores)"
	exit 0
fi
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
