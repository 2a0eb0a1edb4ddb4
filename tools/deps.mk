# tools/deps.mk — the libraries deadbolt links statically, built by make
# from the release tarballs in deps/ (README, "Dependencies we build").
# Included by the Makefile; defines DEPS_CFLAGS and DEPS_LIBS for it.
#
#   Lua 5.4.9 and lua-cjson   $(BUILD)/deps/: per build directory, -O2,
#                             not instrumented unless LUA_SAN says so (below)
#   libcurl (HTTP/1.1, HTTPS) $(CURL_DIR): one build, shared by every
#                             BUILD (its configure takes most of the time);
#                             tools/build-curl.sh builds it under a lock,
#                             so concurrent makes build it once
#   OpenSSL                   libssl.a and libcrypto.a from Debian's libssl-dev
#                             (its headers are /usr/include/openssl)
#
# Every tarball is checked against deps/SHA256SUMS before it is unpacked.
# Nothing here reaches the network.
#
# glibc: the Lambda runtime (Amazon Linux 2023) has glibc 2.34 and the build
# machine (Debian 12) 2.36. curl's configure would find arc4random (new in
# 2.36) and call it: it is told the function is absent
# (ac_cv_func_arc4random=no) and draws random bytes from OpenSSL instead.
# Debian's libssl.a/libcrypto.a need nothing newer than 2.34. The whole
# binary is checked by tools/package-lambda.sh (objdump -T) and
# tests/integration/test_lambda.py.

# Paths from the source tree that holds this file, symbolic links resolved:
# a make run from another directory (a tree of links to this one, BUILD
# elsewhere) still finds deps/ and shares the one curl build.
DEPS_ROOT  := $(realpath $(dir $(lastword $(MAKEFILE_LIST)))..)
DEPS_SRC   := $(DEPS_ROOT)/deps
LUA_TAR    := $(DEPS_SRC)/lua5.4_5.4.9.orig.tar.gz
CJSON_TAR  := $(DEPS_SRC)/lua-cjson_2.1.0+dfsg.orig.tar.gz
CURL_TAR   := $(DEPS_SRC)/curl_8.21.0.orig.tar.gz

DEPS_OUT   := $(BUILD)/deps
DEPS_INC   := $(DEPS_OUT)/include
LUA_DIR    := $(DEPS_OUT)/lua
LUA_LIB    := $(DEPS_OUT)/lib/liblua.a
CJSON_DIR  := $(DEPS_OUT)/lua-cjson
CJSON_LIB  := $(DEPS_OUT)/lib/libcjson.a
CURL_DIR   ?= $(DEPS_ROOT)/build/deps/curl
CURL_LIB   := $(CURL_DIR)/lib/.libs/libcurl.a

# Debian's libssl-dev: the static archives next to the shared ones.
OPENSSL_A  := $(shell $(CC) -print-file-name=libssl.a) $(shell $(CC) -print-file-name=libcrypto.a)

# Lua as upstream's own makefile builds it for Linux (LUA_COMPAT_5_3, as
# Debian's lua5.4 too), without dlopen: the sandbox loads no C modules.
# LUA_SAN: sanitizer flags for Lua and lua-cjson too, e.g.
#   rm -rf build/asan/deps && make check-asan LUA_SAN="-fsanitize=address,undefined"
# Off by default: an instrumented Lua runs the VM several times slower, and
# the sandbox tests that expect the instruction budget to end a loop before
# the wall clock does (1 s) fail more often on a loaded machine.
LUA_SAN    ?=
LUA_CFLAGS := -std=gnu99 -DLUA_COMPAT_5_3 -DLUA_USE_POSIX -O2 -g $(LUA_SAN)
CJSON_CFLAGS := -std=gnu99 -DNDEBUG -O2 -g $(LUA_SAN) -I$(DEPS_INC)

