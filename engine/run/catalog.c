/* catalog — the playbooks of a directory. See catalog.h. */
#include "catalog.h"

#include <ctype.h>
#include <dirent.h>
#include <openssl/evp.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <lauxlib.h>

#include "allowlist.h"
#include "finding.h"
#include "model.h"

#define MAX_SERVICES 32

/* ---- small helpers ---- */

static char *dupstr(const char *s, size_t n)
{
	char *p = malloc(n + 1);
	if (p) {
		memcpy(p, s, n);
		p[n] = '\0';
	}
	return p;
}

static void reportf(catalog_report rep, void *ud, const char *file, int line, const char *fmt, ...)
	__attribute__((format(printf, 5, 6)));

static void reportf(catalog_report rep, void *ud, const char *file, int line, const char *fmt, ...)
{
	char msg[600];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (rep)
		rep(ud, file, line, msg);
}

void catalog_sha256_hex(const void *data, size_t n, char *out)
{
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int len = 0;
	out[0] = '\0';
	if (EVP_Digest(data, n, md, &len, EVP_sha256(), NULL) != 1)
		return;
	for (unsigned int i = 0; i < len && i < 32; i++)
		snprintf(out + 2 * i, 3, "%02x", md[i]);
}

/* The string key at -2 during a lua_next loop, or NULL (no conversion). */
static const char *key_at(lua_State *L, size_t *n)
{
	return lua_type(L, -2) == LUA_TSTRING ? lua_tolstring(L, -2, n) : NULL;
}

static int key_is(const char *k, size_t n, const char *want)
{
	return k && strlen(want) == n && memcmp(k, want, n) == 0;
}

/* 1 when the table at t has exactly the keys 1..n (n may be 0). */
static int is_sequence(lua_State *L, int t, lua_Integer *len)
{
	lua_Integer n = (lua_Integer)lua_rawlen(L, t), count = 0;
	int ok = 1;
	lua_pushnil(L);
	while (lua_next(L, t)) {
		lua_pop(L, 1);
		count++;
		if (!lua_isinteger(L, -1) || lua_tointeger(L, -1) < 1 || lua_tointeger(L, -1) > n)
			ok = 0;
	}
	*len = n;
	return ok && count == n;
}

/* ---- inspecting a playbook table ---- */

typedef struct inspect {
	const char *file;
	catalog_report rep;
	void *ud;
	int problems;
	playbook_def *def;
	lua_State *H; /* checks finding_type patterns; NULL: not checked */
} inspect;

