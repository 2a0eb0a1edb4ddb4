/* lua_lex — Lua source as tokens. See lua_lex.h. */
#include "lua_lex.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_NESTING 32

/* ---- the lexer ---- */

typedef struct lexer {
	const char *p, *end;
	int line;
} lexer;

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

static const char *skip_long(lexer *lx, const char *p, int level)
{
	for (p += level + 2; p < lx->end; p++) {
		if (*p == '\n')
			lx->line++;
		if (*p != ']')
			continue;
		const char *q = p + 1;
		int l = 0;
		while (q < lx->end && *q == '=')
			q++, l++;
		if (l == level && q < lx->end && *q == ']')
			return q + 1;
	}
	return lx->end;
}

static const char *skip_quoted(lexer *lx, const char *p)
{
	char q = *p++;
	for (; p < lx->end && *p != q && *p != '\n'; p++)
		if (*p == '\\' && p + 1 < lx->end && *++p == '\n')
			lx->line++;
	return p < lx->end && *p == q ? p + 1 : p;
}

/* Skips blanks and comments. */
static void skip_space(lexer *lx)
{
	while (lx->p < lx->end) {
		const char *p = lx->p;
		if (*p == '\n') {
			lx->line++;
			lx->p++;
		} else if (isspace((unsigned char)*p)) {
			lx->p++;
		} else if (*p == '-' && p + 1 < lx->end && p[1] == '-') {
			int level = long_bracket(p + 2, lx->end);
			if (level >= 0) {
				lx->p = skip_long(lx, p + 2, level);
			} else {
				while (lx->p < lx->end && *lx->p != '\n')
					lx->p++;
			}
		} else {
			return;
		}
	}
}

static const char *const symbols[] = {"...", "==", "~=", "<=", ">=", "//", "::", "<<", ">>", ".."};

static size_t symbol_len(const char *p, const char *end)
{
	for (size_t i = 0; i < sizeof(symbols) / sizeof(symbols[0]); i++) {
		size_t n = strlen(symbols[i]);
		if ((size_t)(end - p) >= n && memcmp(p, symbols[i], n) == 0)
			return n;
	}
	return 1;
}

static const char *number_end(const char *p, const char *end)
{
	for (; p < end; p++) {
		if (isalnum((unsigned char)*p) || *p == '.' || *p == '_')
			continue;
		if ((*p == '+' || *p == '-') && strchr("eEpP", p[-1]))
			continue;
		break;
	}
	return p;
}

static void next_token(lexer *lx, lua_tok *t)
{
	skip_space(lx);
	const char *p = lx->p;
	int level;
	t->s = p;
	t->line = lx->line;
	if (p >= lx->end) {
		t->type = LT_EOF;
		t->n = 0;
		return;
	}
	if (isalpha((unsigned char)*p) || *p == '_') {
		while (p < lx->end && (isalnum((unsigned char)*p) || *p == '_'))
			p++;
		t->type = LT_NAME;
	} else if (isdigit((unsigned char)*p) ||
		   (*p == '.' && p + 1 < lx->end && isdigit((unsigned char)p[1]))) {
		p = number_end(p + 1, lx->end);
		t->type = LT_NUMBER;
	} else if (*p == '"' || *p == '\'') {
		p = skip_quoted(lx, p);
		t->type = LT_STRING;
	} else if ((level = long_bracket(p, lx->end)) >= 0) {
		p = skip_long(lx, p, level);
		t->type = LT_STRING;
	} else {
		p += symbol_len(p, lx->end);
		t->type = LT_SYM;
	}
	t->n = (size_t)(p - t->s);
	lx->p = p;
}

int lua_lex_scan(const char *text, size_t len, lua_toks *toks)
{
	lexer lx = {text, text + len, 1};
	size_t cap = 256;
	toks->n = 0;
	toks->t = malloc(cap * sizeof(lua_tok));
	if (!toks->t)
		return -1;
	for (;;) {
		if (toks->n + 1 >= cap) {
			lua_tok *t = realloc(toks->t, 2 * cap * sizeof(lua_tok));
			if (!t) {
				lua_toks_free(toks);
				return -1;
			}
			toks->t = t;
			cap *= 2;
		}
		lua_tok *t = &toks->t[toks->n];
		next_token(&lx, t);
		if (t->type == LT_EOF)
			return 0;
		toks->n++;
	}
}

void lua_toks_free(lua_toks *toks)
{
	free(toks->t);
	toks->t = NULL;
	toks->n = 0;
}

