#!/bin/bash
# keystone initrd: modules resolved by libkmod (checked with modprobe
# --show-depends against the initrd's own indexes), programs with all their
# libraries (the program runs chrooted into the unpacked initrd), and the
# same bytes from the same inputs.
set -u
. "$SRCDIR/tests/lib/assert.sh"
T=$(mktemp -d /tmp/keystone-test-XXXXXX); trap 'rm -rf "$T"' EXIT
cd "$T"

# A real Debian kernel's modules: the cloud kernel package of this machine's
# suite, downloaded once from Debian's archive into the cache.
CACHE=${KEYSTONE_CACHE_DIR:-/var/cache/keystone}/debs
mkdir -p "$CACHE"
pkg=$(apt-cache depends linux-image-cloud-amd64 | sed -n 's/ *Depends: \(linux-image-.*\)/\1/p' | head -1)
[ -n "$pkg" ] || fail "cannot find the cloud kernel package"
deb=$(ls "$CACHE"/"$pkg"_*.deb 2>/dev/null | head -1)
if [ -z "$deb" ]; then
	(cd "$CACHE" && apt-get download -q "$pkg" 2>&1) || fail "apt-get download $pkg"
	deb=$(ls "$CACHE"/"$pkg"_*.deb | head -1)
fi
dpkg-deb -x "$deb" k
KVER=${pkg#linux-image-}
MODS=k/lib/modules/$KVER
depmod -b k "$KVER" || fail "depmod on the kernel package"

build() {
	"$KEYSTONE" initrd --root / --modules-dir "$MODS" --kver "$KVER" \
		--module dm-crypt --module virtio_blk --module crc32c \
		--program /usr/sbin/cryptsetup --file /etc/os-release --init /usr/bin/true "$@"
}
run_ok build --no-compress -o plain.cpio
assert_contains "$OUT" "plain.cpio:"
file plain.cpio | grep -q "cpio archive" || fail "not a cpio archive: $(file plain.cpio)"
mkdir x && (cd x && cpio -idm --quiet < ../plain.cpio) || fail "cpio cannot unpack it"
[ -x x/init ] || fail "no executable /init"
cmp -s x/etc/os-release /etc/os-release || fail "/etc/os-release not copied as it is"
[ "$(stat -c %U x/usr/sbin/cryptsetup)" = root ] || fail "entries not owned by root"

# every library the program needs is inside: it runs chrooted there
v=$(chroot x /usr/sbin/cryptsetup --version) || fail "cryptsetup does not run inside the initrd (a library is missing?)"
assert_contains "$v" "cryptsetup"

# the initrd's own module indexes resolve dependencies (modprobe, not libkmod)
d=$(modprobe -d x -S "$KVER" --show-depends dm-crypt) || fail "modprobe cannot resolve dm-crypt in the initrd"
echo "$d"
echo "$d" | grep -q "insmod .*/drivers/md/dm-mod.ko" || fail "dm-mod (dependency of dm-crypt) missing"
echo "$d" | grep -q "insmod .*/drivers/md/dm-crypt.ko" || fail "dm-crypt missing"
modprobe -d x -S "$KVER" --show-depends virtio_blk | grep -q "virtio_ring.ko" || fail "virtio_ring missing"
# nothing that was not asked for: ext4 and the rest of the kernel stay out
n=$(find x/usr/lib/modules -name '*.ko*' | wc -l)
[ "$n" -le 10 ] || fail "$n modules in the initrd: more than asked for"

# same inputs → same bytes; another timestamp → other bytes
run_ok build -o a.img
run_ok build -o b.img
cmp -s a.img b.img || fail "two builds differ"
zstd -tq a.img || fail "not zstd"
SOURCE_DATE_EPOCH=1700000000 run_ok build -o c.img
cmp -s a.img c.img && fail "SOURCE_DATE_EPOCH does not reach the archive"

# what cannot be found is named
run_status 1 "$KEYSTONE" initrd --root / --modules-dir "$MODS" --kver "$KVER" --module no_such_module -o e.img
assert_contains "$ERR" "kernel module no_such_module is not known to kernel $KVER"
run_status 1 "$KEYSTONE" initrd --root / --program /usr/bin/no-such-program -o e.img
assert_contains "$ERR" "program /usr/bin/no-such-program not found in /"
run_status 2 "$KEYSTONE" initrd --root / --program relative/path -o e.img
pass
