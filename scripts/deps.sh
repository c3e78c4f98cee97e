#!/bin/sh
# Install every Debian package listed in mk/deps/*.list that is missing.
# Idempotent and quick when everything is present (one dpkg-query call);
# `apt-get update` runs once, only when something has to be installed.
set -eu
cd "$(dirname "$0")/.."
pkgs=$(sed -e 's/#.*//' mk/deps/*.list | tr -s ' \t' '\n\n' | sed '/^$/d' | sort -u)
# shellcheck disable=SC2086
installed=$(dpkg-query -W -f='${Package} ${db:Status-Abbrev}\n' $pkgs 2>/dev/null |
	awk '$2 ~ /^ii/ { sub(/:.*/, "", $1); print $1 }' | sort -u)
missing=""
for p in $pkgs; do
	case "
$installed
" in *"
$p
"*) ;; *) missing="$missing $p" ;; esac
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
