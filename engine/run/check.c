/* check — `deadbolt check`: everything that can be told about a playbook
 * directory without AWS. Every file is loaded in a sandbox of its own whose AWS
 * calls are refused and inspected (playbook.c: structure, steps, handles);
 * the sources are linted (lint.c: primitives and their literal parameters);
 * config.lua is checked against the schema of its settings
 * (config_schema.c); each playbook's handles against the resource types and
 * finding types GuardDuty sends (gd_types.c). Each problem is printed as
 * "DIR/FILE:LINE: what is wrong and the fix"; the line of a structural
 * problem is found in the source (lua_lex.h). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config_schema.h"
#include "finding.h"
#include "gd_types.h"
#include "lint.h"
#include "lua_lex.h"
#include "playbooks.h"
#include "run_int.h"

typedef struct check_out {
	FILE *out;
	const char *dir;
	int n;
} check_out;

/* The source map of dir/file's returned table (empty when it cannot be read). */
static void source_map(const char *dir, const char *file, lua_srcmap *map)
{
	char err[256];
	buf src = BUF_INIT;
	lua_toks k = {NULL, 0};
	memset(map, 0, sizeof(*map));
	if (playbooks_read_source(dir, file, &src, err, sizeof(err)) == 0 &&
	    lua_lex_scan(src.data ? src.data : "", src.len, &k) == 0 &&
	    lua_srcmap_build(&k, map) != 0)
		lua_srcmap_free(map);
	lua_toks_free(&k);
	buf_free(&src);
}

/* The decimal number at s (0 when there is none). */
static int atoi_safe(const char *s)
{
	long v = strtol(s, NULL, 10);
	return v > 0 && v < 1000000 ? (int)v : 0;
}

/* "steps[3]" or "handles[2]" at the start of a structural problem, with the
 * field it names ("steps[5]: unknown field 'critcal'" -> "steps[5].critcal",
 * "steps[6]: name must be ..." -> "steps[6].name"). 0 when there is none. */
static int problem_path(const char *problem, char *path, size_t len)
{
	const char *close = strchr(problem, ']'), *q;
	static const struct {
		const char *start, *path;
	} whole[] = {
		{"has no name", "name"}, {"playbook name ", "name"}, {"has no steps", "steps"},
		{"has no handles", "handles"}, {"steps must be", "steps"},
		{"handles must be", "handles"},
	};
	for (size_t i = 0; i < sizeof(whole) / sizeof(whole[0]); i++)
		if (strncmp(problem, whole[i].start, strlen(whole[i].start)) == 0) {
			snprintf(path, len, "%s", whole[i].path);
			return 1;
		}
	if (strncmp(problem, "step name '", 11) == 0 && (q = strstr(problem, " and steps[")) != NULL) {
		snprintf(path, len, "steps[%d].name", atoi_safe(q + 11));
		return 1;
	}
	if ((strncmp(problem, "steps[", 6) != 0 && strncmp(problem, "handles[", 8) != 0) || !close)
		return 0;
	int n = (int)(close - problem + 1);
	if ((q = strstr(close, "unknown field '")) != NULL) {
		q += strlen("unknown field '");
		snprintf(path, len, "%.*s.%.*s", n, problem, (int)strcspn(q, "'"), q);
		return 1;
	}
	if (close[1] == ':' && close[2] == ' ') {
		const char *w = close + 3;
		size_t wn = strspn(w, "abcdefghijklmnopqrstuvwxyz_");
		if (wn && strncmp(w + wn, " must", 5) == 0) {
			snprintf(path, len, "%.*s.%.*s", n, problem, (int)wn, w);
			return 1;
		}
	}
	snprintf(path, len, "%.*s", n, problem);
	return 1;
}

static int problem_line(const char *dir, const char *file, const char *problem)
{
	char path[200];
	lua_srcmap map;
	if (!problem_path(problem, path, sizeof(path)))
		return 0;
	source_map(dir, file, &map);
	int line = lua_srcmap_line(&map, path);
	lua_srcmap_free(&map);
	return line;
}

static void print_problem(void *ud, const char *file, int line, const char *problem)
{
	check_out *c = ud;
	c->n++;
	if (line == 0 && strcmp(file, c->dir) != 0)
		line = problem_line(c->dir, file, problem);
	if (strcmp(file, c->dir) == 0)
		fprintf(c->out, "%s: %s\n", file, problem);
	else if (line > 0)
		fprintf(c->out, "%s/%s:%d: %s\n", c->dir, file, line, problem);
	else
		fprintf(c->out, "%s/%s: %s\n", c->dir, file, problem);
}

/* config.lua against its schema. The files of the directory (names) say
 * which sections are required. */
