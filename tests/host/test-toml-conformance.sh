#!/bin/bash
# TOML 1.0.0 conformance: every case of the toml-test suite in
# ../shared/testdata/toml-test (or $TOML_TEST_DIR) through
# build/toml-test-decoder (every fifth also through its ASan build).
# valid/**/X.toml must decode to a value equal to
# X.json (compared as toml-test does: as JSON values, floats numerically with
# nan == nan, date-times after normalisation); invalid/**/X.toml must exit 1
# with "line N" in the message.  $TOML_TEST_LIST (a file of paths relative
# to the suite, like toml-test's files-toml-1.0.0) restricts the cases.
set -u
SRCDIR=${SRCDIR:-$(cd "$(dirname "$0")/../.." && pwd)}
BUILD=${BUILD:-$SRCDIR/build}
DIR=${TOML_TEST_DIR:-$SRCDIR/../shared/testdata/toml-test}
# a clone elsewhere than beside shared/ still finds the suite
[ -d "$DIR" ] || DIR=/work/shared/testdata/toml-test
# build/toml-test-decoder is the deliverable the suite judges; the ASan
# build also decodes every fifth case (its start-up costs ~10x, and the
# parser runs under ASan in the unit tests and the fuzzer anyway)
DECODER=${TOML_DECODER:-$BUILD/toml-test-decoder}
ASAN_DECODER=${TOML_ASAN_DECODER:-$BUILD/asan/toml-test-decoder}

if [ ! -d "$DIR/valid" ] || [ ! -d "$DIR/invalid" ]; then
	echo "skip: no toml-test suite at $DIR (set TOML_TEST_DIR)"
	exit 77
fi
for d in "$DECODER" "$ASAN_DECODER"; do
	if [ ! -x "$d" ]; then
		echo "FAIL: $d not built (run make tests)"
		exit 1
	fi
done

exec /usr/bin/python3 - "$DIR" "$DECODER" "${TOML_TEST_LIST:-}" "$ASAN_DECODER" <<'PYEOF'
import calendar, concurrent.futures, json, math, os, re, subprocess, sys

suite, decoder, listfile, asan_decoder = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4]

DT = re.compile(r'^(\d{4})-(\d{2})-(\d{2})[Tt ](\d{2}):(\d{2}):(\d{2})(?:\.(\d+))?([Zz]|[+-]\d{2}:\d{2})?$')
T = re.compile(r'^(\d{2}):(\d{2}):(\d{2})(?:\.(\d+))?$')

def nanos(frac):
    return int((frac or '')[:9].ljust(9, '0'))

def norm_datetime(kind, s):
    if kind in ('datetime', 'datetime-local'):
        m = DT.match(s)
        if not m:
            raise ValueError('bad %s %r' % (kind, s))
        y, mo, d, h, mi, sec = (int(x) for x in m.groups()[:6])
        ns = nanos(m.group(7))
        off = m.group(8)
        if kind == 'datetime':
            if not off:
                raise ValueError('datetime without offset %r' % s)
            t = calendar.timegm((y, mo, d, h, mi, sec, 0, 0, 0))
            if off not in 'Zz':
                sign = -1 if off[0] == '-' else 1
                t -= sign * (int(off[1:3]) * 3600 + int(off[4:6]) * 60)
            return (t, ns)
        if off:
            raise ValueError('local datetime with offset %r' % s)
        return (y, mo, d, h, mi, sec, ns)
    if kind == 'date-local':
        if not re.match(r'^\d{4}-\d{2}-\d{2}$', s):
            raise ValueError('bad date %r' % s)
        return s
    m = T.match(s)
    if not m:
        raise ValueError('bad time %r' % s)
    return tuple(int(x) for x in m.groups()[:3]) + (nanos(m.group(4)),)

def norm_float(s):
    s = s.replace('_', '')
    if s in ('nan', '+nan', '-nan'):
        return 'nan'
    return float(s)

def is_scalar(v):
    return isinstance(v, dict) and set(v) == {'type', 'value'} and \
        isinstance(v['type'], str) and isinstance(v['value'], str)

