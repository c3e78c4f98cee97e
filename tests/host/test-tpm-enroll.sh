#!/bin/bash
# keystone tpm on swtpm and a LUKS2 image file: enroll -> unlock --test;
# a changed PCR 7 -> exit 1 naming PCR 7; PCR 15 measurement closes the TPM;
# status reports what changed.
set -u
. "$SRCDIR/tests/host/tpm-lib.sh"
tpm_need swtpm tpm2_pcrextend tpm2_pcrread cryptsetup
swtpm_start

img=$T/disk.img
pw=$(secret pw "correct horse battery staple")
luks_image "$img" "$pw"

out=$("$KEYSTONE" tpm enroll "$img" --tpm2-device="$TCTI" --unlock-key-file="$pw" 2>&1) || fail "enroll: $out"
echo "$out"
grep -q "bound to PCRs 1+7+15" <<<"$out" || fail "enroll did not bind 1+7+15: $out"

# The token is systemd's format: check each field with cryptsetup's own dump.
cryptsetup token export --token-id 0 "$img" >"$T/token.json" || fail "no token 0"
/usr/bin/python3 - "$T/token.json" <<'PY' || fail "token format"
import base64, json, struct, sys
t = json.load(open(sys.argv[1]))
assert t["type"] == "systemd-tpm2", t
assert t["keyslots"] == ["1"], t["keyslots"]
assert t["tpm2-pcrs"] == [1, 7, 15], t["tpm2-pcrs"]
assert t["tpm2-pcr-bank"] == "sha256" and t["tpm2-primary-alg"] == "ecc" and t["tpm2-pin"] is False
assert len(bytes.fromhex(t["tpm2-policy-hash"])) == 32
blob = base64.b64decode(t["tpm2-blob"], validate=True)
n = struct.unpack(">H", blob[:2])[0]; pub = blob[2 + n:]
m = struct.unpack(">H", pub[:2])[0]
assert len(pub) == 2 + m, "blob is not TPM2B_PRIVATE || TPM2B_PUBLIC"
assert struct.unpack(">H", pub[2:4])[0] == 0x0008, "sealed object is not KEYEDHASH"
assert "tpm2_srk" not in t, "no persistent SRK on a fresh swtpm"
v = t["keystone-pcr-values"]
assert sorted(v) == ["1", "15", "7"] and v["15"] == "00" * 32, v
print("token fields ok")
PY
ok "token in systemd-tpm2 format"

# The keyslot passphrase is the base64 of the secret; prove the keyslot opens
# and that nothing else (e.g. the password) was replaced.
out=$("$KEYSTONE" tpm unlock "$img" --test --tpm2-device="$TCTI" 2>&1) || fail "unlock --test: $out"
grep -q "opens keyslot 1" <<<"$out" || fail "unlock did not name keyslot 1: $out"
opens "$img" "$pw" || fail "password no longer opens"
ok "enroll -> unlock --test"

out=$("$KEYSTONE" tpm wipe "$img" --slot=password 2>&1); rc=$?
[ $rc = 1 ] && grep -q "only TPM2 keyslots would remain" <<<"$out" || fail "leaving only the TPM2 keyslot not refused (exit $rc): $out"
opens "$img" "$pw" || fail "refused wipe removed the password"
ok "wiping the password when only the TPM would remain is refused"

# Activation by NAME needs device-mapper; this host has none, so the
# message must say the unseal worked and what is missing.
if [ ! -e /dev/mapper/control ]; then
	out=$("$KEYSTONE" tpm unlock "$img" kstest$$ --tpm2-device="$TCTI" 2>&1); rc=$?
	[ $rc = 1 ] && grep -q "unsealed the key .* device-mapper is not available" <<<"$out" || fail "unlock NAME without dm: exit $rc: $out"
	grep -q "^Cannot" <<<"$out" && fail "libcryptsetup's own messages leak to stderr: $out"
	ok "unlock NAME without device-mapper explains itself"
fi