static void problem(inspect *in, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void problem(inspect *in, const char *fmt, ...)
{
	char msg[600];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	in->problems++;
	if (in->rep)
		in->rep(in->ud, in->file, 0, msg);
}

static int step_name_ok(const char *s, size_t n)
{
	if (n == 0 || n > 64)
		return 0;
	for (size_t i = 0; i < n; i++)
		if (!(islower((unsigned char)s[i]) || isdigit((unsigned char)s[i]) || s[i] == '_'))
			return 0;
	return 1;
}

/* One field of a step; the value is at -1, the key at -2. *has_run gets
 * bit 1 for a run function, bit 2 for a name field. */
static void inspect_step_field(lua_State *L, inspect *in, lua_Integer i, pb_step *st, int *has_run)
{
	size_t n, vn;
	const char *k = key_at(L, &n);
	int vt = lua_type(L, -1);
	if (key_is(k, n, "name")) {
		const char *v = vt == LUA_TSTRING ? lua_tolstring(L, -1, &vn) : NULL;
		*has_run |= 2; /* a name was given, good or not */
		if (!v || !step_name_ok(v, vn))
			problem(in, "steps[%lld]: name must be a string of a-z, 0-9 and _", (long long)i);
		else if (!st->name)
			st->name = dupstr(v, vn);
	} else if (key_is(k, n, "run")) {
		*has_run |= vt == LUA_TFUNCTION;
	} else if (key_is(k, n, "when")) {
		if (vt != LUA_TFUNCTION)
			problem(in, "steps[%lld]: when must be a function", (long long)i);
	} else if (key_is(k, n, "critical")) {
		if (vt != LUA_TBOOLEAN)
			problem(in, "steps[%lld]: critical must be true or false", (long long)i);
		st->critical = lua_toboolean(L, -1);
	} else if (key_is(k, n, "why")) {
		if (vt != LUA_TSTRING)
			problem(in, "steps[%lld]: why must be a string", (long long)i);
	} else {
		problem(in, "steps[%lld]: unknown field '%.60s'", (long long)i, k ? k : "(not a string)");
	}
}

static void inspect_step(lua_State *L, inspect *in, lua_Integer i, pb_step *st)
{
	int has_run = 0;
	int t = lua_gettop(L);
	if (!lua_istable(L, t)) {
		problem(in, "steps[%lld] is not a table", (long long)i);
		return;
	}
	lua_pushnil(L);
	while (lua_next(L, t)) {
		inspect_step_field(L, in, i, st, &has_run);
		lua_pop(L, 1);
	}
	if (!(has_run & 2))
		problem(in, "steps[%lld] has no name", (long long)i);
	if (!(has_run & 1))
		problem(in, "steps[%lld]%s%s%s has no run function", (long long)i, st->name ? " (" : "",
			st->name ? st->name : "", st->name ? ")" : "");
}

static void check_duplicates(inspect *in)
{
	playbook_def *d = in->def;
	for (size_t i = 0; i < d->nsteps; i++)
		for (size_t j = 0; j < i; j++)
			if (d->steps[i].name && d->steps[j].name &&
			    strcmp(d->steps[i].name, d->steps[j].name) == 0) {
				problem(in, "step name '%s' is used twice (steps[%zu] and steps[%zu])",
					d->steps[i].name, j + 1, i + 1);
				break;
			}
}

static void inspect_steps(lua_State *L, int t, inspect *in)
{
	lua_Integer n;
	if (!lua_istable(L, t) || !is_sequence(L, t, &n) || n == 0) {
		problem(in, "steps must be a non-empty list of steps");
		return;
	}
	in->def->steps = calloc((size_t)n, sizeof(pb_step));
	if (!in->def->steps) {
		problem(in, "out of memory");
		return;
	}
	in->def->nsteps = (size_t)n;
	for (lua_Integer i = 1; i <= n; i++) {
		lua_rawgeti(L, t, i);
		inspect_step(L, in, i, &in->def->steps[i - 1]);
		lua_pop(L, 1);
	}
	check_duplicates(in);
}

static void inspect_handle_field(lua_State *L, inspect *in, lua_Integer i, pb_handle *h)
{
	size_t n, vn;
	const char *k = key_at(L, &n);
	const char *v = lua_type(L, -1) == LUA_TSTRING ? lua_tolstring(L, -1, &vn) : NULL;
	char **slot = key_is(k, n, "resource_type") ? &h->resource_type
		      : key_is(k, n, "finding_type") ? &h->finding_type
		      : key_is(k, n, "skip")	      ? &h->skip
						      : NULL;
	if (!slot) {
		problem(in, "handles[%lld]: unknown field '%.60s'", (long long)i, k ? k : "(not a string)");
		return;
	}
	if (!v || vn == 0 || vn > 256) {
		problem(in, "handles[%lld]: %.20s must be a non-empty string", (long long)i, k);
		return;
	}
	if (!*slot)
		*slot = dupstr(v, vn);
}

/* finding_type must be a Lua pattern: string.find(s, pattern) in H. */
static void check_pattern(inspect *in, lua_Integer i, const char *pattern)
{
	lua_State *H = in->H;
	if (!H)
		return;
	lua_getglobal(H, "string");
	lua_getfield(H, -1, "find");
	lua_pushliteral(H, "GuardDuty:Pattern/Check");
	lua_pushstring(H, pattern);
	if (lua_pcall(H, 2, 0, 0) != LUA_OK) {
		problem(in, "handles[%lld]: finding_type is not a Lua pattern: %s", (long long)i,
			lua_tostring(H, -1));
		lua_pop(H, 1);
	}
	lua_pop(H, 1);
}

static void inspect_handles(lua_State *L, int t, inspect *in)
{
	lua_Integer n;
	if (!lua_istable(L, t) || !is_sequence(L, t, &n) || n == 0) {
		problem(in, "handles must be a non-empty list of {resource_type=, finding_type=}");
		return;
	}
	in->def->handles = calloc((size_t)n, sizeof(pb_handle));
	if (!in->def->handles) {
		problem(in, "out of memory");
		return;
	}
	in->def->nhandles = (size_t)n;
	for (lua_Integer i = 1; i <= n; i++) {
		pb_handle *h = &in->def->handles[i - 1];
		int e = (lua_rawgeti(L, t, i), lua_gettop(L));
		if (!lua_istable(L, e)) {
			problem(in, "handles[%lld] is not a table", (long long)i);
			lua_pop(L, 1);
			continue;
		}
		lua_pushnil(L);
		while (lua_next(L, e)) {
			inspect_handle_field(L, in, i, h);
			lua_pop(L, 1);
		}
		if (!h->resource_type && !h->finding_type)
			problem(in, "handles[%lld] needs resource_type or finding_type", (long long)i);
		if (h->finding_type)
			check_pattern(in, i, h->finding_type);
		lua_pop(L, 1);
	}
}

/* Finds the top-level fields; returns 1 when steps or handles is present. */
static int top_fields(lua_State *L, int t, inspect *in, int *steps, int *handles)
{
	size_t n, vn;
	*steps = *handles = 0;
	lua_pushnil(L);
	while (lua_next(L, t)) {
		const char *k = key_at(L, &n);
		if (key_is(k, n, "steps"))
			*steps = lua_gettop(L);
		else if (key_is(k, n, "handles"))
			*handles = lua_gettop(L);
		if (key_is(k, n, "name") && lua_type(L, -1) == LUA_TSTRING && !in->def->name) {
			const char *v = lua_tolstring(L, -1, &vn);
			if (vn > 0 && vn <= 64)
				in->def->name = dupstr(v, vn);
		}
		if (key_is(k, n, "steps") || key_is(k, n, "handles"))
			lua_pushvalue(L, -2); /* keep the value; continue from a copy of the key */
		else
			lua_pop(L, 1);
	}
	return *steps || *handles;
}

int playbook_inspect(lua_State *L, int idx, const char *file, lua_State *H, playbook_def *def,
		     catalog_report rep, void *ud)
{
	inspect in = {file, rep, ud, 0, def, H};
	int top = lua_gettop(L), t = lua_absindex(L, idx), steps, handles, rc = -1;
	memset(def, 0, sizeof(*def));
	if (!lua_checkstack(L, 16)) {
		problem(&in, "out of stack");
		goto out;
	}
	if (!lua_istable(L, t)) {
		problem(&in, "does not return a table (it returns %s)", luaL_typename(L, t));
		goto out;
	}
	if (!top_fields(L, t, &in, &steps, &handles)) {
		rc = 0;
		goto out;
	}
	if (!def->name)
		problem(&in, "has no name (a string of 1 to 64 characters)");
	if (!steps)
		problem(&in, "has no steps");
	else
		inspect_steps(L, steps, &in);
	if (!handles)
		problem(&in, "has no handles: it would never run");
	else
		inspect_handles(L, handles, &in);
	def->file = dupstr(file, strlen(file));
	rc = in.problems ? -1 : 1;
out:
	lua_settop(L, top);
	if (rc != 1)
		playbook_def_free(def);
	return rc;
}

void playbook_def_free(playbook_def *def)
{
	for (size_t i = 0; i < def->nhandles; i++) {
		free(def->handles[i].resource_type);
		free(def->handles[i].finding_type);
		free(def->handles[i].skip);
	}
	for (size_t i = 0; i < def->nsteps; i++)
		free(def->steps[i].name);
	free(def->handles);
	free(def->steps);
	free(def->file);
	free(def->name);
	memset(def, 0, sizeof(*def));
}

/* ---- a directory ---- */

static int name_cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static int is_lua_file(const char *dir, const char *name)
{
	char path[4096];
	struct stat st;
	size_t n = strlen(name);
	if (n < 5 || strcmp(name + n - 4, ".lua") != 0 || name[0] == '.')
		return 0;
	if (snprintf(path, sizeof(path), "%s/%s", dir, name) >= (int)sizeof(path))
		return 0;
	return stat(path, &st) == 0 && S_ISREG(st.st_mode);
}

/* The *.lua files of dir, sorted; *out is a malloc'd array of malloc'd
 * names. Returns how many, or -1 with err. */
static int list_lua(const char *dir, char ***out, char *err, size_t errlen)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	char **names = NULL;
	int n = 0;
	*out = NULL;
	if (!d) {
		snprintf(err, errlen, "%s: cannot list the directory", dir);
		return -1;
	}
	names = calloc(CATALOG_MAX_FILES, sizeof(*names));
	while (names && (e = readdir(d)) != NULL && n < CATALOG_MAX_FILES)
		if (is_lua_file(dir, e->d_name) && (names[n] = strdup(e->d_name)) != NULL)
			n++;
	closedir(d);
	if (!names) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	qsort(names, (size_t)n, sizeof(*names), name_cmp);
	*out = names;
	return n;
}

