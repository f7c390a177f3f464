# SPDX-License-Identifier: Apache-2.0
#
# Shared by the shell suites (tamper.sh, at_rest.sh): sourced, not run
# (the e2e runner runs tests/e2e/*.sh only). Sets ROOT, ST, GEN, EDIT,
# PYV and a scratch dir W removed on exit (mktemp template from $1), and
# defines the PASS:/FAIL: counting.
#   . tests/e2e/suite.bash NAME
set -u
cd "$(dirname "${BASH_SOURCE[0]}")/../.."
ROOT=$PWD
ST=${SEALTRACE:-$ROOT/build/sealtrace}
GEN=${GEN_LOG:-$ROOT/build/tools/gen_log}
EDIT=$ROOT/tests/e2e/tamper_edit.py
PYV=$ROOT/tools/verify_export.py
W=$(mktemp -d "/tmp/sealtrace-$1.XXXXXX")
trap 'rm -rf "$W"' EXIT
fails=0
passes=0

pass() { echo "PASS: $*"; passes=$((passes + 1)); }
fail() { echo "FAIL: $*"; fails=$((fails + 1)); }
show() { sed 's/^/      | /' <<<"$1" | tail -6; }

# expect NAME RC PATTERN CMD...: CMD exits RC and its output matches
# PATTERN; the output stays in LAST_OUT.
expect() {
	local name=$1 want=$2 pattern=$3 out rc
	shift 3
	out=$("$@" 2>&1)
	rc=$?
	if [ "$rc" -ne "$want" ]; then
		fail "$name: exit $rc, expected $want"
		show "$out"
		return 1
	fi
	if [ -n "$pattern" ] && ! grep -qE -- "$pattern" <<<"$out"; then
		fail "$name: output lacks /$pattern/"
		show "$out"
		return 1
	fi
	pass "$name${pattern:+: $(grep -oE -- "$pattern" <<<"$out" | head -1)}"
	LAST_OUT=$out
}
