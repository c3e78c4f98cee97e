#!/bin/bash
# keystone-init's eight steps in a dry run against a fake root: fake zpool
# and zfs in PATH, a fake /sys/block with two zvols, the credstore a real
# LUKS2 image file, and a real TPM (swtpm) for the unseal and PCR 15.
# Shows: TPM unlock; PCR 15 extended so a second boot in the same TPM state
# is refused with the reason and falls back to the password prompt (wrong
# then right); 3 wrong passwords halt; a dataset outside the encryption
# root halts naming it; a missing generation or a bad command line halts
# with the reason; every stop before a shell or a halt (a failed import, a
# bad command line) extends PCR 15 first, and when it cannot, no shell.
# Unlocking over SSH (keystone.initrd-ssh): the network and sshd planned
# (always: first; auto: only once the TPM refused), the secret taken over
# the real socket from `keystone-init --unlock`, sshd stopped and the
# network down before switch_root; a missing key refused, the console
# still unlocking.
set -u
. "$SRCDIR/tests/host/tpm-lib.sh"
tpm_need swtpm swtpm_ioctl tpm2_startup tpm2_pcrread cryptsetup
INIT=${KEYSTONE_INIT:-$BUILD/asan/keystone-init}
[ -x "$INIT" ] || fail "$INIT not built"
swtpm_start

R=$T/root
mkdir -p "$R/proc" "$R/dev" "$R/sys/block/zd0" "$R/sys/block/zd16" "$R/sysroot/sbin" "$R/etc/keystone-init" "$T/bin"
echo "230:0" >"$R/sys/block/zd0/dev"
echo "rpool/other" >"$R/sys/block/zd0/keystone-zvol-name"
echo "230:16" >"$R/sys/block/zd16/dev"
echo "rpool/credstore" >"$R/sys/block/zd16/keystone-zvol-name"
: >"$R/dev/zd0"
printf '#!/bin/sh\n' >"$R/sysroot/sbin/init"; chmod +x "$R/sysroot/sbin/init"
pw=$(secret pw "credstore password")
luks_image "$R/dev/zd16" "$pw"
"$KEYSTONE" tpm enroll "$R/dev/zd16" --tpm2-device="$TCTI" --unlock-key-file="$pw" >/dev/null 2>&1 \
	|| fail "keystone tpm enroll"
echo "BOOT_IMAGE=/vmlinuz-6.12 quiet keystone.generation=3 keystone.tpm2-device=$TCTI" >"$R/proc/cmdline"

# fake zpool / zfs: log their argv, answer from files in $T
cat >"$T/bin/zpool" <<'SH'
#!/bin/sh
echo "zpool $*" >>"$FAKE/cmds.log"
case "$1" in
list) [ -e "$FAKE/imported" ] && { echo rpool; exit 0; }; echo "cannot open 'rpool': no such pool" >&2; exit 1 ;;
import) [ -e "$FAKE/import-fails" ] && { echo "cannot import 'rpool': no such pool available" >&2; exit 1; }
	touch "$FAKE/imported"; env | grep -E '^(ZPOOL_IMPORT_UDEV_TIMEOUT_MS|ZFS_VDEV_DEVID_OPT_OUT)=' | sort >"$FAKE/import.env"; exit 0 ;;
esac
exit 2
SH
cat >"$T/bin/zfs" <<'SH'
#!/bin/sh
echo "zfs $*" >>"$FAKE/cmds.log"
case "$1" in
get) echo unavailable ;;
load-key) [ "$3" = "file://$FAKE/root/etc/credstore/zfs-sysroot.mount" ] && [ "$4" = rpool/crypt ] || exit 1 ;;
list) cat "$FAKE/zfs-list" ;;
*) exit 2 ;;
esac
SH
chmod +x "$T/bin/zpool" "$T/bin/zfs"
export FAKE=$T PATH=$T/bin:$PATH
tab=$(printf '\t')
listing() { # NAME MOUNTPOINT CANMOUNT ENCRYPTIONROOT lines, spaces -> tabs
	sed "s/ /$tab/g" >"$T/zfs-list"
}
listing <<'EOF2'
rpool none on -
rpool/crypt none on rpool/crypt
rpool/crypt/home /home on rpool/crypt
rpool/crypt/system none on rpool/crypt
rpool/crypt/system/generations none on rpool/crypt
rpool/crypt/system/generations/2 / noauto rpool/crypt
rpool/crypt/system/generations/3 / noauto rpool/crypt
rpool/crypt/system/var /var on rpool/crypt
rpool/crypt/system/var/log /var/log on rpool/crypt
EOF2