int lua_tok_is(const lua_tok *t, const char *text)
{
	size_t n = strlen(text);
	return (t->type == LT_NAME || t->type == LT_SYM) && t->n == n && memcmp(t->s, text, n) == 0;
}

static char escape_char(char c)
{
	switch (c) {
	case 'n': return '\n';
	case 't': return '\t';
	case 'r': return '\r';
	case 'a': return '\a';
	case 'b': return '\b';
	case 'f': return '\f';
	case 'v': return '\v';
	default: return c;
	}
}

long lua_tok_string(const lua_tok *t, char *out, size_t outlen)
{
	const char *p = t->s, *end = t->s + t->n;
	size_t n = 0;
	if (t->type != LT_STRING || t->n < 2)
		return -1;
	if (*p == '[') {
		int level = long_bracket(p, end);
		p += level + 2;
		end -= level + 2;
		if (p < end && *p == '\n')
			p++;
	} else {
		p++;
		end--;
	}
	for (; p < end; p++, n++) {
		char c = *p;
		if (*t->s != '[' && c == '\\' && p + 1 < end)
			c = escape_char(*++p);
		if (outlen && n < outlen - 1)
			out[n] = c;
	}
	if (outlen)
		out[n < outlen ? n : outlen - 1] = '\0';
	return (long)n;
}

/* ---- expressions and tables ---- */

static int is_block_open(const lua_tok *t)
{
	return lua_tok_is(t, "function") || lua_tok_is(t, "if") || lua_tok_is(t, "do") ||
	       lua_tok_is(t, "repeat");
}

static int is_block_close(const lua_tok *t)
{
	return lua_tok_is(t, "end") || lua_tok_is(t, "until");
}

static int is_open(const lua_tok *t)
{
	return lua_tok_is(t, "{") || lua_tok_is(t, "(") || lua_tok_is(t, "[");
}

static int is_close(const lua_tok *t)
{
	return lua_tok_is(t, "}") || lua_tok_is(t, ")") || lua_tok_is(t, "]");
}

size_t lua_skip_group(const lua_toks *k, size_t i)
{
	int depth = 0;
	for (; i < k->n; i++) {
		if (is_open(&k->t[i]))
			depth++;
		else if (is_close(&k->t[i]) && --depth == 0)
			return i + 1;
	}
	return k->n;
}

/* After the block opened by the keyword at i (function ... end). */
static size_t skip_block(const lua_toks *k, size_t i)
{
	int depth = 0;
	for (; i < k->n; i++) {
		if (is_block_open(&k->t[i]))
			depth++;
		else if (is_block_close(&k->t[i]) && --depth == 0)
			return i + 1;
	}
	return k->n;
}

size_t lua_skip_expr(const lua_toks *k, size_t i)
{
	while (i < k->n) {
		const lua_tok *t = &k->t[i];
		if (lua_tok_is(t, ",") || lua_tok_is(t, ";") || is_close(t) || is_block_close(t) ||
		    lua_tok_is(t, "else") || lua_tok_is(t, "elseif") || lua_tok_is(t, "then") ||
		    lua_tok_is(t, "do"))
			return i;
		if (is_open(t))
			i = lua_skip_group(k, i);
		else if (lua_tok_is(t, "function"))
			i = skip_block(k, i);
		else
			i++;
	}
	return k->n;
}

/* The key of a field at j; returns the index of its value, or 0 when the
 * field is positional. */
static size_t field_key(const lua_toks *k, size_t j, lua_field *f)
{
	const lua_tok *t = &k->t[j];
	if (t->type == LT_NAME && j + 2 <= k->n && lua_tok_is(&k->t[j + 1], "=")) {
		snprintf(f->key, sizeof(f->key), "%.*s", (int)t->n, t->s);
		return j + 2;
	}
	if (!lua_tok_is(t, "["))
		return 0;
	size_t close = lua_skip_group(k, j);
	if (close >= k->n || !lua_tok_is(&k->t[close], "="))
		return 0;
	if (close == j + 3 && k->t[j + 1].type == LT_STRING)
		lua_tok_string(&k->t[j + 1], f->key, sizeof(f->key));
	else
		f->computed = 1;
	return close + 1;
}

size_t lua_table_fields(const lua_toks *k, size_t i, lua_field_fn fn, void *ud)
{
	size_t j = i + 1;
	long index = 0;
	while (j < k->n && !lua_tok_is(&k->t[j], "}")) {
		lua_field f;
		memset(&f, 0, sizeof(f));
		f.key_tok = j;
		f.value = field_key(k, j, &f);
		if (!f.value) {
			f.value = j;
			f.index = ++index;
		}
		f.value_end = lua_skip_expr(k, f.value);
		if (f.value_end == j) /* not an expression: a syntax error; move on */
			f.value_end = j + 1;
		if (fn && fn(ud, k, &f))
			return lua_skip_group(k, i);
		j = f.value_end;
		if (j < k->n && (lua_tok_is(&k->t[j], ",") || lua_tok_is(&k->t[j], ";")))
			j++;
	}
	return j < k->n ? j + 1 : k->n;
}

