#!/bin/bash
# keystone secureboot on the verb table: the family's help lists every verb,
# each verb's --help equals `keystone help secureboot VERB` and lists its
# options with their meaning, options a verb does not take and wrong numbers
# of arguments are usage errors (exit 2) that say so, and messages carry
# "keystone secureboot VERB: " once.
set -u
. "$SRCDIR/tests/lib/assert.sh"
: "${KEYSTONE:?}"
T=$(mktemp -d /tmp/keystone-test-XXXXXX); trap 'rm -rf "$T"' EXIT
cd "$T"
verbs="keygen export enroll status uki sign verify inspect sign-module verify-module"

# --- the family's help: every verb, with its summary
run_ok "$KEYSTONE" secureboot --help
for v in $verbs; do
	echo "$OUT" | grep -Eq "^  $v( |\$)" || fail "secureboot --help does not list $v"
done
help=$OUT
run_ok "$KEYSTONE" help secureboot
[ "$OUT" = "$help" ] || fail "'help secureboot' differs from 'secureboot --help'"
run_status 2 "$KEYSTONE" secureboot
assert_contains "$ERR" "missing verb (keygen, export, enroll, status, uki, sign, verify, inspect, sign-module, verify-module)"
run_status 2 "$KEYSTONE" secureboot nosuchverb
assert_contains "$ERR" "unknown verb 'nosuchverb'"

# --- each verb: one help text, two ways to ask for it
for v in $verbs; do
	run_ok "$KEYSTONE" secureboot "$v" --help
	a=$OUT
	run_ok "$KEYSTONE" help secureboot "$v"
	[ "$OUT" = "$a" ] || fail "'secureboot $v --help' and 'help secureboot $v' differ"
	echo "$a" | grep -q "^Usage: keystone secureboot $v" || fail "$v --help: no usage line"
	echo "$a" | grep -q -- "-h, --help" || fail "$v --help: no option list"
done
# every option with its meaning, where verbs describe one option differently
run_ok "$KEYSTONE" secureboot export --help
assert_contains "$OUT" "-o, --output OUTDIR"
assert_contains "$OUT" "created if missing"
assert_contains "$OUT" "-f, --format FORMAT"
assert_contains "$OUT" "-t, --timestamp UNIX"
assert_not_contains "$OUT" "--force"
run_ok "$KEYSTONE" secureboot sign --help
assert_contains "$OUT" "write the signed image to OUT"
assert_contains "$OUT" "signs with keys/db/db.{key,pem}"
assert_contains "$OUT" "-k, --key KEY"
assert_not_contains "$OUT" "--linux"
run_ok "$KEYSTONE" secureboot uki --help
assert_contains "$OUT" "-k, --linux KERNEL"
assert_contains "$OUT" "-c, --cmdline TEXT"
assert_contains "$OUT" "-d, --sign-dir DIR"
assert_contains "$OUT" "where to write the UKI"
run_ok "$KEYSTONE" secureboot enroll --help
assert_contains "$OUT" "-f, --force"
assert_contains "$OUT" "certificate for --append"
assert_contains "$OUT" "--dry-run"

# --- an option the verb does not take: exit 2, and which verbs take it
run_status 2 "$KEYSTONE" secureboot verify --dir keys x.efi
assert_contains "$ERR" "keystone secureboot verify: --dir is for keygen, export, enroll, sign and sign-module"
assert_contains "$ERR" "Try 'keystone secureboot verify --help'."
run_status 2 "$KEYSTONE" secureboot inspect -o out x.efi
assert_contains "$ERR" "--output is for export, uki, sign and sign-module"
run_status 2 "$KEYSTONE" secureboot status --force
assert_contains "$ERR" "--force is for enroll"
run_status 2 "$KEYSTONE" secureboot keygen --cert c.pem
assert_contains "$ERR" "--cert is for enroll, sign, sign-module, verify and verify-module"
run_status 2 "$KEYSTONE" secureboot sign --nosuch x.efi
assert_contains "$ERR" "unknown option '--nosuch'"
# one letter, another option in another verb: -f is export's --format, enroll's --force
run_status 2 "$KEYSTONE" secureboot export -f pem -o out
assert_contains "$ERR" "--format must be esl or auth"
run_status 2 "$KEYSTONE" secureboot export --format
assert_contains "$ERR" "needs an argument"

# --- positional arguments: missing, extra, none expected
run_status 2 "$KEYSTONE" secureboot inspect
assert_contains "$ERR" "keystone secureboot inspect: missing argument: FILE"
run_status 2 "$KEYSTONE" secureboot sign a.efi b.efi
assert_contains "$ERR" "too many arguments"
assert_contains "$ERR" "'b.efi' is one too many"
run_status 2 "$KEYSTONE" secureboot verify-module --cert c.pem
assert_contains "$ERR" "missing argument: MODULE.ko"
run_status 2 "$KEYSTONE" secureboot keygen extra
assert_contains "$ERR" "keystone secureboot keygen: takes no arguments (got 'extra')"

# --- rules the table cannot say, still usage errors
run_status 2 "$KEYSTONE" secureboot sign --key k.pem x.efi
assert_contains "$ERR" "--key and --cert go together"
run_status 2 "$KEYSTONE" secureboot verify x.efi
assert_contains "$ERR" "--cert is required"
run_status 2 "$KEYSTONE" secureboot keygen --key-size 1024 --dir k
assert_contains "$ERR" "--key-size must be 2048, 3072 or 4096, not '1024'"
run_status 2 "$KEYSTONE" secureboot export --format esl -o out --timestamp soon
assert_contains "$ERR" "--timestamp takes a number"
run_status 2 "$KEYSTONE" secureboot uki -o x.efi
assert_contains "$ERR" "--linux is required"
run_status 2 "$KEYSTONE" secureboot enroll --append db
assert_contains "$ERR" "--append and --cert go together"

# --- a failure: "keystone secureboot VERB: " once, never twice
run_status 1 "$KEYSTONE" secureboot inspect missing.efi
assert_contains "$ERR" "keystone secureboot inspect: cannot read missing.efi"
assert_not_contains "$ERR" "inspect: secureboot"
run_status 1 "$KEYSTONE" secureboot sign --dir nokeys x.efi
assert_contains "$ERR" "keystone secureboot sign: cannot load the db key from nokeys/keys/db/"
assert_contains "$ERR" "or give --key/--cert."
run_status 1 "$KEYSTONE" secureboot status --efivars none
assert_contains "$ERR" "keystone secureboot status: no SecureBoot or SetupMode variable in none"
pass
