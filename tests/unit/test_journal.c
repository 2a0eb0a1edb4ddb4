/* test_journal — engine/journal.c: the JSON writer (escaping, Lua values,
 * sorted keys, depth), the redaction rules, timestamps, and journal lines. */
#include <check.h>
#include <lauxlib.h>
#include <lua-cjson.h>
#include <lualib.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "journal.h"
#include "testutil.h"

typedef struct key_case {
	const char *key;
	int secret;
} key_case;

static const key_case key_cases[] = {
	{"SecretAccessKey", 1}, {"aws_secret_access_key", 1}, {"SessionToken", 1},
	{"x-amz-security-token", 1}, {"Password", 1}, {"NewPassword", 1},
	{"Credentials", 1}, {"Authorization", 1}, {"PrivateKey", 1},
	{"privatekeypem", 1}, {"PolicyDocument", 0}, {"InstanceId", 0},
	{"KeyName", 0}, {"AccessKeyId", 0}, {"Tags", 0}, {"UserName", 0},
};

START_TEST(test_secret_keys)
{
	const key_case *c = &key_cases[_i];
	ck_assert_msg(journal_secret_key(c->key, strlen(c->key)) == c->secret, "%s", c->key);
}
END_TEST

typedef struct value_case {
	const char *value;
	int secret;
} value_case;

static const value_case value_cases[] = {
	{"wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY", 1},       /* the documented example key */
	{"je7MtGbClwBF/2Zp9Utk/h3yCo8nvbEXAMPLEKEY", 1},
	{"da39a3ee5e6b4b0d3255bfef95601890afd80709", 0},       /* a SHA-1 in hex */
	{"AKIAIOSFODNN7EXAMPLE", 0},                           /* an access key id is not secret */
	{"i-0123456789abcdef0", 0},
	{"wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKE", 0},        /* 39 characters */
	{"IQoJb3JpZ2luX2VjEIz//////////wEaCXVzLWVhc3QtMSJHMEUCIQDexample0000000000000000000000000000"
	 "0000000000000000000000000000000000000000000000000000000000000000", 1},
	{"FwoGZXIvYXdzEBYaDHexampleexampleexampleexampleexampleexampleexampleexampleexampleexampleex"
	 "ampleexampleexample", 1},
	{"the quick brown fox jumps over the lazy dog, forty", 0},
};

START_TEST(test_secret_values)
{
	const value_case *c = &value_cases[_i];
	ck_assert_msg(journal_secret_value(c->value, strlen(c->value)) == c->secret, "%s", c->value);
}
END_TEST

/* Writes the Lua value that expr evaluates to. */
static char *lua_json(const char *expr, int redact)
{
	static char out[8192];
	lua_State *L = luaL_newstate();
	luaL_openlibs(L);
	buf b = BUF_INIT;
	jw w;
	char chunk[2048];
	snprintf(chunk, sizeof(chunk), "return %s", expr);
	ck_assert_msg(luaL_dostring(L, chunk) == LUA_OK, "%s", lua_tostring(L, -1));
	int top = lua_gettop(L);
	jw_init(&w, &b);
	jw_lua(&w, L, -1, redact);
	ck_assert_int_eq(lua_gettop(L), top);
	ck_assert(!jw_failed(&w));
	snprintf(out, sizeof(out), "%s", buf_cstr(&b));
	buf_free(&b);
	lua_close(L);
	return out;
}

typedef struct lua_case {
	const char *expr;
	int redact;
	const char *json;
} lua_case;

static const lua_case lua_cases[] = {
	{"nil", 1, "null"},
	{"{}", 1, "{}"},
	{"{1, 2, 3}", 1, "[1,2,3]"},
	{"{b = 1, a = 2, C = 3}", 1, "{\"C\":3,\"a\":2,\"b\":1}"},
	{"{[1] = 'x', [3] = 'y'}", 1, "{\"1\":\"x\",\"3\":\"y\"}"},
	{"{0.5, 1e300, -7, 2^53}", 1, "[0.5,1e+300,-7,9007199254740992]"},
	{"{0/0, 1/0}", 1, "[null,null]"},
	{"{true, false}", 1, "[true,false]"},
	{"'quote \" backslash \\\\ newline \\n tab \\t bell \\a'", 1,
	 "\"quote \\\" backslash \\\\ newline \\n tab \\t bell \\u0007\""},
	{"'caf\\u{e9} \\xff end'", 1, "\"caf\xc3\xa9 \\ufffd end\""},
	{"'\\xed\\xa0\\x80'", 1, "\"\\ufffd\\ufffd\\ufffd\""},
	{"{print, coroutine.create(print)}", 1, "[\"function\",\"thread\"]"},
	{"{SecretAccessKey = 'x', Password = {1}, UserName = 'u'}", 1,
	 "{\"Password\":\"<redacted>\",\"SecretAccessKey\":\"<redacted>\",\"UserName\":\"u\"}"},
	{"{SecretAccessKey = 'x'}", 0, "{\"SecretAccessKey\":\"x\"}"},
	{"{'wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY'}", 1, "[\"<redacted>\"]"},
	{"{PolicyDocument = '{\"Statement\":[{\"Effect\":\"Deny\"}]}'}", 1,
	 "{\"PolicyDocument\":\"{\\\"Statement\\\":[{\\\"Effect\\\":\\\"Deny\\\"}]}\"}"},
	{"{Tags = {{Key = 'k', Value = 'v'}}}", 1, "{\"Tags\":[{\"Key\":\"k\",\"Value\":\"v\"}]}"},
	{"{Body = string.rep('x', 65537)}", 1, "{\"Body\":\"<65537 bytes, sha256 1abe08ebecf1...>\"}"},
};

