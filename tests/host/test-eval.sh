#!/bin/bash
# keystone eval / options / help / version, as a user runs them.
set -u
. "$SRCDIR/tests/lib/assert.sh"
cd "$SRCDIR"
T=$(mktemp -d /tmp/keystone-test-XXXXXX); trap 'rm -rf "$T"' EXIT
PY=/usr/bin/python3

# The server example, merged: the plan's sizes and PCRs.
run_ok "$KEYSTONE" eval examples/server.toml --json
echo "$OUT" > "$T/server.json"
$PY - "$T/server.json" <<'PYEOF' || fail "server.json does not hold the plan's values"
import json, sys
c = json.load(open(sys.argv[1]))
assert c["disk"]["swap-size"] == "8G", c["disk"]
assert c["disk"]["esp-size"] == "1G"
assert c["disk"]["pool"] == "rpool"
assert c["disk"]["credstore-size"] == "100M"
assert c["tpm"]["pcrs"] == [1, 7]
assert c["host"]["role"] == "server"
assert c["secure-boot"]["key-dir"] == "/var/lib/keystone/secureboot"
assert c["disk"]["datasets"]["crypt/home"]["mountpoint"] == "/home"
assert c["users"]["admin"]["groups"] == ["sudo"]
assert "openssh-server" in c["host"]["packages"]
PYEOF

run_ok "$KEYSTONE" eval examples/workstation.toml --json
echo "$OUT" | $PY -c 'import json,sys; c=json.load(sys.stdin); assert c["host"]["role"]=="workstation" and c["boot"]["kernel"]=="standard" and c["disk"]["swap-size"]=="16G" and "hyprland" in c["host"]["packages"] and c["host"]["packages"][-1]=="firefox-esr"' \
	|| fail "workstation example merged wrongly"

# The TOML form of the merged configuration is itself a valid host file that
# evaluates to the same configuration.
run_ok "$KEYSTONE" eval examples/server.toml
echo "$OUT" > "$T/merged.toml"
run_ok "$KEYSTONE" eval "$T/merged.toml" --json
[ "$OUT" = "$(cat "$T/server.json")" ] || fail "eval of eval's TOML output differs from the original"

# --show-origin names the file, line and column of each value.
run_ok "$KEYSTONE" eval examples/server.toml --show-origin
assert_contains "$OUT" 'role = "server"  # modules/server.toml:6:8'
assert_contains "$OUT" 'swap-size = "8G"  # default'
assert_contains "$OUT" 'name = "keystone-server"  # examples/server.toml:9:8'
run_ok "$KEYSTONE" eval examples/server.toml --json --show-origin
echo "$OUT" | $PY -c 'import json,sys; o=json.load(sys.stdin); assert o["origins"]["host.role"]=="modules/server.toml:6:8", o["origins"]["host.role"]; assert o["config"]["host"]["role"]=="server"' \
	|| fail "--json --show-origin"

# A misspelled option inside a table: exit 1, FILE:LINE:COLUMN and the right name.
cat > "$T/typo.toml" <<'TOML'
imports = ["server"]
[host]
name = "typo"

[disk]
device = "/dev/vda"
swap-szie = "4G"
TOML
run_status 1 "$KEYSTONE" eval "$T/typo.toml"
assert_contains "$ERR" "$T/typo.toml:7:1: unknown option \`disk.swap-szie\`; did you mean \`disk.swap-size\`?"
assert_contains "$ERR" "1 problem in the configuration"
[ -z "$OUT" ] || fail "a failed eval printed a configuration"

# Several problems are all reported.
printf '[host]\nname = "x"\n[ssh]\nport = 0\nenable = 1\n' > "$T/two.toml"
run_status 1 "$KEYSTONE" eval "$T/two.toml"
assert_contains "$ERR" "two.toml:4:8: ssh.port: 0 is out of range"
assert_contains "$ERR" "two.toml:5:10: ssh.enable: expected true or false, got an integer"
assert_contains "$ERR" "2 problems"

