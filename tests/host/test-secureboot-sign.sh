#!/bin/bash
# keystone secureboot keygen/sign/verify/inspect against independent
# verifiers: sbverify (sbsigntool) and osslsigncode.  Keys are generated here
# (never committed); RSA 2048 for speed.
set -eu
# Debian's python3 (a pyenv shim on PATH costs a second per start)
PY=/usr/bin/python3; [ -x $PY ] || PY=python3
: "${KEYSTONE:?}" "${BUILD:?}"
for t in sbverify osslsigncode openssl; do
	command -v $t >/dev/null || { echo "skip: $t not installed (make deps)"; exit 77; }
done
STUB_DIR=/usr/lib/systemd/boot/efi
[ -f $STUB_DIR/systemd-bootx64.efi ] || { echo "skip: systemd-boot-efi not installed"; exit 77; }

T=$(mktemp -d "$BUILD/test-sb-sign.XXXXXX")
trap 'rm -rf "$T"' EXIT
cd "$T"
fail() { echo "FAIL: $*"; exit 1; }
must_fail() { if "$@" >out.log 2>&1; then cat out.log; fail "expected failure: $*"; fi; }

# --- keygen: layout, modes, GUID, refusal to overwrite
$KEYSTONE secureboot keygen --dir keys --key-size 2048 --name Test
grep -Eqx '[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}' keys/GUID || fail "GUID file: $(cat keys/GUID)"
[ "$(stat -c %s keys/GUID)" = 36 ] || fail "GUID file must be the 36 characters alone (sbctl parses it as is)"
for k in PK KEK db; do
	[ "$(stat -c %a keys/keys/$k/$k.key)" = 600 ] || fail "$k.key is not 0600"
	openssl pkey -in keys/keys/$k/$k.key -noout || fail "$k.key unreadable by openssl"
	[ "$(openssl x509 -in keys/keys/$k/$k.pem -noout -pubkey | sha256sum)" = \
	  "$(openssl pkey -in keys/keys/$k/$k.key -pubout | sha256sum)" ] || fail "$k.pem does not match $k.key"
	openssl x509 -in keys/keys/$k/$k.pem -noout -text | grep -q 'Public-Key: (2048 bit)' || fail "$k key size"
done
openssl x509 -in keys/keys/PK/PK.pem -noout -subject | grep -q 'CN *= *Test Platform Key' || fail "PK subject"
sum_before=$(cat keys/keys/*/*.key | sha256sum)
must_fail $KEYSTONE secureboot keygen --dir keys --key-size 2048
grep -q 'refusing to overwrite' out.log || fail "no overwrite message"
[ "$(cat keys/keys/*/*.key | sha256sum)" = "$sum_before" ] || fail "keygen overwrote keys"
# a symlink planted at a key path is refused, not followed
mkdir -p k2/keys/db && ln -s "$T/victim" k2/keys/db/db.key
must_fail $KEYSTONE secureboot keygen --dir k2 --key-size 2048
[ ! -e victim ] || fail "keygen followed a symlink"
$KEYSTONE secureboot keygen --dir other --key-size 2048 --name Other

# --- sign: accepted by sbverify and osslsigncode, and by our verify
cp $STUB_DIR/systemd-bootx64.efi unsigned.efi
$KEYSTONE secureboot sign --dir keys unsigned.efi -o signed.efi
cmp -s unsigned.efi $STUB_DIR/systemd-bootx64.efi || fail "sign -o modified its input"
sbverify --cert keys/keys/db/db.pem signed.efi || fail "sbverify refused our signature"
osslsigncode verify -CAfile keys/keys/db/db.pem -in signed.efi >ossl.log 2>&1 || { cat ossl.log; fail "osslsigncode refused our signature"; }
$KEYSTONE secureboot verify --cert keys/keys/db/db.pem signed.efi || fail "verify refused our signature"
# certificate table: 8-byte aligned, at the end, checksum right
$PY - signed.efi <<'PY' || fail "PE layout of the signed file"
import struct, sys
d = open(sys.argv[1], 'rb').read()
pe = struct.unpack_from('<I', d, 0x3c)[0]
opt = pe + 24
magic = struct.unpack_from('<H', d, opt)[0]
dirs = opt + (112 if magic == 0x20b else 96)
off, size = struct.unpack_from('<II', d, dirs + 4 * 8)
assert off % 8 == 0 and size % 8 == 0, (off, size)
assert off + size == len(d), (off, size, len(d))
length, rev, typ = struct.unpack_from('<IHH', d, off)
assert rev == 0x200 and typ == 2 and length <= size
# PE checksum
cs_off = opt + 64
s = 0
for i in range(0, len(d) - 1, 2):
    if i in (cs_off, cs_off + 2): continue
    s += d[i] | d[i + 1] << 8
    s = (s & 0xffff) + (s >> 16)
