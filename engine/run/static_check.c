/* static_check — the checks of a playbook directory that need no AWS. See
 * static_check.h. */
#include "static_check.h"

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <lauxlib.h>

#include "config_schema.h"
#include "gd_types.h"
#include "lua_lex.h"

#define MAX_FILES 256
#define MAX_SOURCE ((size_t)1 << 20)

/* ---- files ---- */

static int name_cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* The regular *.lua files of dir, sorted, NULL-terminated; NULL when dir
 * cannot be listed. Free with free_names. */
static char **list_lua(const char *dir)
{
	DIR *d = opendir(dir);
	char **names = d ? calloc(MAX_FILES + 1, sizeof(*names)) : NULL;
	struct dirent *e;
	size_t n = 0;
	while (names && (e = readdir(d)) != NULL && n < MAX_FILES) {
		char path[4096];
		struct stat st;
		size_t len = strlen(e->d_name);
		if (len < 5 || strcmp(e->d_name + len - 4, ".lua") != 0 || e->d_name[0] == '.' ||
		    snprintf(path, sizeof(path), "%s/%s", dir, e->d_name) >= (int)sizeof(path) ||
		    stat(path, &st) != 0 || !S_ISREG(st.st_mode))
			continue;
		if ((names[n] = strdup(e->d_name)) != NULL)
			n++;
	}
	if (d)
		closedir(d);
	if (names)
		qsort(names, n, sizeof(*names), name_cmp);
	return names;
}

static void free_names(char **names)
{
	for (size_t i = 0; names && names[i]; i++)
		free(names[i]);
	free(names);
}

/* The text of dir/file (malloc'd, NUL-terminated), or NULL. */
static char *read_text(const char *dir, const char *file, size_t *len)
{
	char path[4096];
	char *text = NULL;
	FILE *f = NULL;
	*len = 0;
	if (snprintf(path, sizeof(path), "%s/%s", dir, file) >= (int)sizeof(path) ||
	    (f = fopen(path, "rb")) == NULL)
		goto out;
	text = malloc(MAX_SOURCE + 1);
	if (text) {
		*len = fread(text, 1, MAX_SOURCE, f);
		text[*len] = '\0';
	}
out:
	if (f)
		fclose(f);
	return text;
}

/* ---- counting ---- */

typedef struct counter {
	lint_report rep;
	void *ud;
	int n;
	const char *prefix; /* "lib/" for the files of dir/lib */
} counter;

static void count(void *ud, const char *file, int line, const char *problem)
{
	counter *c = ud;
	char shown[512];
	snprintf(shown, sizeof(shown), "%s%s", c->prefix, file);
	c->n++;
	if (c->rep)
		c->rep(c->ud, shown, line, problem);
}

/* ---- the checks ---- */

static void lint_files(const char *dir, const char *prefix, counter *c)
{
	char **names = list_lua(dir);
	c->prefix = prefix;
	for (size_t i = 0; names && names[i]; i++) {
		size_t len;
		char *text = read_text(dir, names[i], &len);
		if (text)
			lint_calls_source(names[i], text, len, count, c);
		free(text);
	}
	c->prefix = "";
	free_names(names);
}

/* Loads dir/file in sb and leaves what it returned at the top; 0, or -1
 * (nothing pushed) when it does not load: catalog reports that. */
static int load(sandbox *sb, const char *file)
{
	char err[512];
	lua_State *L = sandbox_lua(sb);
	int top = lua_gettop(L);
	if (sandbox_load_playbook(sb, file, err, sizeof(err)) != SANDBOX_OK || lua_gettop(L) == top) {
		lua_settop(L, top);
		return -1;
	}
	lua_settop(L, top + 1);
	return 0;
}

static int build_map(const char *dir, const char *file, lua_srcmap *map)
{
	size_t len;
	lua_toks k = {NULL, 0};
	char *text = read_text(dir, file, &len);
	int rc = -1;
	memset(map, 0, sizeof(*map));
	if (text && lua_lex_scan(text, len, &k) == 0)
		rc = lua_srcmap_build(&k, map);
	lua_toks_free(&k);
	free(text);
	return rc;
}

