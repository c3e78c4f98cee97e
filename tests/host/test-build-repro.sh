#!/bin/bash
# keystone build twice from one host file and keystone.lock: the second
# build runs in a fresh cache directory that shares only the toolchain
# stages (the trixie build chroot, Keystone's .deb, the ZFS modules), so
# mmdebstrap makes its rootfs again and the generation stage runs again.
# Both manifest.json files are byte for byte the same (inputs, package
# versions, every artifact's sha256) and so are the rootfs tar, the
# initrd, the unsigned UKI, and, with the same keys, the signed UKI and
# systemd-boot.  A changed host file (another SSH key) changes the rootfs.
# Skipped when Debian's archive cannot be reached.
# On a cold cache the first build makes the build chroot, the .deb and the
# ZFS modules (about 15 min on 2 cores: docs/vm.md), hence:
# test-timeout: 2700
set -u
. "$SRCDIR/tests/lib/assert.sh"
cd "$SRCDIR"
# big files (two rootfs tars): not under a tmpfs /tmp
T=$(mktemp -d /var/tmp/keystone-test-build-XXXXXX); trap 'rm -rf "$T"' EXIT
command -v mmdebstrap >/dev/null || { echo "mmdebstrap missing"; exit 77; }
export KEYSTONE_CACHE_DIR=${KEYSTONE_CACHE_DIR:-/var/cache/keystone}

cat > "$T/host.toml" <<'EOF'
imports = ["disk-single-root", "server"]

[host]
name = "repro"

[users.alice]
ssh-keys = ["ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIMsjagtlvdyhfCYZJMF0IUD7yQE9TzCQSOSotFut6r25 alice@laptop"]
EOF
_run "$KEYSTONE" lock "$T/host.toml"
if [ "$RC" != 0 ]; then
	case "$ERR" in
	*"could not fetch"*|*"unreachable"*|*"Could not resolve"*|*"Temporary failure"*|*"Failed to fetch"*)
		echo "Debian's archive is unreachable: $ERR"; exit 77 ;;
	esac
	fail "keystone lock failed"
fi
run_ok "$KEYSTONE" secureboot keygen --dir "$T/keys"

# build 1, in the shared cache
run_ok "$KEYSTONE" build "$T/host.toml" --keys "$T/keys" -o "$T/a"
assert_contains "$OUT" "generation 1 of repro"

# build 2, in a fresh cache with only the toolchain stages linked in
mkdir "$T/cache"
for d in "$KEYSTONE_CACHE_DIR"/buildroot-* "$KEYSTONE_CACHE_DIR"/keystone-* "$KEYSTONE_CACHE_DIR"/zfs-* \
	"$KEYSTONE_CACHE_DIR"/apt-*; do
	case "$d" in *.lock|*.tmp) continue ;; esac
	[ -d "$d" ] && ln -s "$d" "$T/cache/"
done
KEYSTONE_CACHE_DIR="$T/cache" run_ok "$KEYSTONE" build "$T/host.toml" --keys "$T/keys" -o "$T/b"
assert_contains "$OUT" "generation 1 of repro"
# ...and it really made its own rootfs and generation
ls "$T"/cache/rootfs-*/rootfs.tar >/dev/null 2>&1 || fail "the second build made no rootfs of its own"
[ -L "$(ls -d "$T"/cache/rootfs-* | grep -v '\.lock$' | head -1)" ] && fail "the second rootfs is a link"
ls -d "$T"/cache/generation-*/ >/dev/null 2>&1 || fail "the second build made no generation of its own"

cmp "$T/a/manifest.json" "$T/b/manifest.json" ||
	fail "the manifests differ: $(diff "$T/a/manifest.json" "$T/b/manifest.json" | head -20)"
for f in rootfs.tar vmlinuz initrd.img uki-unsigned.efi esp/EFI/Linux/keystone-1.efi \
	esp/EFI/systemd/systemd-bootx64.efi esp/EFI/BOOT/BOOTX64.EFI esp/loader/loader.conf; do
	cmp -s "$T/a/$f" "$T/b/$f" || fail "$f differs between the two builds"
done
# the manifest lists them with the hashes of the files themselves
h=$(sha256sum "$T/a/rootfs.tar" | cut -d' ' -f1)
grep -q "\"sha256\": *\"$h\"" "$T/a/manifest.json" || fail "manifest.json does not list the rootfs tar's sha256 $h"
grep -q '"keystone": *"' "$T/a/manifest.json" || fail "manifest.json does not list the keystone package"

# must differ: another user key is another rootfs (and manifest)
sed -i 's/alice@laptop/alice@desk/' "$T/host.toml"
run_ok "$KEYSTONE" build "$T/host.toml" --keys "$T/keys" -o "$T/c"
h2=$(sha256sum "$T/c/rootfs.tar" | cut -d' ' -f1)
[ "$h" != "$h2" ] || fail "a changed host file gave the same rootfs"
cmp -s "$T/a/manifest.json" "$T/c/manifest.json" && fail "a changed host file gave the same manifest"
pass
