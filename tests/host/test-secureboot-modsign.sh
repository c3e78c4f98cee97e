#!/bin/bash
# keystone secureboot sign-module: the kernel's module signature format,
# read back by kmod's modinfo and verified independently by openssl cms;
# changed bytes and other signers are refused by both.
set -u
. "$SRCDIR/tests/lib/assert.sh"
T=$(mktemp -d /tmp/keystone-test-XXXXXX); trap 'rm -rf "$T"' EXIT
cd "$T"
PY=/usr/bin/python3

# A relocatable ELF with a .modinfo section is all modinfo and the
# signature format need (it is never loaded).
cat > m.c <<'C'
static const char a[] __attribute__((section(".modinfo"), used)) = "license=GPL";
static const char b[] __attribute__((section(".modinfo"), used)) = "description=keystone test module";
int init_module(void) { return 0; }
C
gcc -c -o m.ko m.c || fail "cannot build the test module"
cp m.ko orig.ko
run_ok "$KEYSTONE" secureboot keygen --dir k1 --name "Owner One"
run_ok "$KEYSTONE" secureboot keygen --dir k2 --name "Owner Two"
DB1=k1/keys/db/db.pem DB2=k2/keys/db/db.pem

# split MODULE → body, PKCS#7 (DER), by the trailer's big-endian length
split_sig() {
	$PY - "$1" <<'PYEOF'
import sys
d = open(sys.argv[1], "rb").read()
magic = b"~Module signature appended~\n"
assert d.endswith(magic), "no signature magic"
t = d[-len(magic) - 12:-len(magic)]
assert t[2] == 2, "id_type is not PKCS#7"
n = int.from_bytes(t[8:12], "big")
body = d[:-len(magic) - 12 - n]
open("body.ko", "wb").write(body)
open("sig.der", "wb").write(d[len(body):len(body) + n])
PYEOF
}
openssl_ok() { openssl cms -verify -inform DER -binary -in sig.der -content body.ko -certfile "$1" -nointern -noverify -out /dev/null 2>&1; }

run_ok "$KEYSTONE" secureboot sign-module --dir k1 m.ko
M=$(/sbin/modinfo ./m.ko) || fail "modinfo cannot read the signed module"
echo "$M"
echo "$M" | grep -q '^sig_id: *PKCS#7$' || fail "modinfo: sig_id"
echo "$M" | grep -q '^sig_hashalgo: *sha256$' || fail "modinfo: sig_hashalgo"
cn=$(openssl x509 -in "$DB1" -noout -subject -nameopt multiline | sed -n 's/^ *commonName *= *//p')
echo "$M" | grep -q "^signer: *$cn\$" || fail "modinfo: signer is not '$cn'"
serial=$(openssl x509 -in "$DB1" -noout -serial | sed 's/serial=//')
[ "$(echo "$M" | sed -n 's/^sig_key: *//p' | tr -d ':')" = "$serial" ] || fail "modinfo: sig_key is not the db certificate's serial"
echo "$M" | grep -q '^description: *keystone test module$' || fail "the module's own info was damaged"

split_sig m.ko
cmp -s body.ko orig.ko || fail "signing changed the module's bytes"
openssl_ok "$DB1" | grep -q "Verification successful" || fail "openssl cms does not verify the signature"
run_ok "$KEYSTONE" secureboot verify-module --cert "$DB1" m.ko
run_status 1 "$KEYSTONE" secureboot verify-module --cert "$DB2" m.ko
assert_contains "$ERR" "does not verify"

# Re-signing replaces the signature (one trailer, the new signer).
size1=$(stat -c %s m.ko)
run_ok "$KEYSTONE" secureboot sign-module --dir k2 m.ko -o m2.ko
[ "$(grep -c -a 'Module signature appended' m2.ko)" = 1 ] || fail "re-signing stacked two signatures"
# the module's bytes before the new trailer are exactly the original's
# (the trailer's size may differ by a byte or two: DER lengths of the other
# certificate's serial and names)
split_sig m2.ko
cmp -s body.ko orig.ko || fail "re-signing changed the module's bytes"
[ "$(stat -c %s m2.ko)" -gt "$(stat -c %s orig.ko)" ] || fail "the re-signed module has no signature after its body"
/sbin/modinfo ./m2.ko | grep -q "^signer: *$(openssl x509 -in "$DB2" -noout -subject -nameopt multiline | sed -n 's/^ *commonName *= *//p')\$" || fail "re-signed module names the old signer"
run_ok "$KEYSTONE" secureboot verify-module --cert "$DB2" m2.ko
run_status 1 "$KEYSTONE" secureboot verify-module --cert "$DB1" m2.ko

# One changed byte in the module: refused by keystone and by openssl.
cp m.ko bad.ko
printf 'X' | dd of=bad.ko bs=1 seek=100 conv=notrunc status=none
run_status 1 "$KEYSTONE" secureboot verify-module --cert "$DB1" bad.ko
split_sig bad.ko
openssl_ok "$DB1" | grep -q "Verification successful" && fail "openssl accepted a changed module"

# Unsigned, malformed, compressed, not ELF.
run_status 1 "$KEYSTONE" secureboot verify-module --cert "$DB1" orig.ko
assert_contains "$ERR" "is not signed"
head -c -30 m.ko > trunc.ko; printf '\0\0\2\0\0\0\0\0\x7f\xff\xff\xff~Module signature appended~\n' >> trunc.ko
run_status 1 "$KEYSTONE" secureboot verify-module --cert "$DB1" trunc.ko
assert_contains "$ERR" "malformed signature"
run_status 1 "$KEYSTONE" secureboot sign-module --dir k1 trunc.ko
xz -k orig.ko
run_status 1 "$KEYSTONE" secureboot sign-module --dir k1 orig.ko.xz
assert_contains "$ERR" "decompress it first"
echo "not a module" > text.ko
run_status 1 "$KEYSTONE" secureboot sign-module --dir k1 text.ko
assert_contains "$ERR" "not an ELF kernel module"
pass
