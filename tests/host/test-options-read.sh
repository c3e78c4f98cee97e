#!/bin/bash
# Every option declared in src/config/options.c is read by the code it
# describes (issue 15 item 3): for each option `keystone options --json`
# lists, some source file outside src/config/ (the schema and its generic
# loader) and src/cmd/options.c (the reference it prints) must read it in
# one of the two ways Keystone reads configuration:
#   - a typed getter with the dotted name: config_bool(c, "tpm.enable"),
#     config_get(c, "disk.datasets") — the literal "a.b" in the source;
#   - the image spec's JSON walk: get_path/get_bool/get_string(root, "a", "b");
#     an entry of a table keyed by name (users.<name>.shell) is read where
#     the table is ("users" / "disk", "datasets" / "disk.datasets") by its
#     key ("shell").
# The check is proved able to fail: an option no code reads, added to the
# list, must be reported.
set -u
. "$SRCDIR/tests/lib/assert.sh"
cd "$SRCDIR"
SRC_FILES=$(find src -name '*.c' ! -path 'src/config/*' ! -path 'src/cmd/options.c' | sort)

# files PATTERN...: the source files holding every fixed string given
files() {
	local list=$SRC_FILES p
	for p in "$@"; do
		[ -n "$list" ] || return 0
		# shellcheck disable=SC2086
		list=$(grep -lF -- "$p" $list)
	done
	[ -z "$list" ] || echo "$list"
}

# reader NAME: prints the first file that reads option NAME, or nothing
reader() {
	local name=$1
	case "$name" in
	*'.<name>.'*)
		local table=${name%%.<name>.*} key=${name##*.<name>.} tpat
		case "$table" in
		*.*) tpat="\"${table%%.*}\", \"${table#*.}\"" ;;
		*) tpat="(root, \"$table\"" ;;
		esac
		# the table by the JSON walk or by its dotted name (config_get),
		# the entry by its key
		{ files "$tpat" "\"$key\""; files "\"$table\"" "\"$key\""; } | head -1
		;;
	*.*)
		{ files "\"$name\""; files "(root, \"${name%%.*}\", \"${name#*.}\""; } | head -1
		;;
	*)
		# the JSON walk, or a typed getter: config_get(c, "users")
		{ files "(root, \"$name\""; files "config_get(c, \"$name\")"; } | head -1
		;;
	esac
}

# check NAME...: prints "NAME read by FILE" or "UNREAD: NAME"; fails on any unread
check() {
	local bad=0 n f
	for n in "$@"; do
		f=$(reader "$n")
		if [ -n "$f" ]; then
			echo "  $n read by $f"
		else
			echo "UNREAD: $n"
			bad=1
		fi
	done
	return $bad
}

names=$("$KEYSTONE" options --json | /usr/bin/python3 -c 'import json, sys; [print(o["name"]) for o in json.load(sys.stdin)]') ||
	fail "keystone options --json"
count=$(wc -l <<<"$names")
[ "$count" -ge 30 ] || fail "keystone options lists only $count options"
# shellcheck disable=SC2086
out=$(check $names) || { echo "$out"; fail "declared options that no code reads (remove or implement them)"; }
echo "$out"
echo "ok: all $count declared options are read"

# the check can fail: an option nothing reads
# shellcheck disable=SC2086
out=$(check $names tpm.unread-option users.\<name\>.unread-key) && fail "an unread option was not reported: $out"
grep -q "^UNREAD: tpm.unread-option$" <<<"$out" && grep -q "^UNREAD: users.<name>.unread-key$" <<<"$out" ||
	fail "unread options not named: $out"
echo "ok: an option declared and read nowhere is reported"
