#!/bin/bash
# keystone secureboot uki: layout accepted by objdump and sbverify, section
# contents equal to the inputs, the stub's .sbat kept, headers right, and the
# same inputs give the same bytes.
set -eu
# Debian's python3 (a pyenv shim on PATH costs a second per start)
PY=/usr/bin/python3; [ -x $PY ] || PY=python3
: "${KEYSTONE:?}" "${BUILD:?}"
STUB=/usr/lib/systemd/boot/efi/linuxx64.efi.stub
[ -f $STUB ] || { echo "skip: systemd-boot-efi not installed"; exit 77; }
for t in objdump objcopy sbverify python3; do
	command -v $t >/dev/null || { echo "skip: $t not installed"; exit 77; }
done
T=$(mktemp -d "$BUILD/test-sb-uki.XXXXXX")
trap 'rm -rf "$T"' EXIT
cd "$T"
fail() { echo "FAIL: $*"; exit 1; }

# deterministic fake inputs (a UKI's layout does not depend on their content)
$PY -c "
import random
r = random.Random(4)
open('vmlinuz', 'wb').write(r.randbytes(700001))
open('initrd', 'wb').write(r.randbytes(300003))"
printf 'ID=keystone\nNAME=Keystone\nVERSION_ID=1\n' >os-release
args=(--linux vmlinuz --initrd initrd --cmdline "root=LABEL=root rw quiet" --os-release os-release --uname 6.1.0-test-amd64)

$KEYSTONE secureboot uki "${args[@]}" -o a.efi
sleep 1.1  # a timestamp would differ now
$KEYSTONE secureboot uki "${args[@]}" --stub $STUB -o b.efi
[ "$(sha256sum <a.efi)" = "$(sha256sum <b.efi)" ] || fail "same inputs gave different bytes"
$KEYSTONE secureboot uki "${args[@]/quiet/debug}" -o c.efi
[ "$(sha256sum <a.efi)" != "$(sha256sum <c.efi)" ] || fail "a different cmdline gave the same bytes"

objdump -h a.efi >h.txt || fail "objdump refused the UKI"
for s in .osrel .cmdline .uname .initrd .linux; do grep -q " $s " h.txt || fail "objdump: no $s"; done
# contents round-trip
objcopy -O binary --only-section=.linux a.efi out.linux && cmp vmlinuz out.linux || fail ".linux content"
objcopy -O binary --only-section=.initrd a.efi out.initrd && cmp initrd out.initrd || fail ".initrd content"
objcopy -O binary --only-section=.osrel a.efi out.osrel && cmp os-release out.osrel || fail ".osrel content"
[ "$(objcopy -O binary --only-section=.cmdline a.efi /dev/stdout)" = "root=LABEL=root rw quiet" ] || fail ".cmdline content"
[ "$(objcopy -O binary --only-section=.uname a.efi /dev/stdout)" = "6.1.0-test-amd64" ] || fail ".uname content"
objcopy -O binary --only-section=.sbat $STUB stub.sbat
objcopy -O binary --only-section=.sbat a.efi out.sbat
cmp stub.sbat out.sbat || fail ".sbat not kept"

$PY - a.efi $STUB <<'PY' || fail "PE header checks"
import struct, sys
def parse(p):
    d = open(p, 'rb').read()
    pe = struct.unpack_from('<I', d, 0x3c)[0]
    n = struct.unpack_from('<H', d, pe + 6)[0]
    optsz = struct.unpack_from('<H', d, pe + 20)[0]
    opt = pe + 24
    salign, falign = struct.unpack_from('<II', d, opt + 32)
    soi, soh, csum = struct.unpack_from('<III', d, opt + 56)
    secs = []
    for i in range(n):
        name, vs, va, rs, rp = struct.unpack_from('<8sIIII', d, opt + optsz + 40 * i)
        secs.append((name.rstrip(b'\0').decode(), vs, va, rs, rp))
    return d, opt, salign, falign, soi, soh, csum, secs
d, opt, salign, falign, soi, soh, csum, secs = parse(sys.argv[1])
sd, _, _, _, _, _, _, ssecs = parse(sys.argv[2])
names = [s[0] for s in secs]
# the stub's sections first and unchanged in memory, then ours in order
assert [s[:3] for s in secs[:len(ssecs)]] == [s[:3] for s in ssecs], "stub sections changed"
assert names[len(ssecs):] == ['.osrel', '.cmdline', '.uname', '.initrd', '.linux'], names
last_stub_end = max(s[2] + max(s[1], s[3]) for s in ssecs)
prev_va_end, prev_raw_end = last_stub_end, 0
for name, vs, va, rs, rp in secs:
    assert rp % falign == 0 and rs % falign == 0, (name, 'file alignment')
    if name in names[len(ssecs):]:
        assert va % salign == 0, (name, 'section alignment')
        assert va % 4096 == 0 and va >= prev_va_end, (name, hex(va))
        prev_va_end = va + vs
    assert rp >= prev_raw_end, (name, 'file order')
    prev_raw_end = rp + rs
assert soh % falign == 0 and soh >= opt + struct.unpack_from('<H', d, opt - 4)[0] + 40 * len(secs)
exp_soi = -(-(max(va + vs for _, vs, va, _, _ in secs)) // salign) * salign
assert soi == exp_soi, (hex(soi), hex(exp_soi))
assert len(d) == prev_raw_end, "trailing data"
# no certificate table, correct checksum
dirs = opt + 112
assert struct.unpack_from('<II', d, dirs + 32) == (0, 0)
s = 0
for i in range(0, len(d) - 1, 2):
    if i in (opt + 64, opt + 66): continue
    s += d[i] | d[i + 1] << 8
    s = (s & 0xffff) + (s >> 16)
s = (s & 0xffff) + (s >> 16)
assert s + len(d) == csum, "checksum"
PY

# signed at assembly: accepted by sbverify; the same as signing afterwards
$KEYSTONE secureboot keygen --dir keys --key-size 2048
$KEYSTONE secureboot uki "${args[@]}" --sign-dir keys -o s.efi
sbverify --cert keys/keys/db/db.pem s.efi || fail "sbverify refused the signed UKI"
$KEYSTONE secureboot verify --cert keys/keys/db/db.pem s.efi
[ "$($KEYSTONE secureboot inspect s.efi | grep authenticode-sha256)" = "$($KEYSTONE secureboot inspect a.efi | grep authenticode-sha256)" ] \
	|| fail "signing changed the image digest"

# must fail: a stub that is not PE, a stub that is already a UKI, a missing kernel
head -c 5000 /dev/zero >bad.stub
if $KEYSTONE secureboot uki --stub bad.stub --linux vmlinuz -o x.efi 2>err.txt; then fail "accepted a non-PE stub"; fi
grep -q 'not a usable systemd-stub' err.txt || fail "message for bad stub: $(cat err.txt)"
if $KEYSTONE secureboot uki --stub a.efi --linux vmlinuz -o x.efi 2>err.txt; then fail "accepted a UKI as stub"; fi
if $KEYSTONE secureboot uki --linux nonexistent -o x.efi 2>err.txt; then fail "accepted a missing kernel"; fi
grep -q 'nonexistent' err.txt || fail "message does not name the missing input"
[ ! -e x.efi ] || fail "wrote output on failure"
echo ok
