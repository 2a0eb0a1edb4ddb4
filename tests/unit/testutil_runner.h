/* testutil_runner — the runner set-up shared by the unit tests of the run
 * layer (test_runner.c, test_run_hostile.c): a finding document run through
 * a fresh runner with the journal and the summary captured, and the journal
 * asked questions in Lua.
 *
 * A test fills runner_options with its playbook directory and its own fake
 * AWS host (call_override), then:
 *   tu_doc_run r = {0};
 *   tu_run_document(&o, doc, &r);
 *   lua_State *L = tu_journal_lua(&r, its_prelude);
 *   JCHECK(L, "find('step', 'tag').status == 'ok'");  (its macro over tu_jcheck)
 *   lua_close(L);
 *   tu_run_free(&r);
 *
 * Header-only, like testutil.h (a .c file in tests/unit would be taken for
 * a test binary). Ownership: a tu_doc_run owns the captured journal,
 * summary and Lambda result until tu_run_free; the caller closes the Lua
 * state that tu_journal_lua returns. Every helper fails the current test with a Check
 * assertion instead of returning an error. */
#ifndef DEADBOLT_TESTUTIL_RUNNER_H
#define DEADBOLT_TESTUTIL_RUNNER_H

#include <check.h>
#include <lauxlib.h>
#include <lua-cjson.h>
#include <lualib.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "buf.h"
#include "runner.h"

/* What one document's run left behind. */
typedef struct tu_doc_run {
	runner_outcome worst;
	int rc;              /* runner_run_document's return */
	char err[512];       /* its message when rc != 0 */
	char *journal, *summary;
	size_t journal_len, summary_len;
	buf result;          /* the Lambda result runner_run_document writes */
	double seconds;      /* wall clock from runner_new to runner_free */
} tu_doc_run;

static inline double tu_mono(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Runs doc through a runner built from o (o->journal and o->summary are set
 * here, to res's captures). A runner that cannot be built fails the test; the
 * run's own status is left in res->rc for the test to check. */
static inline void tu_run_document(runner_options *o, const char *doc, tu_doc_run *res)
{
	char err[512];
	FILE *j = open_memstream(&res->journal, &res->journal_len);
	FILE *s = open_memstream(&res->summary, &res->summary_len);
	ck_assert_ptr_nonnull(j);
	ck_assert_ptr_nonnull(s);
	double t0 = tu_mono();
	o->journal = j;
	o->summary = s;
	runner *r = runner_new(o, err, sizeof(err));
	ck_assert_msg(r != NULL, "runner_new: %s", err);
	res->rc = runner_run_document(r, doc, strlen(doc), &res->worst, &res->result, res->err,
				      sizeof(res->err));
	runner_free(r);
	res->seconds = tu_mono() - t0;
	fclose(j);
	fclose(s);
	o->journal = NULL;
	o->summary = NULL;
}

static inline void tu_run_free(tu_doc_run *res)
{
	free(res->journal);
	free(res->summary);
	buf_free(&res->result);
	memset(res, 0, sizeof(*res));
}

/* A finding of the given type and resource type, on instance
 * i-0123456789abcdef0 in account 123456789012, eu-west-1. resource_extra is
 * put inside "resource" (",\"accessKeyDetails\":{...}"), extra at the top
 * level (",\"service\":{...}"); either may be NULL. */
static inline char *tu_finding(char *out, size_t n, const char *type, const char *resource_type,
			       const char *resource_extra, const char *extra)
{
	snprintf(out, n,
		 "{\"id\":\"0123456789abcdef0123456789abcdef\",\"type\":\"%s\",\"severity\":5,"
		 "\"region\":\"eu-west-1\",\"accountId\":\"123456789012\",\"partition\":\"aws\","
		 "\"resource\":{\"resourceType\":\"%s\",\"instanceDetails\":"
		 "{\"instanceId\":\"i-0123456789abcdef0\"}%s}%s}",
		 type, resource_type, resource_extra ? resource_extra : "", extra ? extra : "");
	return out;
}

/* The functions every journal question may use: find(event, step, n) the
 * n-th line (default 1st) of that event (and step), or {}; all(event) its
 * lines; count(event) how many; null is cjson.null. */
static const char TU_JOURNAL_PRELUDE[] =
	"null = cjson.null\n"
	"function find(ev, step, n) n = n or 1\n"
	"  for _, e in ipairs(J) do\n"
	"    if e.event == ev and (step == nil or e.step == step) then n = n - 1\n"
	"      if n == 0 then return e end end end\n"
	"  return {} end\n"
	"function all(ev) local t = {}\n"
	"  for _, e in ipairs(J) do if e.event == ev then t[#t + 1] = e end end return t end\n"
	"function count(ev) return #all(ev) end\n";

/* A new Lua state with cjson, TU_JOURNAL_PRELUDE, then prelude (a test's
 * own functions, or NULL), and J = the journal's lines, each decoded: a line
 * that is not JSON fails the test. */
static inline lua_State *tu_journal_lua(const tu_doc_run *res, const char *prelude)
{
	lua_State *L = luaL_newstate();
	ck_assert_ptr_nonnull(L);
	luaL_openlibs(L);
	luaL_requiref(L, "cjson", luaopen_cjson, 1);
	lua_pop(L, 1);
	ck_assert_msg(luaL_dostring(L, TU_JOURNAL_PRELUDE) == LUA_OK, "%s", lua_tostring(L, -1));
	if (prelude)
		ck_assert_msg(luaL_dostring(L, prelude) == LUA_OK, "%s", lua_tostring(L, -1));
	lua_newtable(L);
	int n = 0;
	char *text = strndup(res->journal ? res->journal : "", res->journal_len);
	ck_assert_ptr_nonnull(text);
	for (char *line = strtok(text, "\n"); line; line = strtok(NULL, "\n")) {
		lua_getglobal(L, "cjson");
		lua_getfield(L, -1, "decode");
		lua_pushstring(L, line);
		ck_assert_msg(lua_pcall(L, 1, 1, 0) == LUA_OK, "journal line is not JSON: %.200s", line);
		lua_rawseti(L, -3, ++n);
		lua_pop(L, 1);
	}
	free(text);
	lua_setglobal(L, "J");
	return L;
}

/* Fails the test, naming line, unless the Lua expression expr is true in L;
 * the message adds the value of context, a Lua expression that shows the
 * journal the way the test reads it. */
static inline void tu_jcheck(lua_State *L, const char *expr, int line, const char *context)
{
	char chunk[2048];
	snprintf(chunk, sizeof(chunk), "return (%s)", expr);
	if (luaL_dostring(L, chunk) != LUA_OK)
		ck_abort_msg("line %d: %s: %s", line, expr, lua_tostring(L, -1));
	int ok = lua_toboolean(L, -1);
	lua_pop(L, 1);
	if (!ok) {
		snprintf(chunk, sizeof(chunk), "return tostring(%s)", context);
		(void)luaL_dostring(L, chunk);
		ck_abort_msg("line %d: false: %s (%s)", line, expr, lua_tostring(L, -1));
	}
}

#endif
