#!/bin/sh
# package-lambda.sh - the self-contained Lambda deployment package.
# Owner: the Lambda engineer. Run by `make build-DeadboltFunction` (what
# `sam build` calls, BuildMethod: makefile) and `make lambda-zip`, after make
# has built $BUILD/obj/engine/cmd/main.o and $BUILD/libdeadbolt.a.
#
#   tools/package-lambda.sh [--zip FILE.zip] DIR
#
# DIR receives:
#   bootstrap               the deadbolt binary (it serves the Runtime API when
#                           called "bootstrap"); Lua 5.4 and lua-cjson linked in
#                           statically (XML is parsed by engine/aws/xml.c: no
#                           expat)
#   lib/                    every other shared library it needs except glibc's
#                           own, copied from the build machine (libcurl and its
#                           closure: OpenSSL 3, nghttp2, ...). The binary's
#                           DT_RPATH is $ORIGIN/lib (not RUNPATH: RPATH also
#                           serves the libraries' own dependencies, and is
#                           searched before Lambda's LD_LIBRARY_PATH, which
#                           lists /lib64 and /usr/lib64 first), so these copies
#                           win over Amazon Linux's own libcurl/OpenSSL, whose
#                           sonames and symbol versions need not match.
#   playbooks/              the Lua playbooks ($LAMBDA_TASK_ROOT/playbooks)
#   certs/ca-bundle.crt     a fallback CA bundle; the client prefers the
#                           system's, /etc/pki/tls/certs/ca-bundle.crt on
#                           Amazon Linux (engine/aws/ca_bundle.c)
#
# Limits, checked here rather than discovered in Lambda:
#   - glibc is the one library not shipped: nothing in the package may need a
#     symbol version newer than Amazon Linux 2023's glibc 2.34
#     (DEADBOLT_GLIBC_MAX to change it). Debian 12 builds need none (the one
#     they used to need, arc4random_buf from glibc 2.36, came with expat,
#     which is no longer linked); a newer build machine may bring some: then
#     build with `sam build --use-container`.
#   - the package is for the build machine's architecture (x86_64 or arm64,
#     the template's Architecture parameter must match).
#   - the shipped OpenSSL reads no config file on Amazon Linux (Debian's
#     OPENSSLDIR does not exist there) and uses its built-in default provider.
set -eu

BUILD=${BUILD:-build}
CC=${CC:-cc}
GLIBC_MAX=${DEADBOLT_GLIBC_MAX:-2.34}
ZIP=""

die() { echo "package-lambda: $*" >&2; exit 1; }

while [ $# -gt 0 ]; do
	case $1 in
	--zip) [ $# -ge 2 ] || die "--zip needs a file name"; ZIP=$2; shift 2 ;;
	-*) die "unknown option $1" ;;
	*) break ;;
	esac
