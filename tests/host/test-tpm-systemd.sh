#!/bin/bash
# Interop with systemd (bookworm: systemd 252) on swtpm and LUKS2 files:
#  - a token made by systemd-cryptenroll is opened by keystone tpm unlock --test,
#    and keystone's software PolicyPCR digest equals systemd's policy hash;
#  - systemd-cryptsetup unseals a token made by keystone (it reports the
#    unseal completed; activation then fails only for lack of device-mapper),
#    and refuses it after PCR 7 changes.
set -u
. "$SRCDIR/tests/host/tpm-lib.sh"
tpm_need swtpm tpm2_pcrextend cryptsetup systemd-cryptenroll
CRYPTSETUP_BIN=/lib/systemd/systemd-cryptsetup
[ -x $CRYPTSETUP_BIN ] || tpm_skip "$CRYPTSETUP_BIN is missing"
[ "$(id -u)" = 0 ] || tpm_skip "systemd-cryptsetup attach needs root"
swtpm_start

pw=$(secret pw "interop password")

# 1. systemd enrolls, keystone unlocks
sd=$T/systemd.img
luks_image "$sd" "$pw"
systemd-cryptenroll --unlock-key-file="$pw" --tpm2-device="$TCTI" --tpm2-pcrs=1+7 "$sd" >"$T/enroll.log" 2>&1 ||
	fail "systemd-cryptenroll: $(cat "$T/enroll.log")"
tpm_flush_all # systemd 252 leaks on swtpm
cryptsetup token export --token-id 0 "$sd" | grep -q '"systemd-tpm2"' || fail "systemd-cryptenroll made no token"
out=$("$KEYSTONE" tpm unlock "$sd" --test --tpm2-device="$TCTI" 2>&1) || fail "keystone cannot open systemd's token: $out"
echo "$out"
grep -q "opens keyslot 1" <<<"$out" || fail "unexpected: $out"
out=$("$KEYSTONE" tpm status "$sd" --tpm2-device="$TCTI" 2>&1) || fail "status: $out"
grep -q "current PCRs satisfy the policy" <<<"$out" || fail "keystone's PolicyPCR digest differs from systemd's: $out"
ok "systemd-cryptenroll token opened by keystone; policy digests agree"

# 1b. systemd enrolls with a TPM2 PIN (systemd 252: authValue = SHA256(PIN)):
# the right PIN on stdin opens it, a wrong one is refused as a wrong PIN.
pinimg=$T/pin.img
luks_image "$pinimg" "$pw"
NEWPIN=2468 systemd-cryptenroll --unlock-key-file="$pw" --tpm2-device="$TCTI" --tpm2-pcrs=7 --tpm2-with-pin=yes "$pinimg" >"$T/enroll-pin.log" 2>&1 </dev/null ||
	fail "systemd-cryptenroll --tpm2-with-pin: $(cat "$T/enroll-pin.log")"
tpm_flush_all
out=$(echo 2468 | "$KEYSTONE" tpm unlock "$pinimg" --test --tpm2-device="$TCTI" 2>&1) || fail "PIN token with the right PIN: $out"
"$KEYSTONE" tpm status "$pinimg" --tpm2-device="$TCTI" | grep -q "current PCRs satisfy the policy" || fail "status: PIN policy digest differs from systemd's"
out=$(echo 1357 | "$KEYSTONE" tpm unlock "$pinimg" --test --tpm2-device="$TCTI" 2>&1); rc=$?
[ $rc = 1 ] && grep -q "wrong TPM2 PIN" <<<"$out" || fail "wrong PIN: exit $rc: $out"
out=$("$KEYSTONE" tpm unlock "$pinimg" --test --tpm2-device="$TCTI" 2>&1 </dev/null); rc=$?
[ $rc = 1 ] && grep -q "needs a PIN" <<<"$out" || fail "no PIN: exit $rc: $out"
ok "systemd-cryptenroll PIN token: right PIN opens, wrong PIN refused"

# 2. keystone enrolls, systemd-cryptsetup unseals
ks=$T/keystone.img
luks_image "$ks" "$pw"
"$KEYSTONE" tpm enroll "$ks" --tpm2-device="$TCTI" --unlock-key-file="$pw" >/dev/null 2>&1 || fail "keystone enroll"
name=kst$$
# systemd-cryptsetup reports its unseal at debug level; without
# device-mapper, activation then fails ("Operation not supported").
attach() {
	SYSTEMD_LOG_LEVEL=debug timeout 60 $CRYPTSETUP_BIN attach "$name" "$ks" - "tpm2-device=$TCTI,headless=1" >"$1" 2>&1 </dev/null
	tpm_flush_all
	grep -E "TPM2|PCR|policy|unseal|activate" "$1"
}
attach "$T/attach.log"
grep -q "Completed TPM2 key unsealing" "$T/attach.log" || fail "systemd-cryptsetup did not unseal keystone's token"
policy=$(cryptsetup token export --token-id 0 "$ks" | /usr/bin/python3 -c 'import json,sys; print(json.load(sys.stdin)["tpm2-policy-hash"])')
grep -q "Session policy digest: $policy" "$T/attach.log" || fail "systemd's session digest is not the token's policy hash $policy"
grep -q "Failed to unseal" "$T/attach.log" && fail "systemd-cryptsetup failed to unseal"
ok "systemd-cryptsetup unseals keystone's token"

# ... and refuses it once PCR 7 changes (a test that can fail the other way)
tpm2_pcrextend "7:sha256=$(printf '%064x' 7)" || fail "pcrextend"
attach "$T/attach2.log"
grep -q "Completed TPM2 key unsealing" "$T/attach2.log" && fail "systemd-cryptsetup unsealed after PCR 7 changed"
out=$("$KEYSTONE" tpm unlock "$sd" --test --tpm2-device="$TCTI" 2>&1); rc=$?
[ $rc = 1 ] && grep -q "PCRs 1+7 no longer hold" <<<"$out" || fail "systemd token after PCR 7 change: exit $rc: $out"
ok "after PCR 7 changes both refuse"
echo "all systemd interop checks passed"