boot() { # boot STDIN-TEXT: runs keystone-init, output in $T/out, returns its status
	rm -f "$T/imported" "$T/cmds.log"
	printf '%s' "$1" | "$INIT" --root="$R" --dry-run >"$T/out" 2>&1
}

pcr15_before=$(pcr_value 15)
[ "$pcr15_before" = "$(printf '0%.0s' $(seq 64))" ] || fail "PCR 15 not zero at the start"

# 1: the TPM unseals; all eight steps pass; mounts in order
boot "" || { cat "$T/out"; fail "first boot failed"; }
cat "$T/out"
for i in 1 2 3 4 5 6 7 8; do
	grep -q "^\[ $i/8\] .* ok ([0-9.]* s)" "$T/out" || [ $i = 8 ] || fail "step $i not ok"
done
grep -q "^\[ 2/8\] cryptsetup-credstore ... ok .*opened with TPM2 token 0" "$T/out" || fail "not opened by the TPM"
grep -q "credstore rpool/credstore is /dev/zd16" "$T/out" || fail "zvol discovery did not pick zd16"
grep -q "zpool import -N -d $R/dev rpool" "$T/cmds.log" || fail "import argv"
# no udev in the initrd: zpool must not wait for it (3 s per device under TCG)
[ "$(cat "$T/import.env")" = "$(printf 'ZFS_VDEV_DEVID_OPT_OUT=YES\nZPOOL_IMPORT_UDEV_TIMEOUT_MS=0')" ] \
	|| fail "zpool import's environment: $(cat "$T/import.env")"
grep -q "zpool list" "$T/cmds.log" && fail "asked zpool whether the pool is imported (the kstat directory says it)"
grep -q "zfs load-key -L file://$R/etc/credstore/zfs-sysroot.mount rpool/crypt" "$T/cmds.log" || fail "load-key argv"
mounts=$(grep -o "mount rpool/[^ ]* on [^ ]*" "$T/out" | tr '\n' ';')
[ "$mounts" = "mount rpool/crypt/system/generations/3 on $R/sysroot;mount rpool/crypt/home on $R/sysroot/home;mount rpool/crypt/system/var on $R/sysroot/var;mount rpool/crypt/system/var/log on $R/sysroot/var/log;" ] \
	|| fail "mount order: $mounts"
grep -q "umount $R/etc/credstore" "$T/out" && grep -q "close /dev/mapper/keystone-credstore" "$T/out" \
	|| fail "credstore not closed"
grep -q "switch_root to $R/sysroot and exec /sbin/init" "$T/out" || fail "no switch_root"
[ "$(pcr_value 15)" != "$pcr15_before" ] || fail "PCR 15 was not extended"
ok "TPM unlock, eight steps, PCR 15 extended"

# 2: same boot (PCR 15 no longer zero): the TPM refuses and says why; wrong, then right password
boot "$(printf 'wrong\ncredstore password\n')" || { cat "$T/out"; fail "password fallback failed"; }
cat "$T/out"
grep -q "The TPM did not unlock the credstore: PCR 15 is no longer zero" "$T/out" || fail "reason not shown"
grep -q "Wrong password or recovery key" "$T/out" || fail "wrong password not reported"
grep -q "opened with password or recovery key, try 2" "$T/out" || fail "second try not accepted"
ok "TPM refusal names PCR 15; password accepted on try 2"

