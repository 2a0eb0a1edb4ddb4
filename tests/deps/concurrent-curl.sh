#!/bin/sh
# concurrent-curl — two makes started together on a clean curl directory
# both succeed, and curl is built once (tools/build-curl.sh: the second make
# waits for the first's lock and finds libcurl.a built). Everything goes to
# a scratch directory (two BUILDs, one CURL_DIR), removed at the end; the
# tree's own build/ is not touched.
#
# About 4 minutes of two cores (curl's configure and build), so it is not
# part of `make test`: run it by hand after changing tools/deps.mk or
# tools/build-curl.sh:
#   sh tests/deps/concurrent-curl.sh
# Exits 0 and prints "concurrent-curl: ok" when both makes succeeded.
set -u
root=$(cd "$(dirname "$0")/../.." && pwd)
scratch=$(mktemp -d "${TMPDIR:-/tmp}/deadbolt-curl-XXXXXX") || exit 1
trap 'rm -rf "$scratch"' EXIT
curl=$scratch/curl
lib=$curl/lib/.libs/libcurl.a

build() { # BUILD name: make deps-build into the shared CURL_DIR
	env -u MAKEFLAGS -u MAKELEVEL make -C "$root" --no-print-directory -j2 \
		BUILD="$scratch/$1" CURL_DIR="$curl" deps-build >"$scratch/$1.log" 2>&1
}

build a &
pa=$!
build b &
pb=$!
wait "$pa"
ra=$?
wait "$pb"
rb=$?

fail=0
no() { # what went wrong
	echo "concurrent-curl: FAILED: $1"
	fail=1
}
[ "$ra" -eq 0 ] || no "make a exited $ra: $(tail -n 5 "$scratch/a.log")"
[ "$rb" -eq 0 ] || no "make b exited $rb: $(tail -n 5 "$scratch/b.log")"
ar t "$lib" 2>/dev/null | grep -q '^libcurl_la-easy\.o$' || no "$lib is no libcurl archive"
{ [ ! -e "$curl.tmp" ] && [ ! -e "$curl.old" ]; } || no "a build directory was left beside $curl"
# The make that waited for the lock says so: exactly one (none: they did not
# overlap, or both built).
waited=$(grep -l "built meanwhile by another make" "$scratch/a.log" "$scratch/b.log" | wc -l)
[ "$waited" -eq 1 ] || no "$waited makes found curl built by the other, expected 1"
for b in a b; do
	[ -f "$scratch/$b/deps/lib/liblua.a" ] || no "make $b built no Lua"
done
[ "$fail" -eq 0 ] && echo "concurrent-curl: ok"
exit "$fail"
