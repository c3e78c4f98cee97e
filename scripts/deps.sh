#!/bin/sh
# Install every Debian package listed in mk/deps/*.list that is missing.
# Idempotent and quick when everything is present: one dpkg-query call,
# `apt-get update` only when something has to be installed.
set -eu
cd "$(dirname "$0")/.."
pkgs=$(sed -e 's/#.*//' mk/deps/*.list | tr -s ' \t' '\n\n' | sed '/^$/d' | sort -u)
missing=""
for p in $pkgs; do
	st=$(dpkg-query -W -f='${db:Status-Abbrev}' "$p" 2>/dev/null || true)
	case "$st" in ii*) ;; *) missing="$missing $p" ;; esac
done
[ -z "$missing" ] && exit 0
if [ "$(id -u)" != 0 ]; then
	echo "deps: missing Debian packages:$missing" >&2
	echo "deps: run 'make deps' as root (it calls apt-get install)" >&2
	exit 1
fi
echo "deps: installing:$missing" >&2
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
# shellcheck disable=SC2086
apt-get install -y -qq --no-install-recommends $missing >/dev/null
