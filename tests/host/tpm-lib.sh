# Shared by tests/host/test-tpm-*.sh and bench/tpm.sh (sourced, not run):
# a private swtpm on a free loopback TCP port pair, LUKS2 image files with a
# small PBKDF, and assertion helpers.  Everything lives in $T (a temp dir)
# and is removed, and the swtpm we started killed by its pid file, on exit.

tpm_skip() { echo "skip: $*"; exit 77; }
fail() { echo "FAIL: $*" >&2; exit 1; }
ok() { echo "ok: $*"; }

tpm_need() {
	for p in "$@"; do
		command -v "$p" >/dev/null 2>&1 || tpm_skip "$p is not installed (make deps)"
	done
}

T=$(mktemp -d /tmp/keystone-tpm-test.XXXXXX)
SWTPM_PIDFILE=$T/swtpm/pid
tpm_cleanup() {
	if [ -s "$SWTPM_PIDFILE" ]; then
		kill "$(cat "$SWTPM_PIDFILE")" 2>/dev/null
		sleep 0.1
	fi
	rm -rf "$T"
}
trap tpm_cleanup EXIT

port_free() {
	! (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null
}

# Starts swtpm; sets SWTPM_PORT and exports TPM2TOOLS_TCTI and TCTI.
swtpm_start() {
	mkdir -p "$T/swtpm"
	local tries=0
	while :; do
		tries=$((tries + 1))
		[ $tries -gt 20 ] && fail "no free loopback port pair for swtpm"
		SWTPM_PORT=$((20000 + (RANDOM % 20000) * 2))
		port_free "$SWTPM_PORT" && port_free $((SWTPM_PORT + 1)) || continue
		swtpm socket --tpm2 \
			--server type=tcp,port=$SWTPM_PORT,bindaddr=127.0.0.1 \
			--ctrl type=tcp,port=$((SWTPM_PORT + 1)),bindaddr=127.0.0.1 \
			--tpmstate dir="$T/swtpm" --flags not-need-init,startup-clear \
			--daemon --pid file="$SWTPM_PIDFILE" 2>"$T/swtpm/log" && break
	done
	for _ in $(seq 50); do
		[ -s "$SWTPM_PIDFILE" ] && ! port_free "$SWTPM_PORT" && break
		sleep 0.05
	done
	TCTI="swtpm:port=$SWTPM_PORT"
	export TPM2TOOLS_TCTI=$TCTI
	echo "swtpm pid $(cat "$SWTPM_PIDFILE") on 127.0.0.1:$SWTPM_PORT"
}

# luks_image FILE KEYFILE: a 32 MiB LUKS2 file whose keyslot 0 opens with
# the bytes of KEYFILE (pbkdf2, 1000 iterations: fast).
luks_image() {
	truncate -s 32M "$1"
	cryptsetup luksFormat --batch-mode --type luks2 --pbkdf pbkdf2 --pbkdf-force-iterations 1000 \
		--key-file "$2" "$1" >/dev/null || fail "luksFormat $1"
}

# opens FILE KEYFILE: cryptsetup itself verifies that KEYFILE opens a keyslot.
opens() {
	cryptsetup open --test-passphrase --key-file "$2" "$1" >/dev/null 2>&1
}

# secret NAME VALUE: a 0600 key file without newline
secret() {
	(umask 077; printf '%s' "$2" >"$T/$1")
	echo "$T/$1"
}

pcr_value() { # pcr_value N: the sha256 value in hex, lower case
	tpm2_pcrread "sha256:$1" -o "$T/pcr.bin" >/dev/null && od -An -tx1 -v "$T/pcr.bin" | tr -d ' \n'
}

# systemd 252's tools leak sessions and objects on swtpm (no resource
# manager): clear them after each systemd call so later calls work.
tpm_flush_all() {
	tpm2_flushcontext -t >/dev/null 2>&1
	tpm2_flushcontext -l >/dev/null 2>&1
	tpm2_flushcontext -s >/dev/null 2>&1
	return 0
}

# tpm_reboot: what a power cycle does to the TPM: PCRs back to their reset
# values (PCR 15 zero), keys and NV kept.  Needs swtpm_start's control port.
tpm_reboot() {
	tpm_flush_all
	swtpm_ioctl --tcp "127.0.0.1:$((SWTPM_PORT + 1))" -i >/dev/null 2>&1 || fail "swtpm_ioctl -i (TPM reset)"
	tpm2_startup -c >/dev/null 2>&1 || fail "tpm2_startup -c after the TPM reset"
}
