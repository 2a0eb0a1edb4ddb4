#!/bin/sh
# bench/run.sh — `make bench`: builds the bench programs (bench/*.c, linked
# with build/libdeadbolt.a through bench/bench.mk) and runs bench/bench.py,
# which prints each result as medians and a ratio against a peer measured in
# the same run. A part whose program does not build is reported as
# "skipped: <why>", not faked. bench.py starts and stops its own servers (by
# PID). Extra arguments go to bench.py (e.g. --only client).
set -u
cd "$(dirname "$0")/.." || exit 1
BUILD=${BUILD:-build}
MAKE=${MAKE:-make}

# The Makefile may include bench/bench.mk itself; if not, pass it along.
if grep -q '^-\{0,1\}include .*bench/bench\.mk' Makefile; then
	MKFILES="-f Makefile"
else
	MKFILES="-f Makefile -f bench/bench.mk"
fi

LOG=$(mktemp "${TMPDIR:-/tmp}/deadbolt-bench-build.XXXXXX") || exit 1
trap 'rm -f "$LOG"' EXIT INT TERM

# build PROG: builds $BUILD/bench/PROG; on failure prints the first error line.
build() {
	# shellcheck disable=SC2086
	if $MAKE --no-print-directory -s $MKFILES BUILD="$BUILD" "$BUILD/bench/$1" >"$LOG" 2>&1; then
		return 0
	fi
	grep -m1 -E 'error|undefined reference|No rule' "$LOG" | cut -c1-200
	return 1
}

WHY_CLIENT=$(build bench_client) && WHY_CLIENT=
WHY_SANDBOX=$(build bench_sandbox) && WHY_SANDBOX=
rm -f "$LOG"
trap - EXIT INT TERM

PYTHON=$(command -v python3) || { echo "bench: python3 is missing; run 'make deps'" >&2; exit 1; }
# exec: a signal to `make bench` reaches bench.py, which stops its servers.
exec "$PYTHON" bench/bench.py --build "$BUILD" --why-client "$WHY_CLIENT" \
	--why-sandbox "$WHY_SANDBOX" "$@"
