#!/bin/bash
# One host loader for every command: a bad host file reads the same from
# keystone eval, build, image, lock, disk plan, vm and tpm enroll --host — the same lines
# (FILE:LINE:COLUMN, what is wrong, the fix) apart from a `keystone VERB:`
# prefix, the same exit status — and none of them starts any work.
set -u
. "$SRCDIR/tests/lib/assert.sh"
T=$(mktemp -d /tmp/keystone-test-XXXXXX); trap 'rm -rf "$T"' EXIT
cd "$T"
export KEYSTONE_CACHE_DIR=$T/cache

# line 5: a type error (a string where a bool goes); line 7: an unknown option
cat > host.toml <<'TOML'
imports = ["disk-single-root"]
[host]
name = "diag"
[ssh]
enable = "yes"
[disk]
swap-szie = "4G"
TOML

# the stderr lines without a leading "keystone:" or "keystone VERB:" prefix
normalise() { sed -E 's/^keystone( [a-z-]+)*: //'; }

run_status 1 "$KEYSTONE" eval host.toml
want=$(printf '%s\n' "$ERR" | normalise)
want_rc=$RC
[ -z "$OUT" ] || fail "eval printed a configuration for a bad host file"
assert_contains "$want" "host.toml:5:10: ssh.enable: expected true or false, got a string"
assert_contains "$want" "host.toml:7:1: unknown option \`disk.swap-szie\`; did you mean \`disk.swap-size\`?"
assert_contains "$want" "host.toml: 2 problems in the configuration; fix them and run 'keystone eval host.toml' again"
[ "$(printf '%s\n' "$want" | wc -l)" = 3 ] || fail "expected two problems and one last line, got: $want"

same() {
	local what=$1; shift
	_run "$KEYSTONE" "$@"
	[ "$RC" = "$want_rc" ] || fail "keystone $what: exit $RC, keystone eval exited $want_rc"
	got=$(printf '%s\n' "$ERR" | normalise)
	[ "$got" = "$want" ] || fail "keystone $what printed other lines than keystone eval:
--- eval
$want
--- $what
$got"
}

same build build host.toml -o out
[ -e out ] && fail "keystone build made its output directory for a bad host file"
same image image host.toml -o img
[ -e img ] && fail "keystone image made its output for a bad host file"
same lock lock host.toml
[ -e keystone.lock ] && fail "keystone lock wrote a lock for a bad host file"
same "disk plan" disk plan host.toml --image disk.img --size 20G
[ -e disk.img ] && fail "keystone disk plan made the image file for a bad host file"
same vm vm host.toml --state "$T/state"
[ -e state ] && fail "keystone vm made its state directory for a bad host file"
same "tpm enroll --host" tpm enroll --host host.toml disk.img
[ -e disk.img ] && fail "keystone tpm enroll made its target for a bad host file"
[ -e cache ] && fail "a command touched the cache for a bad host file"

# a host file that cannot be read: the same one line everywhere too
run_status 1 "$KEYSTONE" eval missing.toml
want=$(printf '%s\n' "$ERR" | normalise)
want_rc=$RC
assert_contains "$want" "missing.toml: cannot read the host file: No such file or directory"
same build build missing.toml
same lock lock missing.toml
same vm vm missing.toml
pass
