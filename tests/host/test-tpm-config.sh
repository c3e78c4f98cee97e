#!/bin/bash
# The host file's tpm.* options take effect (issue 15 item 3) and a machine
# says when it is not yet protected (item 4), on swtpm and LUKS2 image files:
#  - tpm.pcrs = [7] with bind-pcr15 = false: `keystone tpm enroll --host`
#    makes a token whose policy binds PCR 7 alone (read back from the LUKS2
#    header), which systemd-cryptsetup unseals; with bind-pcr15 (default)
#    7+15; explicit --pcrs still wins;
#  - `keystone tpm banner` writes the console and motd banners naming the
#    fixing command while there is no TPM2 token / recovery key / while the
#    install secret is there, and removes them once protected;
#  - `keystone tpm enroll --auto` enrolls with the host's PCRs, prints the
#    recovery key once, removes the install secret's keyslot and erases the
#    install state's secret file; with tpm.enable = false it refuses.
set -u
. "$SRCDIR/tests/host/tpm-lib.sh"
tpm_need swtpm cryptsetup
swtpm_start

pw=$(secret install "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef")
host() { # host FILE TPM-LINES
	printf '[host]\nname = "tpm-config"\n\n[tpm]\n%s\n' "$2" >"$1"
}
token_pcrs() { # token_pcrs IMG: the tpm2-pcrs of its systemd-tpm2 token, as "7,15"
	for id in 0 1 2 3 4 5; do
		cryptsetup token export --token-id $id "$1" 2>/dev/null
	done | /usr/bin/python3 -c '
import json, sys
dec = json.JSONDecoder(); s = sys.stdin.read().strip(); i = 0
while i < len(s):
    t, j = dec.raw_decode(s, i); i = j
    while i < len(s) and s[i].isspace(): i += 1
    if t.get("type") == "systemd-tpm2": print(",".join(str(p) for p in t["tpm2-pcrs"]))'
}

# 1. tpm.pcrs = [7], bind-pcr15 = false: PCR 7 alone
host "$T/pcr7.toml" 'enable = true
pcrs = [7]
bind-pcr15 = false'
img=$T/pcr7.img
luks_image "$img" "$pw"
out=$("$KEYSTONE" tpm enroll "$img" --host="$T/pcr7.toml" --tpm2-device="$TCTI" --unlock-key-file="$pw" 2>&1) ||
	fail "enroll --host: $out"
echo "$out"
[ "$(token_pcrs "$img")" = 7 ] || fail "tpm.pcrs = [7] without PCR 15: the token binds $(token_pcrs "$img")"
"$KEYSTONE" tpm status "$img" --tpm2-device="$TCTI" | grep -Eq "^ +1  tpm2 +pbkdf2 +PCRs 7$" ||
	fail "status does not show keyslot 1 bound to PCR 7 alone"
ok "tpm.pcrs = [7], bind-pcr15 = false: the token binds PCR 7 alone"

CRYPTSETUP_BIN=/lib/systemd/systemd-cryptsetup
if [ -x $CRYPTSETUP_BIN ] && [ "$(id -u)" = 0 ]; then
	SYSTEMD_LOG_LEVEL=debug timeout 60 $CRYPTSETUP_BIN attach kscfg$$ "$img" - "tpm2-device=$TCTI,headless=1" \
		>"$T/attach.log" 2>&1 </dev/null
	tpm_flush_all
	grep -E "TPM2|PCR|unseal" "$T/attach.log"
	grep -q "Completed TPM2 key unsealing" "$T/attach.log" || fail "systemd-cryptsetup did not unseal the PCR 7 token"
	ok "systemd-cryptsetup unseals the PCR 7 token"
else
	echo "note: systemd-cryptsetup attach skipped (needs root and $CRYPTSETUP_BIN)"
fi

# 2. the default bind-pcr15 adds PCR 15; explicit options win over the host file
host "$T/pcr7-15.toml" 'enable = true
pcrs = [7]'
img2=$T/pcr7-15.img
luks_image "$img2" "$pw"
"$KEYSTONE" tpm enroll "$img2" --host="$T/pcr7-15.toml" --tpm2-device="$TCTI" --unlock-key-file="$pw" >/dev/null 2>&1 ||
	fail "enroll --host (bind-pcr15 default)"
[ "$(token_pcrs "$img2")" = 7,15 ] || fail "tpm.pcrs = [7] with bind-pcr15: $(token_pcrs "$img2")"
img3=$T/override.img
luks_image "$img3" "$pw"
"$KEYSTONE" tpm enroll "$img3" --host="$T/pcr7.toml" --pcrs=1+7 --pcr15 --tpm2-device="$TCTI" --unlock-key-file="$pw" \
	>/dev/null 2>&1 || fail "enroll --host --pcrs"
