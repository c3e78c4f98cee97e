#!/bin/bash
# Keystone's test runner: runs each test program or script given, one at a
# time, with a timeout; logs to $BUILD/test-logs/<layer>-<name>.log; prints
# one line per test and, last, one summary line.  Exit status 77 = skipped
# (the log says why).  On failure the last 40 log lines are shown.
set -u
BUILD=${BUILD:-$(pwd)/build}
export BUILD
export SRCDIR=${SRCDIR:-$(pwd)}
export KEYSTONE=${KEYSTONE:-$BUILD/asan/keystone}
export ASAN_OPTIONS=${ASAN_OPTIONS:-abort_on_error=1:detect_leaks=1:strict_string_checks=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
logs=$BUILD/test-logs
mkdir -p "$logs"

pass=0 fail=0 skip=0 failed=()
t0=$(date +%s)
for t in "$@"; do
	layer=$(basename "$(dirname "$t")")
	name=$(basename "$t"); name=${name%.sh}
	log=$logs/$layer-$name.log
	case "$layer" in vm) limit=${VM_TEST_TIMEOUT:-1800} ;; *) limit=${TEST_TIMEOUT:-600} ;; esac
	s=$(date +%s.%N)
	timeout --kill-after=10 "$limit" "$t" >"$log" 2>&1 </dev/null
	rc=$?
	secs=$(printf '%.1f' "$(echo "$(date +%s.%N) - $s" | bc)")
	case $rc in
	0) pass=$((pass + 1)); printf 'PASS  %-5s %-40s %6ss\n' "$layer" "$name" "$secs" ;;
	77) skip=$((skip + 1)); printf 'SKIP  %-5s %-40s %6ss  (%s)\n' "$layer" "$name" "$secs" "$(tail -1 "$log")" ;;
	*)
		fail=$((fail + 1)); failed+=("$layer/$name")
		[ $rc = 124 ] && echo "test timed out after ${limit}s" >>"$log"
		printf 'FAIL  %-5s %-40s %6ss  (exit %d, log: %s)\n' "$layer" "$name" "$secs" "$rc" "$log"
		tail -n 40 "$log" | sed 's/^/      | /'
		;;
	esac
done
total=$(( $(date +%s) - t0 ))
[ ${#failed[@]} -gt 0 ] && echo "failed: ${failed[*]}"
echo "tests: $pass passed, $fail failed, $skip skipped, $((pass + fail + skip)) total in ${total}s"
[ $fail -eq 0 ]
