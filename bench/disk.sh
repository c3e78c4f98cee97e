#!/bin/bash
# bench/disk.sh — issue 6: time of `keystone disk apply` for the full layout
# (GPT, ESP, pool, credstore zvol with LUKS2 + ext4, encryption root,
# datasets) on a blank 20 GiB virtual disk, against the same steps as a
# plain shell script (tests/vm/data/disk-plain.sh: sgdisk, mkfs.vfat, zpool,
# zfs, cryptsetup, mkfs.ext4) in the same VM run.  Two rounds, the disks
# swapped between them, after a warm-up round that is shown but not counted
# (the first apply of a boot paid 43-64 s more, whichever tool ran it);
# the goal is a ratio <= 1.1.
#
# Usage: bench/disk.sh            (runs the disk VM scenario in bench mode)
# Both sides pay the same LUKS2 argon2id benchmark (cryptsetup's default
# 2 s iteration time), which dominates; times are measured inside the guest.
set -eu
cd "$(dirname "$0")/.."
echo "machine: $(nproc) cores, load $(cut -d' ' -f1-3 /proc/loadavg)"
KEYSTONE_BENCH_DISK=1 make -s check-vm ONLY=disk >/dev/null 2>&1 || {
	echo "the disk VM scenario failed in bench mode; see build/test-logs/vm-test-disk.log" >&2
	exit 1
}
log=build/test-logs/vm-test-disk.log
grep '^bench:' "$log"
grep '^bench: round' "$log" | awk '
	{ for (i = 1; i <= NF; i++) { if ($i == "keystone") k += $(i + 1); if ($i == "plain") p += $(i + 1) } n++ }
	END {
		if (n == 0 || p == 0) { print "no figures in the log"; exit 1 }
		printf "keystone disk apply: %.2f s (mean of %d), plain script: %.2f s, ratio %.3f (goal <= 1.1)\n",
		       k / n, n, p / n, k / p
	}'