static void check_config(const char *dir, sandbox *sb, lua_State *H, char **files, counter *c)
{
	lua_State *L = sandbox_lua(sb);
	int top = lua_gettop(L);
	lua_srcmap map;
	if (load(sb, "config.lua") != 0)
		return;
	build_map(dir, "config.lua", &map);
	config_schema_check(L, -1, "config.lua", &map, H, (const char *const *)files, count, c);
	lua_srcmap_free(&map);
	lua_settop(L, top);
}

/* The string field key of the table at t, or NULL. */
static const char *field(lua_State *L, int t, const char *key)
{
	lua_pushstring(L, key);
	lua_rawget(L, t);
	const char *v = lua_type(L, -1) == LUA_TSTRING ? lua_tostring(L, -1) : NULL;
	lua_pop(L, 1); /* the string stays alive in the table */
	return v;
}

static void check_handle(lua_State *L, int h, long i, const char *file, const lua_srcmap *map,
			 counter *c)
{
	char msg[600], path[64];
	const char *rt = field(L, h, "resource_type"), *ft = field(L, h, "finding_type");
	if (rt && gd_check_resource_type(rt, msg, sizeof(msg))) {
		snprintf(path, sizeof(path), "handles[%ld].resource_type", i);
		count(c, file, lua_srcmap_line(map, path), msg);
	}
	if (ft && gd_check_type_pattern(ft, msg, sizeof(msg))) {
		snprintf(path, sizeof(path), "handles[%ld].finding_type", i);
		count(c, file, lua_srcmap_line(map, path), msg);
	}
}

static void check_handles(const char *dir, sandbox *sb, const char *file, counter *c)
{
	lua_State *L = sandbox_lua(sb);
	int top = lua_gettop(L);
	lua_srcmap map = {NULL, 0, 0};
	if (load(sb, file) != 0)
		return;
	if (!lua_istable(L, -1) || !lua_checkstack(L, 8))
		goto out;
	lua_pushliteral(L, "handles");
	if (lua_rawget(L, -2) != LUA_TTABLE)
		goto out;
	build_map(dir, file, &map);
	for (long i = 1; lua_rawgeti(L, -1, i) != LUA_TNIL; i++) {
		if (lua_istable(L, -1))
			check_handle(L, lua_gettop(L), i, file, &map, c);
		lua_pop(L, 1);
	}
out:
	lua_srcmap_free(&map);
	lua_settop(L, top);
}

int static_check_dir(const char *dir, sandbox *sb, lua_State *H, lint_report rep, void *ud,
		     char *err, size_t errlen)
{
	char lib[4096];
	counter c = {rep, ud, 0, ""};
	char **files = list_lua(dir);
	if (!files) {
		snprintf(err, errlen, "%s: cannot list the directory", dir);
		return -1;
	}
	lint_files(dir, "", &c);
	if (snprintf(lib, sizeof(lib), "%s/lib", dir) < (int)sizeof(lib))
		lint_files(lib, "lib/", &c);
	for (size_t i = 0; files[i]; i++) {
		if (strcmp(files[i], "config.lua") == 0)
			check_config(dir, sb, H, files, &c);
		else
			check_handles(dir, sb, files[i], &c);
	}
	free_names(files);
	return c.n;
}

/* "steps[3]" or "handles[2]" at the start of problem, and the field it
 * names after it, as a source-map path. 0 when there is none. */
static int problem_path(const char *problem, char *path, size_t len)
{
	const char *close = strchr(problem, ']');
	if (strncmp(problem, "steps[", 6) != 0 && strncmp(problem, "handles[", 8) != 0)
		return 0;
	if (!close)
		return 0;
	int n = (int)(close - problem + 1);
	const char *q = strstr(close, "unknown field '");
	if (q) {
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

int static_check_line(const char *dir, const char *file, const char *problem)
{
	char path[200];
	lua_srcmap map;
	if (!problem_path(problem, path, sizeof(path)) || build_map(dir, file, &map) != 0)
		return 0;
	int line = lua_srcmap_line(&map, path);
	lua_srcmap_free(&map);
	return line;
}
