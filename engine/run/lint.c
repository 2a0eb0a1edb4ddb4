/* lint — the playbooks' Lua source read without running it: every use of an
 * AWS primitive, its name and its literal parameters. See lint.h. */
#include "lint.h"

#include <ctype.h>
#include <dirent.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "allowlist.h"
#include "config_schema.h"
#include "lint_rules.h"
#include "lua_lex.h"
#include "model.h"
#include "model_types.h"
#include "op_names.h"
#include "playbooks.h"
#include "suggest.h"

#define MAX_DEPTH 16
#define PATH_MAX_LEN 200

typedef struct lint {
	const char *file;
	problem_fn rep;
	void *ud;
	int problems;
	const lua_toks *k;
	lint_rules *rules; /* the allow-list's argument rules on literal tables */
	char call[128]; /* "ec2.create_snapshot", for the messages */
} lint;

static void problem(lint *l, int line, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

static void problem(lint *l, int line, const char *fmt, ...)
{
	char msg[700];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	l->problems++;
	if (l->rep)
		l->rep(l->ud, l->file, line, msg);
}

static int tok_eq(const lua_tok *t, const char *s)
{
	return t->n == strlen(s) && memcmp(t->s, s, t->n) == 0;
}

/* ---- which names are services and operations ---- */

static int is_service(const lua_tok *t)
{
	if (t->type != LT_NAME)
		return 0;
	for (size_t i = 0; i < op_names_nservices; i++)
		if (tok_eq(t, op_names_services[i].service))
			return 1;
	for (size_t i = 0; i < allowlist_count(); i++)
		if (tok_eq(t, allowlist_at(i)->service))
			return 1;
	return 0;
}

/* The boto3 name of an allow-list entry ("create_snapshot"). */
static const char *entry_snake(const allow_entry *e)
{
	const aws_operation *op = model_find_operation(e->service, e->operation);
	return op ? model_op_snake_name(op) : e->operation;
}

/* The nearest allowed method of service, or NULL. */
static const char *nearest_allowed(const char *service, const char *method)
{
	suggest s;
	suggest_init(&s, method);
	for (size_t i = 0; i < allowlist_count(); i++)
		if (strcmp(allowlist_at(i)->service, service) == 0)
			suggest_offer(&s, entry_snake(allowlist_at(i)));
	return suggest_best(&s);
}

/* The nearest real method of service, or NULL. */
static const char *nearest_real(const char *service, const char *method)
{
	const op_names_service *ns = op_names_service_find(service);
	suggest s;
	suggest_init(&s, method);
	for (size_t i = 0; ns && i < ns->n; i++)
		suggest_offer(&s, ns->names[i]);
	return suggest_best(&s);
}

/* The boto3 spelling of a CamelCase operation name, when it is one. */
static const char *snake_of_camel(const char *service, const char *method)
{
	const op_names_service *ns = op_names_service_find(service);
	for (size_t i = 0; ns && i < ns->n; i++) {
		const char *a = ns->names[i], *b = method;
		while (*a && *b) {
			if (*a == '_') {
				a++;
				continue;
			}
			if (tolower((unsigned char)*a) != tolower((unsigned char)*b))
				break;
			a++, b++;
		}
		if (!*a && !*b)
			return ns->names[i];
	}
	return NULL;
}

static int has_upper(const char *s)
{
	for (; *s; s++)
		if (isupper((unsigned char)*s))
			return 1;
	return 0;
}

/* Checks the name; returns the allow-list entry when it may be called. */
static const allow_entry *check_name(lint *l, const char *svc, const char *method, int line)
{
	const allow_entry *e = allowlist_find(svc, method);
	const char *near;
	if (e && !has_upper(method))
		return e;
	if (has_upper(method) && (near = snake_of_camel(svc, method)) != NULL) {
		problem(l, line, "%s.%s: a primitive has boto3's name: write %s.%s", svc, method, svc,
			near);
	} else if (op_names_known(svc, method) || model_find_operation(svc, method)) {
		near = nearest_allowed(svc, method);
		problem(l, line,
			"%s.%s is not on the allow-list: a playbook may call only the operations of "
			"sandbox/allowlist.c (deadbolt primitives lists them)%s%s%s%s%s",
			svc, method, near ? "; did you mean " : "", near ? svc : "", near ? "." : "",
			near ? near : "", near ? "?" : "");
	} else if ((near = nearest_allowed(svc, method)) != NULL) {
		problem(l, line, "%s.%s is not an operation of %s: did you mean %s.%s?", svc, method,
			svc, svc, near);
	} else if ((near = nearest_real(svc, method)) != NULL) {
		problem(l, line,
			"%s.%s is not an operation of %s (the nearest, %s.%s, is not on the "
			"allow-list either)", svc, method, svc, svc, near);
	} else {
		problem(l, line, "%s.%s is not an operation of %s (deadbolt primitives lists what "
			"a playbook may call)", svc, method, svc);
	}
	return NULL;
}

/* ---- literal parameters against the model ---- */

static void check_value(lint *l, const aws_shape *s, size_t v, size_t vend, const char *path,
			int depth);

static const char *type_phrase(int type)
{
	switch (type) {
	case AWS_SHAPE_STRING: return "a string";
	case AWS_SHAPE_INTEGER:
	case AWS_SHAPE_LONG: return "an integer";
	case AWS_SHAPE_BOOLEAN: return "true or false";
	case AWS_SHAPE_DOUBLE:
	case AWS_SHAPE_FLOAT: return "a number";
	case AWS_SHAPE_TIMESTAMP: return "a timestamp (an ISO-8601 string or epoch seconds)";
	case AWS_SHAPE_BLOB: return "a string (bytes)";
	case AWS_SHAPE_LIST: return "a list, { ... }";
	case AWS_SHAPE_MAP: return "a table of string keys";
	case AWS_SHAPE_STRUCTURE: return "a table, { Name = value, ... }";
	default: return "a JSON value";
	}
}

/* Up to a few member names of s, for a message. */
static void member_list(const aws_shape *s, char *out, size_t len)
{
	size_t used = 0;
	out[0] = '\0';
	for (size_t i = 0; i < s->nmembers && used + 1 < len; i++) {
		int w = snprintf(out + used, len - used, "%s%s", i ? ", " : "", s->members[i].name);
		if (w < 0)
			break;
		used += (size_t)w;
		if (i == 11 && s->nmembers > 12) {
			snprintf(out + (used < len ? used : len - 1), len - (used < len ? used : len - 1),
				 ", ...");
			break;
		}
	}
}

typedef struct struct_walk {
	lint *l;
	const aws_shape *s;
	const char *path;
	int depth;
	int all_literal;
	const char *set[64]; /* members given */
	size_t nset;
} struct_walk;

static void mark_set(struct_walk *w, const char *name)
{
	if (w->nset < sizeof(w->set) / sizeof(w->set[0]))
		w->set[w->nset++] = name;
}

/* An unknown key; its suggestion counts as set (one message, not two). */
static void unknown_member(struct_walk *w, const char *key, const char *path, int line)
{
	suggest sg;
	char list[400];
	suggest_init(&sg, key);
	for (size_t i = 0; i < w->s->nmembers; i++)
		suggest_offer(&sg, w->s->members[i].name);
	const char *near = suggest_best(&sg);
	if (near) {
		problem(w->l, line, "%s: unknown parameter %s: did you mean %s?", w->l->call, path,
			near);
		mark_set(w, near);
		return;
	}
	member_list(w->s, list, sizeof(list));
	problem(w->l, line, "%s: unknown parameter %s (the parameters are: %s)", w->l->call, path,
		list);
}

static int struct_field(void *ud, const lua_toks *k, const lua_field *f)
{
	struct_walk *w = ud;
	char path[PATH_MAX_LEN];
	if (f->computed || f->index) {
		w->all_literal = 0;
		return 0;
	}
	snprintf(path, sizeof(path), "%s%s%s", w->path, w->path[0] ? "." : "", f->key);
	const aws_member *m = model_member_find(w->s, f->key);
	if (!m) {
		unknown_member(w, f->key, path, k->t[f->key_tok].line);
		return 0;
	}
	mark_set(w, m->name);
	check_value(w->l, m->shape, f->value, f->value_end, path, w->depth + 1);
	return 0;
}

static int was_set(const struct_walk *w, const char *name)
{
	for (size_t i = 0; i < w->nset; i++)
		if (strcmp(w->set[i], name) == 0)
			return 1;
	return 0;
}

static void check_struct(lint *l, const aws_shape *s, size_t open, const char *path, int depth)
{
	struct_walk w = {l, s, path, depth, 1, {0}, 0};
	int line = l->k->t[open].line;
	lua_table_fields(l->k, open, struct_field, &w);
	if (!w.all_literal)
		return;
	for (size_t i = 0; i < s->nmembers; i++) {
		const aws_member *m = &s->members[i];
		if ((m->flags & AWS_MF_REQUIRED) && !(m->flags & AWS_MF_IDEMPOTENCY_TOKEN) &&
		    !was_set(&w, m->name))
			problem(l, line, "%s: %s%s%s is required: add %s = ...", l->call, path,
				path[0] ? "." : "", m->name, m->name);
	}
}

typedef struct list_walk {
	lint *l;
	const aws_shape *elem;
	const char *path;
	int depth;
} list_walk;

static int list_field(void *ud, const lua_toks *k, const lua_field *f)
{
	list_walk *w = ud;
	char path[PATH_MAX_LEN];
	if (f->computed)
		return 0;
	if (!f->index) {
		problem(w->l, k->t[f->key_tok].line, "%s: %s must be a list, { ... }, not a table "
			"with the key %s", w->l->call, w->path, f->key);
		return 1;
	}
	snprintf(path, sizeof(path), "%s[%ld]", w->path, f->index);
	check_value(w->l, w->elem, f->value, f->value_end, path, w->depth + 1);
	return 0;
}

static void check_enum(lint *l, const aws_shape *s, const lua_tok *t, const char *path)
{
	char v[128], list[300];
	size_t used = 0;
	if (!s->nenums || lua_tok_string(t, v, sizeof(v)) < 0)
		return;
	suggest sg;
	suggest_init(&sg, v);
	for (size_t i = 0; i < s->nenums; i++) {
		if (strcmp(s->enums[i], v) == 0)
			return;
		suggest_offer(&sg, s->enums[i]);
	}
	const char *near = suggest_best(&sg);
	if (near) {
		problem(l, t->line, "%s: %s is \"%s\": did you mean \"%s\"?", l->call, path, v, near);
		return;
	}
	list[0] = '\0';
	for (size_t i = 0; i < s->nenums && used + 1 < sizeof(list); i++) {
		int w = snprintf(list + used, sizeof(list) - used, "%s%s", i ? ", " : "", s->enums[i]);
		used += w > 0 ? (size_t)w : 0;
	}
	problem(l, t->line, "%s: %s is \"%s\": it must be one of %s", l->call, path, v, list);
}

/* A single-token literal: 1 when its Lua type fits the shape. */
static int literal_fits(const aws_shape *s, const lua_tok *t)
{
	switch (s->type) {
	case AWS_SHAPE_STRING:
	case AWS_SHAPE_BLOB:
		return t->type == LT_STRING;
	case AWS_SHAPE_BOOLEAN:
		return lua_tok_is(t, "true") || lua_tok_is(t, "false");
	case AWS_SHAPE_INTEGER:
	case AWS_SHAPE_LONG:
	case AWS_SHAPE_DOUBLE:
	case AWS_SHAPE_FLOAT:
		return t->type == LT_NUMBER;
	case AWS_SHAPE_TIMESTAMP:
		return t->type == LT_NUMBER || t->type == LT_STRING;
	case AWS_SHAPE_DOCUMENT:
		return 1;
	default:
		return 0;
	}
}

static int is_literal_token(const lua_tok *t)
{
	return t->type == LT_STRING || t->type == LT_NUMBER || lua_tok_is(t, "true") ||
	       lua_tok_is(t, "false");
}

static void check_value(lint *l, const aws_shape *s, size_t v, size_t vend, const char *path,
			int depth)
{
	const lua_tok *t = &l->k->t[v];
	if (depth > MAX_DEPTH || v >= l->k->n)
		return;
	if (vend == v + 1 && is_literal_token(t)) {
		if (!literal_fits(s, t))
			problem(l, t->line, "%s: %s must be %s, not %.*s", l->call, path,
				type_phrase(s->type), (int)(t->n > 40 ? 40 : t->n), t->s);
		else if (s->type == AWS_SHAPE_STRING)
			check_enum(l, s, t, path);
		return;
	}
	if (!lua_tok_is(t, "{") || lua_skip_group(l->k, v) != vend)
		return; /* computed: the codec checks it at run time */
	if (s->type == AWS_SHAPE_STRUCTURE) {
		check_struct(l, s, v, path, depth);
	} else if (s->type == AWS_SHAPE_LIST) {
		list_walk w = {l, s->list_member->shape, path, depth};
		lua_table_fields(l->k, v, list_field, &w);
	} else if (s->type != AWS_SHAPE_MAP && s->type != AWS_SHAPE_DOCUMENT) {
		problem(l, t->line, "%s: %s must be %s, not a table", l->call, path,
			type_phrase(s->type));
	}
}

/* ---- finding the calls ---- */

/* The "{" of the literal parameters of the use of a primitive whose method
 * name is at m, or 0. */
static size_t literal_params(const lua_toks *k, size_t m)
{
	size_t a = m + 1;
	if (a >= k->n)
		return 0;
	if (lua_tok_is(&k->t[a], "{"))
		return a;
	if ((lua_tok_is(&k->t[a], "(") || lua_tok_is(&k->t[a], ",")) && a + 1 < k->n &&
	    lua_tok_is(&k->t[a + 1], "{")) {
		size_t after = lua_skip_group(k, a + 1);
		if (after < k->n && (lua_tok_is(&k->t[after], ")") || lua_tok_is(&k->t[after], ",")))
			return a + 1;
	}
	return 0;
}

/* Whether the token after the method makes it a use of a primitive: a call
 * or a function value passed on. */
static int is_use(const lua_tok *t)
{
	return t->type == LT_STRING || lua_tok_is(t, "(") || lua_tok_is(t, "{") ||
	       lua_tok_is(t, ",") || lua_tok_is(t, ")");
}

/* What the allow-list's rule for e says of the literal parameters at open. */
static void check_rule(lint *l, const allow_entry *e, size_t open)
{
	char why[600];
	if (lint_rules_check(l->rules, e, l->k, open, why, sizeof(why)) != 0)
		problem(l, l->k->t[open].line, "%s: the sandbox would refuse this call: %s", l->call,
			why);
}

static void check_use(lint *l, size_t i)
{
	const lua_toks *k = l->k;
	const lua_tok *svc = &k->t[i], *meth = &k->t[i + 2];
	char service[32], method[80];
	if (svc->n >= sizeof(service) || meth->n >= sizeof(method))
		return;
	snprintf(service, sizeof(service), "%.*s", (int)svc->n, svc->s);
	snprintf(method, sizeof(method), "%.*s", (int)meth->n, meth->s);
	const allow_entry *e = check_name(l, service, method, meth->line);
	if (!e)
		return;
	const aws_operation *op = model_find_operation(e->service, e->operation);
	size_t open = literal_params(k, i + 2);
	if (!op || !open)
		return;
	snprintf(l->call, sizeof(l->call), "%s.%s", service, method);
	if (!op->input) {
		if (!lua_tok_is(&k->t[open + 1], "}"))
			problem(l, k->t[open].line, "%s takes no parameters: call it with {}", l->call);
		return;
	}
	int before = l->problems;
	check_struct(l, op->input, open, "", 0);
	if (l->problems == before) /* one message a mistake: the model's comes first */
		check_rule(l, e, open);
}

/* Whether the names list starting at i (NAME {, NAME}) holds name. */
static int in_name_list(const lua_toks *k, size_t i, const lua_tok *name)
{
	for (; i < k->n && k->t[i].type == LT_NAME; i += 2) {
		if (k->t[i].n == name->n && memcmp(k->t[i].s, name->s, name->n) == 0)
			return 1;
		if (i + 1 >= k->n || !lua_tok_is(&k->t[i + 1], ","))
			break;
	}
	return 0;
}

/* Whether the file declares a local, a loop variable or a parameter of this
 * name anywhere (`local s3 = ...`, `function(ec2)`): then `s3.x` may not be
 * the primitives' table, and the file's uses of it are not checked. */
static int shadowed(const lua_toks *k, const lua_tok *name)
{
	for (size_t i = 0; i + 1 < k->n; i++) {
		const lua_tok *t = &k->t[i];
		size_t first = 0;
		if (lua_tok_is(t, "local") || lua_tok_is(t, "for"))
			first = lua_tok_is(&k->t[i + 1], "function") ? 0 : i + 1;
		else if (lua_tok_is(t, "function")) {
			size_t j = i + 1;
			while (j < k->n && !lua_tok_is(&k->t[j], "("))
				j++; /* the function's name, if any */
			first = j + 1;
		}
		if (first && in_name_list(k, first, name))
			return 1;
	}
	return 0;
}

int lint_scan_source(const char *file, const char *text, size_t n, problem_fn rep, void *ud)
{
	lua_toks k;
	lint l = {file, rep, ud, 0, &k, lint_rules_new(), ""};
	if (lua_lex_scan(text, n, &k) != 0) {
		lint_rules_free(l.rules);
		problem(&l, 0, "out of memory reading the source");
		return l.problems;
	}
	for (size_t i = 0; i + 3 < k.n; i++) {
		if (!is_service(&k.t[i]) || !lua_tok_is(&k.t[i + 1], ".") ||
		    k.t[i + 2].type != LT_NAME || !is_use(&k.t[i + 3]))
			continue;
		if (i > 0 && (lua_tok_is(&k.t[i - 1], ".") || lua_tok_is(&k.t[i - 1], ":")))
			continue;
		if (shadowed(&k, &k.t[i]))
			continue;
		check_use(&l, i);
	}
	lua_toks_free(&k);
	lint_rules_free(l.rules);
	return l.problems;
}

static int scan_files(const char *dir, const char *shown, problem_fn rep, void *ud, buf *src)
{
	char **names = NULL, err[512], file[512];
	int problems = 0;
	int n = playbooks_list(dir, &names, err, sizeof(err));
	for (int i = 0; i < n; i++) {
		snprintf(file, sizeof(file), "%s%s", shown, names[i]);
		if (playbooks_read_source(dir, names[i], src, err, sizeof(err)) != 0) {
			problem_report(rep, ud, file, 0, "%s", err);
			problems++;
			continue;
		}
		problems += lint_scan_source(file, src->data ? src->data : "", src->len, rep, ud);
		problems += config_schema_lint_reads(file, src->data ? src->data : "", src->len, rep,
						     ud);
	}
	playbooks_free_names(names, n);
	return problems;
}

int lint_scan_dir(const char *dir, problem_fn rep, void *ud, char *err, size_t errlen)
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