static void free_names(char **names, int n)
{
	for (int i = 0; i < n && names; i++)
		free(names[i]);
	free(names);
}

static int read_source(const char *dir, const char *file, buf *src, char *err, size_t errlen)
{
	char path[4096];
	if (snprintf(path, sizeof(path), "%s/%s", dir, file) >= (int)sizeof(path)) {
		snprintf(err, errlen, "path too long");
		return -1;
	}
	return finding_read_file(path, CATALOG_MAX_SOURCE, src, err, errlen);
}

/* First line of a message: load errors come with a traceback. */
static void first_line(char *s)
{
	char *nl = strchr(s, '\n');
	if (nl)
		*nl = '\0';
}

static int add_playbook(catalog *c, playbook_def *def, catalog_report rep, void *ud)
{
	for (size_t i = 0; i < c->n; i++)
		if (strcmp(c->pbs[i].name, def->name) == 0) {
			reportf(rep, ud, def->file, 0, "playbook name '%s' is also used by %s", def->name,
				c->pbs[i].file);
			playbook_def_free(def);
			return 1;
		}
	playbook_def *p = realloc(c->pbs, (c->n + 1) * sizeof(*p));
	if (!p) {
		reportf(rep, ud, def->file, 0, "out of memory");
		playbook_def_free(def);
		return 1;
	}
	c->pbs = p;
	c->pbs[c->n++] = *def;
	return 0;
}