/* The "{" of `local NAME = {` or `NAME = {` at block depth 0 before end. */
static size_t table_assigned(const lua_toks *k, const lua_tok *name, size_t end)
{
	size_t found = 0;
	int depth = 0;
	for (size_t i = 0; i + 2 < end; i++) {
		const lua_tok *t = &k->t[i];
		if (is_block_open(t))
			depth++;
		else if (is_block_close(t))
			depth--;
		else if (depth == 0 && t->type == LT_NAME && t->n == name->n &&
			 memcmp(t->s, name->s, t->n) == 0 && lua_tok_is(&k->t[i + 1], "=") &&
			 lua_tok_is(&k->t[i + 2], "{"))
			found = i + 2;
	}
	return found;
}

size_t lua_returned_table(const lua_toks *k)
{
	size_t ret = 0;
	int depth = 0, seen = 0;
	for (size_t i = 0; i + 1 < k->n; i++) {
		const lua_tok *t = &k->t[i];
		if (is_block_open(t))
			depth++;
		else if (is_block_close(t))
			depth--;
		else if (depth == 0 && lua_tok_is(t, "return")) {
			ret = i;
			seen = 1;
		}
	}
	if (!seen)
		return 0;
	if (lua_tok_is(&k->t[ret + 1], "{"))
		return ret + 1;
	if (k->t[ret + 1].type == LT_NAME)
		return table_assigned(k, &k->t[ret + 1], ret);
	return 0;
}

/* ---- the source map ---- */

typedef struct map_walk {
	lua_srcmap *m;
	const char *prefix;
	int depth;
	int oom;
} map_walk;

static int map_add(lua_srcmap *m, const char *path, int line)
{
	if (m->n == m->cap) {
		size_t cap = m->cap ? 2 * m->cap : 64;
		lua_srcmap_entry *e = realloc(m->e, cap * sizeof(*e));
		if (!e)
			return -1;
		m->e = e;
		m->cap = cap;
	}
	snprintf(m->e[m->n].path, sizeof(m->e[m->n].path), "%s", path);
	m->e[m->n++].line = line;
	return 0;
}

static int map_field(void *ud, const lua_toks *k, const lua_field *f)
{
	map_walk *w = ud;
	char path[160];
	if (f->computed)
		return 0;
	if (f->index)
		snprintf(path, sizeof(path), "%s[%ld]", w->prefix, f->index);
	else
		snprintf(path, sizeof(path), "%s%s%s", w->prefix, w->prefix[0] ? "." : "", f->key);
	if (map_add(w->m, path, k->t[f->key_tok].line) != 0) {
		w->oom = 1;
		return 1;
	}
	if (w->depth < MAX_NESTING && lua_tok_is(&k->t[f->value], "{") &&
	    lua_skip_group(k, f->value) == f->value_end) {
		map_walk inner = {w->m, path, w->depth + 1, 0};
		lua_table_fields(k, f->value, map_field, &inner);
		w->oom |= inner.oom;
	}
	return w->oom;
}

int lua_srcmap_build(const lua_toks *k, lua_srcmap *m)
{
	map_walk w = {m, "", 0, 0};
	memset(m, 0, sizeof(*m));
	size_t t = lua_returned_table(k);
	if (t && map_add(m, "", k->t[t].line) != 0) /* the table itself */
		return -1;
	if (t)
		lua_table_fields(k, t, map_field, &w);
	return w.oom ? -1 : 0;
}

void lua_srcmap_free(lua_srcmap *m)
{
	free(m->e);
	memset(m, 0, sizeof(*m));
}

int lua_srcmap_line(const lua_srcmap *m, const char *path)
{
	char p[160];
	snprintf(p, sizeof(p), "%s", path);
	for (;;) {
		for (size_t i = 0; i < m->n; i++)
			if (strcmp(m->e[i].path, p) == 0)
				return m->e[i].line;
		char *cut = strrchr(p, '.'), *br = strrchr(p, '[');
		if (br && (!cut || br > cut))
			cut = br;
		if (!p[0])
			return 0;
		if (!cut)
			cut = p; /* then the table itself, "" */
		*cut = '\0';
	}
}
