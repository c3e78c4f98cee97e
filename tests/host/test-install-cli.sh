#!/bin/bash
# keystone install against a real sshd on loopback (the probe runs on this
# machine, as root): the host key is checked before anything is sent (an
# unknown one refused, trusted on first use only when asked); the probe's
# report refuses this machine, which has no UEFI, saying what was found and
# that nothing changed; the disk the host file names is looked for among
# the real ones; bad --target and --phases are usage errors.
set -u
. "$SRCDIR/tests/lib/assert.sh"
T=$(mktemp -d /tmp/keystone-test-XXXXXX)
. "$SRCDIR/tests/lib/sshd.sh"
trap 'sshd_stop; rm -rf "$T"' EXIT
sshd_setup
sshd_start
PORT=$SSHD_PORT

sed "s|^name = \"small\"|name = \"remote\"|" "$SRCDIR/tests/host/hosts/small-disk.toml" >"$T/remote.toml"
# the disk this host wants: not on this machine
sed -i 's|^\[disk\]|[disk]\ndevice = "/dev/disk/by-id/no-such-disk"|' "$T/remote.toml"
K=(--known-hosts "$T/known_hosts" -i "$T/id" --state "$T/state")

# unknown host key: refused with its fingerprint, nothing sent
fpr=$(ssh-keygen -l -f "$T/host_key.pub" | awk '{print $2}')
run_status 1 "$KEYSTONE" install "$T/remote.toml" --target "root@127.0.0.1:$PORT" "${K[@]}" --dry-run
assert_contains "$ERR" "$fpr"
assert_contains "$ERR" "--accept-new-host-key"
[ -e "$T/known_hosts" ] && fail "known_hosts written without --accept-new-host-key"

# first use trusted when asked: then the probe refuses this machine (no UEFI)
run_status 1 "$KEYSTONE" install "$T/remote.toml" --target "root@127.0.0.1:$PORT" "${K[@]}" --dry-run \
	--accept-new-host-key
grep -q "$(cut -d' ' -f2 "$T/host_key.pub")" "$T/known_hosts" || fail "the host key was not added to known_hosts"
assert_contains "$ERR" "keystone install: root@127.0.0.1:$PORT cannot be installed as it is; nothing on it was changed"
if [ ! -d /sys/firmware/efi ]; then
	assert_contains "$ERR" "UEFI"
fi
assert_contains "$ERR" "no-such-disk"
# the disks this machine has are named
first=$(ls /sys/block | grep -v -E '^(loop|ram|zram|sr|dm-|md|nbd)' | head -1)
[ -n "$first" ] && assert_contains "$ERR" "$first"

# a changed host key is refused even with --accept-new-host-key
ssh-keygen -q -t ed25519 -N '' -C other -f "$T/host_key2"
cp "$T/host_key2" "$T/host_key"; cp "$T/host_key2.pub" "$T/host_key.pub"
sshd_start
run_status 1 "$KEYSTONE" install "$T/remote.toml" --target "root@127.0.0.1:$PORT" "${K[@]}" --dry-run \
	--accept-new-host-key
assert_contains "$ERR" "ssh-keygen -R"
assert_not_contains "$ERR" "cannot be installed as it is"

# usage errors, before any connection
run_status 2 "$KEYSTONE" install "$T/remote.toml" --dry-run
assert_contains "$ERR" "--target [USER@]ADDRESS[:PORT] is needed"
run_status 2 "$KEYSTONE" install "$T/remote.toml" --target "root@[::1" --dry-run
assert_contains "$ERR" "--target root@[::1"
run_status 2 "$KEYSTONE" install "$T/remote.toml" --target root@127.0.0.1 --phases install,disk
assert_contains "$ERR" "disk comes before install"
run_status 2 "$KEYSTONE" install "$T/remote.toml" --target root@127.0.0.1 --secure-boot=now --dry-run
assert_contains "$ERR" "--secure-boot takes 'later', not 'now'"
# without --dry-run: nothing can confirm it from a pipe; said before connecting
: >"$T/sshd.log"
run_status 1 "$KEYSTONE" install "$T/remote.toml" --target "root@127.0.0.1:$PORT" "${K[@]}" </dev/null
assert_contains "$ERR" "standard input is not a terminal, so the install cannot be confirmed: run with --yes"
assert_not_contains "$OUT" "Install remote"
# the order of the phases: disk needs kexec first
run_status 1 "$KEYSTONE" install "$T/remote.toml" --target "root@127.0.0.1:$PORT" "${K[@]}" --phases disk --yes
assert_contains "$ERR" "the disk phase needs the kexec phase first, and $T/state/phases does not hold it as ended: add kexec to --phases"
[ -e "$T/state/phases" ] && fail "a refused run wrote $T/state/phases"
# kexec recorded as ended, but the state holds no installer host key to
# pin: the disk phase stops at once, saying so, without logging in
mkdir -p "$T/state" && printf 'kexec 1733300000 42.0\n' >"$T/state/phases"
run_status 1 "$KEYSTONE" install "$T/remote.toml" --target "root@127.0.0.1:$PORT" "${K[@]}" --yes
assert_contains "$OUT" "the installer took over by kexec in an earlier run ($T/state/phases); going on with the disk phase"
assert_contains "$ERR" "$T/state/ssh/installer_host_key.pub: No such file or directory. The kexec phase makes the host keys"
run_status 0 "$KEYSTONE" install "$T/remote.toml" --target "root@127.0.0.1:$PORT" "${K[@]}" --phases kexec --yes
assert_contains "$OUT" "Every phase asked for ended before ($T/state/phases): nothing to do"
grep -q 'Accepted publickey' "$T/sshd.log" && fail "a run refused before connecting logged in"
# --fresh forgets it: kexec runs again (keystone-kexec found beside this
# keystone), and this machine (no UEFI, the host's disk absent) is refused
rm -f "$T/known_hosts"
run_status 1 "$KEYSTONE" install "$T/remote.toml" --target "root@127.0.0.1:$PORT" "${K[@]}" --phases kexec --yes --fresh \
	--accept-new-host-key
assert_contains "$ERR" "cannot be installed as it is; nothing on it was changed"
[ -s "$T/state/phases" ] && fail "--fresh left $T/state/phases: $(cat "$T/state/phases")"
pass
