#!/bin/bash
# keystone secureboot export: signature lists byte-identical to efitools'
# cert-to-efi-sig-list, authenticated variables byte-identical to
# sign-efi-sig-list with the same timestamp, and their signatures checked by
# openssl itself over name||GUID||attributes||timestamp||data.
set -eu
# Debian's python3 (a pyenv shim on PATH costs a second per start)
PY=/usr/bin/python3; [ -x $PY ] || PY=python3
: "${KEYSTONE:?}" "${BUILD:?}"
for t in cert-to-efi-sig-list sign-efi-sig-list sig-list-to-certs openssl python3; do
	command -v $t >/dev/null || { echo "skip: $t not installed (efitools)"; exit 77; }
done
T=$(mktemp -d "$BUILD/test-sb-export.XXXXXX")
trap 'rm -rf "$T"' EXIT
cd "$T"
fail() { echo "FAIL: $*"; exit 1; }

$KEYSTONE secureboot keygen --dir keys --key-size 2048 --name Export
G=$(cat keys/GUID)
TS=1700000000
TSTR=$(date -u -d @$TS '+%Y-%m-%d %H:%M:%S')
$KEYSTONE secureboot export --dir keys --format esl -o esl
$KEYSTONE secureboot export --dir keys --format auth -o auth --timestamp $TS

declare -A signer=([PK]=PK [KEK]=PK [db]=KEK)
for v in PK KEK db; do
	cert-to-efi-sig-list -g "$G" keys/keys/$v/$v.pem ref-$v.esl >/dev/null
	cmp ref-$v.esl esl/$v.esl || fail "$v.esl differs from cert-to-efi-sig-list's"
	# and efitools reads ours back to the same certificate
	sig-list-to-certs esl/$v.esl back-$v >/dev/null
	openssl x509 -in keys/keys/$v/$v.pem -outform DER | cmp - back-$v-0.der || fail "$v.esl certificate round trip"
	s=${signer[$v]}
	sign-efi-sig-list -g "$G" -t "$TSTR" -k keys/keys/$s/$s.key -c keys/keys/$s/$s.pem $v ref-$v.esl ref-$v.auth >/dev/null
	cmp ref-$v.auth auth/$v.auth || fail "$v.auth differs from sign-efi-sig-list's"
done

# Independent check with openssl: rebuild the signed bytes from the spec and
# verify the PKCS#7 against the signer's certificate.
split() { # auth-file var vendor-guid -> payload.bin sig.p7 (ContentInfo-wrapped)
	$PY - "$@" <<'PY'
import struct, sys, uuid
data = open(sys.argv[1], 'rb').read()
name, vendor = sys.argv[2], uuid.UUID(sys.argv[3]).bytes_le
ts = data[:16]
length, rev, typ = struct.unpack_from('<IHH', data, 16)
assert rev == 0x200 and typ == 0x0ef1, (rev, typ)
assert data[24:40] == uuid.UUID('4aafd29d-68df-49ee-8aa9-347d375665a7').bytes_le, 'CertType'
assert ts[7:] == bytes(9), 'EFI_TIME pad/nanosecond/zone/daylight must be 0'
sd = data[40:16 + length]
esl = data[16 + length:]
attrs = 0x27
open('payload.bin', 'wb').write(name.encode('utf-16-le') + vendor + struct.pack('<I', attrs) + ts + esl)
def der_len(n):
    if n < 0x80: return bytes([n])
    b = n.to_bytes((n.bit_length() + 7) // 8, 'big'); return bytes([0x80 | len(b)]) + b
oid = bytes.fromhex('06092a864886f70d010702')
inner = oid + b'\xa0' + der_len(len(sd)) + sd
open('sig.p7', 'wb').write(b'\x30' + der_len(len(inner)) + inner)
open('data.esl', 'wb').write(esl)
PY
}
GLOBAL=8be4df61-93ca-11d2-aa0d-00e098032b8c
IMAGEDB=d719b2cb-3d3a-4596-a3bc-dad00e67656f
declare -A vendor=([PK]=$GLOBAL [KEK]=$GLOBAL [db]=$IMAGEDB)
for v in PK KEK db; do
	split auth/$v.auth $v ${vendor[$v]}
	cmp data.esl esl/$v.esl || fail "$v.auth does not carry $v.esl"
	s=${signer[$v]}
	openssl smime -verify -binary -inform DER -in sig.p7 -content payload.bin -CAfile keys/keys/$s/$s.pem \
		-purpose any -out /dev/null 2>log || { cat log; fail "openssl refused $v.auth (signed by $s)"; }
	# must fail: the wrong signer, and one changed byte of the data
	wrong=PK; [ $s = PK ] && wrong=KEK
	if openssl smime -verify -binary -inform DER -in sig.p7 -content payload.bin -CAfile keys/keys/$wrong/$wrong.pem \
		-purpose any -out /dev/null 2>/dev/null; then fail "$v.auth accepted with the $wrong certificate"; fi
	$PY -c "
d = bytearray(open('payload.bin','rb').read()); d[-5] ^= 1; open('payload.bin','wb').write(d)"
	if openssl smime -verify -binary -inform DER -in sig.p7 -content payload.bin -CAfile keys/keys/$s/$s.pem \
		-purpose any -out /dev/null 2>/dev/null; then fail "$v.auth accepted over changed data"; fi
done
# usage errors exit 2
set +e
$KEYSTONE secureboot export --dir keys --format pem -o x 2>/dev/null; [ $? = 2 ] || fail "bad --format should exit 2"
$KEYSTONE secureboot export --dir nonexistent --format esl -o x 2>err; [ $? = 1 ] || fail "missing keys should exit 1"
grep -q 'keygen' err || fail "missing keys message should say how to create them"
echo ok