/* Loads one file; returns the number of problems. */
static int load_one(catalog *c, sandbox *sb, lua_State *H, const char *dir, const char *file,
		    catalog_report rep, void *ud, buf *src)
{
	char err[1024], sha[65];
	playbook_def def;
	lua_State *L = sandbox_lua(sb);
	int top = lua_gettop(L);
	if (read_source(dir, file, src, err, sizeof(err)) != 0) {
		reportf(rep, ud, file, 0, "%s", err);
		return 1;
	}
	catalog_sha256_hex(src->data ? src->data : "", src->len, sha);
	if (sandbox_load_playbook(sb, file, err, sizeof(err)) != SANDBOX_OK) {
		first_line(err);
		reportf(rep, ud, file, 0, "does not load: %s", err);
		lua_settop(L, top);
		return 1;
	}
	int r = lua_gettop(L) > top ? playbook_inspect(L, top + 1, file, H, &def, rep, ud) : -1;
	if (lua_gettop(L) == top)
		reportf(rep, ud, file, 0, "returned nothing");
	lua_settop(L, top);
	if (r < 0)
		return 1;
	if (r == 0) {
		c->modules++;
		return 0;
	}
	memcpy(def.sha256, sha, sizeof(sha));
	return add_playbook(c, &def, rep, ud);
}

