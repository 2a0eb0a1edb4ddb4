#!/bin/sh
# link-hot — the archive members that the link of deadbolt puts first, so
# that the code a run executes sits together at the start of .text.
#
#   link-hot.sh DIR LIST ARCHIVE...
#
# LIST (tools/link-order.txt, made by tools/gen_link_order.py) names, one a
# line, "ARCHIVE-BASENAME MEMBER": the members that hold code a dry run of
# one EC2 finding executes. Each such member of each ARCHIVE is extracted
# into DIR/ARCHIVE-BASENAME/ (DIR is emptied first), and its path printed,
# for the Makefile to put on the link line before the archives. A member
# LIST names that an archive lacks (another OpenSSL build, a renamed file)
# is skipped: the link only loses some ordering, never correctness, since
# an extracted member is the same object the archive would have given.
#
# Why: the kernel maps a file-backed page fault's 64 KiB neighbourhood
# (fault-around), so executing 10 KiB of each of a hundred scattered
# OpenSSL objects made most of libcrypto's 2.2 MiB of code resident. With
# the executed objects first, a dry run's resident code is about half
# (bench/RESULTS.md).
set -eu

[ $# -ge 2 ] || { echo "usage: link-hot.sh DIR LIST ARCHIVE..." >&2; exit 2; }
dir=$1
list=$2
shift 2
rm -rf "$dir"
mkdir -p "$dir"
for a in "$@"; do
	base=$(basename "$a")
	have=$(ar t "$a")
	want=$(awk -v b="$base" '$1 == b { print $2 }' "$list")
	members=""
	for m in $want; do
		if printf '%s\n' "$have" | grep -qxF "$m"; then
			members="$members $m"
		fi
	done
	[ -n "$members" ] || continue
	mkdir -p "$dir/$base"
	# shellcheck disable=SC2086 # members is a list of names without spaces
	ar x --output="$dir/$base" "$a" $members
	for m in $members; do
		printf '%s\n' "$dir/$base/$m"
	done
done