done
[ $# -eq 1 ] || die "usage: package-lambda.sh [--zip FILE.zip] DIR (ARTIFACTS_DIR unset?)"
DIR=$1
[ -n "$DIR" ] || die "empty output directory (ARTIFACTS_DIR unset?)"
for f in "$BUILD/obj/engine/cmd/main.o" "$BUILD/libdeadbolt.a"; do
	[ -f "$f" ] || die "$f is missing: run make first"
done
ls playbooks/*.lua >/dev/null 2>&1 || die "no playbooks/*.lua to package"

mkdir -p "$DIR"
DIR=$(cd "$DIR" && pwd)
rm -rf "${DIR:?}/bootstrap" "${DIR:?}/lib" "${DIR:?}/playbooks" "${DIR:?}/certs"
mkdir -p "$DIR/lib" "$DIR/playbooks" "$DIR/certs"

# 1. The binary: static Lua and lua-cjson; everything else dynamic, found
#    through $ORIGIN/lib first.
# shellcheck disable=SC2016,SC2046 # $ORIGIN is the dynamic linker's; pkg-config's words split
$CC -o "$DIR/bootstrap" "$BUILD/obj/engine/cmd/main.o" "$BUILD/libdeadbolt.a" \
	-Wl,-Bstatic -llua5.4-cjson -llua5.4 -Wl,-Bdynamic \
	$(pkg-config --libs libcurl openssl) -lm -ldl \
	-Wl,-rpath,'$ORIGIN/lib' -Wl,--disable-new-dtags
strip --strip-debug "$DIR/bootstrap" 2>/dev/null || true
chmod 755 "$DIR/bootstrap"

# 2. The libraries: the build machine's resolution of every dependency,
#    glibc's own excepted (the runtime's glibc must be used with its loader).
is_glibc() {
	case $1 in
	linux-vdso.so.* | linux-gate.so.* | ld-linux*.so.* | libc.so.* | libm.so.* | \
	libdl.so.* | libpthread.so.* | librt.so.* | libresolv.so.* | libutil.so.* | \
	libanl.so.* | libnss_*.so.* | libmvec.so.* | libBrokenLocale.so.*) return 0 ;;
	esac
	return 1
}
ldd "$DIR/bootstrap" | while read -r name arrow path _; do
	[ "$arrow" = "=>" ] || continue
	is_glibc "$name" && continue
	[ -f "$path" ] || die "$name does not resolve on the build machine"
	cp -L "$path" "$DIR/lib/$name"
	chmod 644 "$DIR/lib/$name"
done

# 3. Playbooks and the fallback CA bundle.
cp -R playbooks/. "$DIR/playbooks/"
for ca in /etc/ssl/certs/ca-certificates.crt /etc/pki/tls/certs/ca-bundle.crt; do
	if [ -f "$ca" ]; then
		cp -L "$ca" "$DIR/certs/ca-bundle.crt"
		break
	fi
done
[ -s "$DIR/certs/ca-bundle.crt" ] || die "no CA bundle on the build machine"

# 4. Checks. Every library resolves inside the package, or is glibc's.
env -i ldd "$DIR/bootstrap" | while read -r name arrow path _; do
	[ "$arrow" = "=>" ] || continue
	is_glibc "$name" && continue
	case $path in
	"$DIR/lib/"*) ;;
	*) die "$name resolves to $path, outside the package" ;;
	esac
done

# Nothing needs a newer glibc than the runtime's.
need=$(for f in "$DIR/bootstrap" "$DIR"/lib/*; do objdump -T "$f"; done |
	grep -o 'GLIBC_[0-9][0-9.]*' | sed 's/GLIBC_//' | sort -uV | tail -n 1)
newest=$(printf '%s\n%s\n' "$need" "$GLIBC_MAX" | sort -V | tail -n 1)
[ "$newest" = "$GLIBC_MAX" ] ||
	die "the package needs glibc $need, Amazon Linux 2023 has $GLIBC_MAX: build with 'sam build --use-container'"

# It starts with nothing but its own lib/ (under another name: as
# "bootstrap" it would serve the Runtime API).
tmp=$(mktemp -d)
ln -s "$DIR/bootstrap" "$tmp/deadbolt"
out=$(env -i "$tmp/deadbolt" version 2>&1) || { rm -rf "$tmp"; die "the packaged binary does not start: $out"; }
rm -rf "$tmp"
case $out in deadbolt*) ;; *) die "unexpected 'deadbolt version' output: $out" ;; esac

if [ -n "$ZIP" ]; then
	case $ZIP in /*) ;; *) ZIP=$(pwd)/$ZIP ;; esac
	rm -f "$ZIP"
	(cd "$DIR" && zip -qr -X "$ZIP" bootstrap lib playbooks certs)
fi
nlibs=$(find "$DIR/lib" -type f | wc -l)
echo "package-lambda: $DIR (needs glibc $need, ships $nlibs shared libraries)${ZIP:+, $ZIP}"
