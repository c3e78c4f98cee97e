#!/bin/bash
# keystone-kexec, what keystone install uploads to a stock Debian target:
# one static binary (no program interpreter, so any C library will do), and
# a file that is not a kernel is refused with the reason while nothing is
# loaded.  Starting a kernel needs a machine of its own: the remote-install
# VM scenario does that.
set -u
. "$SRCDIR/tests/lib/assert.sh"
KEXEC=$BUILD/keystone-kexec
T=$(mktemp -d /tmp/keystone-test-XXXXXX); trap 'rm -rf "$T"' EXIT

readelf -l "$KEXEC" >"$T/phdrs" || fail "readelf $KEXEC"
grep -q INTERP "$T/phdrs" && fail "keystone-kexec has a program interpreter: it would need the target's ld.so"
grep -q "Elf file type is EXEC\|Elf file type is DYN" "$T/phdrs" || fail "not an executable"
readelf -d "$KEXEC" 2>/dev/null | grep -q NEEDED && fail "keystone-kexec needs shared libraries"

run_status 2 "$KEXEC" load only-two args
assert_contains "$ERR" "Usage: keystone-kexec load KERNEL INITRD CMDLINE"
run_status 0 "$KEXEC" --help
assert_contains "$OUT" "systemctl kexec"
run_status 1 "$KEXEC" exec
assert_contains "$ERR" "no kernel is loaded"
run_status 1 "$KEXEC" load "$T/none" "$T/none" "quiet"
assert_contains "$ERR" "cannot open the kernel $T/none"

# a file that is not a kernel: the running kernel says why (not a bzImage,
# or kexec is forbidden here); it is never left loaded
if [ "$(cat /sys/kernel/kexec_loaded 2>/dev/null)" = 0 ]; then
	head -c 65536 /dev/urandom >"$T/junk"
	: >"$T/initrd"
	run_status 1 "$KEXEC" load "$T/junk" "$T/initrd" "console=ttyS0"
	assert_contains "$ERR" "loading $T/junk with $T/initrd failed: "
	case "$ERR" in
	*"not a kernel image"*|*"forbids kexec"*|*"no kexec_file_load"*|*"requires a signed kernel"*) ;;
	*) fail "no known reason in: $ERR" ;;
	esac
	[ "$(cat /sys/kernel/kexec_loaded)" = 0 ] || fail "a kernel is loaded after a refused load"
fi
pass