def compare(want, have, path):
    """Returns a description of the first difference, or None."""
    if is_scalar(want):
        if not is_scalar(have):
            return '%s: want %s, have %s' % (path, json.dumps(want), json.dumps(have)[:200])
        if want['type'] != have['type']:
            return '%s: want type %s, have %s' % (path, want['type'], have['type'])
        k, w, h = want['type'], want['value'], have['value']
        try:
            if k == 'float':
                ok = norm_float(w) == norm_float(h)
            elif k == 'integer':
                ok = int(w) == int(h)
            elif k in ('datetime', 'datetime-local', 'date-local', 'time-local'):
                ok = norm_datetime(k, w) == norm_datetime(k, h)
            else:
                ok = w == h
        except ValueError as e:
            return '%s: %s' % (path, e)
        return None if ok else '%s: want %s %r, have %r' % (path, k, w, h)
    if isinstance(want, dict):
        if not isinstance(have, dict) or is_scalar(have):
            return '%s: want a table, have %s' % (path, json.dumps(have)[:200])
        if set(want) != set(have):
            return '%s: keys differ: want %s, have %s' % (path, sorted(want), sorted(have))
        for k in want:
            d = compare(want[k], have[k], path + '.' + json.dumps(k))
            if d:
                return d
        return None
    if isinstance(want, list):
        if not isinstance(have, list):
            return '%s: want an array, have %s' % (path, json.dumps(have)[:200])
        if len(want) != len(have):
            return '%s: want %d elements, have %d' % (path, len(want), len(have))
        for i, (w, h) in enumerate(zip(want, have)):
            d = compare(w, h, '%s[%d]' % (path, i))
            if d:
                return d
        return None
    return '%s: unexpected expected-value %r' % (path, want)

def run(path, decoder=decoder):
    with open(path, 'rb') as f:
        data = f.read()
    try:
        p = subprocess.run([decoder], input=data, capture_output=True, timeout=20)
    except subprocess.TimeoutExpired:
        return None, b'', b'timed out after 20s'
    return p.returncode, p.stdout, p.stderr

cases = []
if listfile:
    with open(listfile) as f:
        cases = [l.strip() for l in f if l.strip().endswith('.toml')]
else:
    for top in ('valid', 'invalid'):
        for root, dirs, files in os.walk(os.path.join(suite, top)):
            for n in files:
                if n.endswith('.toml'):
                    cases.append(os.path.relpath(os.path.join(root, n), suite))
cases.sort()

# the decoder's start-up (ASan) dominates: run cases four at a time
with concurrent.futures.ThreadPoolExecutor(max_workers=4) as pool:
    results = list(pool.map(run, [os.path.join(suite, c) for c in cases]))
    sampled = cases[::5]
    asan_results = list(pool.map(lambda p: run(p, asan_decoder), [os.path.join(suite, c) for c in sampled]))

failed = []
counts = {'valid': 0, 'invalid': 0}
for case, (rc, out, err) in zip(cases, results):
    path = os.path.join(suite, case)
    kind = case.split(os.sep)[0]
    counts[kind] += 1
    err_text = err.decode('utf-8', 'replace').strip()
    if kind == 'valid':
        if rc != 0:
            failed.append('%s: exit %s: %s' % (case, rc, err_text[-500:]))
            continue
        try:
            have = json.loads(out)
        except ValueError as e:
            failed.append('%s: decoder printed invalid JSON: %s' % (case, e))
            continue
        with open(path[:-5] + '.json', 'rb') as f:
            want = json.load(f)
        d = compare(want, have, '$')
        if d:
            failed.append('%s: %s' % (case, d))
    else:
        if rc != 1:
            failed.append('%s: invalid TOML accepted or crashed (exit %s): %s' % (case, rc, err_text[-500:]))
        elif not re.search(r'\bline \d+', err_text):
            failed.append('%s: error message names no line: %r' % (case, err_text))

# the ASan build must agree with the plain one, and never report an error
for case, (rc, out, err), (arc, aout, aerr) in zip(sampled, results[::5], asan_results):
    if arc != rc or aout != out:
        failed.append('%s: the ASan build disagrees (exit %s vs %s): %s' %
                      (case, arc, rc, aerr.decode('utf-8', 'replace')[-800:]))

for f in failed:
    print('FAIL', f)
total = len(cases)
print('toml-test: %d cases (%d valid, %d invalid), %d passed, %d failed; %d also under ASan' %
      (total, counts['valid'], counts['invalid'], total - len(failed), len(failed), len(sampled)))
sys.exit(1 if failed or total == 0 else 0)
PYEOF