static void check_config(const char *dir, sandbox *sb, lua_State *H, char **names, int count,
			 check_out *co)
{
	char err[512];
	const char *files[PLAYBOOKS_MAX_FILES + 1];
	lua_State *L = sandbox_lua(sb);
	int top = lua_gettop(L);
	lua_srcmap map;
	size_t n = 0;
	for (int i = 0; i < count && n < PLAYBOOKS_MAX_FILES; i++)
		files[n++] = names[i];
	files[n] = NULL;
	if (sandbox_load_playbook(sb, "config.lua", err, sizeof(err)) != SANDBOX_OK ||
	    lua_gettop(L) == top) {
		lua_settop(L, top); /* playbooks_load reported it */
		return;
	}
	source_map(dir, "config.lua", &map);
	config_schema_check(L, top + 1, "config.lua", &map, H, files, print_problem, co);
	lua_srcmap_free(&map);
	lua_settop(L, top);
}

/* The string field key of the table at t, or NULL. The string stays alive
 * in the table, which the caller keeps on the stack. */
static const char *string_field(lua_State *L, int t, const char *key)
{
	lua_pushstring(L, key);
	lua_rawget(L, t);
	const char *v = lua_type(L, -1) == LUA_TSTRING ? lua_tostring(L, -1) : NULL;
	lua_pop(L, 1);
	return v;
}

static void check_handle(lua_State *L, int h, long i, const char *file, const lua_srcmap *map,
			 check_out *co)
{
	char msg[600], path[64];
	const char *rt = string_field(L, h, "resource_type");
	const char *ft = string_field(L, h, "finding_type");
	if (rt && gd_check_resource_type(rt, msg, sizeof(msg))) {
		snprintf(path, sizeof(path), "handles[%ld].resource_type", i);
		print_problem(co, file, lua_srcmap_line(map, path), msg);
	}
	if (ft && gd_check_type_pattern(ft, msg, sizeof(msg))) {
		snprintf(path, sizeof(path), "handles[%ld].finding_type", i);
		print_problem(co, file, lua_srcmap_line(map, path), msg);
	}
}

/* A file's handles: what GuardDuty sends. Read from what the file returns,
 * so that a playbook with other problems is checked too. */
static void check_handles(const char *dir, sandbox *sb, const char *file, check_out *co)
{
	char err[512];
	lua_State *L = sandbox_lua(sb);
	int top = lua_gettop(L);
	lua_srcmap map = {NULL, 0, 0};
	if (sandbox_load_playbook(sb, file, err, sizeof(err)) != SANDBOX_OK ||
	    lua_gettop(L) == top || !lua_istable(L, top + 1) || !lua_checkstack(L, 8))
		goto out; /* playbooks_load reported it */
	lua_pushliteral(L, "handles");
	if (lua_rawget(L, top + 1) != LUA_TTABLE)
		goto out;
	source_map(dir, file, &map);
	for (long i = 1; lua_rawgeti(L, top + 2, i) != LUA_TNIL; i++) {
		if (lua_istable(L, -1))
			check_handle(L, lua_gettop(L), i, file, &map, co);
		lua_pop(L, 1);
	}
out:
	lua_srcmap_free(&map);
	lua_settop(L, top);
}

/* config.lua against its schema, every other top-level file's handles;
 * each file in a sandbox of its own, so that one that spends its budget or
 * breaks the globals does not hide the others' problems. */
static void check_files(const char *dir, const sandbox_limits *lim, const sandbox_host *host,
			lua_State *H, check_out *co)
{
	char err[512], **names = NULL;
	int n = playbooks_list(dir, &names, err, sizeof(err));
	for (int i = 0; i < n; i++) {
		sandbox *sb = sandbox_new(lim, host, dir, err, sizeof(err));
		if (!sb)
			continue; /* playbooks_load reported it */
		if (strcmp(names[i], "config.lua") == 0)
			check_config(dir, sb, H, names, n, co);
		else
			check_handles(dir, sb, names[i], co);
		sandbox_free(sb);
	}
	playbooks_free_names(names, n);
}

int runner_check(const char *dir, FILE *out, char *err, size_t errlen)
{
	sandbox_limits lim;
	sandbox_host host = {host_refuse_call, host_quiet_log, NULL};
	check_out co = {out, dir, 0};
	playbook_set pbs;
	int problems = -1;
	lua_State *H = finding_state_new(0);
	if (!H) {
		snprintf(err, errlen, "out of memory");
		goto out;
	}
	sandbox_default_limits(&lim);
	if (playbooks_load(&pbs, &lim, &host, NULL, H, dir, print_problem, &co, err, errlen) < 0)
		goto out;
	if (lint_scan_dir(dir, print_problem, &co, err, errlen) >= 0) {
		check_files(dir, &lim, &host, H, &co);
		problems = co.n;
	}
	if (problems == 0)
		fprintf(out, "%s: %zu playbook%s, %zu module%s: no problems\n", dir, pbs.n,
			pbs.n == 1 ? "" : "s", pbs.modules, pbs.modules == 1 ? "" : "s");
	playbooks_free(&pbs);
out:
	finding_state_free(H);
	return problems;
}