# 3: three wrong passwords: step 2 fails, the machine would halt
boot "$(printf 'a\nb\nc\ncredstore password\n')" && fail "3 wrong passwords accepted"
cat "$T/out"
grep -q "^\[ 2/8\] cryptsetup-credstore ... FAILED" "$T/out" || fail "step 2 did not fail"
grep -q "none of the 3 passwords or recovery keys typed was right" "$T/out" || fail "no 3-tries message"
grep -q "would halt" "$T/out" || fail "no halt"
grep -q "^\[ 3/8\]" "$T/out" && fail "went on after a fatal step"
ok "3 wrong passwords halt"

# 3b: tpm.enable = false (keystone.tpm=0): the TPM is not asked, the password opens
cp "$R/proc/cmdline" "$T/cmdline.saved"
sed -i 's/$/ keystone.tpm=0/' "$R/proc/cmdline"
boot "$(printf 'credstore password\n')" || { cat "$T/out"; fail "keystone.tpm=0 boot failed"; }
grep -q "The TPM did not unlock the credstore: the host file turns the TPM off (tpm.enable = false" "$T/out" ||
	{ cat "$T/out"; fail "keystone.tpm=0: the TPM was not left out"; }
grep -q "opened with password or recovery key, try 1" "$T/out" || fail "keystone.tpm=0: password not accepted"
cp "$T/cmdline.saved" "$R/proc/cmdline"
ok "keystone.tpm=0: no TPM, the password opens"

# 4: a dataset outside the encryption root is refused by name
cp "$T/zfs-list" "$T/zfs-list.good"
printf 'rpool/planted\t/var/lib/keystone\ton\t-\n' >>"$T/zfs-list"
pcr15=$(pcr_value 15)
boot "$(printf 'credstore password\n')" && fail "foreign dataset accepted"
cat "$T/out"
grep -q "^\[ 5/8\] check-encryptionroot ... FAILED" "$T/out" || fail "step 5 did not fail"
grep -q "refusing to mount rpool/planted on /var/lib/keystone: its encryptionroot is none (not encrypted), not rpool/crypt" \
	"$T/out" || fail "refusal message"
grep -q "mount rpool/crypt" "$T/out" && fail "mounted something despite the refusal"
grep -q "PCR 15 extended: the TPM will not unseal the credstore again" "$T/out" || fail "no PCR 15 after failure"
[ "$(pcr_value 15)" != "$pcr15" ] || fail "PCR 15 not extended after the failure"
cp "$T/zfs-list.good" "$T/zfs-list"
ok "unencrypted dataset refused"

# 5: a generation that does not exist
sed -i 's/keystone.generation=3/keystone.generation=9/' "$R/proc/cmdline"
boot "$(printf 'credstore password\n')" && fail "missing generation accepted"
grep -q "the generation rpool/crypt/system/generations/9 does not exist in the pool (generations there: 2, 3)" \
	"$T/out" || { cat "$T/out"; fail "missing generation message"; }
ok "missing generation named"

# 6: a bad command line stops before anything runs
sed -i 's/keystone.generation=9/keystone.emergency=maybe keystone.generation=3/' "$R/proc/cmdline"
boot "" && fail "bad command line accepted"
grep -q "keystone.emergency=maybe: expected 'halt' or 'shell'" "$T/out" || { cat "$T/out"; fail "bad value message"; }
[ -e "$T/cmds.log" ] && fail "ran commands despite a bad command line"
ok "bad command line refused"

