#!/bin/sh
# bench/boot.sh — time from kernel start to switch_root on one installed
# disk: Keystone's initrd (PID 1 keystone-init) against Debian's own path
# (dracut with systemd in the initrd, zfs-dracut, the credstore in crypttab
# with tpm2-device=auto; bench/boot-dracut.sh builds it), in the same VM
# run, both unlocking with the TPM.  Reports each round, the mean ratio
# (goal <= 1/3) and both initrd sizes.
#
# How: the generation of tests/vm/hosts/boot-flow.toml is built; its rootfs
# and ZFS module stages feed bench/boot-dracut.sh; then the boot-flow VM
# scenario runs with KEYSTONE_BENCH_BOOT=DIR: the installed disk gets a
# second signed UKI around the dracut initrd, and after `keystone tpm
# enroll` the target boots three times each way, alternating
# (tests/vm/test-boot-flow.c).  Times are the host's clock between the
# kernel's first console line ("Linux version") and the switch into the
# generation ("[ 8/8] switch-root ..." from keystone-init, "Switching root"
# from systemd in dracut's initrd).  Runs as root; 20–30 minutes under TCG.
set -eu
cd "$(dirname "$0")/.."
make -s all tests >/dev/null
cache=${KEYSTONE_CACHE_DIR:-/var/cache/keystone}
t=$(mktemp -d /var/tmp/keystone-bench-boot-XXXXXX)
trap 'rm -rf --one-file-system "$t"' EXIT

echo "== the generation's stages (keystone build)"
build/keystone build tests/vm/hosts/boot-flow.toml --unsigned -o "$t/gen" | head -1
rootfs=$cache/rootfs-$(sed -n 's/^rootfs=//p' "$t/gen/inputs.txt")/rootfs.tar
zfs=$cache/zfs-$(sed -n 's/^zfs=//p' "$t/gen/inputs.txt")/modules.tar
echo "== Debian's initrd for the same disk (bench/boot-dracut.sh)"
bench/boot-dracut.sh "$rootfs" "$zfs" "$t/dracut"
echo "== the boot-flow scenario in bench mode"
KEYSTONE_BENCH_BOOT="$t/dracut" make -s check-vm ONLY=boot-flow >"$t/vm.out" 2>&1 || {
	tail -n 40 build/test-logs/vm-test-boot-flow.log
	echo "bench/boot.sh: the boot-flow scenario failed (log: build/test-logs/vm-test-boot-flow.log)" >&2
	exit 1
}
grep -a '^bench:' build/test-logs/vm-test-boot-flow.log