out=$("$KEYSTONE" tpm status "$img" --tpm2-device="$TCTI" 2>&1) || fail "status: $out"
echo "$out"
grep -q "current PCRs satisfy the policy" <<<"$out" || fail "status: policy not satisfied before PCR change"

# Unlock many times: swtpm has no resource manager; a leaked handle or
# session per run would exhaust it within three runs.
for i in 1 2 3 4 5; do
	"$KEYSTONE" tpm unlock "$img" --test --tpm2-device="$TCTI" >/dev/null 2>&1 || fail "unlock run $i failed (leaked TPM handles?)"
done
tpm2_getcap handles-transient | grep -q . && fail "transient objects left in the TPM"
tpm2_getcap handles-loaded-session | grep -q . && fail "sessions left in the TPM"
ok "no handle or session leaks after 7 runs"

before7=$(pcr_value 7)
tpm2_pcrextend "7:sha256=$(printf '%064x' 1)" || fail "pcrextend"
[ "$(pcr_value 7)" != "$before7" ] || fail "PCR 7 did not change"
out=$("$KEYSTONE" tpm unlock "$img" --test --tpm2-device="$TCTI" 2>&1)
rc=$?
echo "$out"
[ $rc = 1 ] || fail "unlock after PCR 7 change exited $rc, expected 1"
grep -q "PCR 7 changed" <<<"$out" || fail "refusal does not name PCR 7: $out"
grep -q "recovery key" <<<"$out" || fail "refusal does not mention the recovery key"
ok "PCR 7 changed -> exit 1 naming PCR 7"

# Refusals must not leak either.
for i in 1 2 3 4; do
	"$KEYSTONE" tpm unlock "$img" --test --tpm2-device="$TCTI" >/dev/null 2>&1 && fail "unlock succeeded after PCR 7 changed"
done
tpm2_getcap handles-transient | grep -q . && fail "transient objects left in the TPM after refusals"
tpm2_getcap handles-loaded-session | grep -q . && fail "sessions left in the TPM after refusals"
ok "no handle or session leaks after 5 refusals"

out=$("$KEYSTONE" tpm status "$img" --tpm2-device="$TCTI" 2>&1) || fail "status: $out"
grep -q "do NOT satisfy the policy: PCR 7 changed" <<<"$out" || fail "status does not name PCR 7: $out"
ok "status names PCR 7"

# Re-enrollment after an expected change: --replace leaves one TPM2 keyslot.
out=$("$KEYSTONE" tpm enroll "$img" --replace --tpm2-device="$TCTI" --unlock-key-file="$pw" 2>&1) || fail "re-enroll: $out"
grep -q "Wiped the previous TPM2 keyslot 1" <<<"$out" || fail "--replace did not wipe keyslot 1: $out"
[ "$(cryptsetup luksDump "$img" | grep -c '^  [0-9]*: systemd-tpm2')" = 1 ] || fail "--replace left more than one TPM2 token"
"$KEYSTONE" tpm unlock "$img" --test --tpm2-device="$TCTI" >/dev/null 2>&1 || fail "unlock after re-enroll"
ok "re-enroll --replace"

# PCR 15: a fresh enrollment (PCR 7 at its new value) unseals until the
# volume key is measured into PCR 15, then is refused naming PCR 15.
out=$("$KEYSTONE" tpm measure "$img" --tpm2-device="$TCTI" 2>&1) || fail "measure: $out"
[ "$(pcr_value 15)" != "$(printf '%064d' 0)" ] || fail "PCR 15 still zero after measure"
out=$("$KEYSTONE" tpm unlock "$img" --test --tpm2-device="$TCTI" 2>&1)
rc=$?
[ $rc = 1 ] && grep -q "PCR 15 changed" <<<"$out" || fail "after measure: exit $rc, $out"
ok "measure extends PCR 15 and the TPM then refuses, naming PCR 15"

# Enrolling while PCR 15 is extended warns that the token only unseals
# before PCR 15 is extended (early boot).
out=$("$KEYSTONE" tpm enroll "$img" --tpm2-device="$TCTI" --unlock-key-file="$pw" 2>&1) || fail "enroll with PCR 15 set: $out"
grep -q "PCR 15 is not zero now" <<<"$out" || fail "no warning about PCR 15: $out"
"$KEYSTONE" tpm wipe "$img" --slot=tpm2 >/dev/null || fail "wipe tpm2"