# 7: a token sealed with a TPM2 PIN (systemd-cryptenroll --tpm2-with-pin, PCR 7):
# wrong PIN, then the right one; then three wrong PINs fall back to the password
if command -v systemd-cryptenroll >/dev/null; then
	sed -i 's/keystone.emergency=maybe //' "$R/proc/cmdline"
	luks_image "$R/dev/zd16" "$pw"
	NEWPIN=2468 systemd-cryptenroll --unlock-key-file="$pw" --tpm2-device="$TCTI" --tpm2-pcrs=7 \
		--tpm2-with-pin=yes "$R/dev/zd16" >"$T/enroll-pin.log" 2>&1 </dev/null || fail "enroll with PIN"
	tpm_flush_all
	boot "$(printf '1357\n2468\n')" || { cat "$T/out"; fail "PIN token with the right PIN"; }
	cat "$T/out"
	grep -q "The credstore's TPM2 token 0 needs its PIN" "$T/out" && grep -q "Wrong TPM2 PIN" "$T/out" \
		&& grep -q "opened with TPM2 token 0 and its PIN" "$T/out" || fail "PIN flow"
	tpm_flush_all
	boot "$(printf '1\n2\n3\ncredstore password\n')" || { cat "$T/out"; fail "password after 3 wrong PINs"; }
	cat "$T/out"
	grep -q "opened with password or recovery key, try 1" "$T/out" || fail "no password fallback after PINs"
	grep -q "The TPM did not unlock the credstore: the TPM is in dictionary-attack lockout\|the TPM2 PIN of token 0 was wrong" \
		"$T/out" || fail "no reason after 3 wrong PINs"
	ok "TPM2 PIN: wrong then right; three wrong fall back to the password"
fi

# 9: a pool already imported (its kstat directory exists) is not imported again
sed -i 's/ keystone.tpm2-device=[^ ]*//' "$R/proc/cmdline"
mkdir -p "$R/proc/spl/kstat/zfs/rpool"
boot "$(printf 'credstore password\n')" || { cat "$T/out"; fail "boot with the pool already imported"; }
grep -q "^\[ 1/8\] import-rpool-bare ... ok .*already imported, credstore rpool/credstore is /dev/zd16" "$T/out" \
	|| { cat "$T/out"; fail "already imported pool not recognised"; }
grep -q "zpool import" "$T/cmds.log" && fail "imported a pool that was already imported"
rmdir "$R/proc/spl/kstat/zfs/rpool"
ok "an imported pool is not imported again"

# 12: unlocking over SSH in the initrd (keystone.initrd-ssh): the network
# and sshd planned with the host's initrd key, the secret taken from
# `keystone-init --unlock` through the socket for real (wrong, then right)
# while the console waits, and sshd stopped and the network taken down
# before switch_root; a missing key is refused and the console still works
mkdir -p "$R/sys/class/net/lo" "$R/sys/class/net/eth0" "$R/etc/keystone-initrd"
ssh-keygen -q -t ed25519 -N '' -C initrd -f "$R/etc/keystone-initrd/ssh_host_ed25519_key"
cp "$R/etc/keystone-initrd/ssh_host_ed25519_key.pub" "$R/etc/keystone-initrd/authorized_keys"
net="keystone.initrd-ssh.address=192.0.2.7/24 keystone.initrd-ssh.gateway=192.0.2.1"
line_of() { grep -nF -- "$1" "$T/out" | head -1 | cut -d: -f1; }

echo "keystone.generation=3 keystone.initrd-ssh=always $net" >"$R/proc/cmdline"
boot "$(printf 'credstore password\n')" || { cat "$T/out"; fail "initrd-ssh=always boot"; }
cat "$T/out"
for want in "[keystone-init] initrd-ssh network ... ok" "(dry run) ip address add 192.0.2.7/24 dev eth0" \
	"(dry run) ip route add default via 192.0.2.1 dev eth0" \
	"(dry run) /usr/sbin/sshd -D -e -f /run/keystone-init/sshd_config" \
	"[keystone-init] initrd-ssh sshd ... ok" "root@192.0.2.7 by key only" \
	"unlock with: ssh -t root@192.0.2.7 keystone-init --unlock" \
	"Or over SSH: ssh -t root@192.0.2.7 keystone-init --unlock" \
	"(dry run) ip address flush dev eth0" "(dry run) ip link set dev eth0 down" \
	"[keystone-init] initrd-ssh stop ... ok" "opened with password or recovery key, try 1"; do
	grep -qF -- "$want" "$T/out" || fail "initrd-ssh=always lacks: $want"