/* Counts every problem on its way to the caller's report function. */
typedef struct counter {
	catalog_report rep;
	void *ud;
	int n;
} counter;

static void count_report(void *ud, const char *file, int line, const char *problem)
{
	counter *c = ud;
	c->n++;
	if (c->rep)
		c->rep(c->ud, file, line, problem);
}

int catalog_load(catalog *c, sandbox *sb, lua_State *H, const char *dir, catalog_report rep,
		 void *ud, char *err, size_t errlen)
{
	char **names = NULL;
	buf src = BUF_INIT;
	counter cnt = {rep, ud, 0};
	memset(c, 0, sizeof(*c));
	int n = list_lua(dir, &names, err, errlen);
	if (n < 0)
		return -1;
	for (int i = 0; i < n; i++)
		load_one(c, sb, H, dir, names[i], count_report, &cnt, &src);
	if (cnt.n == 0 && c->n == 0)
		reportf(count_report, &cnt, dir, 0, "no playbook in the directory");
	buf_free(&src);
	free_names(names, n);
	return cnt.n;
}

void catalog_free(catalog *c)
{
	for (size_t i = 0; i < c->n; i++)
		playbook_def_free(&c->pbs[i]);
	free(c->pbs);
	memset(c, 0, sizeof(*c));
}

/* ---- scanning the source for calls off the allow-list ---- */

typedef struct services {
	const char *name[MAX_SERVICES];
	size_t n;
} services;

static void add_service(services *s, const char *name)
{
	for (size_t i = 0; i < s->n; i++)
		if (strcmp(s->name[i], name) == 0)
			return;
	if (s->n < MAX_SERVICES)
		s->name[s->n++] = name;
}

static void known_services(services *s)
{
	static const char *const listed[] = {"ec2", "autoscaling", "elb", "elbv2",
					     "ssm", "s3",          "iam", "sns"};
	s->n = 0;
	for (size_t i = 0; i < sizeof(listed) / sizeof(listed[0]); i++)
		add_service(s, listed[i]);
	for (size_t i = 0; i < allowlist_count(); i++)
		add_service(s, allowlist_at(i)->service);
	for (size_t i = 0; i < model_op_count(); i++)
		add_service(s, model_op_service(model_op_at(i)));
}

static int is_service(const services *s, const char *w, size_t n)
{
	for (size_t i = 0; i < s->n; i++)
		if (strlen(s->name[i]) == n && memcmp(s->name[i], w, n) == 0)
			return 1;
	return 0;
}

/* Level of a long bracket [==[ at p, or -1. */
static int long_bracket(const char *p, const char *end)
{
	int level = 0;
	if (p >= end || *p != '[')
		return -1;
	for (p++; p < end && *p == '='; p++)
		level++;
	return p < end && *p == '[' ? level : -1;
}

/* Skips a long string or comment starting at p with the given level. */
static const char *skip_long(const char *p, const char *end, int level, int *line)
{
	p += level + 2;
	for (; p < end; p++) {
		if (*p == '\n')
			(*line)++;
		if (*p != ']')
			continue;
		const char *q = p + 1;
		int l = 0;
		while (q < end && *q == '=')
			q++, l++;
		if (l == level && q < end && *q == ']')
			return q + 1;
	}
	return end;
}

static const char *skip_quoted(const char *p, const char *end, int *line)
{
	char q = *p++;
	for (; p < end && *p != q; p++) {
		if (*p == '\n')
			(*line)++;
		if (*p == '\\' && p + 1 < end) {
			p++;
			if (*p == '\n')
				(*line)++;
		}
	}
	return p < end ? p + 1 : end;
}

static int ident_char(char c)
{
	return isalnum((unsigned char)c) || c == '_';
}

static const char *skip_space(const char *p, const char *end)
{
	while (p < end && (*p == ' ' || *p == '\t'))
		p++;
	return p;
}

