#!/bin/bash
# The install secret's keyslot on a LUKS2 image file with swtpm (issue 15
# item 2, issue 16 item 6):
#  - `tpm status` names each keyslot (install-secret, tpm2 with its PCRs,
#    recovery) and warns while the install secret is enrolled;
#  - removing it is refused until a TPM2 and a recovery keyslot exist, then
#    it is gone from the header (read again) and the secret opens nothing,
#    while the recovery key and the TPM still do;
#  - `tpm status` on a missing path, a truncated header and a damaged
#    primary header says which.
set -u
. "$SRCDIR/tests/host/tpm-lib.sh"
tpm_need swtpm cryptsetup
swtpm_start

img=$T/credstore.img
pw=$(secret install "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef")
luks_image "$img" "$pw"
# what keystone disk apply's credstore_format writes (tests/unit/test-luks.c
# checks that it does)
echo '{"type":"keystone-install-secret","keyslots":["0"]}' | cryptsetup token import "$img" ||
	fail "token import"

out=$("$KEYSTONE" tpm status "$img" --no-tpm 2>&1) || fail "status: $out"
echo "$out"
grep -Eq "^ +0  install-secret " <<<"$out" || fail "keyslot 0 not shown as the install secret: $out"
grep -q "still holds the install secret" <<<"$out" || fail "no warning about the install secret: $out"

out=$("$KEYSTONE" tpm wipe "$img" --slot=install-secret 2>&1); rc=$?
[ $rc = 1 ] && grep -q "Refusing to remove the install secret.*neither does" <<<"$out" ||
	fail "removing the only way in was not refused (exit $rc): $out"
opens "$img" "$pw" || fail "the refused wipe removed the install secret"
ok "install secret shown, warned about, and kept while it is the only way in"

"$KEYSTONE" tpm enroll "$img" --tpm2-device="$TCTI" --unlock-key-file="$pw" >/dev/null 2>&1 || fail "enroll"
out=$("$KEYSTONE" tpm wipe "$img" --slot=install-secret 2>&1); rc=$?
[ $rc = 1 ] && grep -q "no recovery keyslot yet" <<<"$out" || fail "removal without a recovery key: exit $rc: $out"
"$KEYSTONE" tpm recovery "$img" --unlock-key-file="$pw" >"$T/rk" 2>/dev/null || fail "recovery"
rk=$(secret rk "$(cat "$T/rk")")
out=$("$KEYSTONE" tpm wipe "$img" --slot=install-secret 2>&1) || fail "wipe install-secret: $out"
grep -q "Wiped keyslot 0 (install-secret)" <<<"$out" || fail "unexpected: $out"
opens "$img" "$pw" && fail "the install secret still opens the volume"
cryptsetup token export --token-id 0 "$img" 2>/dev/null | grep -q keystone-install-secret &&
	fail "the install-secret token survived"
opens "$img" "$rk" || fail "the recovery key does not open the volume"
out=$("$KEYSTONE" tpm unlock "$img" --test --tpm2-device="$TCTI" 2>&1) || fail "the TPM no longer opens: $out"
out=$("$KEYSTONE" tpm status "$img" --no-tpm --key-file="$pw" 2>&1); rc=$?
[ $rc = 1 ] && grep -q "opens no keyslot" <<<"$out" || fail "status --key-file with the removed secret: exit $rc: $out"
out=$("$KEYSTONE" tpm status "$img" --no-tpm --key-file="$rk" 2>&1) || fail "status --key-file recovery: $out"
grep -q "opens keyslot 2 (recovery)" <<<"$out" || fail "status --key-file recovery: $out"
ok "install secret removed: it opens nothing; the recovery key and the TPM do"

out=$("$KEYSTONE" tpm status "$img" --tpm2-device="$TCTI" 2>&1) || fail "status: $out"
echo "$out"
slots=$(sed -n '/^Keyslots:/,/^Tokens:/p' <<<"$out" | grep -E '^ +[0-9]+ ' | awk '{print $2, $4, $5}')
[ "$slots" = "tpm2 PCRs 1+7+15
recovery  " ] || fail "keyslots are not exactly tpm2 (1+7+15) and recovery: '$slots'"
grep -q "install secret" <<<"$out" && fail "still warns about an install secret: $out"
ok "status shows exactly the tpm2 (PCRs 1+7+15) and recovery keyslots"

# messages for what is not a (whole) LUKS2 header
out=$("$KEYSTONE" tpm status "$T/missing.img" --no-tpm 2>&1); rc=$?
[ $rc = 1 ] && grep -q "no such file" <<<"$out" || fail "missing path: exit $rc: $out"
grep -qi "block device required" <<<"$out" && fail "missing path still says 'Block device required': $out"
head -c 3000 "$img" >"$T/short.img"
out=$("$KEYSTONE" tpm status "$T/short.img" --no-tpm 2>&1); rc=$?
[ $rc = 1 ] && grep -q "not a LUKS2 volume or truncated" <<<"$out" || fail "truncated header: exit $rc: $out"
grep -qi "input/output error" <<<"$out" && fail "truncated header still says 'Input/output error': $out"
ok "missing path and truncated header named as such"

# a damaged primary header: libcryptsetup opens the backup; status says so
cp "$img" "$T/bad.img"
printf 'XXXX' | dd of="$T/bad.img" bs=1 seek=5000 conv=notrunc status=none # in the primary's JSON area
out=$("$KEYSTONE" tpm status "$T/bad.img" --no-tpm 2>&1) || fail "status of a damaged primary: $out"
echo "$out"
grep -q "primary LUKS2 header of .* is damaged (bad checksum): the backup copy at offset 16384 is used" <<<"$out" ||
	fail "damaged primary header not reported: $out"
out=$("$KEYSTONE" tpm status "$img" --no-tpm 2>&1)
grep -q "damaged" <<<"$out" && fail "an intact header reported damaged: $out"
cp "$img" "$T/bad2.img"
printf 'XXXX' | dd of="$T/bad2.img" bs=1 seek=$((16384 + 5000)) conv=notrunc status=none
out=$("$KEYSTONE" tpm status "$T/bad2.img" --no-tpm 2>&1) || fail "status of a damaged backup: $out"
grep -q "backup (secondary) LUKS2 header of .* is damaged (bad checksum)" <<<"$out" || fail "damaged backup not reported: $out"
ok "a damaged primary or backup header is reported"
echo "all install-secret and header checks passed"