done
# always: before step 1; stopped before switch_root
[ "$(line_of "initrd-ssh sshd ... ok")" -lt "$(line_of "[ 1/8]")" ] || fail "always: sshd not started first"
[ "$(line_of "initrd-ssh stop ... ok")" -lt "$(line_of "switch_root to")" ] || fail "sshd not stopped before switch_root"
[ -e "$R/run/keystone-init/sshd_config" ] && fail "sshd_config left in /run for the real system"
[ -e "$R/run/keystone-init" ] && fail "/run/keystone-init left for the real system"
grep -q "credstore password" "$T/out" && fail "the secret appeared on the console"
ok "initrd-ssh=always: network and sshd before step 1, stopped before switch_root"

# auto: only once the TPM did not unlock, inside step 2; the secret over SSH
echo "keystone.generation=3 keystone.initrd-ssh=auto $net" >"$R/proc/cmdline"
rm -f "$T/imported" "$T/cmds.log" "$T/console"
mkfifo "$T/console"
sleep 60 >"$T/console" &	# the console: open, nobody types
hold=$!
"$INIT" --root="$R" --dry-run <"$T/console" >"$T/out" 2>&1 &
init=$!
for _ in $(seq 300); do [ -S "$R/run/keystone-init/unlock.sock" ] && break; sleep 0.1; done
[ -S "$R/run/keystone-init/unlock.sock" ] || { cat "$T/out"; fail "no unlock socket"; }
[ "$(stat -c %a "$R/run/keystone-init")" = 700 ] || fail "/run/keystone-init is not 0700"
[ "$(stat -c %a "$R/run/keystone-init/unlock.sock")" = 600 ] || fail "the socket is not 0600"
[ "$(stat -c %a "$R/run/keystone-init/sshd_config")" = 600 ] || fail "sshd_config is not 0600"
for want in "HostKey /etc/keystone-initrd/ssh_host_ed25519_key" \
	"AuthorizedKeysFile /etc/keystone-initrd/authorized_keys" "ListenAddress 192.0.2.7" "AllowUsers root" \
	"PermitRootLogin prohibit-password" "PasswordAuthentication no" "KbdInteractiveAuthentication no" \
	"UsePAM no" "DisableForwarding yes" "SetEnv PATH=/usr/lib/keystone:/usr/sbin:/usr/bin:/sbin:/bin"; do
	grep -qxF "$want" "$R/run/keystone-init/sshd_config" || fail "sshd_config lacks: $want"
done
# sshd itself accepts it (sshd -t, with the host key at its test path)
if [ -x /usr/sbin/sshd ]; then
	sed "s|^HostKey .*|HostKey $R/etc/keystone-initrd/ssh_host_ed25519_key|; /^ListenAddress/d" \
		"$R/run/keystone-init/sshd_config" >"$T/sshd_config.t"
	chmod 600 "$R/etc/keystone-initrd/ssh_host_ed25519_key"
	/usr/sbin/sshd -t -f "$T/sshd_config.t" >"$T/sshd-t.log" 2>&1 || { cat "$T/sshd-t.log"; fail "sshd -t refuses the config"; }
fi
printf 'not it\n' | "$INIT" --unlock --root="$R" >"$T/unlock.out" 2>"$T/unlock.err"
[ $? = 1 ] || fail "--unlock with a wrong secret did not exit 1"
grep -qF "keystone-init --unlock: Wrong password or recovery key. (try 1 of 3)" "$T/unlock.err" \
	|| { cat "$T/unlock.err"; fail "wrong secret: no verdict"; }
printf 'credstore password\n' | "$INIT" --unlock --root="$R" >"$T/unlock.out" 2>"$T/unlock.err" \
	|| { cat "$T/unlock.err" "$T/out"; fail "--unlock with the right secret"; }