START_TEST(test_lua_values)
{
	const lua_case *c = &lua_cases[_i];
	ck_assert_str_eq(lua_json(c->expr, c->redact), c->json);
}
END_TEST

START_TEST(test_cycles_and_depth_end_in_a_marker)
{
	const char *s = lua_json("(function() local t = {} t.self = t return t end)()", 1);
	ck_assert_ptr_nonnull(strstr(s, "\"<too deep>\""));
	/* the output is still one JSON value */
	lua_State *L = luaL_newstate();
	luaL_requiref(L, "cjson", luaopen_cjson, 1);
	lua_getfield(L, -1, "decode");
	lua_pushstring(L, s);
	ck_assert_int_eq(lua_pcall(L, 1, 1, 0), LUA_OK);
	lua_close(L);
}
END_TEST

START_TEST(test_timestamps)
{
	char t[40];
	journal_format_time(0, t, sizeof(t));
	ck_assert_str_eq(t, "1970-01-01T00:00:00.000Z");
	journal_format_time(1710144771.419, t, sizeof(t));
	ck_assert_str_eq(t, "2024-03-11T08:12:51.419Z");
	journal_format_time(1710144771.9996, t, sizeof(t));
	ck_assert_str_eq(t, "2024-03-11T08:12:52.000Z");
	journal_timestamp(t, sizeof(t));
	ck_assert_int_eq(strlen(t), 24);
	ck_assert_int_eq(t[10], 'T');
	ck_assert_int_eq(t[23], 'Z');
}
END_TEST

START_TEST(test_lines_are_json_with_ts_run_and_event)
{
	char *text = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&text, &len);
	journal *j = journal_new(f);
	char first[40];
	snprintf(first, sizeof(first), "%s", journal_run_id(j));
	ck_assert_int_eq(strlen(first), 36);
	ck_assert_int_eq(first[14], '4'); /* UUID version 4 */
	jw *w = journal_line(j, "step");
	jw_field_str(w, "step", "isolate");
	jw_field_int(w, "n", 3);
	ck_assert_int_eq(journal_emit(j), 0);
	journal_new_run(j);
	ck_assert_str_ne(journal_run_id(j), first);
	w = journal_line(j, "run_end");
	jw_key(w, "big");
	for (int i = 0; i < 200000; i++) /* 1.4 MB: more than a line may hold */
		jw_str(w, "abcdef");
	journal_emit(j);
	journal_free(j);
	fclose(f);
	char *nl = strchr(text, '\n');
	ck_assert_ptr_nonnull(nl);
	*nl = '\0';
	ck_assert_msg(strstr(text, "\"event\":\"step\",\"step\":\"isolate\",\"n\":3}") != NULL, "%s", text);
	ck_assert_msg(strncmp(text, "{\"ts\":\"", 7) == 0, "%s", text);
	ck_assert_ptr_nonnull(strstr(text, first));
	ck_assert_msg(strstr(nl + 1, "\"event\":\"journal_error\"") != NULL, "%s", nl + 1);
	ck_assert_int_eq(strchr(nl + 1, '\n')[1], '\0'); /* one line each */
	free(text);
}
END_TEST

START_TEST(test_a_journal_without_a_file_drops_lines)
{
	journal *j = journal_new(NULL);
	ck_assert(!journal_enabled(j));
	jw *w = journal_line(j, "x");
	jw_field_str(w, "a", "b");
	ck_assert_int_eq(journal_emit(j), 0);
	journal_free(j);
}
END_TEST

static Suite *suite(void)
{
	Suite *s = suite_create("journal");
	TCase *tc = tcase_create("journal");
	tcase_add_loop_test(tc, test_secret_keys, 0, sizeof(key_cases) / sizeof(key_cases[0]));
	tcase_add_loop_test(tc, test_secret_values, 0, sizeof(value_cases) / sizeof(value_cases[0]));
	tcase_add_loop_test(tc, test_lua_values, 0, sizeof(lua_cases) / sizeof(lua_cases[0]));
	tcase_add_test(tc, test_cycles_and_depth_end_in_a_marker);
	tcase_add_test(tc, test_timestamps);
	tcase_add_test(tc, test_lines_are_json_with_ts_run_and_event);
	tcase_add_test(tc, test_a_journal_without_a_file_drops_lines);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return tu_run(suite());
}
