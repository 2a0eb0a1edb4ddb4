/* lint_rules — see lint_rules.h. */
#include "lint_rules.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <lauxlib.h>

#define MAX_DEPTH 16
#define MAX_STRING 65536

struct lint_rules {
	lua_State *L; /* a bare state: no library, nothing of a playbook's */
};

lint_rules *lint_rules_new(void)
{
	lint_rules *lr = calloc(1, sizeof(*lr));
	if (lr && !(lr->L = luaL_newstate())) {
		free(lr);
		return NULL;
	}
	return lr;
}

void lint_rules_free(lint_rules *lr)
{
	if (!lr)
		return;
	lua_close(lr->L);
	free(lr);
}

typedef struct build {
	lua_State *L;
	int depth;
	int partial; /* the table being built left a field out */
} build;

static int push_table(build *b, const lua_toks *k, size_t open);

/* Pushes the literal value at tokens [v, end), or nothing (returns 0). */
static int push_value(build *b, const lua_toks *k, size_t v, size_t end)
{
	const lua_tok *t = &k->t[v];
	if (t->type == LT_SYM && lua_tok_is(t, "{") && lua_skip_group(k, v) == end) {
		if (b->depth >= MAX_DEPTH)
			return 0;
		if (push_table(b, k, v))
			return 1;
		lua_pop(b->L, 1); /* half a nested value would be judged as the whole */
		return 0;
	}
	if (end != v + 1)
		return 0; /* an expression: not a literal */
	if (t->type == LT_STRING) {
		char *s = malloc(MAX_STRING);
		long n = s ? lua_tok_string(t, s, MAX_STRING) : -1;
		if (n >= 0 && n < MAX_STRING)
			lua_pushlstring(b->L, s, (size_t)n);
		free(s);
		return n >= 0 && n < MAX_STRING;
	}
	if (t->type == LT_NUMBER) {
		char num[64];
		char *stop;
		snprintf(num, sizeof(num), "%.*s", (int)t->n, t->s);
		double d = strtod(num, &stop);
		if (*stop)
			return 0;
		lua_pushnumber(b->L, d);
		return 1;
	}
	if (lua_tok_is(t, "true") || lua_tok_is(t, "false")) {
		lua_pushboolean(b->L, lua_tok_is(t, "true"));
		return 1;
	}
	return 0;
}

static int add_field(void *ud, const lua_toks *k, const lua_field *f)
{
	build *b = ud;
	if (f->computed || !push_value(b, k, f->value, f->value_end)) {
		b->partial = 1;
		return 0;
	}
	if (f->index)
		lua_rawseti(b->L, -2, f->index);
	else
		lua_setfield(b->L, -2, f->key);
	return 0;
}

/* Pushes the table; returns 1 when every field was a literal. A nested
 * table that is not whole is left out by its parent; the top one keeps
 * what it has, and the rule treats the rest as absent. */
static int push_table(build *b, const lua_toks *k, size_t open)
{
	int outer = b->partial;
	b->partial = 0;
	b->depth++;
	lua_newtable(b->L);
	lua_table_fields(k, open, add_field, b);
	b->depth--;
	int whole = !b->partial;
	b->partial = outer;
	return whole;
}

typedef struct job {
	const allow_entry *e;
	const lua_toks *k;
	size_t open;
	char *err;
	size_t errlen;
	int rc;
} job;

/* Protected: builds the table and judges it (both may raise out of memory). */
static int judge(lua_State *L)
{
	job *j = lua_touserdata(L, 1);
	build b = {L, 0, 0};
	push_table(&b, j->k, j->open);
	j->rc = allow_rule_check_static(j->e, L, lua_gettop(L), j->err, j->errlen);
	return 0;
}

int lint_rules_check(lint_rules *lr, const allow_entry *e, const lua_toks *k, size_t open,
		     char *err, size_t errlen)
{
	job j = {e, k, open, err, errlen, 0};
	if (!lr || e->access != ALLOW_WRITE)
		return 0;
	lua_settop(lr->L, 0);
	lua_pushcfunction(lr->L, judge);
	lua_pushlightuserdata(lr->L, &j);
	if (lua_pcall(lr->L, 1, 0, 0) != LUA_OK) {
		lua_settop(lr->L, 0);
		return 0; /* out of memory: nothing judged */
	}
	lua_settop(lr->L, 0);
	return j.rc;
}