# --no-pcr15 binds only the listed PCRs.
"$KEYSTONE" tpm enroll "$img" --no-pcr15 --pcrs=7 --tpm2-device="$TCTI" --unlock-key-file="$pw" 2>&1 | grep -q "bound to PCRs 7 (sha256)." || fail "--no-pcr15 --pcrs=7"
"$KEYSTONE" tpm unlock "$img" --test --tpm2-device="$TCTI" >/dev/null 2>&1 || fail "unlock --no-pcr15 token with PCR 15 extended"
ok "--no-pcr15"

# The persistent-SRK form (systemd >= 255): --srk=persistent creates the SRK
# at 0x81000001 and stores its ESYS serialization as tpm2_srk; --srk=auto
# then uses it too.
img2=$T/srk.img
luks_image "$img2" "$pw"
"$KEYSTONE" tpm enroll "$img2" --srk=persistent --no-pcr15 --pcrs=7 --tpm2-device="$TCTI" --unlock-key-file="$pw" >/dev/null 2>&1 || fail "enroll --srk=persistent"
tpm2_getcap handles-persistent | grep -qi 0x81000001 || fail "no persistent SRK at 0x81000001"
cryptsetup token export --token-id 0 "$img2" >"$T/srk.json"
/usr/bin/python3 - "$T/srk.json" <<'PY' || fail "tpm2_srk form"
import base64, json, struct, sys
t = json.load(open(sys.argv[1]))
srk = base64.b64decode(t["tpm2_srk"], validate=True)
# ESYS serialization: TPM handle, TPM2B_NAME (sha256 name), resource type, TPM2B_PUBLIC
handle, nsize, nalg = struct.unpack(">IHH", srk[:8])
assert handle == 0x81000001 and nsize == 34 and nalg == 0x000b, (hex(handle), nsize, nalg)
assert t["tpm2-primary-alg"] == "ecc"
PY
"$KEYSTONE" tpm unlock "$img2" --test --tpm2-device="$TCTI" >/dev/null 2>&1 || fail "unlock a tpm2_srk token"
"$KEYSTONE" tpm status "$img2" --tpm2-device="$TCTI" | grep -q "persistent SRK" || fail "status does not show the SRK"
"$KEYSTONE" tpm enroll "$img2" --no-pcr15 --pcrs=7 --tpm2-device="$TCTI" --unlock-key-file="$pw" >/dev/null 2>&1 || fail "enroll --srk=auto"
cryptsetup token export --token-id 1 "$img2" | grep -q tpm2_srk || fail "--srk=auto ignored the persistent SRK"
# A different SRK (the TPM's owner hierarchy re-provisioned): refused by name
tpm2_evictcontrol -C o -c 0x81000001 >/dev/null 2>&1 || fail "evict SRK"
tpm2_createprimary -C o -G rsa2048 -c "$T/other.ctx" >/dev/null 2>&1 && tpm2_evictcontrol -C o -c "$T/other.ctx" 0x81000001 >/dev/null 2>&1 || fail "replace SRK"
tpm_flush_all
out=$("$KEYSTONE" tpm unlock "$img2" --test --tpm2-device="$TCTI" 2>&1); rc=$?
[ $rc = 1 ] && grep -q "storage root key that is no longer in the TPM" <<<"$out" || fail "replaced SRK: exit $rc: $out"
ok "persistent SRK form (tpm2_srk)"

# usage errors exit 2
"$KEYSTONE" tpm enroll "$img" --pcrs=1+99 >/dev/null 2>&1; [ $? = 2 ] || fail "--pcrs=1+99 not a usage error"
"$KEYSTONE" tpm unlock "$img" >/dev/null 2>&1; [ $? = 2 ] || fail "unlock without NAME or --test not a usage error"
ok "usage errors"
echo "all tpm enroll/unlock checks passed"
