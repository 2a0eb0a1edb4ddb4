#!/bin/sh
# run-fuzz — runs each libFuzzer binary given for SECONDS seconds from a
# fresh corpus seeded with tests/fuzz/seeds/<target>/ (and, for
# fuzz_finding, every document of tests/findings), and closes with the
# plain line 'fuzz: N passed, N failed'. A crash, a sanitizer report, a
# leak or a timeout of one input fails the target; its input is kept in
# build/fuzz/crashes/. Exits 1 when a target failed.
#
#   sh tools/run-fuzz.sh SECONDS build/fuzz/fuzz/fuzz_finding ...
set -u
secs=$1
shift
passed=0
failed=0
root=$(pwd)
for bin in "$@"; do
	name=$(basename "$bin")
	corpus=$(mktemp -d "${TMPDIR:-/tmp}/deadbolt-fuzz.XXXXXX") || exit 1
	if [ -d "tests/fuzz/seeds/$name" ]; then
		cp tests/fuzz/seeds/"$name"/* "$corpus"/ 2>/dev/null
	fi
	if [ "$name" = fuzz_finding ]; then
		cp tests/findings/*.json "$corpus"/
	fi
	mkdir -p build/fuzz/crashes
	echo "== $name: $secs s"
	if "$bin" -max_total_time="$secs" -timeout=10 -rss_limit_mb=2048 -max_len=65536 \
		-print_final_stats=1 -artifact_prefix="$root/build/fuzz/crashes/$name-" \
		"$corpus" >"$corpus.log" 2>&1; then
		passed=$((passed + 1))
		grep -E '^stat::number_of_executed_units|^Done ' "$corpus.log"
	else
		failed=$((failed + 1))
		tail -40 "$corpus.log"
		echo "$name: FAILED (input kept in build/fuzz/crashes/)"
	fi
	rm -rf "$corpus" "$corpus.log"
done
echo "fuzz: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
