/* test_wipe_alloc — the cleansing Lua allocator (engine/aws/wipe_alloc.c)
 * that the STS AssumeRole answer is decoded into: every block handed back,
 * at lua_close or when a realloc moves it, is all zero; nothing is left
 * allocated; the cap makes an allocation fail instead of growing.
 *
 * The heap's release hook stands in for free(): it sees each block after
 * the allocator cleansed it, checks it, then frees it. */
#include <check.h>
#include <lauxlib.h>
#include <lualib.h>
#include <stdlib.h>
#include <string.h>

#include "testutil.h"
#include "wipe_alloc.h"

#define SECRET "wJalrXUtnFEMI/K7MDENG/bPxRfiCYzEXAMPLEKEY-secret-access-key"

typedef struct seen {
	size_t blocks, bytes, dirty; /* blocks released, their bytes, blocks not all zero */
} seen;

static void check_release(void *ud, void *block, size_t n)
{
	seen *s = ud;
	const unsigned char *p = block;
	size_t i = 0;
	while (i < n && p[i] == 0)
		i++;
	s->blocks++;
	s->bytes += n;
	s->dirty += i < n;
	free(block);
}

START_TEST(test_closing_the_state_cleanses_every_block)
{
	seen s = {0};
	wipe_heap h = {.release = check_release, .release_ud = &s};
	lua_State *L = wipe_state_new(&h);
	ck_assert_ptr_nonnull(L);
	/* The shape of a decoded AssumeRole answer, and some churn. */
	lua_createtable(L, 0, 1);
	lua_createtable(L, 0, 3);
	lua_pushstring(L, SECRET);
	lua_setfield(L, -2, "SecretAccessKey");
	lua_pushfstring(L, "%s-token-%d", SECRET, 42);
	lua_setfield(L, -2, "SessionToken");
	lua_setfield(L, -2, "Credentials");
	for (int i = 0; i < 200; i++) { /* grows tables: blocks move */
		lua_pushinteger(L, i);
		lua_rawseti(L, -2, i + 1);
	}
	ck_assert_uint_gt(h.live, 0);
	lua_close(L);
	ck_assert_uint_gt(s.blocks, 10);
	ck_assert_uint_eq(s.dirty, 0);
	ck_assert_uint_eq(h.live, 0);
}
END_TEST

START_TEST(test_a_moved_block_is_cleansed_and_its_content_kept)
{
	seen s = {0};
	wipe_heap h = {.release = check_release, .release_ud = &s};
	char *p = wipe_alloc(&h, NULL, LUA_TSTRING, 16);
	ck_assert_ptr_nonnull(p);
	memcpy(p, "0123456789abcdef", 16);
	char *q = wipe_alloc(&h, p, 16, 4096); /* grows: a new block */
	ck_assert_ptr_nonnull(q);
	ck_assert_int_eq(memcmp(q, "0123456789abcdef", 16), 0);
	ck_assert_uint_eq(s.blocks, 1);
	ck_assert_uint_eq(s.dirty, 0);
	char *r = wipe_alloc(&h, q, 4096, 8); /* shrinks: stays, tail cleansed */
	ck_assert_ptr_eq(r, q);
	for (size_t i = 8; i < 16; i++)
		ck_assert_int_eq(r[i], 0);
	ck_assert_uint_eq(h.live, 8);
	ck_assert_ptr_null(wipe_alloc(&h, r, 8, 0));
	ck_assert_uint_eq(s.blocks, 2);
	ck_assert_uint_eq(s.dirty, 0);
	ck_assert_uint_eq(h.live, 0);
}
END_TEST

static int fill(lua_State *L)
{
	lua_newtable(L);
	for (lua_Integer i = 1;; i++) {
		lua_pushfstring(L, "%s-%d", SECRET, (int)i);
		lua_rawseti(L, -2, i);
	}
	return 0;
}

START_TEST(test_the_cap_is_an_out_of_memory_error_not_a_crash)
{
	seen s = {0};
	wipe_heap h = {.cap = 256 << 10, .release = check_release, .release_ud = &s};
	lua_State *L = wipe_state_new(&h);
	ck_assert_ptr_nonnull(L);
	lua_pushcfunction(L, fill);
	ck_assert_int_eq(lua_pcall(L, 0, 0, 0), LUA_ERRMEM);
	ck_assert_uint_le(h.live, h.cap);
	lua_close(L);
	ck_assert_uint_eq(s.dirty, 0);
	ck_assert_uint_eq(h.live, 0);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("wipe_alloc");
	TCase *t = tcase_create("wipe_alloc");
	tcase_add_test(t, test_closing_the_state_cleanses_every_block);
	tcase_add_test(t, test_a_moved_block_is_cleansed_and_its_content_kept);
	tcase_add_test(t, test_the_cap_is_an_out_of_memory_error_not_a_crash);
	suite_add_tcase(s, t);
	return tu_run(s);
}
