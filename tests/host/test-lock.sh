#!/bin/bash
# keystone lock against Debian's real archive (skipped when it cannot be
# reached): the lock holds the exact versions the archive serves for the
# whole bootstrap set, in the documented sorted format; keystone image
# refuses, before building anything, a lock the archive no longer serves, a
# lock that lacks a package, and a malformed lock (naming file:line).
set -u
. "$SRCDIR/tests/lib/assert.sh"
cd "$SRCDIR"
T=$(mktemp -d /tmp/keystone-test-XXXXXX); trap 'rm -rf "$T"' EXIT
command -v apt-get >/dev/null || { echo "apt-get missing"; exit 77; }
[ -r /usr/share/keyrings/debian-archive-keyring.gpg ] || { echo "debian-archive-keyring missing"; exit 77; }
# the apt lists are cached under the (shared) cache directory, keyed by the sources
export KEYSTONE_CACHE_DIR=${KEYSTONE_CACHE_DIR:-/var/cache/keystone}

printf '[host]\nname = "tiny"\npackages = ["jq"]\n' > "$T/host.toml"
_run "$KEYSTONE" lock --without-keystone "$T/host.toml"
if [ "$RC" != 0 ]; then
	case "$ERR" in
	*"could not fetch"*|*"unreachable?"*|*"Could not resolve"*|*"Temporary failure"*|*"unreachable"*|*"Failed to fetch"*)
		echo "Debian's archive is unreachable: $ERR"; exit 77 ;;
	esac
	fail "keystone lock failed"
fi
L=$T/keystone.lock
[ -f "$L" ] || fail "no keystone.lock beside the host file"
assert_contains "$OUT" "$L: "
grep -qx 'suite = "trixie"' "$L" || fail "suite"
grep -qx 'components = "main contrib"' "$L" || fail "components"
grep -qx 'architecture = "amd64"' "$L" || fail "architecture"
grep -Eqx 'resolved = "'"$(date -u +%Y-%m-%d)"'T[0-9:]{8}Z"' "$L" || fail "resolved date"
grep -Eqx 'release = "13\.[0-9]+"' "$L" || fail "release"

# [packages]: sorted, one "name" = "version" line each, nothing else
sed -n '/^\[packages\]$/,$p' "$L" | tail -n +2 > "$T/pk"
grep -Evq '^"[a-z0-9][a-z0-9+.-]+" = "[0-9][A-Za-z0-9.+~:-]*"$' "$T/pk" && fail "a malformed package line: $(grep -Ev '^"[a-z0-9][a-z0-9+.-]+" = "[0-9]' "$T/pk" | head -1)"
LC_ALL=C sort -c "$T/pk" || fail "[packages] is not sorted"
n=$(wc -l < "$T/pk")
[ "$n" -gt 100 ] || fail "only $n packages: the Essential set alone has ~70"
# what was asked for, the role, the kernel, and the bootstrap (Essential + apt)
for p in jq openssh-server systemd-sysv linux-image-cloud-amd64 apt dpkg base-files bash coreutils libc6 libjq1; do
	grep -q "^\"$p\" = " "$T/pk" || fail "$p is not locked"
done

# real versions: each one is what the archive's own index says (read here
# with awk from apt's lists, not by keystone's parser)
lists=$(ls -d "$KEYSTONE_CACHE_DIR"/apt-*/lists | head -1)
for p in jq libc6 linux-image-cloud-amd64 openssh-server; do
	want=$(awk -v p="$p" '/^Package: /{n=$2} /^Version: /{if (n==p) print $2}' "$lists"/*trixie_main_binary-amd64_Packages | head -1)
	got=$(sed -n "s/^\"$p\" = \"\(.*\)\"$/\1/p" "$L")
	[ -n "$want" ] && [ "$got" = "$want" ] || fail "$p locked at '$got', the archive serves '$want'"
done
case "$(sed -n 's/^"libc6" = "\(.*\)"$/\1/p' "$L")" in 2.4[1-9]*) ;; *) fail "libc6 is not trixie's 2.41+" ;; esac

# a second lock of the same host: the same packages (the date may differ)
cp "$L" "$T/first.lock"
run_ok "$KEYSTONE" lock --without-keystone -o "$T/second.lock" "$T/host.toml"
diff <(grep '^"' "$T/first.lock") <(grep '^"' "$T/second.lock") || fail "two locks of one host differ"

# --- must fail: an unknown package, named
printf '[host]\nname = "tiny"\npackages = ["no-such-package-keystone"]\n' > "$T/bad.toml"
run_status 1 "$KEYSTONE" lock --without-keystone -o "$T/bad.lock" "$T/bad.toml"
assert_contains "$ERR" "no-such-package-keystone"
[ -e "$T/bad.lock" ] && fail "a lock was written for an unresolvable host"

# --- must fail: the archive no longer serves a locked version
sed -i 's/^"jq" = ".*"$/"jq" = "1.5+dfsg-1"/' "$L"
run_status 1 "$KEYSTONE" image --cache-dir "$KEYSTONE_CACHE_DIR" "$T/host.toml"
case "$ERR" in *"cannot check keystone.lock against the archive"*)
	echo "Debian's archive stopped answering: $ERR"; exit 77 ;; esac
assert_contains "$ERR" "jq 1.5+dfsg-1"
assert_contains "$ERR" "no longer serves"
assert_contains "$ERR" "keystone lock $T/host.toml"
# ...nothing was built for it
assert_not_contains "$OUT" "rootfs "

# --- must fail: the host asks for a package the lock lacks
cp "$T/first.lock" "$L"
printf '[host]\nname = "tiny"\npackages = ["jq", "tmux"]\n' > "$T/host.toml"
run_status 1 "$KEYSTONE" image --cache-dir "$KEYSTONE_CACHE_DIR" "$T/host.toml"
assert_contains "$ERR" "no version for package tmux"
assert_contains "$ERR" "keystone lock $T/host.toml"

# --- must fail: a malformed lock, at its line
printf '[archive]\nsuite = "trixie"\nmirror = "http://deb.debian.org/debian"\ncomponents = "main contrib"\narchitecture = "amd64"\n[packages]\n"jq" = "1.7; rm -rf /"\n' > "$L"
run_status 1 "$KEYSTONE" image --cache-dir "$KEYSTONE_CACHE_DIR" "$T/host.toml"
assert_contains "$ERR" "$L:7: not a Debian version"
pass