if len(d) % 2: s += d[-1]
s = (s & 0xffff) + (s >> 16); s = (s & 0xffff) + (s >> 16)
assert s + len(d) == struct.unpack_from('<I', d, cs_off)[0], "checksum"
PY
# in place
cp unsigned.efi inplace.efi && $KEYSTONE secureboot sign --key keys/keys/db/db.key --cert keys/keys/db/db.pem inplace.efi
sbverify --cert keys/keys/db/db.pem inplace.efi || fail "in-place signing"

# --- inspect: our digest = osslsigncode's calculated digest, and lists the signer
$KEYSTONE secureboot inspect signed.efi >inspect.txt
grep -q 'subject: CN=Test Signature Database Key' inspect.txt || { cat inspect.txt; fail "inspect subject"; }
grep -q 'matches the image' inspect.txt || fail "inspect: signed digest should match"
ours=$(sed -n 's/^authenticode-sha256: //p' inspect.txt)
theirs=$(sed -n 's/^Calculated message digest *: *\([0-9A-Fa-f]*\).*/\1/p' ossl.log | tr A-F a-f)
[ -n "$ours" ] && [ "$ours" = "$theirs" ] || fail "digest: ours $ours, osslsigncode $theirs"

# --- re-signing replaces the signature (one signature, the new signer's)
$KEYSTONE secureboot sign --dir other signed.efi -o resigned.efi
$KEYSTONE secureboot inspect resigned.efi >inspect2.txt
grep -q '^signatures: 1$' inspect2.txt || { cat inspect2.txt; fail "re-signing should leave one signature"; }
grep -q 'subject: CN=Other Signature Database Key' inspect2.txt || fail "re-signed subject"
[ "$(sed -n 's/^authenticode-sha256: //p' inspect2.txt)" = "$ours" ] || fail "re-signing changed the image digest"
sbverify --cert other/keys/db/db.pem resigned.efi || fail "sbverify on re-signed"
must_fail $KEYSTONE secureboot verify --cert keys/keys/db/db.pem resigned.efi
must_fail sbverify --cert keys/keys/db/db.pem resigned.efi
# signing twice gives the same size (the old table is replaced, not kept)
$KEYSTONE secureboot sign --dir keys resigned.efi -o twice.efi
[ "$(stat -c %s twice.efi)" = "$(stat -c %s signed.efi)" ] || fail "re-signed size differs"

