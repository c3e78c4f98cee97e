#!/bin/bash
# bench/toml.sh: parse a generated ~10 MB TOML document with Keystone's
# parser (build/toml-test-decoder --no-output: parse only, no JSON) and with
# python3's tomllib, in the same run, and print both times and the ratio.
# The issue's goal: Keystone at least 5x faster.
#   bench/toml.sh [SIZE_MB]      (default 10; hyperfine when installed)
set -eu
SRCDIR=$(cd "$(dirname "$0")/.." && pwd)
BUILD=${BUILD:-$SRCDIR/build}
SIZE_MB=${1:-10}
PY=/usr/bin/python3
DECODER=$BUILD/toml-test-decoder
[ -x "$DECODER" ] || make -C "$SRCDIR" "$DECODER" >/dev/null
doc=$BUILD/bench/toml-$SIZE_MB.toml
mkdir -p "$BUILD/bench"

if [ ! -s "$doc" ]; then
	# Deterministic document: tables, arrays of tables, strings with escapes,
	# integers in all bases, floats, dates and times, inline tables, dotted keys.
	$PY - "$doc" "$SIZE_MB" <<'PYEOF'
import random, sys
out, size_mb = sys.argv[1], int(sys.argv[2])
r = random.Random(42)
target = size_mb * 1000 * 1000
words = ['alpha', 'beta', 'gamma', 'delta', 'disk', 'pool', 'user', 'swap', 'esp', 'tpm']
parts, n, i = [], 0, 0
while n < target:
    w = r.choice(words)
    s = ('[host-%d]\n' % i +
         'name = "%s-%d\\t\\"quoted\\" \\u00e9\\U0001F600"\n' % (w, i) +
         "path = '/srv/%s/%d'\n" % (w, i) +
         'count = %d\n' % r.randint(-10**12, 10**12) +
         'mask = 0x%x\nmode = 0o%o\nbits = 0b%s\n' % (r.getrandbits(32), r.getrandbits(9), bin(r.getrandbits(8))[2:]) +
         'ratio = %r\nbig = %.3e\nsep = 1_000_%03d.5\n' % (r.random(), r.random() * 1e300, i % 1000) +
         'created = 19%02d-%02d-%02dT%02d:%02d:%02d.%03dZ\n' % (r.randint(70, 99), r.randint(1, 12), r.randint(1, 28),
                                                             r.randint(0, 23), r.randint(0, 59), r.randint(0, 59), r.randint(0, 999)) +
         'local = 2024-02-29 12:00:00\nday = 2000-01-01\nat = 07:30:00\n' +
         'tags = [%s]\n' % ', '.join('"%s"' % r.choice(words) for _ in range(5)) +
         'limits = { cpu = %d, mem = "%dG", soft = true, nested = { a = 1.5, b = [1, 2, 3] } }\n' % (r.randint(1, 64), r.randint(1, 512)) +
         'disk.size = "%dG"\ndisk.encrypted = false\n' % r.randint(1, 4096) +
         'notes = """\nline one \\\n    continued\nline "two"\n"""\n' +
         '[[host-%d.users]]\nname = "u%d"\nuid = %d\n' % (i, i, 1000 + i) +
         '[[host-%d.users]]\nname = "v%d"\nuid = %d\ngroups = ["wheel", "audio"]\n\n' % (i, i, 2000 + i))
    parts.append(s)
    n += len(s.encode())
    i += 1
with open(out, 'w') as f:
    f.write(''.join(parts))
PYEOF
fi
bytes=$(stat -c %s "$doc")
# both must accept the document
"$DECODER" --no-output "$doc"
$PY -c 'import sys, tomllib; tomllib.load(open(sys.argv[1], "rb"))' "$doc"

echo "document: $doc ($bytes bytes)"
c_cmd="$DECODER --no-output $doc"
py_cmd="$PY -c 'import sys, tomllib; tomllib.load(open(sys.argv[1], \"rb\"))' $doc"
if command -v hyperfine >/dev/null; then
	json=$BUILD/bench/toml-hyperfine.json
	hyperfine -N --warmup 1 --runs 5 --export-json "$json" -n keystone "$c_cmd" -n tomllib "$py_cmd" >&2
	read -r c py < <($PY -c 'import json, sys
r = {x["command"]: x["mean"] for x in json.load(open(sys.argv[1]))["results"]}
print(r["keystone"], r["tomllib"])' "$json")
else
	t() { local s e; s=$(date +%s.%N); eval "$1" >/dev/null; e=$(date +%s.%N); echo "$e - $s" | bc; }
	c=$(t "$c_cmd"); py=$(t "$py_cmd")
fi
$PY -c 'import sys
c, py = float(sys.argv[1]), float(sys.argv[2])
print("keystone toml_parse: %.3f s" % c)
print("python3 tomllib:     %.3f s" % py)
print("ratio: %.1fx faster (goal >= 5x)" % (py / c))' "$c" "$py"
