#!/bin/sh
# package-lambda.sh - the self-contained Lambda deployment package.
# Owner: the Lambda engineer. Run by `make build-DeadboltFunction` (what
# `sam build` calls, BuildMethod: makefile) and `make lambda-zip`, after make
# has built $BUILD/deadbolt.
#
#   tools/package-lambda.sh [--zip FILE.zip] DIR
#
# DIR receives:
#   bootstrap               build/deadbolt, debug sections stripped: the binary
#                           the tests run (it serves the Runtime API when
#                           called "bootstrap"). Lua, lua-cjson, libcurl and
#                           OpenSSL are linked in statically (tools/deps.mk);
#                           it needs nothing but glibc (libc, libm, the loader)
#   playbooks/              the Lua playbooks ($LAMBDA_TASK_ROOT/playbooks)
#   playbooks.chunks        the same playbooks compiled (`deadbolt chunks`),
#                           each with its text's SHA-256: a cold start loads
#                           them instead of compiling (about a fifth of a
#                           one-finding dry run's instructions), each only
#                           while playbooks/ still holds that text (an edited
#                           playbook is compiled from its text). Beside the
#                           binary, not among the playbooks: bytecode is
#                           trusted as the binary is
#   certs/ca-bundle.crt     a fallback CA bundle; the client prefers the
#                           system's, /etc/pki/tls/certs/ca-bundle.crt on
#                           Amazon Linux (engine/aws/ca_bundle.c)
#
# Limits, checked here rather than discovered in Lambda:
#   - glibc is the one library not in the binary: it needs no shared object
#     but glibc's own, and no symbol version newer than Amazon Linux 2023's
#     glibc 2.34 (DEADBOLT_GLIBC_MAX to change it). On a Debian 12 build
#     machine (glibc 2.36) tools/deps.mk keeps curl from using arc4random
#     (2.36), the one newer function its configure would find; a newer build
#     machine may bring others: then build with `sam build --use-container`.
#   - the package is for the build machine's architecture (x86_64 or arm64,
#     the template's Architecture parameter must match).
#   - the linked OpenSSL reads no configuration file (curl is configured
#     without OpenSSL's config auto-loading) and uses its built-in default
#     provider.
set -eu

BUILD=${BUILD:-build}
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
[ -x "$BUILD/deadbolt" ] || die "$BUILD/deadbolt is missing: run make first"
ls playbooks/*.lua >/dev/null 2>&1 || die "no playbooks/*.lua to package"

mkdir -p "$DIR"
DIR=$(cd "$DIR" && pwd)
rm -rf "${DIR:?}/bootstrap" "${DIR:?}/lib" "${DIR:?}/playbooks" "${DIR:?}/playbooks.chunks" "${DIR:?}/certs"
mkdir -p "$DIR/playbooks" "$DIR/certs"

# 1. The binary: the one make built and the tests ran.
cp "$BUILD/deadbolt" "$DIR/bootstrap"
strip --strip-debug "$DIR/bootstrap" 2>/dev/null || true
chmod 755 "$DIR/bootstrap"

# 2. What it needs from the system: glibc's libraries and nothing else.
is_glibc() {
	case $1 in
	linux-vdso.so.* | linux-gate.so.* | ld-linux*.so.* | libc.so.* | libm.so.* | \
	libdl.so.* | libpthread.so.* | librt.so.* | libresolv.so.* | libutil.so.* | \
	libanl.so.* | libnss_*.so.* | libmvec.so.* | libBrokenLocale.so.*) return 0 ;;
	esac
	return 1
}
needed=$(objdump -p "$DIR/bootstrap" | awk '$1 == "NEEDED" { print $2 }')
[ -n "$needed" ] || die "objdump found no NEEDED entry in $DIR/bootstrap (binutils missing?)"
for name in $needed; do
	is_glibc "$name" || die "bootstrap needs $name, which Lambda does not have: link it statically (tools/deps.mk)"
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

# 3b. The playbooks compiled, named as Lambda will read them.
"$BUILD/deadbolt" chunks --playbooks "$DIR/playbooks" --as /var/task/playbooks \
	-o "$DIR/playbooks.chunks" >/dev/null || die "the playbooks do not compile"

# 4. Checks.
# Nothing needs a newer glibc than the runtime's.
need=$(objdump -T "$DIR/bootstrap" |
	grep -o 'GLIBC_[0-9][0-9.]*' | sed 's/GLIBC_//' | sort -uV | tail -n 1)
newest=$(printf '%s\n%s\n' "$need" "$GLIBC_MAX" | sort -V | tail -n 1)
[ "$newest" = "$GLIBC_MAX" ] ||
	die "the package needs glibc $need, Amazon Linux 2023 has $GLIBC_MAX: build with 'sam build --use-container'"

# It starts with an empty environment (under another name: as "bootstrap"
# it would serve the Runtime API).
tmp=$(mktemp -d)
ln -s "$DIR/bootstrap" "$tmp/deadbolt"
out=$(env -i "$tmp/deadbolt" version 2>&1) || { rm -rf "$tmp"; die "the packaged binary does not start: $out"; }
rm -rf "$tmp"
case $out in deadbolt*) ;; *) die "unexpected 'deadbolt version' output: $out" ;; esac

if [ -n "$ZIP" ]; then
	case $ZIP in /*) ;; *) ZIP=$(pwd)/$ZIP ;; esac
	rm -f "$ZIP"
	(cd "$DIR" && zip -qr -X "$ZIP" bootstrap playbooks playbooks.chunks certs)
fi
echo "package-lambda: $DIR (one executable; needs glibc $need: $(echo $needed))${ZIP:+, $ZIP}"
