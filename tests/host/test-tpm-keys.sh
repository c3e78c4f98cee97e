#!/bin/bash
# keystone tpm recovery / password / wipe on a LUKS2 image file (no TPM
# needed): the recovery key opens the volume (checked by cryptsetup), a
# wrong one does not; a password change takes effect and the old password
# stops working; wiping the last way in is refused.
set -u
. "$SRCDIR/tests/host/tpm-lib.sh"
tpm_need cryptsetup

img=$T/disk.img
pw=$(secret pw "old password")
luks_image "$img" "$pw"

# recovery: the key is printed once on stdout, in systemd's format
"$KEYSTONE" tpm recovery "$img" --unlock-key-file="$pw" >"$T/recovery.out" 2>"$T/recovery.err" || fail "recovery: $(cat "$T/recovery.err")"
key=$(cat "$T/recovery.out")
[[ $key =~ ^[cbdefghijklnrtuv]{8}(-[cbdefghijklnrtuv]{8}){7}$ ]] || fail "recovery key not 8 groups of 8 modhex letters: $key"
grep -q "$key" "$T/recovery.err" && fail "recovery key also on stderr"
rk=$(secret rk "$key")
opens "$img" "$rk" || fail "cryptsetup does not open the volume with the recovery key"
cryptsetup token export --token-id 0 "$img" | grep -q '"type":"systemd-recovery"' || fail "no systemd-recovery token"
# a wrong key of the right shape (one letter changed) does not open it
if [ "${key:0:1}" = c ]; then first=b; else first=c; fi
wrong=$(secret wrong "$first${key:1}")
opens "$img" "$wrong" && fail "a wrong recovery key opens the volume"
out=$("$KEYSTONE" tpm recovery "$img" --unlock-key-file="$wrong" 2>&1); rc=$?
[ $rc = 1 ] || fail "keystone accepted a wrong recovery key (exit $rc): $out"
# typed in upper case without dashes, it still unlocks keystone's prompt
upper=$(tr -d - <<<"$key" | tr a-z A-Z)
echo "$upper" | "$KEYSTONE" tpm recovery "$img" >/dev/null 2>&1 || fail "normalised recovery key refused"
ok "recovery key opens, wrong one does not"

# password change: new works, old stops working, recovery keys stay
new=$(secret new "a new password")
out=$("$KEYSTONE" tpm password "$img" --unlock-key-file="$pw" --new-key-file="$new" --pbkdf=minimal 2>&1) || fail "password: $out"
grep -q "old password no longer works" <<<"$out" || fail "password: $out"
opens "$img" "$new" || fail "new password does not open"
opens "$img" "$pw" && fail "old password still opens"
opens "$img" "$rk" || fail "recovery key lost by the password change"
# through stdin: current on the first line, new on the second
newer=$(secret newer "newer password")
printf '%s\n%s\n' "a new password" "newer password" | "$KEYSTONE" tpm password "$img" --pbkdf=minimal >/dev/null 2>&1 || fail "password via stdin"
opens "$img" "$newer" || fail "stdin password does not open"
opens "$img" "$new" && fail "previous password still opens after the stdin change"
ok "password change takes effect, old one stops working"

# wipe: refuse the last way in
"$KEYSTONE" tpm wipe "$img" --slot=recovery >/dev/null || fail "wipe recovery"
opens "$img" "$rk" && fail "wiped recovery key still opens"
cryptsetup luksDump "$img" | grep -q systemd-recovery && fail "the recovery token outlived its keyslot"
out=$("$KEYSTONE" tpm wipe "$img" --slot=password 2>&1); rc=$?
[ $rc = 1 ] && grep -q "no way in would remain" <<<"$out" || fail "wiping the last keyslot not refused (exit $rc): $out"
opens "$img" "$newer" || fail "refused wipe still removed the password"
slot=$(cryptsetup luksDump "$img" | awk '/^Keyslots:/{k=1} k && /^ +[0-9]+: luks2/{print $1+0; exit}')
out=$("$KEYSTONE" tpm wipe "$img" --slot="$slot" --force 2>&1); rc=$?
[ $rc = 1 ] || fail "wiping the last keyslot by number with --force not refused (exit $rc): $out"
ok "wiping the last way in is refused"

# usage errors
"$KEYSTONE" tpm wipe "$img" >/dev/null 2>&1; [ $? = 2 ] || fail "wipe without --slot"
"$KEYSTONE" tpm wipe "$img" --slot=99 >/dev/null 2>&1; [ $? = 2 ] || fail "wipe --slot=99"
"$KEYSTONE" tpm frobnicate >/dev/null 2>&1; [ $? = 2 ] || fail "unknown method"
"$KEYSTONE" tpm status "$T/nonexistent" --no-tpm >/dev/null 2>&1; [ $? = 1 ] || fail "status on a missing file"
ok "usage errors"
echo "all recovery/password/wipe checks passed"
