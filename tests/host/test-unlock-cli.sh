#!/bin/bash
# keystone unlock against a real sshd on loopback that stands in for
# keystone-init's (a ForceCommand records what the session asked for and
# what came on stdin): the command run is exactly keystone-init --unlock,
# the secret arrives on stdin and nowhere in a command line, the verdict
# comes back; a pinned host key that differs is refused before anything is
# sent; a wrong secret's failure is said.
set -u
. "$SRCDIR/tests/lib/assert.sh"
T=$(mktemp -d /tmp/keystone-test-XXXXXX)
. "$SRCDIR/tests/lib/sshd.sh"
trap 'sshd_stop; rm -rf "$T"' EXIT
sshd_setup
cat >"$T/fake-init" <<EOS
#!/bin/sh
# stands in for keystone-init --unlock: the command asked for, then stdin
printf '%s' "\$SSH_ORIGINAL_COMMAND" >"$T/asked"
cat >"$T/got"
if [ "\$(cat "$T/got")" = "right-secret" ]; then echo "opened with password or recovery key"; exit 0; fi
echo "keystone-init --unlock: Wrong password or recovery key. (try 1 of 3)" >&2; exit 1
EOS
chmod +x "$T/fake-init"
sshd_start "ForceCommand $T/fake-init"

printf 'right-secret' >"$T/secret"
run_ok "$KEYSTONE" unlock "root@127.0.0.1:$SSHD_PORT" -i "$T/id" --host-key "$T/host_key.pub" --key-file "$T/secret"
assert_contains "$OUT" "opened with password or recovery key"
[ "$(cat "$T/asked")" = "/usr/lib/keystone/keystone-init --unlock" ] || fail "asked for: $(cat "$T/asked")"
[ "$(cat "$T/got")" = "right-secret" ] || fail "stdin was: $(cat "$T/got")"
grep -q right-secret "$T/sshd.log" && fail "the secret is in sshd's log"

# the prompt path: stdin (not a terminal) gives one line
: >"$T/got"
OUT=$(printf 'right-secret\n' | "$KEYSTONE" unlock "127.0.0.1:$SSHD_PORT" -i "$T/id" --host-key "$T/host_key.pub" 2>&1) \
	|| fail "unlock from stdin: $OUT"
[ "$(cat "$T/got")" = "right-secret" ] || fail "stdin was: $(cat "$T/got")"

printf 'wrong' >"$T/wrong"
run_status 1 "$KEYSTONE" unlock "root@127.0.0.1:$SSHD_PORT" -i "$T/id" --host-key "$T/host_key.pub" --key-file "$T/wrong"
assert_contains "$ERR" "did not open the credstore"
assert_contains "$ERR" "Wrong password or recovery key"

# another host key than the pinned one: refused, nothing sent
ssh-keygen -q -t ed25519 -N '' -C other -f "$T/other"
: >"$T/got"; rm -f "$T/asked"
run_status 1 "$KEYSTONE" unlock "root@127.0.0.1:$SSHD_PORT" -i "$T/id" --host-key "$T/other.pub" --key-file "$T/secret"
[ -e "$T/asked" ] && fail "a session ran although the host key differs from the pinned one"
[ -s "$T/got" ] && fail "the secret was sent to a host whose key differs"
run_status 2 "$KEYSTONE" unlock "root@[::1"
pass