typedef struct scan {
	const char *file;
	catalog_report rep;
	void *ud;
	services svc;
	int problems;
	char prev; /* last significant character before the current word */
} scan;

/* At a word: a call service.method followed by ( { " ' or [[ is checked. */
static const char *scan_word(scan *s, const char *p, const char *end, int line)
{
	const char *w = p, *m, *q;
	while (p < end && ident_char(*p))
		p++;
	if (s->prev == '.' || s->prev == ':' || !is_service(&s->svc, w, (size_t)(p - w)))
		return p;
	q = skip_space(p, end);
	if (q >= end || *q != '.')
		return p;
	m = q = skip_space(q + 1, end);
	while (q < end && ident_char(*q))
		q++;
	size_t mn = (size_t)(q - m);
	q = skip_space(q, end);
	if (mn == 0 || mn >= 64 || q >= end ||
	    !(*q == '(' || *q == '{' || *q == '"' || *q == '\'' || long_bracket(q, end) >= 0))
		return p;
	char svc[32], op[64];
	snprintf(svc, sizeof(svc), "%.*s", (int)(p - w), w);
	snprintf(op, sizeof(op), "%.*s", (int)mn, m);
	if (!allowlist_find(svc, op)) {
		reportf(s->rep, s->ud, s->file, line, "%s.%s is not on the allow-list", svc, op);
		s->problems++;
	}
	return p;
}

int catalog_scan_source(const char *file, const char *text, size_t n, catalog_report rep, void *ud)
{
	scan s = {file, rep, ud, {{0}, 0}, 0, 0};
	const char *p = text, *end = text + n;
	int line = 1, level;
	known_services(&s.svc);
	while (p < end) {
		char c = *p;
		if (c == '\n') {
			line++;
			p++;
		} else if (c == '-' && p + 1 < end && p[1] == '-') {
			level = long_bracket(p + 2, end);
			if (level >= 0)
				p = skip_long(p + 2, end, level, &line);
			else
				while (p < end && *p != '\n')
					p++;
		} else if ((level = long_bracket(p, end)) >= 0) {
			p = skip_long(p, end, level, &line);
			s.prev = ']';
		} else if (c == '"' || c == '\'') {
			p = skip_quoted(p, end, &line);
			s.prev = '"';
		} else if (isalpha((unsigned char)c) || c == '_') {
			p = scan_word(&s, p, end, line);
			s.prev = 'a';
		} else {
			if (!isspace((unsigned char)c))
				s.prev = c;
			p++;
		}
	}
	return s.problems;
}

static int scan_files(const char *dir, const char *shown, catalog_report rep, void *ud, buf *src)
{
	char **names = NULL, err[512], file[512];
	int problems = 0;
	int n = list_lua(dir, &names, err, sizeof(err));
	for (int i = 0; i < n; i++) {
		snprintf(file, sizeof(file), "%s%s", shown, names[i]);
		if (read_source(dir, names[i], src, err, sizeof(err)) != 0) {
			reportf(rep, ud, file, 0, "%s", err);
			problems++;
			continue;
		}
		problems += catalog_scan_source(file, src->data ? src->data : "", src->len, rep, ud);
	}
	free_names(names, n);
	return problems;
}

int catalog_scan_dir(const char *dir, catalog_report rep, void *ud, char *err, size_t errlen)
{
	char lib[4096];
	struct stat st;
	buf src = BUF_INIT;
	DIR *d = opendir(dir);
	if (!d) {
		snprintf(err, errlen, "%s: cannot list the directory", dir);
		return -1;
	}
	closedir(d);
	int problems = scan_files(dir, "", rep, ud, &src);
	if (snprintf(lib, sizeof(lib), "%s/lib", dir) < (int)sizeof(lib) && stat(lib, &st) == 0 &&
	    S_ISDIR(st.st_mode))
		problems += scan_files(lib, "lib/", rep, ud, &src);
	buf_free(&src);
	return problems;
}
