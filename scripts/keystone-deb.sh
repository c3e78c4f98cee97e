#!/bin/sh
# Builds build/keystone from the Keystone sources in SRC and packages it as
# OUT/keystone_DEBVERSION_amd64.deb, with OUT/depends holding its Depends.
# Runs INSIDE Keystone's cached trixie build chroot (src/image/keystone-deb.c
# copies the sources in and runs it with chroot); not meant for the host.
#
#   keystone-deb.sh SRC OUT VERSION DEBVERSION      (SOURCE_DATE_EPOCH set)
set -eu
src=$1 out=$2 version=$3 debversion=$4
: "${SOURCE_DATE_EPOCH:?}"
export LC_ALL=C.UTF-8 PATH=/usr/sbin:/usr/bin:/sbin:/bin

cd "$src"
# The chroot was made with the build dependencies: tell make they are in place.
mkdir -p build && touch build/.deps
make -j2 VERSION="$version" build/keystone build/keystone-init build/keystone-kexec

pkg=$(mktemp -d)
chmod 0755 "$pkg"
trap 'rm -rf "$pkg"' EXIT
install -D -m 0755 build/keystone "$pkg/usr/bin/keystone"
# keystone-init: PID 1 of the initrd `keystone build` makes from the
# generation's own tree (docs/init.md); not a command for users' PATH.
install -D -m 0755 build/keystone-init "$pkg/usr/lib/keystone/keystone-init"
# keystone-kexec: the static loader `keystone install` uploads to the target
# (src/bin/keystone-kexec.c); it looks for it here, beside itself first.
install -D -m 0755 build/keystone-kexec "$pkg/usr/lib/keystone/keystone-kexec"
strip --strip-unneeded --remove-section=.comment "$pkg/usr/bin/keystone" "$pkg/usr/lib/keystone/keystone-init" \
        "$pkg/usr/lib/keystone/keystone-kexec"

# Depends: what the binary links against (dpkg-shlibdeps wants a
# debian/control next to it) plus what tpm2-tss loads with dlopen: the TCTI
# for /dev/tpmrm0.
mkdir "$pkg/debian"
printf 'Source: keystone\n\nPackage: keystone\nArchitecture: amd64\n' > "$pkg/debian/control"
shlibs=$(cd "$pkg" && dpkg-shlibdeps -O -e usr/bin/keystone -e usr/lib/keystone/keystone-init | sed -n 's/^shlibs:Depends=//p')
rm -r "$pkg/debian"
[ -n "$shlibs" ] || { echo "dpkg-shlibdeps found no libraries" >&2; exit 1; }
dlopened=""
for lib in libtss2-tcti-device.so.0; do
        p=$(dpkg -S "*/$lib" | sed -n '1s/:.*//p')
        [ -n "$p" ] || { echo "no package ships $lib" >&2; exit 1; }
        dlopened="$dlopened, $p"
done
# and the programs keystone runs (mkfs.vfat, mkfs.ext4, depmod)
tools="dosfstools, e2fsprogs, kmod"
depends="$shlibs$dlopened, $tools"

mkdir "$pkg/DEBIAN"
cat > "$pkg/DEBIAN/control" <<CONTROL
Package: keystone
Version: $debversion
Architecture: amd64
Maintainer: Keystone <keystone@localhost>
Installed-Size: $(du -sk "$pkg/usr" | cut -f1)
Depends: $depends
Section: admin
Priority: optional
Description: secure, declarative operating system toolkit
 Built from the Keystone source tree at $version in a Debian trixie
 build chroot.
CONTROL
find "$pkg" -exec touch -h -d "@$SOURCE_DATE_EPOCH" {} +
mkdir -p "$out"
dpkg-deb --root-owner-group -Zxz --build "$pkg" "$out/keystone_${debversion}_amd64.deb"
printf '%s\n' "$depends" > "$out/depends"