[ "$(token_pcrs "$img3")" = 1,7,15 ] || fail "--pcrs=1+7 --pcr15 over the host file: $(token_pcrs "$img3")"
img4=$T/nohost.img
luks_image "$img4" "$pw"
"$KEYSTONE" tpm enroll "$img4" --tpm2-device="$TCTI" --unlock-key-file="$pw" >/dev/null 2>&1 || fail "enroll"
[ "$(token_pcrs "$img4")" = 1,7,15 ] || fail "without a host file: $(token_pcrs "$img4")"
ok "bind-pcr15 adds PCR 15; --pcrs/--pcr15 win; no host file: 1+7+15"

# 3. the banner and --auto on a fresh credstore (install secret in keyslot 0)
cs=$T/credstore.img
luks_image "$cs" "$pw"
echo '{"type":"keystone-install-secret","keyslots":["0"]}' | cryptsetup token import "$cs" || fail "token import"
host "$T/machine.toml" 'enable = true
pcrs = [7]'
banner() {
	"$KEYSTONE" tpm banner "$cs" --host="$T/machine.toml" --issue-dir="$T/issue.d" --motd-dir="$T/motd.d" 2>&1
}
out=$(banner) || fail "banner: $out"
echo "$out"
for f in "$T/issue.d/keystone-protection.issue" "$T/motd.d/keystone-protection"; do
	[ -s "$f" ] || fail "no banner in $f"
	grep -q "NOT yet protected.*no TPM2 token.*no recovery key.*the install secret still opens it" "$f" ||
		fail "$f does not say what is missing: $(cat "$f")"
	grep -q "Fix it with: sudo keystone tpm enroll --auto" "$f" || fail "$f does not name the command"
done
ok "banner: not protected, names 'keystone tpm enroll --auto'"

cp "$pw" "$T/install-secret"
out=$("$KEYSTONE" tpm enroll --auto "$cs" --host="$T/machine.toml" --install-secret-file="$T/install-secret" \
	--tpm2-device="$TCTI" 2>"$T/auto.err") || fail "--auto: $out $(cat "$T/auto.err")"
echo "$out"; cat "$T/auto.err"
keys=$(grep -Ec '^([cbdefghijklnrtuv]{8}-){7}[cbdefghijklnrtuv]{8}$' <<<"$out")
[ "$keys" = 1 ] || fail "--auto printed $keys recovery keys, not one"
rk=$(secret rk "$(grep -E '^([cbdefghijklnrtuv]{8}-){7}[cbdefghijklnrtuv]{8}$' <<<"$out")")
grep -q "bound to PCRs 7+15" <<<"$out" || fail "--auto did not take tpm.pcrs from the host file: $out"
grep -q "Removed the install secret (keyslot 0)" <<<"$out" || fail "--auto did not remove the install secret: $out"
[ -e "$T/install-secret" ] && fail "--auto left the install state's secret file"
opens "$cs" "$pw" && fail "the install secret still opens the credstore after --auto"
opens "$cs" "$rk" || fail "the recovery key printed by --auto does not open the credstore"
"$KEYSTONE" tpm unlock "$cs" --test --tpm2-device="$TCTI" >/dev/null 2>&1 || fail "the TPM does not open it after --auto"
ok "--auto: TPM (PCRs 7+15) + recovery key printed once; install secret gone (keyslot and file)"

out=$(banner) || fail "banner: $out"
grep -q "^Protected" <<<"$out" || fail "banner after --auto: $out"
[ -e "$T/issue.d/keystone-protection.issue" ] || [ -e "$T/motd.d/keystone-protection" ] &&
	fail "the banner files were not removed once protected"
out=$("$KEYSTONE" tpm enroll --auto "$cs" --host="$T/machine.toml" --unlock-key-file="$rk" --tpm2-device="$TCTI" 2>&1) ||
	fail "--auto again: $out"
grep -q "has a TPM2 keyslot already" <<<"$out" && grep -q "has a recovery keyslot already" <<<"$out" ||
	fail "--auto on a protected credstore did not keep what is there: $out"
ok "banner removed once protected; --auto again changes nothing"

# 4. tpm.enable = false: --auto refuses, the banner asks for no TPM
host "$T/off.toml" 'enable = false'
off=$T/off.img
luks_image "$off" "$pw"
out=$("$KEYSTONE" tpm enroll --auto "$off" --host="$T/off.toml" --unlock-key-file="$pw" --tpm2-device="$TCTI" 2>&1); rc=$?
[ $rc = 1 ] && grep -q "tpm.enable = false" <<<"$out" || fail "--auto with tpm.enable = false: exit $rc: $out"
out=$("$KEYSTONE" tpm banner "$off" --host="$T/off.toml" --issue-dir="$T/i2" --motd-dir="$T/m2" 2>&1) || fail "banner: $out"
grep -q "no TPM2 token" "$T/i2/keystone-protection.issue" && fail "tpm.enable = false, yet the banner asks for a TPM"
grep -q "no recovery key" "$T/i2/keystone-protection.issue" || fail "banner with tpm.enable = false: $(cat "$T/i2/keystone-protection.issue")"
ok "tpm.enable = false: no TPM enrollment, the banner asks only for a recovery key"
echo "all tpm option checks passed"
