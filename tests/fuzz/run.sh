#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
#
# run.sh fuzz SECONDS BIN...   each harness for SECONDS under nice -n 19;
#                              new inputs kept in build/fuzz/corpus/<target>,
#                              crashes in build/fuzz/crash/<target>/
# run.sh regress 0 BIN...      each committed input in tests/fuzz/corpus/<target>
#                              once (make test: seconds)
#
# tests/fuzz/<target>.dict, when there, gives libFuzzer the words of the
# format (config keys, record fields).
# FUZZ_MAX_LEN (default 16384) bounds the inputs libFuzzer makes; a single
# input may take at most FUZZ_TIMEOUT seconds (default 10): longer is a hang.
set -eu
mode=$1 secs=$2
shift 2
here=$(dirname "$0")
out=build/fuzz
fail=0
for bin in "$@"; do
	t=$(basename "$bin")
	t=${t#fuzz_}
	seeds=$here/corpus/$t
	[ -d "$seeds" ] || { echo "fuzz: $seeds missing" >&2; exit 1; }
	case $mode in
	regress)
		if ! UBSAN_OPTIONS=print_stacktrace=1 "$bin" -runs=0 \
			-timeout="${FUZZ_TIMEOUT:-10}" "$seeds" >"$out/$t.regress.log" 2>&1; then
			echo "FAILED: fuzz regress $t (see $out/$t.regress.log)"
			fail=$((fail + 1))
		else
			echo "fuzz regress $t: $(ls "$seeds" | wc -l) inputs ok"
		fi ;;
	fuzz)
		mkdir -p "$out/corpus/$t" "$out/crash/$t"
		dict=
		[ -f "$here/$t.dict" ] && dict=-dict=$here/$t.dict
		# shellcheck disable=SC2086
		if ! UBSAN_OPTIONS=print_stacktrace=1 nice -n 19 "$bin" $dict \
			-max_total_time="$secs" -print_final_stats=1 \
			-timeout="${FUZZ_TIMEOUT:-10}" -max_len="${FUZZ_MAX_LEN:-16384}" \
			-artifact_prefix="$out/crash/$t/" \
			"$out/corpus/$t" "$seeds" >"$out/$t.fuzz.log" 2>&1; then
			echo "FAILED: fuzz $t: $(ls "$out/crash/$t") (see $out/$t.fuzz.log)"
			fail=$((fail + 1))
		else
			echo "fuzz $t: $(grep -E 'stat::(number_of_executed_units|average_exec_per_sec|new_units_added)|cov:' \
				"$out/$t.fuzz.log" | tail -4 | tr -s ' \n' ' ')"
		fi ;;
	*)
		echo "usage: run.sh fuzz|regress SECONDS BIN..." >&2
		exit 2 ;;
	esac
done
test $fail -eq 0
