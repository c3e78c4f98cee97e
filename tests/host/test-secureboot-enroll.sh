#!/bin/bash
# keystone secureboot enroll/status against a directory laid out like
# efivarfs ("Name-GUID" files: 4-byte attributes + data) and synthetic TCG
# event logs.  What enroll writes is checked byte by byte and its signatures
# by openssl; refusals (user mode, option ROMs) must leave nothing written.
set -eu
# Debian's python3 (a pyenv shim on PATH costs a second per start)
PY=/usr/bin/python3; [ -x $PY ] || PY=python3
: "${KEYSTONE:?}" "${BUILD:?}"
for t in openssl python3; do command -v $t >/dev/null || { echo "skip: $t missing"; exit 77; }; done
T=$(mktemp -d "$BUILD/test-sb-enroll.XXXXXX")
trap 'chattr -i "$T"/*/* 2>/dev/null; rm -rf "$T"' EXIT
cd "$T"
fail() { echo "FAIL: $*"; exit 1; }
GLOBAL=8be4df61-93ca-11d2-aa0d-00e098032b8c
IMAGEDB=d719b2cb-3d3a-4596-a3bc-dad00e67656f

setvar() { # dir name guid attrs hexdata
	$PY -c "import struct,sys; open('$1/$2-$3','wb').write(struct.pack('<I',$4)+bytes.fromhex('$5'))"
}
fake_efivars() { # dir setupmode secureboot
	mkdir -p "$1"
	setvar "$1" SetupMode $GLOBAL 6 "0$2"
	setvar "$1" SecureBoot $GLOBAL 6 "0$3"
}
eventlog() { # out with-option-rom(0/1)
	$PY - "$@" <<'PY'
import struct, sys, hashlib
out, rom = sys.argv[1], sys.argv[2] == '1'
spec = b'Spec ID Event03\0' + struct.pack('<IBBBBI', 0, 0, 2, 0, 2, 1) + struct.pack('<HH', 0x000b, 32) + b'\0'
log = struct.pack('<II', 0, 3) + bytes(20) + struct.pack('<I', len(spec)) + spec
def ev(pcr, typ, data):
    return struct.pack('<IIIH', pcr, typ, 1, 0x000b) + hashlib.sha256(data).digest() + struct.pack('<I', len(data)) + data
log += ev(0, 0x8, b'CRTM version')
log += ev(7, 0x80000001, b'SecureBoot variable')
log += ev(2, 0x80000003, b'not a driver')          # EV_EFI_BOOT_SERVICES_APPLICATION
log += ev(4, 0x80000004, b'driver outside PCR 2')  # not an option ROM by our rule
if rom:
    log += ev(2, 0x80000004, b'\0' * 32)          # an option ROM
open(out, 'wb').write(log)
PY
}
# checks that FILE holds attrs + an authenticated payload for VAR signed by SIGNER carrying ESL
check_auth() { # file var vendor attrs signer-cert expected-esl
	$PY - "$@" <<'PY' || exit 1
import struct, sys, uuid
f, name, vendor, attrs, _, esl_path = sys.argv[1:7]
d = open(f, 'rb').read()
a = struct.unpack_from('<I', d)[0]
assert a == int(attrs, 0), ('attributes', hex(a))
p = d[4:]
length, rev, typ = struct.unpack_from('<IHH', p, 16)
assert (rev, typ) == (0x200, 0xef1)
sd, data = p[40:16 + length], p[16 + length:]
if esl_path != '-':
    assert data == open(esl_path, 'rb').read(), 'data is not the expected signature list'
open('payload.bin', 'wb').write(name.encode('utf-16-le') + uuid.UUID(vendor).bytes_le + struct.pack('<I', a) + p[:16] + data)
def L(n):
    if n < 0x80: return bytes([n])
    b = n.to_bytes((n.bit_length() + 7) // 8, 'big'); return bytes([0x80 | len(b)]) + b
inner = bytes.fromhex('06092a864886f70d010702') + b'\xa0' + L(len(sd)) + sd
open('sig.p7', 'wb').write(b'\x30' + L(len(inner)) + inner)
PY
	openssl smime -verify -binary -inform DER -in sig.p7 -content payload.bin -CAfile "$5" -purpose any \
		-out /dev/null 2>/dev/null || fail "$1: signature does not verify with $5"
}

$KEYSTONE secureboot keygen --dir keys --key-size 2048 --name Enroll
$KEYSTONE secureboot export --dir keys --format esl -o esl >/dev/null
eventlog clean.log 0
eventlog rom.log 1

# --- user mode: refused, says how to enter setup mode, writes nothing
fake_efivars user 0 1
if $KEYSTONE secureboot enroll --dir keys --efivars user --event-log clean.log 2>err; then fail "enrolled in user mode"; fi
grep -q 'Reset to Setup Mode' err || fail "user-mode message: $(cat err)"
[ "$(ls user | wc -l)" = 2 ] || fail "wrote variables in user mode"

# --- option ROMs in the event log: refused unless --force or --microsoft-certs
fake_efivars rom 1 0
if $KEYSTONE secureboot enroll --dir keys --efivars rom --event-log rom.log 2>err; then fail "ignored option ROMs"; fi
grep -q '1 option ROM' err || fail "option ROM message: $(cat err)"
grep -q -- '--microsoft-certs' err || fail "option ROM message should name --microsoft-certs"
[ "$(ls rom | wc -l)" = 2 ] || fail "wrote variables despite option ROMs"
$KEYSTONE secureboot enroll --dir keys --efivars rom --event-log rom.log --force >/dev/null || fail "--force"
[ -f rom/PK-$GLOBAL ] || fail "--force did not enroll"
# a malformed log is refused too (not silently treated as clean)
head -c 70 rom.log >bad.log
fake_efivars bad 1 0
if $KEYSTONE secureboot enroll --dir keys --efivars bad --event-log bad.log 2>err; then fail "accepted a malformed event log"; fi

# --- no keys in --dir: refused, says how to create them, writes nothing
fake_efivars nokeys 1 0
mkdir -p empty
if $KEYSTONE secureboot enroll --dir empty --efivars nokeys --event-log clean.log 2>err; then fail "enrolled without keys"; fi
grep -q 'cannot read the PK certificate or owner GUID in empty' err || fail "no-keys message: $(cat err)"
grep -q "keystone secureboot keygen --dir empty" err || fail "no-keys message should say how to create keys: $(cat err)"
[ "$(ls nokeys | wc -l)" = 2 ] || fail "wrote variables without keys"

# --- setup mode, clean log: db, KEK, PK in that order, each signed right
fake_efivars setup 1 0
# --dry-run first: says what it would write, writes nothing
$KEYSTONE --dry-run secureboot enroll --dir keys --efivars setup --event-log clean.log >out || fail "dry run"
[ "$(grep -c '^would write' out)" = 3 ] || fail "dry run output: $(cat out)"
[ "$(ls setup | wc -l)" = 2 ] || fail "dry run wrote variables"
# an existing immutable db (efivarfs marks variables immutable) must be handled
setvar setup db $IMAGEDB 0x27 ""
immutable=0
chattr +i setup/db-$IMAGEDB 2>/dev/null && immutable=1
$KEYSTONE secureboot enroll --dir keys --efivars setup --event-log clean.log >out || fail "enroll in setup mode"
[ "$(grep '^enrolled' out | tr '\n' ' ')" = "enrolled db enrolled KEK enrolled PK " ] || fail "order: $(cat out)"
check_auth setup/db-$IMAGEDB db $IMAGEDB 0x27 keys/keys/KEK/KEK.pem esl/db.esl
check_auth setup/KEK-$GLOBAL KEK $GLOBAL 0x27 keys/keys/PK/PK.pem esl/KEK.esl
check_auth setup/PK-$GLOBAL PK $GLOBAL 0x27 keys/keys/PK/PK.pem esl/PK.esl
# must fail: db is not signed by PK, KEK not by db
if (check_auth setup/db-$IMAGEDB db $IMAGEDB 0x27 keys/keys/PK/PK.pem esl/db.esl) >/dev/null 2>&1; then fail "db verified with PK"; fi
if [ $immutable = 1 ]; then
	lsattr setup/db-$IMAGEDB | cut -c1-20 | grep -q i || fail "immutable flag not restored"
	chattr -i setup/db-$IMAGEDB
else
	echo "note: this filesystem has no immutable flag; that part was not exercised"
fi

# --- with Microsoft certificates (stand-ins generated here)
mkdir -p ms/KEK ms/db
openssl req -x509 -newkey rsa:2048 -nodes -keyout /dev/null -subj "/CN=Stand-in Microsoft KEK CA" -days 1 -out ms/KEK/kek.pem 2>/dev/null
openssl req -x509 -newkey rsa:2048 -nodes -keyout /dev/null -subj "/CN=Stand-in Microsoft UEFI CA" -days 1 -outform DER -out ms/db/uefi.der 2>/dev/null
fake_efivars msmode 1 0
$KEYSTONE secureboot enroll --dir keys --efivars msmode --event-log rom.log --microsoft-certs ms >/dev/null || fail "enroll with --microsoft-certs"
check_auth msmode/db-$IMAGEDB db $IMAGEDB 0x27 keys/keys/KEK/KEK.pem -

# --- status reads modes and the enrolled lists (as efivarfs shows them: attrs + ESL)
fake_efivars st 0 1
setvar st AuditMode $GLOBAL 6 00
setvar st DeployedMode $GLOBAL 6 00
for v in PK KEK; do $PY -c "import struct; open('st/$v-$GLOBAL','wb').write(struct.pack('<I',0x27)+open('esl/$v.esl','rb').read())"; done
$PY -c "import struct; open('st/db-$IMAGEDB','wb').write(struct.pack('<I',0x27)+open('esl/db.esl','rb').read()+open('esl/KEK.esl','rb').read())"
$KEYSTONE secureboot status --efivars st >status.txt || fail "status"
cat status.txt
grep -qx 'SecureBoot: enabled' status.txt || fail "SecureBoot line"
grep -q '^SetupMode: 0 (user mode)' status.txt || fail "SetupMode line"
grep -qx 'AuditMode: 0' status.txt && grep -qx 'DeployedMode: 0' status.txt || fail "Audit/Deployed lines"
G=$(cat keys/GUID)
grep -qx "PK: CN=Enroll Platform Key (owner $G)" status.txt || fail "PK subject"
grep -qx "KEK: CN=Enroll Key Exchange Key (owner $G)" status.txt || fail "KEK subject"
[ "$(grep -c '^db: ' status.txt)" = 2 ] || fail "db should list two certificates"
# a malformed list is reported, not a crash
printf '\x27\0\0\0garbage' >st/KEK-$GLOBAL
$KEYSTONE secureboot status --efivars st | grep -q 'KEK: (malformed' || fail "malformed KEK"
if $KEYSTONE secureboot status --efivars empty-dir-that-does-not-exist 2>/dev/null; then fail "status without efivars"; fi

# --- user mode: --append db --cert, signed by KEK with the APPEND attribute
openssl req -x509 -newkey rsa:2048 -nodes -keyout /dev/null -subj "/CN=Extra signer" -days 1 -out extra.pem 2>/dev/null
$KEYSTONE secureboot enroll --dir keys --efivars user --append db --cert extra.pem >/dev/null || fail "--append db"
check_auth user/db-$IMAGEDB db $IMAGEDB 0x67 keys/keys/KEK/KEK.pem -
$KEYSTONE secureboot enroll --dir keys --efivars user --append KEK --cert extra.pem >/dev/null || fail "--append KEK"
check_auth user/KEK-$GLOBAL KEK $GLOBAL 0x67 keys/keys/PK/PK.pem -
set +e
$KEYSTONE secureboot enroll --dir keys --efivars user --append PK --cert extra.pem 2>/dev/null; [ $? = 2 ] || fail "--append PK must be a usage error"
$KEYSTONE secureboot enroll --dir keys --efivars user --append db 2>/dev/null; [ $? = 2 ] || fail "--append without --cert"
echo ok
