# Shell helpers for host tests: run a command capturing OUT, ERR and RC;
# assert on them.  Every failure prints what was expected and what came.
fail() { echo "FAIL: $*" >&2; [ -n "${OUT+x}" ] && printf 'stdout:\n%s\nstderr:\n%s\n' "${OUT:-}" "${ERR:-}" >&2; exit 1; }
pass() { echo "ok"; exit 0; }
_run() {
	local e; e=$(mktemp)
	OUT=$("$@" 2>"$e"); RC=$?
	ERR=$(cat "$e"); rm -f "$e"
	echo "+ $* -> $RC" >&2
}
run_ok() { _run "$@"; [ "$RC" = 0 ] || fail "expected success from: $*"; }
run_status() { local want=$1; shift; _run "$@"; [ "$RC" = "$want" ] || fail "expected exit $want from: $* (got $RC)"; }
assert_contains() { case "$1" in *"$2"*) ;; *) fail "expected to find: $2" ;; esac; }
assert_not_contains() { case "$1" in *"$2"*) fail "did not expect: $2" ;; esac; }