[ "$(cat "$T/unlock.out")" = "opened with password or recovery key" ] || fail "verdict: $(cat "$T/unlock.out")"
wait "$init" || { cat "$T/out"; fail "boot unlocked over SSH failed"; }
kill "$hold" 2>/dev/null; wait "$hold" 2>/dev/null
cat "$T/out"
grep -q "^\[ 2/8\] cryptsetup-credstore ... ok .*opened with password or recovery key over SSH, try 2" "$T/out" \
	|| fail "step 2 not opened over SSH on try 2"
grep -qF "A wrong secret came over SSH (keystone-init --unlock), try 1 of 3." "$T/out" || fail "wrong try not on the console"
grep -qF "The secret that came over SSH (keystone-init --unlock) is right; the console prompt is cancelled." "$T/out" \
	|| fail "the console prompt was not said to be cancelled"
[ "$(line_of "The TPM did not unlock the credstore")" -lt "$(line_of "initrd-ssh sshd ... ok")" ] \
	|| fail "auto: sshd before the TPM's refusal"
[ "$(line_of "[ 1/8] import-rpool-bare ... ok")" -lt "$(line_of "initrd-ssh network ... ok")" ] \
	|| fail "auto: the network before step 2"
grep -qF "[keystone-init] initrd-ssh stop ... ok" "$T/out" || fail "auto: not stopped"
grep -q "credstore password\|not it" "$T/out" && fail "a secret appeared on the console"
printf 'credstore password\n' | "$INIT" --unlock --root="$R" >/dev/null 2>"$T/unlock.err" && fail "--unlock after the boot"
grep -qF "keystone-init is not waiting for a secret" "$T/unlock.err" || { cat "$T/unlock.err"; fail "no 'not waiting'"; }
"$INIT" --unlock "credstore password" </dev/null >/dev/null 2>&1; [ $? = 2 ] || fail "--unlock took an argument"
ok "initrd-ssh=auto: sshd once the TPM refused; the secret over SSH, wrong then right"

# no authorized_keys in the initrd: refused, no network, the console still works
mv "$R/etc/keystone-initrd/authorized_keys" "$T/authorized_keys"
boot "$(printf 'credstore password\n')" || { cat "$T/out"; fail "boot without authorized_keys"; }
cat "$T/out"
grep -qF "[keystone-init] initrd-ssh sshd ... failed" "$T/out" && \
	grep -qF "/etc/keystone-initrd/authorized_keys is not in the initrd" "$T/out" || fail "missing key not refused"
grep -q "ip address add\|initrd-ssh stop\|Or over SSH" "$T/out" && fail "network or socket without authorized_keys"
grep -q "opened with password or recovery key, try 1" "$T/out" || fail "the console did not unlock"
mv "$T/authorized_keys" "$R/etc/keystone-initrd/authorized_keys"
ok "initrd-ssh without authorized_keys: refused, the console unlocks"

# initrd-ssh on without an address: the command line is refused
echo "keystone.generation=3 keystone.initrd-ssh=auto" >"$R/proc/cmdline"
boot "" && fail "initrd-ssh=auto without an address booted"
grep -qF "keystone.initrd-ssh=auto needs keystone.initrd-ssh.address=ADDRESS/PREFIX" "$T/out" \
	|| { cat "$T/out"; fail "no reason for the missing address"; }
ok "initrd-ssh without an address refused"

# 11: a stop before the unseal (step 1, a bad command line) with
# keystone.emergency=shell: PCR 15 is extended before the shell would start,
# so nothing typed in the shell can have the TPM unseal the credstore; when
# the extension fails, the machine halts instead of giving the shell
zero=$(printf '0%.0s' $(seq 64))
tpm_reboot
[ "$(pcr_value 15)" = "$zero" ] || fail "tpm_reboot did not reset PCR 15"
echo "keystone.generation=3 keystone.emergency=shell keystone.tpm2-device=$TCTI" >"$R/proc/cmdline"
touch "$T/import-fails"
boot "" && fail "a failed import booted"
cat "$T/out"
grep -q "^\[ 1/8\] import-rpool-bare ... FAILED" "$T/out" || fail "step 1 did not fail"
grep -q "would start an emergency shell" "$T/out" || fail "no emergency shell"
[ "$(grep -n "PCR 15 extended" "$T/out" | cut -d: -f1)" -lt "$(grep -n "would start an emergency shell" "$T/out" | cut -d: -f1)" ] \
	|| fail "PCR 15 not extended before the shell"
