#!/bin/sh
# build-curl — builds libcurl.a from its release tarball into DIR for
# tools/deps.mk, safe when several makes of one tree want it at once (`make`
# and `make check-asan` side by side, CI steps): DIR is shared by every
# BUILD directory.
#
#   build-curl.sh DIR TARBALL [FILE...]
#   environment: CC, MAKE, CURL_CONFIGURE (configure's arguments)
#
# One make builds, holding an exclusive flock(1) on DIR.lock; the others
# wait for the lock, then find DIR/lib/.libs/libcurl.a newer than TARBALL
# and every FILE (what make compared it with) and build nothing. The build
# happens in DIR.tmp and is renamed to DIR only when it is complete, so a
# build that fails or is interrupted never leaves a DIR that looks built
# (its logs stay in DIR.tmp). The checksum is checked by the caller.
set -eu

[ $# -ge 2 ] || { echo "usage: build-curl.sh DIR TARBALL [FILE...]" >&2; exit 2; }
dir=$1
tarball=$2
shift 2
lib=$dir/lib/.libs/libcurl.a
tmp=$dir.tmp

# Newer than the tarball and every FILE: built by the make that held the lock.
built() {
	[ -f "$lib" ] || return 1
	for f in "$tarball" "$@"; do
		[ -n "$(find "$lib" -newer "$f")" ] || return 1
	done
}

# make -n runs this (its line names $(MAKE)): say what would be built, no more.
flags=${MAKEFLAGS:-}
case ${flags%% *} in
-* | '') ;;
*n*) echo "deps: would build $lib"; exit 0 ;;
esac

mkdir -p "$(dirname "$dir")"
exec 9>"$dir.lock"
flock 9
if built "$@"; then
	echo "deps: $lib built meanwhile by another make"
	exit 0
fi

rm -rf "$tmp"
mkdir -p "$tmp"
tar -xzf "$tarball" -C "$tmp" --strip-components=1
# shellcheck disable=SC2086 # CURL_CONFIGURE is a list of arguments
(cd "$tmp" && ./configure $CURL_CONFIGURE CC="$CC" CFLAGS="-O2 -g" >configure.log 2>&1) ||
	{ tail -n 30 "$tmp/configure.log" >&2; exit 1; }
"$MAKE" --no-print-directory -C "$tmp/lib" libcurl.la >"$tmp/make.log" 2>&1 ||
	{ grep -m5 -E 'error|Error' "$tmp/make.log" >&2; exit 1; }

# The old build (if any) out of the way, the new one in place: two renames.
rm -rf "$dir.old"
if [ -e "$dir" ]; then
	mv "$dir" "$dir.old"
fi
mv "$tmp" "$dir"
rm -rf "$dir.old"
