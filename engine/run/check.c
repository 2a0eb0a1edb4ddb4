/* check — `deadbolt check`: everything that can be told about a playbook
 * directory without AWS. Every playbook is loaded in a sandbox whose AWS
 * calls are refused and inspected (playbook.c: structure, steps, handles);
 * the sources are linted (lint.c: primitives and their literal parameters);
 * config.lua is checked against the schema of its settings
 * (config_schema.c); each playbook's handles against the resource types and
 * finding types GuardDuty sends (gd_types.c). Each problem is printed as
 * "DIR/FILE:LINE: what is wrong and the fix"; the line of a structural
 * problem is found in the source (lua_lex.h). */
#include <stdio.h>
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

/* "steps[3]" or "handles[2]" at the start of a structural problem, with the
 * field it names ("steps[5]: unknown field 'critcal'" -> "steps[5].critcal",
 * "steps[6]: name must be ..." -> "steps[6].name"). 0 when there is none. */
static int problem_path(const char *problem, char *path, size_t len)
{
	const char *close = strchr(problem, ']'), *q;
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

/* config.lua against its schema. The playbook files present say which
 * sections are required. */
static void check_config(const char *dir, sandbox *sb, lua_State *H, const playbook_set *pbs,
			 check_out *co)
{
	char err[512];
	const char *files[PLAYBOOKS_MAX_FILES + 1];
	lua_State *L = sandbox_lua(sb);
	int top = lua_gettop(L);
	lua_srcmap map;
	size_t n = 0;
	for (size_t i = 0; i < pbs->n && n < PLAYBOOKS_MAX_FILES; i++)
		files[n++] = pbs->pbs[i].file;
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

static int has_config(const char *dir)
{
	char path[4096];
	FILE *f;
	if (snprintf(path, sizeof(path), "%s/config.lua", dir) >= (int)sizeof(path) ||
	    (f = fopen(path, "rb")) == NULL)
		return 0;
	fclose(f);
	return 1;
}

/* Each playbook's handles: what GuardDuty sends. */
static void check_handles(const char *dir, const playbook_def *def, check_out *co)
{
	char msg[600], path[64];
	lua_srcmap map;
	source_map(dir, def->file, &map);
	for (size_t i = 0; i < def->nhandles; i++) {
		const pb_handle *h = &def->handles[i];
		if (h->resource_type && gd_check_resource_type(h->resource_type, msg, sizeof(msg))) {
			snprintf(path, sizeof(path), "handles[%zu].resource_type", i + 1);
			print_problem(co, def->file, lua_srcmap_line(&map, path), msg);
		}
		if (h->finding_type && gd_check_type_pattern(h->finding_type, msg, sizeof(msg))) {
			snprintf(path, sizeof(path), "handles[%zu].finding_type", i + 1);
			print_problem(co, def->file, lua_srcmap_line(&map, path), msg);
		}
	}
	lua_srcmap_free(&map);
}

int runner_check(const char *dir, FILE *out, char *err, size_t errlen)
{
	sandbox_limits lim;
	sandbox_host host = {host_refuse_call, host_quiet_log, NULL};
	check_out co = {out, dir, 0};
	playbook_set pbs;
	int problems = -1;
	lua_State *H = finding_state_new(0);
	sandbox *sb = NULL;
	if (!H) {
		snprintf(err, errlen, "out of memory");
		goto out;
	}
	sandbox_default_limits(&lim);
	if ((sb = sandbox_new(&lim, &host, dir, err, errlen)) == NULL)
		goto out;
	if (playbooks_load(&pbs, sb, H, dir, print_problem, &co, err, errlen) < 0)
		goto out;
	if (lint_scan_dir(dir, print_problem, &co, err, errlen) >= 0) {
		if (has_config(dir))
			check_config(dir, sb, H, &pbs, &co);
		for (size_t i = 0; i < pbs.n; i++)
			check_handles(dir, &pbs.pbs[i], &co);
		problems = co.n;
	}
	if (problems == 0)
		fprintf(out, "%s: %zu playbook%s, %zu module%s: no problems\n", dir, pbs.n,
			pbs.n == 1 ? "" : "s", pbs.modules, pbs.modules == 1 ? "" : "s");
	playbooks_free(&pbs);
out:
	sandbox_free(sb);
	finding_state_free(H);
	return problems;
}
