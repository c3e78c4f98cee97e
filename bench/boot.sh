#!/bin/sh
# bench/boot.sh — time from kernel start to switch_root on one installed
# disk: Keystone's initrd (PID 1 keystone-init) against Debian's own path
# (dracut with systemd in the initrd, zfs-dracut, the credstore in crypttab
# with tpm2-device=auto; bench/boot-dracut.sh builds it), in the same VM
# run, both unlocking with the TPM.  Reports each round, the mean ratio
# (goal <= 1/3) and both initrd sizes.
#
# How: the owner's keys are made and the generation of
# tests/vm/hosts/boot-flow.toml is built with them; its rootfs stage and its
# signed ZFS modules feed bench/boot-dracut.sh; then the boot-flow VM
# scenario runs with KEYSTONE_BENCH_BOOT=DIR: the installed disk gets a
# second signed UKI around the dracut initrd, and after `keystone tpm
# enroll` the target boots three times each way, alternating
# (tests/vm/test-boot-flow.c).  Times are the host's clock between the
# kernel's first console line ("Linux version") and the switch into the
# generation ("[ 8/8] switch-root ..." from keystone-init, "Starting initrd-switch-root.service"
# from systemd in dracut's initrd).  Runs as root; 20–30 minutes under TCG.
set -eu
cd "$(dirname "$0")/.."
make -s all tests >/dev/null
cache=${KEYSTONE_CACHE_DIR:-/var/cache/keystone}
t=$(mktemp -d /var/tmp/keystone-bench-boot-XXXXXX)
trap 'rm -rf --one-file-system "$t"' EXIT

echo "== the owner's keys and the generation (keystone build)"
build/keystone secureboot keygen --dir "$t/keys" --key-size 2048 --name "Boot Flow Owner" >/dev/null
build/keystone build tests/vm/hosts/boot-flow.toml --keys "$t/keys" -o "$t/gen" | head -1
rootfs=$cache/rootfs-$(sed -n 's/^rootfs=//p' "$t/gen/inputs.txt")/rootfs.tar
kver=$(sed -n 's/^kernel=//p' "$t/gen/inputs.txt")
# With Secure Boot on the kernel loads only modules signed by a db key: the
# dracut initrd gets the generation's ZFS modules, which keystone build
# signed with these keys (the scenario uses the same keys).
mkdir -p "$t/mods"
tar -xf "$t/gen/rootfs.tar" -C "$t/mods" "./usr/lib/modules/$kver/updates"
tar -C "$t/mods/usr/lib/modules/$kver" -cf "$t/zfs-signed.tar" updates
echo "== Debian's initrd for the same disk (bench/boot-dracut.sh)"
# and the generation's /etc/hostid: the pool remembers the host that last
# imported it, and a Debian system has its hostid in the initrd too
tar -xf "$t/gen/rootfs.tar" -C "$t" ./etc/hostid
bench/boot-dracut.sh "$rootfs" "$t/zfs-signed.tar" "$t/dracut" "$t/etc/hostid"
echo "== the boot-flow scenario in bench mode"
KEYSTONE_BENCH_BOOT="$t/dracut" KEYSTONE_BENCH_KEYS="$t/keys" VM_TEST_TIMEOUT=3600 \
	make -s check-vm ONLY=boot-flow >"$t/vm.out" 2>&1 || {
	tail -n 40 build/test-logs/vm-test-boot-flow.log
	echo "bench/boot.sh: the boot-flow scenario failed (log: build/test-logs/vm-test-boot-flow.log)" >&2
	exit 1
}
grep -a '^bench:' build/test-logs/vm-test-boot-flow.log