# Invalid TOML names the line and column.
printf '[host]\nname = "x\n' > "$T/bad.toml"
run_status 1 "$KEYSTONE" eval "$T/bad.toml"
assert_contains "$ERR" "bad.toml:2:"
assert_contains "$ERR" "invalid TOML"

run_status 1 "$KEYSTONE" eval "$T/missing.toml"
assert_contains "$ERR" "missing.toml: cannot read the host file: No such file or directory"

# Usage errors exit 2.
run_status 2 "$KEYSTONE" eval
run_status 2 "$KEYSTONE" eval a b
run_status 2 "$KEYSTONE" eval --frobnicate examples/server.toml
run_status 2 "$KEYSTONE" no-such-command
run_status 2 "$KEYSTONE"

# Help: generated from the command table, with exit codes.
run_ok "$KEYSTONE" --help
for c in eval options help version; do assert_contains "$OUT" "  $c "; done
assert_contains "$OUT" "2  usage error"
for c in eval options; do
	run_ok "$KEYSTONE" "$c" --help; h1=$OUT
	run_ok "$KEYSTONE" help "$c"
	[ "$OUT" = "$h1" ] || fail "keystone help $c differs from keystone $c --help"
	assert_contains "$OUT" "Usage: keystone $c"
done
run_ok "$KEYSTONE" --version
[ "$OUT" = "keystone $(git describe --always --dirty --tags 2>/dev/null || echo unknown)" ] || \
	[ "$OUT" = "keystone unknown" ] || fail "--version printed '$OUT'"

# The option reference.
run_ok "$KEYSTONE" options disk
assert_contains "$OUT" "disk.swap-size"
assert_contains "$OUT" 'default: "8G"'
assert_not_contains "$OUT" "host.name"
run_ok "$KEYSTONE" options users.alice
assert_contains "$OUT" "users.<name>.ssh-keys"
run_ok "$KEYSTONE" options --json
echo "$OUT" | $PY -c '
import json, sys
o = {x["name"]: x for x in json.load(sys.stdin)}
assert o["disk.swap-size"]["default"] == "\"8G\""
assert o["tpm.pcrs"]["type"] == "list of int (0..23)"
assert o["host.name"]["required"] is True
assert o["users"]["type"] == "table of user keyed by name"
for n, x in o.items():
    assert x["description"], n
' || fail "options --json"
run_status 1 "$KEYSTONE" options nosuch
assert_contains "$ERR" "No option is named nosuch"

# A host file that is not a regular file is refused at once (a FIFO once
# blocked eval forever), and so is one over the 16 MiB limit.
mkfifo "$T/fifo.toml"
run_status 1 timeout 10 "$KEYSTONE" eval "$T/fifo.toml"
assert_contains "$ERR" "$T/fifo.toml: cannot read the host file: not a regular file (a FIFO, device or socket)"
run_status 1 "$KEYSTONE" eval /dev/null
assert_contains "$ERR" "/dev/null: cannot read the host file: not a regular file"
truncate -s 17M "$T/big.toml"
run_status 1 "$KEYSTONE" eval "$T/big.toml"
assert_contains "$ERR" "larger than 16 MiB, the most a host file or module may be"

# KEYSTONE_LOG_FILE is created 0600 whatever the umask and is never written
# through a symbolic link.
(umask 022; KEYSTONE_LOG_FILE=$T/k.log "$KEYSTONE" eval "$T/nosuch.toml" >/dev/null 2>&1)
[ -s "$T/k.log" ] || fail "KEYSTONE_LOG_FILE was not written"
[ "$(stat -c %a "$T/k.log")" = 600 ] || fail "KEYSTONE_LOG_FILE has mode $(stat -c %a "$T/k.log"), not 600"
echo keep >"$T/target"; ln -s "$T/target" "$T/link.log"
KEYSTONE_LOG_FILE=$T/link.log "$KEYSTONE" eval "$T/nosuch.toml" >/dev/null 2>&1
[ "$(cat "$T/target")" = keep ] || fail "KEYSTONE_LOG_FILE followed a symbolic link"
pass
