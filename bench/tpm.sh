#!/bin/bash
# bench/tpm.sh: TPM2 unlock latency on swtpm (loopback TCP) and a LUKS2 image
# file, keystone vs systemd-cryptsetup on the same token.
#
#   keystone tpm unlock --test:  unseal (its own timer), keyslot open (its
#                                own timer), whole process (wall clock)
#   systemd-cryptsetup attach:   unseal ("Completed TPM2 key unsealing in"),
#                                whole process up to the device-mapper failure
#                                (the host has no dm, so systemd never opens
#                                the keyslot: its wall time excludes that step)
#
# Runs RUNS times (default 10) on a token made by keystone and on one made by
# systemd-cryptenroll; prints medians in ms.  Needs root for systemd-cryptsetup.
# Usage: bench/tpm.sh [RUNS]   (after `make`)
set -u
cd "$(dirname "$0")/.."
SRCDIR=$PWD
RUNS=${1:-10}
KS=${KEYSTONE_BIN:-$PWD/build/keystone}
[ -x "$KS" ] || { echo "build keystone first (make)"; exit 1; }
. tests/host/tpm-lib.sh
tpm_need swtpm systemd-cryptenroll cryptsetup tpm2_flushcontext
swtpm_start >/dev/null

median() { sort -n | awk '{a[NR]=$1} END {if (NR==0) {print "n/a"; exit} m=(NR%2)?a[(NR+1)/2]:(a[NR/2]+a[NR/2+1])/2; printf "%.1f\n", m}'; }
now_ms() { echo $(( $(date +%s%N) / 1000 )); } # microseconds, despite the name

pw=$(secret pw "bench password")
bench_one() { # bench_one LABEL IMAGE
	local label=$1 img=$2 i t0 t1
	: >"$T/ks.unseal"; : >"$T/ks.slot"; : >"$T/ks.wall"; : >"$T/sd.unseal"; : >"$T/sd.wall"
	for i in $(seq "$RUNS"); do
		t0=$(now_ms)
		"$KS" -v tpm unlock "$img" --test --tpm2-device="$TCTI" >/dev/null 2>"$T/ks.err" || { cat "$T/ks.err"; exit 1; }
		t1=$(now_ms)
		echo "scale=3; ($t1 - $t0) / 1000" | bc >>"$T/ks.wall"
		sed -n 's/.*unseal \([0-9.]*\) ms, keyslot \([0-9.]*\) ms.*/\1 \2/p' "$T/ks.err" >"$T/ks.t"
		awk '{print $1}' "$T/ks.t" >>"$T/ks.unseal"
		awk '{print $2}' "$T/ks.t" >>"$T/ks.slot"

		t0=$(now_ms)
		SYSTEMD_LOG_LEVEL=debug /lib/systemd/systemd-cryptsetup attach bench "$img" - \
			"tpm2-device=$TCTI,headless=1" >"$T/sd.log" 2>&1 </dev/null
		t1=$(now_ms)
		tpm_flush_all
		echo "scale=3; ($t1 - $t0) / 1000" | bc >>"$T/sd.wall"
		sed -n 's/.*Completed TPM2 key unsealing in \([0-9.]*\)ms.*/\1/p' "$T/sd.log" >>"$T/sd.unseal"
	done
	printf '%-28s %12s %12s %12s\n' "$label" "unseal" "keyslot" "process"
	printf '%-28s %12s %12s %12s\n' "  keystone" "$(median <"$T/ks.unseal")" "$(median <"$T/ks.slot")" "$(median <"$T/ks.wall")"
	printf '%-28s %12s %12s %12s\n' "  systemd-cryptsetup" "$(median <"$T/sd.unseal")" "(no dm)" "$(median <"$T/sd.wall")"
}

echo "swtpm on 127.0.0.1:$SWTPM_PORT, $RUNS runs, medians in ms ($(nproc) cores, load $(cut -d' ' -f1 /proc/loadavg))"
img=$T/keystone.img
luks_image "$img" "$pw"
"$KS" tpm enroll "$img" --tpm2-device="$TCTI" --unlock-key-file="$pw" >/dev/null || exit 1
bench_one "token by keystone (1+7+15)" "$img"

img=$T/systemd.img
luks_image "$img" "$pw"
systemd-cryptenroll --unlock-key-file="$pw" --tpm2-device="$TCTI" --tpm2-pcrs=1+7 "$img" >/dev/null 2>&1 || exit 1
tpm_flush_all
bench_one "token by systemd (1+7)" "$img"
