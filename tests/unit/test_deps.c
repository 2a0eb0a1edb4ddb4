/* test_deps — the libraries tools/deps.mk builds are the ones linked, with
 * the configuration it asks for: Lua 5.4.9 (with the fixes of the bugs listed
 * for 5.4.7, two of them replayed here), libcurl with HTTP and HTTPS over
 * OpenSSL and nothing else, OpenSSL 3 linked in. See docs/lua-bugs.md. */
#include <check.h>
#include <curl/curl.h>
#include <lauxlib.h>
#include <lua.h>
#include <lualib.h>
#include <openssl/crypto.h>
#include <stdlib.h>
#include <string.h>

#include "testutil.h"

/* ---- Lua ---- */

/* An allocator that fails the n-th allocation from now, once (what Lua's own
 * test library calls allocfailnext): in the sandbox, an allocation refused
 * by the memory cap, after which Lua runs an emergency collection. */
static long fail_in = -1;

static void *failing_alloc(void *ud, void *p, size_t osize, size_t nsize)
{
	(void)ud;
	(void)osize;
	if (nsize == 0) {
		free(p);
		return NULL;
	}
	if (fail_in > 0 && --fail_in == 0)
		return NULL;
	return realloc(p, nsize);
}

static int l_allocfailnext(lua_State *L)
{
	(void)L;
	fail_in = 1;
	return 0;
}

static lua_State *new_state(void)
{
	lua_State *L = lua_newstate(failing_alloc, NULL);
	ck_assert_ptr_nonnull(L);
	luaL_openlibs(L);
	lua_register(L, "allocfailnext", l_allocfailnext);
	return L;
}

/* Runs chunk and returns its one result as a string (static buffer). */
static const char *run(const char *chunk)
{
	static char out[256];
	lua_State *L = new_state();
	int rc = luaL_dostring(L, chunk);
	const char *s = lua_tostring(L, -1);
	snprintf(out, sizeof(out), "%s%s", rc == LUA_OK ? "" : "error: ", s ? s : "(nil)");
	lua_close(L);
	fail_in = -1;
	return out;
}

START_TEST(test_lua_is_5_4_9)
{
	ck_assert_int_eq(LUA_VERSION_RELEASE_NUM, 50409);
	ck_assert_str_eq(run("return _VERSION"), "Lua 5.4");
	lua_State *L = new_state();
	ck_assert(lua_version(L) == LUA_VERSION_NUM);
	lua_close(L);
}
END_TEST

/* Bug listed for 5.4.7, "Use after free in 'luaV_finishset'": a weak
 * metatable's __newindex table collected by the emergency collection of a
 * refused allocation while the assignment still uses it. 5.4.7 reads freed
 * memory here (AddressSanitizer: heap-use-after-free in ltable.c). */
START_TEST(test_lua_finishset_survives_an_emergency_collection)
{
	ck_assert_str_eq(run("local mt = setmetatable({__newindex = {}}, {__mode = 'v'})\n"
			     "local t = setmetatable({}, mt)\n"
			     "allocfailnext()\n"
			     "for i = 1, 10 do t[i] = 1 end\n"
			     "return 'done'"),
			 "done");
}
END_TEST

/* Bug listed for 5.4.7, "message handler can be overwritten": a __close run
 * by coroutine.close overwrote the handler xpcall left in the coroutine's
 * stack; 5.4.7 answers "error in error handling" instead of the error. */
START_TEST(test_lua_close_keeps_the_error_of_a_close_handler)
{
	ck_assert_str_eq(run("local c = coroutine.create(function()\n"
			     "  local clo <close> = setmetatable({}, {__close = function()\n"
			     "    local x = 134; error(x) end})\n"
			     "  xpcall(coroutine.yield, function() return 'XXX' end)\n"
			     "end)\n"
			     "assert(coroutine.resume(c))\n"
			     "local ok, msg = coroutine.close(c)\n"
			     "return tostring(ok) .. ' ' .. tostring(msg)"),
			 "false 134");
}
END_TEST

/* ---- libcurl and OpenSSL ---- */

START_TEST(test_curl_speaks_http_and_https_only)
{
	const curl_version_info_data *v = curl_version_info(CURLVERSION_NOW);
	ck_assert_str_eq(v->version, "8.21.0");
	size_t n = 0;
	for (const char *const *p = v->protocols; *p; p++, n++)
		ck_assert_msg(strcmp(*p, "http") == 0 || strcmp(*p, "https") == 0,
			      "protocol %s built in", *p);
	ck_assert_uint_eq(n, 2);
}
END_TEST

START_TEST(test_curl_has_no_optional_library)
{
	const curl_version_info_data *v = curl_version_info(CURLVERSION_NOW);
	ck_assert(v->features & CURL_VERSION_SSL);
	ck_assert(v->features & CURL_VERSION_ASYNCHDNS);
	const int absent[] = {CURL_VERSION_LIBZ, CURL_VERSION_IDN, CURL_VERSION_PSL,
			      CURL_VERSION_BROTLI, CURL_VERSION_ZSTD, CURL_VERSION_HTTP2,
			      CURL_VERSION_HTTP3, CURL_VERSION_GSSAPI, CURL_VERSION_KERBEROS5,
			      CURL_VERSION_SPNEGO, CURL_VERSION_NTLM, CURL_VERSION_ALTSVC,
			      CURL_VERSION_HSTS, CURL_VERSION_UNIX_SOCKETS};
	for (int i = 0; i < NROWS(absent); i++)
		ck_assert_msg(!(v->features & absent[i]), "feature bit 0x%x set", absent[i]);
	ck_assert_ptr_null(v->libz_version);
	ck_assert_ptr_null(v->libidn);
	ck_assert_ptr_null(v->libssh_version);
	ck_assert_ptr_null(v->nghttp2_version);
	ck_assert_ptr_null(v->brotli_version);
	ck_assert_ptr_null(v->zstd_version);
}
END_TEST

START_TEST(test_curl_uses_the_linked_openssl)
{
	const curl_version_info_data *v = curl_version_info(CURLVERSION_NOW);
	char want[64];
	/* curl names the OpenSSL it runs with: "OpenSSL/3.0.19" */
	snprintf(want, sizeof(want), "OpenSSL/%s", OpenSSL_version(OPENSSL_VERSION_STRING));
	ck_assert_str_eq(v->ssl_version, want);
	ck_assert_uint_eq(OpenSSL_version_num() >> 28, 3);
}
END_TEST

static Suite *deps_suite(void)
{
	Suite *s = suite_create("deps");
	TCase *lua = tcase_create("lua");
	tcase_add_test(lua, test_lua_is_5_4_9);
	tcase_add_test(lua, test_lua_finishset_survives_an_emergency_collection);
	tcase_add_test(lua, test_lua_close_keeps_the_error_of_a_close_handler);
	suite_add_tcase(s, lua);
	TCase *curl = tcase_create("curl");
	tcase_add_test(curl, test_curl_speaks_http_and_https_only);
	tcase_add_test(curl, test_curl_has_no_optional_library);
	tcase_add_test(curl, test_curl_uses_the_linked_openssl);
	suite_add_tcase(s, curl);
	return s;
}

int main(void)
{
	return tu_run(deps_suite());
}
