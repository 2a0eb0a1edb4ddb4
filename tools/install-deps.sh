#!/bin/sh
# shellcheck disable=SC2086 # the package and module lists are split on purpose
# install-deps — installs what deadbolt's build and tests need on Debian 12,
# only what is missing: Debian packages with apt-get (apt-get update only
# when something is missing), Python packages (boto3, moto with its server,
# cfn-lint) with pip.
#
#   sh tools/install-deps.sh          install what is missing; 0 when all is there
#   sh tools/install-deps.sh --check  install nothing; exit 0 silently when all
#                                     is there, else 1 with one line naming what
#                                     is missing
set -u
set -f  # no globbing: "moto[server]" is a pip requirement, not a pattern

# Lua, lua-cjson and libcurl are built from deps/ (tools/deps.mk) and linked
# statically with OpenSSL's libssl.a/libcrypto.a from libssl-dev.
# libexpat1-dev (expat): only tests/unit/test_xml_expat.c links it, to check
# engine/aws/xml.c against the parser it replaced; deadbolt itself does not.
# libcurl4-openssl-dev: only tools/gen_sigv4_curl.c (the SigV4 test vectors)
# links Debian's libcurl, for its CURLOPT_AWS_SIGV4; deadbolt does not.
# clang and libclang-rt-14-dev (libFuzzer): only `make fuzz` uses them.
APT_PACKAGES="build-essential pkg-config libcurl4-openssl-dev libssl-dev
libexpat1-dev check nginx-light hyperfine iproute2 ca-certificates python3
python3-pip clang libclang-rt-14-dev"
PKG_CONFIG_MODULES="libcurl openssl expat check"
COMMANDS="cc make pkg-config python3 moto_server cfn-lint hyperfine nginx ip clang"
# Python import name = pip requirement that brings it
PYTHON_MODULES="boto3=boto3 botocore=boto3 moto=moto[server] flask=moto[server]
flask_cors=moto[server] cfnlint=cfn-lint"

# Prints, space-separated, what is missing ("" when nothing is). Fast: one
# dpkg-free pass of pkg-config, command -v and one python3 start.
missing() {
	out=""
	for cmd in $COMMANDS; do
		# nginx and ip live in sbin, which a non-root PATH may lack
		command -v "$cmd" >/dev/null 2>&1 || [ -x "/usr/sbin/$cmd" ] || out="$out $cmd"
	done
	if command -v pkg-config >/dev/null 2>&1; then
		if ! pkg-config --exists $PKG_CONFIG_MODULES 2>/dev/null; then
			for mod in $PKG_CONFIG_MODULES; do
				pkg-config --exists "$mod" 2>/dev/null || out="$out pkg-config:$mod"
			done
		fi
	fi
	if command -v python3 >/dev/null 2>&1; then
		names=$(for m in $PYTHON_MODULES; do printf '%s ' "${m%%=*}"; done)
		out="$out $(python3 -c 'import importlib.util, sys
print(" ".join("python:" + m for m in sys.argv[1:] if importlib.util.find_spec(m) is None))' $names 2>/dev/null)"
	fi
	echo $out
}

if [ "${1:-}" = "--check" ]; then
	gaps=$(missing)
	[ -z "$gaps" ] && exit 0
	echo "missing: $gaps"
	exit 1
fi

as_root() {
	if [ "$(id -u)" = 0 ]; then
		"$@"
	elif command -v sudo >/dev/null 2>&1; then
		sudo "$@"
	else
		echo "install-deps: need root (or sudo) for: $*" >&2
		return 1
	fi
}

# Debian packages not installed, from one dpkg-query call.
apt_missing() {
	have=$(dpkg-query -W -f='${Package} ${db:Status-Status}\n' $APT_PACKAGES 2>/dev/null |
		awk '$2 == "installed" { print $1 }')
	for pkg in $APT_PACKAGES; do
		echo "$have" | grep -qx "$pkg" || printf '%s ' "$pkg"
	done
}

need=$(apt_missing)
if [ -n "$need" ]; then
	echo "install-deps: apt-get install $need"
	export DEBIAN_FRONTEND=noninteractive
	as_root apt-get update -q || { echo "install-deps: apt-get update failed" >&2; exit 1; }
	as_root apt-get install -y -q --no-install-recommends $need ||
		{ echo "install-deps: apt-get install failed: $need" >&2; exit 1; }
fi

py_missing=$(python3 -c 'import importlib.util, sys
wanted = dict(a.split("=") for a in sys.argv[1:])
print(" ".join(sorted({req for mod, req in wanted.items() if importlib.util.find_spec(mod) is None})))' $PYTHON_MODULES)
if [ -n "$py_missing" ]; then
	echo "install-deps: pip install $py_missing"
	# Debian's own python3 refuses pip installs without this (PEP 668).
	if ! PIP_BREAK_SYSTEM_PACKAGES=1 python3 -m pip install -q --retries 1 $py_missing; then
		echo "install-deps: pip could not install $py_missing (PyPI unreachable? moto has no Debian 12 package: it comes from PyPI only)" >&2
		exit 1
	fi
fi

gaps=$(missing)
if [ -n "$gaps" ]; then
	echo "install-deps: still missing after installing: $gaps" >&2
	exit 1
fi
echo "install-deps: everything deadbolt needs is installed"
