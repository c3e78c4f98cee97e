#!/bin/sh
# make demo: Keystone's main job on the example host.
# Today: evaluate examples/server.toml and show the merged configuration with
# where each value came from. (The VM deployment grows here: issue "End to end".)
set -eu
cd "$(dirname "$0")/.."
K=build/keystone
echo "== keystone eval examples/server.toml --show-origin"
"$K" eval examples/server.toml --show-origin
echo
echo "== what examples/server.toml evaluates to"
"$K" eval examples/server.toml --json | /usr/bin/python3 scripts/demo-summary.py