[ "$(pcr_value 15)" != "$zero" ] || fail "PCR 15 still zero at the emergency shell after a failed import"
ok "failed import: PCR 15 extended before the emergency shell"

tpm_reboot
echo "keystone.pool=a/b keystone.generation=3 keystone.emergency=shell keystone.tpm2-device=$TCTI" >"$R/proc/cmdline"
boot "" && fail "a bad pool name booted"
cat "$T/out"
grep -q "keystone.pool=a/b is not a pool name" "$T/out" || fail "bad pool name not named"
grep -q "would start an emergency shell" "$T/out" || fail "no emergency shell after a bad command line"
grep -q "PCR 15 extended" "$T/out" || fail "no PCR 15 message after a bad command line"
[ "$(pcr_value 15)" != "$zero" ] || fail "PCR 15 still zero at the emergency shell after a bad command line"
[ -e "$T/cmds.log" ] && fail "ran commands despite a bad command line"
ok "bad command line: PCR 15 extended before the emergency shell"

tpm_reboot
dead=$((SWTPM_PORT + 2))
port_free "$dead" || dead=$((SWTPM_PORT + 4))
echo "keystone.generation=3 keystone.emergency=shell keystone.tpm2-device=swtpm:port=$dead" >"$R/proc/cmdline"
boot "" && fail "a failed import booted"
cat "$T/out"
grep -q "extending PCR 15 on the TPM 'swtpm:port=$dead' failed" "$T/out" || fail "failed extension not reported"
grep -q "would halt" "$T/out" || fail "a shell although PCR 15 could not be extended"
grep -q "would start an emergency shell" "$T/out" && fail "emergency shell with PCR 15 still zero"
rm -f "$T/import-fails"
ok "PCR 15 cannot be extended: halt, no shell"

# 12b: initrd-ssh=auto and the TPM unlocks: no network, no sshd, no socket
tpm_reboot
tpm2_dictionarylockout -c >/dev/null 2>&1 || fail "clearing the DA lockout of the PIN tests"
luks_image "$R/dev/zd16" "$pw"
"$KEYSTONE" tpm enroll "$R/dev/zd16" --tpm2-device="$TCTI" --unlock-key-file="$pw" >"$T/enroll-12b.log" 2>&1 \
	|| { cat "$T/enroll-12b.log"; fail "keystone tpm enroll (12b)"; }
echo "keystone.generation=3 keystone.tpm2-device=$TCTI keystone.initrd-ssh=auto $net" >"$R/proc/cmdline"
boot "" || { cat "$T/out"; fail "initrd-ssh=auto with the TPM"; }
cat "$T/out"
grep -q "^\[ 2/8\] cryptsetup-credstore ... ok .*opened with TPM2 token 0" "$T/out" || fail "12b: not opened by the TPM"
grep -q "initrd-ssh\|ip address\|Or over SSH" "$T/out" && fail "initrd-ssh=auto started although the TPM unlocked"
ok "initrd-ssh=auto: nothing when the TPM unlocks"

# 10: installer mode: no pool, no credstore; the network, the host key and
# sshd planned on the interface found in /sys/class/net (lo skipped)
mkdir -p "$R/sys/class/net/lo" "$R/sys/class/net/eth0"
rm -f "$T/cmds.log"
echo "keystone.installer keystone.installer.address=10.0.2.15/24 keystone.installer.gateway=10.0.2.2 \
keystone.tpm2-device=$TCTI" >"$T/installer-cmdline"
"$INIT" --root="$R" --dry-run --cmdline="$T/installer-cmdline" </dev/null >"$T/out" 2>&1 \
	|| { cat "$T/out"; fail "installer dry run"; }