# --- must fail: wrong certificate, unsigned file, one flipped byte in a section
must_fail $KEYSTONE secureboot verify --cert other/keys/db/db.pem signed.efi
grep -q 'no signature is valid' out.log || fail "wrong-cert message"
must_fail sbverify --cert other/keys/db/db.pem signed.efi
must_fail osslsigncode verify -CAfile other/keys/db/db.pem -in signed.efi
must_fail $KEYSTONE secureboot verify --cert keys/keys/db/db.pem unsigned.efi
grep -q 'is not signed' out.log || fail "unsigned message"
# flip one byte in the middle of .text
off=$($PY - signed.efi <<'PY'
import struct, sys
d = open(sys.argv[1], 'rb').read()
pe = struct.unpack_from('<I', d, 0x3c)[0]
n = struct.unpack_from('<H', d, pe + 6)[0]
optsz = struct.unpack_from('<H', d, pe + 20)[0]
st = pe + 24 + optsz
for i in range(n):
    name, vs, va, rs, rp = struct.unpack_from('<8sIIII', d, st + 40 * i)
    if name.rstrip(b'\0') == b'.text':
        print(rp + rs // 2)
PY
)
[ -n "$off" ] || fail "no .text section"
cp signed.efi flipped.efi
$PY -c "
import sys
f = open('flipped.efi', 'r+b'); f.seek($off); b = f.read(1); f.seek($off); f.write(bytes([b[0] ^ 1]))"
cmp -s signed.efi flipped.efi && fail "byte not flipped"
must_fail $KEYSTONE secureboot verify --cert keys/keys/db/db.pem flipped.efi
must_fail sbverify --cert keys/keys/db/db.pem flipped.efi
must_fail osslsigncode verify -CAfile keys/keys/db/db.pem -in flipped.efi
$KEYSTONE secureboot inspect flipped.efi | grep -q 'DOES NOT MATCH' || fail "inspect should show the mismatch"

# --- a forged signature: same signed attributes, signature bytes altered
cp signed.efi forged.efi
$PY - forged.efi <<'PY'
import struct, sys
p = sys.argv[1]
d = bytearray(open(p, 'rb').read())
pe = struct.unpack_from('<I', d, 0x3c)[0]
opt = pe + 24
dirs = opt + (112 if struct.unpack_from('<H', d, opt)[0] == 0x20b else 96)
off, size = struct.unpack_from('<II', d, dirs + 32)
length = struct.unpack_from('<I', d, off)[0]
# the RSA signature is the last 256 bytes of the PKCS#7 DER
d[off + length - 10] ^= 0xff
open(p, 'wb').write(d)
PY
must_fail $KEYSTONE secureboot verify --cert keys/keys/db/db.pem forged.efi
must_fail sbverify --cert keys/keys/db/db.pem forged.efi

# --- the other direction: signatures made by sbsign and osslsigncode are
# accepted by our verify, and our digest equals theirs on those files
for f in $STUB_DIR/systemd-bootx64.efi $STUB_DIR/linuxx64.efi.stub; do
	sbsign --key keys/keys/db/db.key --cert keys/keys/db/db.pem --output by-sbsign.efi "$f" 2>/dev/null
	$KEYSTONE secureboot verify --cert keys/keys/db/db.pem by-sbsign.efi >/dev/null || fail "verify refused sbsign's signature on $f"
	must_fail $KEYSTONE secureboot verify --cert other/keys/db/db.pem by-sbsign.efi
	rm -f by-ossl.efi
	osslsigncode sign -certs keys/keys/db/db.pem -key keys/keys/db/db.key -h sha256 -in "$f" -out by-ossl.efi >/dev/null
	$KEYSTONE secureboot verify --cert keys/keys/db/db.pem by-ossl.efi >/dev/null || fail "verify refused osslsigncode's signature on $f"
	ours=$($KEYSTONE secureboot inspect by-ossl.efi | sed -n 's/^authenticode-sha256: //p')
	theirs=$(osslsigncode verify -CAfile keys/keys/db/db.pem -in by-ossl.efi 2>&1 | sed -n 's/^Calculated message digest *: *\([0-9A-Fa-f]*\).*/\1/p' | tr A-F a-f)
	[ "$ours" = "$theirs" ] || fail "digest of osslsigncode-signed $f: ours $ours, theirs $theirs"
done

# --- a signer issued by a CA: trusted through the CA, as firmware does with a db CA
openssl req -x509 -newkey rsa:2048 -nodes -keyout ca.key -subj "/CN=Test CA" -days 2 \
	-addext basicConstraints=critical,CA:TRUE -addext keyUsage=critical,keyCertSign -out ca.pem 2>/dev/null
openssl req -newkey rsa:2048 -nodes -keyout leaf.key -subj "/CN=Test Leaf" -out leaf.csr 2>/dev/null
openssl x509 -req -in leaf.csr -CA ca.pem -CAkey ca.key -CAcreateserial -days 1 -out leaf.pem 2>/dev/null
$KEYSTONE secureboot sign --key leaf.key --cert leaf.pem unsigned.efi -o leaf-signed.efi
$KEYSTONE secureboot verify --cert ca.pem leaf-signed.efi || fail "signature through the issuing CA"
sbverify --cert ca.pem leaf-signed.efi || fail "sbverify through the CA"
must_fail $KEYSTONE secureboot verify --cert keys/keys/db/db.pem leaf-signed.efi
# mismatched key and certificate are refused before signing
must_fail $KEYSTONE secureboot sign --key leaf.key --cert keys/keys/db/db.pem unsigned.efi -o x.efi
grep -q 'does not belong' out.log || fail "key/cert mismatch message"

# --- not a PE image: a clear error naming the file, exit 1, nothing written
printf 'just text\n' >notpe.efi
set +e
$KEYSTONE secureboot sign --dir keys notpe.efi -o x.efi 2>err.txt; rc=$?
set -e
[ $rc = 1 ] || fail "sign on a text file: exit $rc"
grep -q 'notpe.efi is not a usable PE/COFF image: no MZ header' err.txt || fail "message: $(cat err.txt)"
[ ! -e x.efi ] || fail "wrote output for a non-PE input"
must_fail $KEYSTONE secureboot inspect notpe.efi
# every verb has --help (exit 0)
for v in keygen export enroll status uki sign verify inspect; do
	$KEYSTONE secureboot $v --help | grep -q "^Usage: keystone secureboot $v" || fail "$v --help"
done
echo "ok"
