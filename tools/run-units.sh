#!/bin/sh
# run-units — runs each Check test binary given, shows its output, and closes
# with the plain line 'units: N passed, N failed', N summed over Check's
# "100%: Checks: 12, Failures: 0, Errors: 0" lines. A binary that exits
# non-zero with no failing test reported (it crashed, was killed, or is
# missing) counts as one failure. Exits 1 when anything failed.
set -u
passed=0
failed=0
out=$(mktemp "${TMPDIR:-/tmp}/run-units.XXXXXX") || exit 1
trap 'rm -f "$out"' EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

for bin in "$@"; do
	echo "== $bin"
	"$bin" >"$out" 2>&1
	rc=$?
	cat "$out"
	# "checks failures+errors", summed over the binary's summary lines
	counts=$(sed -n 's/^[0-9]*%: Checks: \([0-9]*\), Failures: \([0-9]*\), Errors: \([0-9]*\).*/\1 \2 \3/p' "$out" |
		awk '{ c += $1; f += $2 + $3; n++ } END { if (n) print c, f }')
	checks=0
	fails=0
	if [ -n "$counts" ]; then
		checks=${counts% *}
		fails=${counts#* }
	fi
	passed=$((passed + checks - fails))
	failed=$((failed + fails))
	if [ "$rc" -ne 0 ] && [ "$fails" -eq 0 ]; then
		echo "run-units: $bin exited with status $rc and reported no failing test"
		failed=$((failed + 1))
	fi
done

echo "units: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