# Exactly HTTP/1.1 and HTTPS with OpenSSL: every other protocol, every
# optional library and every feature deadbolt does not call is off.
# Kept: proxies from the environment (https_proxy, no_proxy), IPv6, the
# threaded resolver (timeouts cover name resolution), Basic auth (proxy
# credentials in https_proxy).
CURL_CONFIGURE := --disable-shared --enable-static \
	--disable-dependency-tracking --disable-silent-rules --enable-optimize --disable-debug \
	--disable-curldebug --enable-symbol-hiding --disable-docs --disable-manual \
	--with-openssl --without-gnutls --without-mbedtls --without-wolfssl --without-rustls \
	--disable-openssl-auto-load-config \
	--disable-ftp --disable-file --disable-ipfs --disable-ldap --disable-ldaps \
	--disable-rtsp --disable-dict --disable-telnet --disable-tftp --disable-pop3 \
	--disable-imap --disable-smb --disable-smtp --disable-gopher --disable-mqtt \
	--disable-websockets --disable-doh --disable-mime --disable-form-api \
	--disable-cookies --disable-hsts --disable-alt-svc --disable-netrc \
	--disable-ntlm --disable-kerberos-auth --disable-negotiate-auth \
	--disable-digest-auth --disable-aws --disable-tls-srp --disable-sspi \
	--disable-unix-sockets --disable-progress-meter --disable-libcurl-option \
	--disable-httpsrr --disable-ech --disable-ssls-export --disable-ares \
	--without-zlib --without-brotli --without-zstd --without-libpsl \
	--without-libidn2 --without-nghttp2 --without-nghttp3 --without-ngtcp2 \
	--without-quiche --without-libssh --without-libssh2 --without-librtmp \
	--without-gssapi --without-libgsasl --without-libuv --without-ca-embed \
	ac_cv_func_arc4random=no

DEPS_CFLAGS := -I$(DEPS_INC) -I$(CURL_DIR)/include
DEPS_LIBS   := $(CJSON_LIB) $(LUA_LIB) $(CURL_LIB) $(OPENSSL_A) -pthread -lm

DEPS_ALL := $(LUA_LIB) $(CJSON_LIB) $(CURL_LIB)

.PHONY: deps-build
deps-build: $(DEPS_ALL)

# Objects include lua.h and curl/curl.h: the libraries come first.
$(ENGINE_OBJ) $(MAIN_OBJ): | $(DEPS_ALL)

# A tarball is unpacked only if deps/SHA256SUMS has its line and it matches.
check_sum = (cd $(DEPS_SRC) && grep -F '  $(notdir $(1))' SHA256SUMS | sha256sum --check --strict --quiet -)

$(LUA_LIB): $(LUA_TAR) $(DEPS_SRC)/SHA256SUMS
	$(call check_sum,$(LUA_TAR))
	rm -rf $(LUA_DIR) && mkdir -p $(LUA_DIR) $(DEPS_INC) $(dir $@)
	tar -xzf $(LUA_TAR) -C $(LUA_DIR) --strip-components=1
	+$(MAKE) --no-print-directory -C $(LUA_DIR)/src liblua.a CC="$(CC)" \
	  CFLAGS="-Wall -Wextra $(LUA_CFLAGS)" AR="ar rc" RANLIB=ranlib
	cp $(LUA_DIR)/src/lua.h $(LUA_DIR)/src/luaconf.h $(LUA_DIR)/src/lualib.h \
	  $(LUA_DIR)/src/lauxlib.h $(DEPS_INC)/
	cp $(LUA_DIR)/src/liblua.a $@

# lua-cjson: the three files of Debian's liblua5.4-cjson (CLIB_OBJS in its
# debian/lua5.4.dh-lua.conf), against the Lua above; lua-cjson.h is the
# one-line header dh-lua generates for it.
$(CJSON_LIB): $(CJSON_TAR) $(DEPS_SRC)/SHA256SUMS $(LUA_LIB)
	$(call check_sum,$(CJSON_TAR))
	rm -rf $(CJSON_DIR) && mkdir -p $(CJSON_DIR)
	tar -xzf $(CJSON_TAR) -C $(CJSON_DIR) --strip-components=1
	for f in lua_cjson strbuf fpconv; do \
	  $(CC) $(CJSON_CFLAGS) -c $(CJSON_DIR)/$$f.c -o $(CJSON_DIR)/$$f.o || exit 1; \
	done
	printf '%s\n' '/* lua-cjson entry point (as dh-lua generates it) */' \
	  'extern int luaopen_cjson(lua_State *);' >$(DEPS_INC)/lua-cjson.h
	rm -f $@ && ar rcs $@ $(CJSON_DIR)/lua_cjson.o $(CJSON_DIR)/strbuf.o $(CJSON_DIR)/fpconv.o

$(CURL_LIB): $(CURL_TAR) $(DEPS_SRC)/SHA256SUMS
	$(call check_sum,$(CURL_TAR))
	@for a in $(OPENSSL_A); do [ -f "$$a" ] || { \
	  echo "deps: $$a missing: install libssl-dev (make deps)" >&2; exit 1; }; done
	+CC="$(CC)" MAKE="$(MAKE)" CURL_CONFIGURE="$(CURL_CONFIGURE)" \
	  sh $(DEPS_ROOT)/tools/build-curl.sh $(CURL_DIR) $(CURL_TAR) $(DEPS_SRC)/SHA256SUMS

# A new library relinks what links it.
$(BUILD)/deadbolt $(UNIT_BIN): $(DEPS_ALL)
