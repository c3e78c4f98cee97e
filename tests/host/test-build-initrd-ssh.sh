#!/bin/bash
# keystone build with unlock over SSH in the initrd: what it refuses before
# anything is built (no address, named both ways; no --host-keys; no -o,
# since the host key never goes into the cache; a host key others can
# read; a bad --initrd-ssh-net; a bad boot.initrd-ssh in the host file),
# and `keystone options` documenting boot.initrd-ssh.  What a build makes
# is tests/host/test-generation-initrd-ssh.c.
set -u
. "$SRCDIR/tests/lib/assert.sh"
T=$(mktemp -d /tmp/keystone-test-XXXXXX); trap 'rm -rf "$T"' EXIT
export KEYSTONE_CACHE_DIR=$T/cache

cat > "$T/host.toml" <<'TOML'
imports = ["disk-single-root", "server"]

[host]
name = "unlockable"

[boot.initrd-ssh]
enable = true

[users.alice]
groups = ["sudo"]
ssh-keys = ["ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIMsjagtlvdyhfCYZJMF0IUD7yQE9TzCQSOSotFut6r25 alice@laptop"]
TOML
mkdir "$T/hk"
ssh-keygen -q -t ed25519 -N '' -f "$T/hk/ssh_host_ed25519_key" || fail "ssh-keygen"
b() { "$KEYSTONE" build "$T/host.toml" --unlocked "$@"; }

run_status 1 b --host-keys "$T/hk" -o "$T/out"
assert_contains "$ERR" "sshd there has no address: set boot.initrd-ssh.address"
assert_contains "$ERR" "or pass --initrd-ssh-net address=A.B.C.D/N"
run_status 1 b --initrd-ssh-net address=192.0.2.7/24 -o "$T/out"
assert_contains "$ERR" "pass --host-keys DIR with DIR/ssh_host_ed25519_key"
run_status 2 b --initrd-ssh-net address=192.0.2.7/24 --host-keys "$T/hk"
assert_contains "$ERR" "needs -o DIR: the host key goes into the build directory only, never into the cache"
run_status 2 b --initrd-ssh-net address=192.0.2.7 --host-keys "$T/hk" -o "$T/out"
assert_contains "$ERR" "--initrd-ssh-net: address=192.0.2.7 is not an IPv4 address with a prefix length"
run_status 2 b --initrd-ssh-net address=192.0.2.7/24,mac=52:54:00:12:34:56,interface=eth0 --host-keys "$T/hk" -o "$T/out"
assert_contains "$ERR" "interface= and mac= both name the interface"
chmod 644 "$T/hk/ssh_host_ed25519_key"
run_status 1 b --initrd-ssh-net address=192.0.2.7/24 --host-keys "$T/hk" -o "$T/out"
assert_contains "$ERR" "is readable by others than its owner (mode 0644)"
chmod 600 "$T/hk/ssh_host_ed25519_key"
rm "$T/hk/ssh_host_ed25519_key.pub"
run_status 1 b --initrd-ssh-net address=192.0.2.7/24 --host-keys "$T/hk" -o "$T/out"
assert_contains "$ERR" "ssh_host_ed25519_key.pub (the public half"
# --host-keys alone (the system's key, no initrd-ssh) needs -o too
sed -i 's/^enable = true/enable = false/' "$T/host.toml"
run_status 2 b --host-keys "$T/hk"
assert_contains "$ERR" "--host-keys needs -o DIR"
# nothing was built, nothing cached
[ -e "$T/out" ] && fail "a refused build wrote $T/out"
[ -n "$(ls -A "$T/cache" 2>/dev/null)" ] && fail "a refused build wrote into the cache: $(ls "$T/cache")"

# the host file's values are checked as keystone-init checks them, with their place
cat > "$T/bad.toml" <<'TOML'
imports = ["disk-single-root"]
[host]
name = "bad"
[boot.initrd-ssh]
enable = true
gateway = "192.0.2.1/24"
TOML
run_status 1 "$KEYSTONE" build "$T/bad.toml" --unlocked
assert_contains "$ERR" "bad.toml:6:11: boot.initrd-ssh.gateway: \"192.0.2.1/24\" is not an IPv4 address"

run_ok "$KEYSTONE" options boot.initrd-ssh
for o in enable mode address gateway interface mac; do
	assert_contains "$OUT" "boot.initrd-ssh.$o"
done
run_ok "$KEYSTONE" build --help
assert_contains "$OUT" "--host-keys DIR"
assert_contains "$OUT" "--initrd-ssh-net NET"
pass
