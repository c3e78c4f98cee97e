#!/bin/sh
# make demo: Keystone's main job on the example host.  What
# examples/server.toml evaluates to, then `keystone vm`: the host installed
# into a blank VM (UEFI Secure Boot in setup mode, a software TPM, a blank
# disk), its first boot unlocked with the install secret, the TPM enrolled,
# and a reboot that must unlock by itself.  It ends with what it measured.
# Run again, it boots the installed machine and checks it again;
# DEMO_FLAGS=--fresh installs it anew.  State: /var/lib/keystone/vm/keystone-server.
set -eu
cd "$(dirname "$0")/.."
K=build/keystone
echo "== what examples/server.toml evaluates to (keystone eval)"
"$K" eval examples/server.toml --json | /usr/bin/python3 scripts/demo-summary.py
echo
echo "== keystone vm examples/server.toml ${DEMO_FLAGS:-}"
# shellcheck disable=SC2086
exec "$K" vm examples/server.toml ${DEMO_FLAGS:-}
