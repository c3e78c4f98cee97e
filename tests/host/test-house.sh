#!/bin/bash
# The house rules of issue 17, checked on the tree and on the binary:
#  - no function in the command layer is longer than 80 lines;
#  - library code never includes command or test code;
#  - the shipped binary holds nothing of the VM test layer;
#  - help comes from the verb table: every command and every verb of every
#    family answers --help, `keystone help A B` prints what `keystone A B
#    --help` prints, and a family's help lists every verb it dispatches to.
set -u
. "$SRCDIR/tests/lib/assert.sh"
cd "$SRCDIR"
PY=/usr/bin/python3

# 1. Function length in src/cmd/ and src/keystone.c: from the line at
# column 0 that starts a definition (its parameters may go on over more
# lines, up to the "{") to its closing "}"; no file is exempt.  And one
# option parser: only the framework (src/cmd/cmd.c) calls getopt, every
# command takes its options from the verb table.
own=$(grep -l -E 'getopt|optind|optarg' src/keystone.c src/cmd/*.c | grep -v -x src/cmd/cmd.c || true)
[ -z "$own" ] || fail "commands that parse their own options (give them an option set in the verb table):
$own"
long=$($PY - src/keystone.c src/cmd/*.c <<'PYEOF'
import re, sys
# a definition starts at column 0 with NAME( and opens its body with a "{"
# ending its line, on that line or after the parameters that continue it
opening = re.compile(r'^[A-Za-z_][^;{}=]*\(')
for path in sys.argv[1:]:
    lines = open(path).read().split('\n')
    start = head = None
    for i, l in enumerate(lines, 1):
        if start is None:
            if head is None and opening.match(l):
                head = (i, l)
            if head is not None and l.rstrip().endswith('{'):
                (start, name), head = head, None
            elif head is not None and (l.rstrip().endswith(';') or not l.strip()):
                head = None
        elif l == '}':
            n = i - start + 1
            if n > 80:
                print(f"{path}:{start}: {n} lines: {name.strip()}")
            start = None
PYEOF
)
[ -z "$long" ] || fail "functions longer than 80 lines in the command layer:
$long"

# 2. Library code includes no command or test code.
bad=$(grep -rn --include='*.[ch]' -E '#include "(cmd/|tests/|\.\./)' src | grep -v -E '^src/(cmd/|keystone\.c)' || true)
[ -z "$bad" ] || fail "library code includes command or test code:
$bad"

# 3. Nothing of the VM test layer in the shipped binary (its symbols are
# vmtest_*; the shipped VM driver is src/vm/).
syms=$(nm "$BUILD/keystone" | grep -i -E ' (vmtest_|vm_succeed|vm_fail|vm_wait_until)' || true)
[ -z "$syms" ] || fail "build/keystone links test helpers:
$syms"

# 4. Help generated from the table, the same way at every level.
verbs_of() { # the names listed under "Commands:" or "Verbs:"
	sed -n '/^\(Commands\|Verbs\):$/,/^$/p' | sed -n 's/^  \([a-z][a-z-]*\).*/\1/p'
}
run_ok "$KEYSTONE" --help
top=$(echo "$OUT" | verbs_of)
[ "$(echo "$top" | wc -l)" -ge 10 ] || fail "keystone --help lists too few commands: $top"
for c in $top; do
	run_ok "$KEYSTONE" "$c" --help; h1=$OUT
	assert_contains "$h1" "Usage: keystone $c"
	run_ok "$KEYSTONE" help "$c"
	[ "$OUT" = "$h1" ] || fail "keystone help $c differs from keystone $c --help"
	for v in $(echo "$h1" | verbs_of); do
		run_ok "$KEYSTONE" "$c" "$v" --help; h2=$OUT
		assert_contains "$h2" "Usage: keystone $c $v"
		run_ok "$KEYSTONE" help "$c" "$v"
		[ "$OUT" = "$h2" ] || fail "keystone help $c $v differs from keystone $c $v --help"
	done
done
# the families of issue 17 list their verbs
run_ok "$KEYSTONE" tpm --help
for v in enroll unlock recovery password wipe status measure banner; do
	echo "$OUT" | verbs_of | grep -qx "$v" || fail "keystone tpm --help does not list $v"
done
run_ok "$KEYSTONE" disk --help
for v in plan apply status mount unmount install; do
	echo "$OUT" | verbs_of | grep -qx "$v" || fail "keystone disk --help does not list $v"
done
run_ok "$KEYSTONE" secureboot --help
for v in keygen export enroll status uki sign verify inspect sign-module verify-module; do
	echo "$OUT" | verbs_of | grep -qx "$v" || fail "keystone secureboot --help does not list $v"
done

# 5. One usage error: an unknown verb at each level exits 2 and says where.
run_status 2 "$KEYSTONE" frobnicate
assert_contains "$ERR" "keystone: unknown command 'frobnicate'"
for c in tpm disk secureboot; do
	run_status 2 "$KEYSTONE" "$c" frobnicate
	assert_contains "$ERR" "keystone $c: unknown verb 'frobnicate'"
	assert_contains "$ERR" "Try 'keystone $c --help'."
done
pass
