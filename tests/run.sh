#!/bin/bash
# Keystone's test runner: runs each test program or script given, with a
# timeout; logs to $BUILD/test-logs/<layer>-<name>.log; prints one line per
# test as it ends and, last, one summary line.  Exit status 77 = skipped
# (the log says why).  On failure the last 40 log lines are shown.
#
# Unit and host tests run one at a time, in the order given.  VM tests run
# $VM_JOBS at a time (default 2 on a machine with 2 or more cores): a TCG
# guest keeps one core busy, so two of them use a 2-core machine fully.
# They are started longest first (the order of VM_ORDER below, then the
# rest as given) so the long ones do not end up last in one lane.
set -u
BUILD=${BUILD:-$(pwd)/build}
export BUILD
export SRCDIR=${SRCDIR:-$(pwd)}
export KEYSTONE=${KEYSTONE:-$BUILD/asan/keystone}
export ASAN_OPTIONS=${ASAN_OPTIONS:-abort_on_error=1:detect_leaks=1:strict_string_checks=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
logs=$BUILD/test-logs
mkdir -p "$logs"
cores=$(nproc 2>/dev/null || echo 1)
VM_JOBS=${VM_JOBS:-$([ "$cores" -ge 2 ] && echo 2 || echo 1)}
# slowest first (measured on the 2-core machine: docs/vmtest.md)
VM_ORDER="integration-deployment boot-flow disk tpm-enrollment secure-boot vm-firmware"

pass=0 fail=0 skip=0 failed=()
t0=$(date +%s)
results=$(mktemp -d)
trap 'rm -rf "$results"' EXIT

# run_one TEST: runs it and writes "rc secs" to $results/<layer>-<name>
run_one() {
	local t=$1 layer name log limit own s rc
	layer=$(basename "$(dirname "$t")")
	name=$(basename "$t"); name=${name%.sh}
	log=$logs/$layer-$name.log
	case "$layer" in vm) limit=${VM_TEST_TIMEOUT:-1800} ;; *) limit=${TEST_TIMEOUT:-600} ;; esac
	# a script may need longer on a cold cache ("# test-timeout: SECONDS"
	# near its top, e.g. a first keystone build with the ZFS modules)
	case "$t" in *.sh)
		own=$(sed -n '1,30s/^# test-timeout: \([0-9][0-9]*\)$/\1/p' "$t" | head -1)
		[ -n "$own" ] && [ "$own" -gt "$limit" ] && limit=$own ;;
	esac
	s=$(date +%s.%N)
	timeout --kill-after=10 "$limit" "$t" >"$log" 2>&1 </dev/null
	rc=$?
	[ $rc = 124 ] && echo "test timed out after ${limit}s" >>"$log"
	echo "$rc $(printf '%.1f' "$(echo "$(date +%s.%N) - $s" | bc)")" >"$results/$layer-$name"
}

# report TEST: the line for a test that has ended
report() {
	local t=$1 layer name log rc secs
	layer=$(basename "$(dirname "$t")")
	name=$(basename "$t"); name=${name%.sh}
	log=$logs/$layer-$name.log
	read -r rc secs <"$results/$layer-$name"
	case $rc in
	0) pass=$((pass + 1)); printf 'PASS  %-5s %-40s %6ss\n' "$layer" "$name" "$secs" ;;
	77) skip=$((skip + 1)); printf 'SKIP  %-5s %-40s %6ss  (%s)\n' "$layer" "$name" "$secs" "$(tail -1 "$log")" ;;
	*)
		fail=$((fail + 1)); failed+=("$layer/$name")
		printf 'FAIL  %-5s %-40s %6ss  (exit %d, log: %s)\n' "$layer" "$name" "$secs" "$rc" "$log"
		tail -n 40 "$log" | sed 's/^/      | /'
		;;
	esac
}

vm=()
for t in "$@"; do
	if [ "$(basename "$(dirname "$t")")" = vm ]; then
		vm+=("$t")
		continue
	fi
	run_one "$t"
	report "$t"
done

# the VM tests: longest first, then a pool of VM_JOBS
ordered=()
for n in $VM_ORDER; do
	for t in "${vm[@]}"; do
		case $(basename "$t") in "test-$n" | "$n") ordered+=("$t") ;; esac
	done
done
for t in "${vm[@]}"; do
	case " ${ordered[*]} " in *" $t "*) ;; *) ordered+=("$t") ;; esac
done
declare -A running=()
for t in "${ordered[@]}"; do
	while [ ${#running[@]} -ge "$VM_JOBS" ]; do
		wait -n -p done_pid
		report "${running[$done_pid]}"
		unset "running[$done_pid]"
	done
	run_one "$t" &
	running[$!]=$t
	# the next one starts a little later: the two do not build the same
	# cached image stage at once (each waits on the other's lock anyway)
	[ "$VM_JOBS" -gt 1 ] && sleep 5
done
while [ ${#running[@]} -gt 0 ]; do
	wait -n -p done_pid
	report "${running[$done_pid]}"
	unset "running[$done_pid]"
done

total=$(( $(date +%s) - t0 ))
[ ${#failed[@]} -gt 0 ] && echo "failed: ${failed[*]}"
echo "tests: $pass passed, $fail failed, $skip skipped, $((pass + fail + skip)) total in ${total}s"
[ $fail -eq 0 ]
