#!/bin/bash
# inspect's Authenticode digest equals osslsigncode's "Calculated message
# digest" on EFI binaries signed by others (Debian's shim, grub, fwupd…, and
# whatever else is installed), and equals the digest inside their own
# signatures.  The rules are PE/COFF's, so every binary found is checked.
set -eu
# Debian's python3 (a pyenv shim on PATH costs a second per start)
PY=/usr/bin/python3; [ -x $PY ] || PY=python3
: "${KEYSTONE:?}"
command -v osslsigncode >/dev/null || { echo "skip: osslsigncode not installed"; exit 77; }
mapfile -t files < <(find /usr/lib/shim /usr/lib/grub /usr/lib/systemd/boot /usr/lib/fwupd /usr/lib/ipxe \
	-type f \( -name '*.efi.signed' -o -name '*.efi' \) 2>/dev/null | sort)
[ ${#files[@]} -gt 0 ] || { echo "skip: no EFI binaries installed (make deps)"; exit 77; }
checked=0 signed=0
for f in "${files[@]}"; do
	out=$($KEYSTONE secureboot inspect "$f") || { echo "FAIL: inspect refused $f"; exit 1; }
	ours=$(sed -n 's/^authenticode-sha256: //p' <<<"$out")
	[ ${#ours} = 64 ] || { echo "FAIL: no digest for $f"; exit 1; }
	theirs=$(osslsigncode verify -in "$f" 2>&1 | sed -n 's/^Calculated message digest *: *\([0-9A-Fa-f]*\).*/\1/p' | head -1 | tr A-F a-f)
	if [ -n "$theirs" ]; then
		[ "$ours" = "$theirs" ] || { echo "FAIL: $f: ours $ours, osslsigncode $theirs"; exit 1; }
		checked=$((checked + 1))
	fi
	if grep -q 'signed-digest:' <<<"$out"; then
		# every signature must cover exactly these bytes
		if grep 'signed-digest:' <<<"$out" | grep -qv "SHA256:$ours (matches"; then
			echo "FAIL: $f: a signed digest differs from ours"; echo "$out"; exit 1
		fi
		signed=$((signed + 1))
	fi
	echo "ok $f $ours"
done
echo "checked against osslsigncode: $checked, against embedded signatures: $signed"
[ $checked -ge 1 ] && [ $signed -ge 1 ] || { echo "skip: no signed EFI binaries found (install shim-signed, grub-efi-amd64-signed)"; exit 77; }
