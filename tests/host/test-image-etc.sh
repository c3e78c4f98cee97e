#!/bin/bash
# The generated configuration of an installed server (keystone image
# --etc-only): nft and sshd themselves accept the files, fstab/crypttab carry
# the disk layout, users/groups/keys have the right owners and modes, and a
# host file with a time zone the tz database lacks is refused at its line.
set -u
. "$SRCDIR/tests/lib/assert.sh"
cd "$SRCDIR"
T=$(mktemp -d /tmp/keystone-test-XXXXXX); trap 'rm -rf "$T"' EXIT
command -v nft >/dev/null || { echo "nft missing (package nftables, mk/deps/image.list)"; exit 77; }
SSHD=$(command -v sshd || echo /usr/sbin/sshd)
[ -x "$SSHD" ] || { echo "sshd missing (package openssh-server, mk/deps/image.list)"; exit 77; }

# A server with a disk layout, SSH on 2222, a time zone and a group.
cat > "$T/host.toml" <<'TOML'
imports = ["disk-single-root", "server"]
[host]
name = "etc-test"
time-zone = "Europe/Berlin"
[ssh]
port = 2222
permit-root-login = "prohibit-password"
[users.alice]
uid = 1234
groups = ["sudo", "keystone-ops"]
ssh-keys = ["ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIMsjagtlvdyhfCYZJMF0IUD7yQE9TzCQSOSotFut6r25 alice@laptop"]
TOML
R=$T/root
mkdir -p "$R/etc"
# the groups a Debian rootfs has: sudo exists, keystone-ops does not
printf 'root:x:0:\nshadow:x:42:\nsudo:x:27:\n' > "$R/etc/group"
printf 'root:*::\nshadow:*::\nsudo:*::\n' > "$R/etc/gshadow"
run_ok "$KEYSTONE" image --etc-only "$R" "$T/host.toml"

# --- nftables: nft parses it; default drop; ssh on the host's port; mDNS
nft -c -f "$R/etc/nftables.conf" || unshare -n nft -c -f "$R/etc/nftables.conf" || fail "nft -c rejects nftables.conf"
N=$(cat "$R/etc/nftables.conf")
assert_contains "$N" "type filter hook input priority filter; policy drop;"
assert_contains "$N" "tcp dport 2222 accept"
assert_not_contains "$N" "dport 22 "
assert_contains "$N" "udp dport 5353 accept"
assert_contains "$N" "ct state established,related accept"
assert_contains "$N" 'iifname "lo" accept'
assert_contains "$N" "nd-neighbor-solicit"
[ "$(readlink "$R/etc/systemd/system/sysinit.target.wants/nftables.service")" = /usr/lib/systemd/system/nftables.service ] \
	|| fail "nftables.service is not enabled"
# a firewall that accepts everything must be caught: the check is real
sed 's/policy drop;/policy maybe;/' "$R/etc/nftables.conf" > "$T/bad.nft"
nft -c -f "$T/bad.nft" 2>/dev/null && fail "nft -c accepted a broken ruleset: the check proves nothing"

# --- sshd: sshd -t accepts the drop-in; the effective settings are keys only
ssh-keygen -q -t ed25519 -N '' -f "$T/hostkey" || fail "ssh-keygen"
printf 'Include %s\nHostKey %s\nPidFile none\n' "$R/etc/ssh/sshd_config.d/50-keystone.conf" "$T/hostkey" > "$T/sshd_config"
[ -d /run/sshd ] || mkdir -p /run/sshd 2>/dev/null || { echo "cannot create /run/sshd for sshd -t"; exit 77; }
"$SSHD" -t -f "$T/sshd_config" || fail "sshd -t rejects the drop-in"
EFF=$("$SSHD" -T -f "$T/sshd_config" -C user=alice,host=x,addr=192.0.2.1) || fail "sshd -T"
for want in "port 2222" "passwordauthentication no" "kbdinteractiveauthentication no" \
	"permitrootlogin without-password" "pubkeyauthentication yes" "authenticationmethods publickey" \
	"authorizedkeysfile .ssh/authorized_keys /etc/ssh/authorized_keys.d/%u"; do
	grep -qx "$want" <<<"$EFF" || fail "sshd's effective config lacks '$want'"
done
grep "ssh-ed25519 AAAAC3Nza" "$R/etc/ssh/authorized_keys.d/alice" >/dev/null || fail "no key in authorized_keys.d/alice"

# --- avahi publishes HOST.local, addresses only
A=$(cat "$R/etc/avahi/avahi-daemon.conf")
assert_contains "$A" "host-name=etc-test"
assert_contains "$A" "publish-addresses=yes"
assert_contains "$A" "allow-point-to-point=no"
assert_contains "$A" "publish-workstation=no"
[ "$(readlink "$R/etc/systemd/system/display-manager.service")" = /dev/null ] || fail "display manager not masked"

# --- time zone
[ "$(readlink "$R/etc/localtime")" = ../usr/share/zoneinfo/Europe/Berlin ] || fail "/etc/localtime: $(readlink "$R/etc/localtime")"
[ "$(cat "$R/etc/timezone")" = Europe/Berlin ] || fail "/etc/timezone"