for want in "ip address add 10.0.2.15/24 dev eth0" "ip route add default via 10.0.2.2 dev eth0" \
	"ssh-keygen -q -t ed25519 -N '' -C keystone-installer -f /etc/ssh/ssh_host_ed25519_key" \
	"/usr/sbin/sshd -D -e -f /etc/keystone-installer/sshd_config" "[installer] network ... ok"; do
	grep -qF -- "$want" "$T/out" || { cat "$T/out"; fail "installer plan lacks: $want"; }
done
grep -q "zpool\|import-rpool\|credstore" "$T/out" && { cat "$T/out"; fail "installer mode ran the boot flow"; }
[ -e "$T/cmds.log" ] && fail "installer mode ran zpool or zfs"
echo "keystone.installer" >"$T/installer-cmdline"
"$INIT" --root="$R" --dry-run --cmdline="$T/installer-cmdline" </dev/null >"$T/out" 2>&1 \
	&& fail "installer without an address ran"
grep -q "keystone.installer needs keystone.installer.address=ADDRESS/PREFIX" "$T/out" || { cat "$T/out"; fail "no reason"; }
echo "keystone.installer keystone.installer.address=10.0.2.15/24 keystone.installer.interface=wlan9" \
	>"$T/installer-cmdline"
"$INIT" --root="$R" --dry-run --cmdline="$T/installer-cmdline" </dev/null >"$T/out" 2>&1 \
	&& fail "installer with a missing interface ran"
grep -q "no network interface wlan9" "$T/out" || { cat "$T/out"; fail "missing interface not named"; }
# by hardware address (remote install): eth1 is chosen over eth0, which
# name order would pick; an address no card has is named
mkdir -p "$R/sys/class/net/eth1"
echo 52:54:00:00:00:01 >"$R/sys/class/net/eth0/address"
echo 52:54:00:00:00:02 >"$R/sys/class/net/eth1/address"
echo "keystone.installer keystone.installer.address=192.0.2.7/24 keystone.installer.mac=52:54:00:00:00:02" \
	>"$T/installer-cmdline"
"$INIT" --root="$R" --dry-run --cmdline="$T/installer-cmdline" </dev/null >"$T/out" 2>&1 \
	|| { cat "$T/out"; fail "installer dry run by mac"; }
grep -qF "ip address add 192.0.2.7/24 dev eth1" "$T/out" || { cat "$T/out"; fail "mac did not choose eth1"; }
echo "keystone.installer keystone.installer.address=192.0.2.7/24 keystone.installer.mac=52:54:00:00:00:09" \
	>"$T/installer-cmdline"
"$INIT" --root="$R" --dry-run --cmdline="$T/installer-cmdline" </dev/null >"$T/out" 2>&1 \
	&& fail "installer with no card of that mac ran"
grep -q "no network interface with the hardware address 52:54:00:00:00:09" "$T/out" \
	|| { cat "$T/out"; fail "missing mac not named"; }
# a host key the UKI brought is kept, not replaced
mkdir -p "$R/etc/ssh"
ssh-keygen -q -t ed25519 -N '' -C pinned -f "$R/etc/ssh/ssh_host_ed25519_key"
echo "keystone.installer keystone.installer.address=10.0.2.15/24" >"$T/installer-cmdline"
"$INIT" --root="$R" --dry-run --cmdline="$T/installer-cmdline" </dev/null >"$T/out" 2>&1 \
	|| { cat "$T/out"; fail "installer dry run with a host key"; }
grep -qF "ssh-keygen -q -t ed25519" "$T/out" && { cat "$T/out"; fail "a brought host key would be replaced"; }
grep -qF "(the key this UKI brought)" "$T/out" || { cat "$T/out"; fail "brought host key not said"; }
rm -rf "$R/sys/class" "$R/etc/ssh"
ok "installer mode: network and sshd planned, no boot flow; a missing address or interface is named"

# 8: not PID 1 and no --dry-run: refuses to do anything
"$INIT" >/dev/null 2>&1; [ $? = 2 ] || fail "ran outside PID 1 without --dry-run"
ok "refuses to run outside PID 1"