# --- fstab: the ESP on /boot, swap on dm-crypt; no ZFS lines; no ext4 root
mapfile -t F < <(grep -v '^#' "$R/etc/fstab" | grep .)
[ "${#F[@]}" = 2 ] || fail "fstab has ${#F[@]} entries, want 2: ${F[*]}"
read -r dev mnt type opts d p <<<"${F[0]}"
[ "$dev $mnt $type $d $p" = "PARTLABEL=ESP /boot vfat 0 2" ] || fail "ESP line: ${F[0]}"
assert_contains "$opts" "umask=0077"
read -r dev mnt type opts d p <<<"${F[1]}"
[ "$dev $mnt $type $opts $d $p" = "/dev/mapper/swap none swap defaults 0 0" ] || fail "swap line: ${F[1]}"
grep -q "rpool/crypt/home on /home" "$R/etc/fstab" || fail "fstab does not say who mounts /home"
# --- crypttab: swap with a random key each boot; the credstore is not there
mapfile -t C < <(grep -v '^#' "$R/etc/crypttab" | grep .)
[ "${#C[@]}" = 1 ] || fail "crypttab has ${#C[@]} entries, want 1"
read -r name dev key opts <<<"${C[0]}"
[ "$name $dev $key" = "swap PARTLABEL=swap /dev/urandom" ] || fail "crypttab swap line: ${C[0]}"
assert_contains "$opts" "swap,cipher=aes-xts-plain64,size=512"
[ "$(stat -c %a "$R/etc/crypttab")" = 600 ] || fail "crypttab mode"
# the partition names are the disk layout's own (keystone disk plan)
run_ok "$KEYSTONE" disk plan "$T/host.toml" --image "$T/d.img" --size 20G
assert_contains "$OUT" "/dev/mapper/swap  none  swap"

# --- users, groups, keys
grep -qx 'alice:x:1234:1234::/home/alice:/bin/bash' "$R/etc/passwd" || fail "passwd: $(cat "$R/etc/passwd")"
grep -qx 'sudo:x:27:alice' "$R/etc/group" || fail "alice not in the existing sudo group"
grep -qx 'keystone-ops:x:999:alice' "$R/etc/group" || fail "keystone-ops not created as a system group"
grep -qx 'keystone-ops:!::alice' "$R/etc/gshadow" || fail "gshadow lacks keystone-ops"
grep -qx 'alice:x:1234:' "$R/etc/group" || fail "alice's own group"
[ "$(stat -c '%a %u %g' "$R/home/alice/.ssh")" = "700 1234 1234" ] || fail ".ssh mode/owner"
[ "$(stat -c '%a %u %g' "$R/home/alice/.ssh/authorized_keys")" = "600 1234 1234" ] || fail "authorized_keys mode/owner"
grep -q "d /home/alice/.ssh 0700 alice alice" "$R/etc/tmpfiles.d/keystone-home.conf" || fail "tmpfiles for the /home dataset"
# group sudo without a password (users have none: `*`), a file sudo accepts
[ "$(stat -c '%a %u %g' "$R/etc/sudoers.d/keystone")" = "440 0 0" ] || fail "sudoers.d/keystone mode/owner"
grep -qx '%sudo ALL=(ALL:ALL) NOPASSWD: ALL' "$R/etc/sudoers.d/keystone" || fail "sudoers.d/keystone: $(cat "$R/etc/sudoers.d/keystone")"
if command -v visudo >/dev/null; then
	visudo -c -q -f "$R/etc/sudoers.d/keystone" || fail "visudo rejects sudoers.d/keystone"
fi

# --- without a disk layout: today's single ext4 root
printf '[host]\nname = "plain"\n[users.bob]\n' > "$T/plain.toml"
run_ok "$KEYSTONE" image --etc-only "$T/plain" "$T/plain.toml"
mapfile -t F < <(grep -v '^#' "$T/plain/etc/fstab" | grep .)
[ "${#F[@]}" = 1 ] || fail "plain fstab: ${F[*]}"
read -r dev mnt type opts d p <<<"${F[0]}"
[ "$mnt $type" = "/ ext4" ] || fail "plain fstab root: ${F[0]}"
[ -e "$T/plain/etc/crypttab" ] && fail "crypttab without a disk layout"
grep -q "tcp dport 22 accept" "$T/plain/etc/nftables.conf" || fail "default ssh port"
[ -e "$T/plain/etc/systemd/system/sysinit.target.wants/nftables.service" ] && fail "nftables enabled without the package"
[ -e "$T/plain/etc/sudoers.d/keystone" ] && fail "sudoers.d/keystone for a host with no user in group sudo"

# --- a test image of a disk-layout host boots the VM bench's ext4 root.img:
# the ext4 root fstab, no ESP or swap lines that would stall its boot
run_ok "$KEYSTONE" image --test --etc-only "$T/testimg" "$T/host.toml"
mapfile -t F < <(grep -v '^#' "$T/testimg/etc/fstab" | grep .)
[ "${#F[@]}" = 1 ] || fail "test image fstab: ${F[*]}"
read -r dev mnt type opts d p <<<"${F[0]}"
[ "$mnt $type" = "/ ext4" ] || fail "test image fstab root: ${F[0]}"
[ -e "$T/testimg/etc/crypttab" ] && fail "crypttab in a test image"

# --- must fail: a time zone the tz database does not have, named at its line
printf '[host]\nname = "x"\n\ntime-zone = "Mars/Olympus_Mons"\n' > "$T/tz.toml"
run_status 1 "$KEYSTONE" image --etc-only "$T/tz" "$T/tz.toml"
assert_contains "$ERR" "$T/tz.toml:4:"
assert_contains "$ERR" "Mars/Olympus_Mons"
assert_contains "$ERR" "tz database"
[ -e "$T/tz" ] && fail "files written for an invalid host"
# and a path in disguise is refused by the spelling check
printf '[host]\nname = "x"\ntime-zone = "../../etc/shadow"\n' > "$T/tz2.toml"
run_status 1 "$KEYSTONE" image --etc-only "$T/tz2" "$T/tz2.toml"
assert_contains "$ERR" "tz2.toml:3:"
pass
