/* pattern — string.find, match, gmatch and gsub for the sandbox.
 *
 * Lua's own matcher is C code that backtracks without ever running the
 * instruction hook: string.rep("a", 1e5):find(string.rep("a*", 30) .. "b")
 * runs for hours. This is the same language of patterns (Lua 5.4 manual
 * §6.4.1, same results and error messages; tests/unit/test_sandbox.c
 * compares both on a table of cases), written so that every step of the
 * matcher, and every byte compared by a plain find, is charged to the
 * instruction budget: a runaway match ends as "budget exceeded:
 * instructions" or "wall clock", like any runaway loop.
 *
 * A step holds no malloc'd memory, so raising from one is safe. */
#include "sandbox_int.h"

#include <ctype.h>
#include <lauxlib.h>
#include <string.h>

#define MAXCAPTURES 32
#define MAXDEPTH 200      /* nested matcher calls, as Lua's MAXCCALLS */
#define CHARGE_EVERY 4096 /* steps between two sandbox_charge calls */
#define CAP_UNFINISHED (-1)
#define CAP_POSITION (-2)
#define SPECIALS "^$*+?.([%-"

typedef struct matcher {
	lua_State *L;
	const char *src_init, *src_end, *p_end;
	int depth;  /* calls left before "pattern too complex" */
	int level;  /* captures open or closed */
	size_t steps; /* not yet charged */
	struct {
		const char *init;
		ptrdiff_t len; /* or CAP_UNFINISHED, CAP_POSITION */
	} capture[MAXCAPTURES];
} matcher;

static const char *do_match(matcher *m, const char *s, const char *p);

static void step(matcher *m, size_t n)
{
	m->steps += n;
	if (m->steps >= CHARGE_EVERY) {
		size_t due = m->steps;
		m->steps = 0;
		sandbox_charge(m->L, due);
	}
}

static void settle(matcher *m)
{
	size_t due = m->steps;
	m->steps = 0;
	sandbox_charge(m->L, due);
}

static void prepare(matcher *m, lua_State *L, const char *s, size_t ls, const char *p, size_t lp)
{
	m->L = L;
	m->src_init = s;
	m->src_end = s + ls;
	m->p_end = p + lp;
	m->steps = 0;
}

static void restart(matcher *m)
{
	m->level = 0;
	m->depth = MAXDEPTH;
}

/* ---- single character classes ---- */

/* The end of the class at p: "%x", "[set]" or one character. */
static const char *class_end(matcher *m, const char *p)
{
	const char *start = p;
	if (*p == '%') {
		if (++p == m->p_end)
			luaL_error(m->L, "malformed pattern (ends with '%%')");
		return p + 1;
	}
	if (*p++ != '[')
		return p;
	if (*p == '^')
		p++;
	do { /* the first character of a set may be ']' */
		if (p == m->p_end)
			luaL_error(m->L, "malformed pattern (missing ']')");
		if (*p++ == '%' && p < m->p_end)
			p++;
	} while (*p != ']');
	step(m, (size_t)(p - start)); /* a set is scanned again at each use */
	return p + 1;
}

static int match_class(int c, int cl)
{
	int res;
	switch (tolower(cl)) {
	case 'a': res = isalpha(c); break;
	case 'c': res = iscntrl(c); break;
	case 'd': res = isdigit(c); break;
	case 'g': res = isgraph(c); break;
	case 'l': res = islower(c); break;
	case 'p': res = ispunct(c); break;
	case 's': res = isspace(c); break;
	case 'u': res = isupper(c); break;
	case 'w': res = isalnum(c); break;
	case 'x': res = isxdigit(c); break;
	case 'z': res = c == 0; break; /* deprecated, still in Lua 5.4 */
	default: return cl == c;
	}
	if (isupper(cl))
		res = !res;
	return res != 0;
}

/* p at '[', ec at the closing ']'. */
static int match_set(int c, const char *p, const char *ec)
{
	int found = 1;
	if (p[1] == '^') {
		found = 0;
		p++;
	}
	while (++p < ec) {
		if (*p == '%') {
			p++;
			if (match_class(c, (unsigned char)*p))
				return found;
		} else if (p[1] == '-' && p + 2 < ec) {
			if ((unsigned char)p[0] <= c && c <= (unsigned char)p[2])
				return found;
			p += 2;
		} else if ((unsigned char)*p == c) {
			return found;
		}
	}
	return !found;
}

static int single_match(matcher *m, const char *s, const char *p, const char *ep)
{
	int c;
	if (s >= m->src_end)
		return 0;
	c = (unsigned char)*s;
	switch (*p) {
	case '.': return 1;
	case '%': return match_class(c, (unsigned char)p[1]);
	case '[':
		step(m, (size_t)(ep - p));
		return match_set(c, p, ep - 1);
	default: return (unsigned char)*p == c;
	}
}

/* ---- the pattern items ---- */

static const char *match_balance(matcher *m, const char *s, const char *p)
{
	int open = 1;
	if (p >= m->p_end - 1)
		luaL_error(m->L, "malformed pattern (missing arguments to '%%b')");
	if (s >= m->src_end || *s != p[0])
		return NULL;
	while (++s < m->src_end) {
		step(m, 1);
		if (*s == p[1]) {
			if (--open == 0)
				return s + 1;
		} else if (*s == p[0]) {
			open++;
		}
	}
	return NULL;
}

/* Greedy: the longest run first, then one shorter at a time. */
static const char *max_expand(matcher *m, const char *s, const char *p, const char *ep)
{
	ptrdiff_t i = 0;
	while (single_match(m, s + i, p, ep))
		i++;
	step(m, (size_t)i);
	for (; i >= 0; i--) {
		const char *res = do_match(m, s + i, ep + 1);
		if (res)
			return res;
	}
	return NULL;
}

/* Lazy: the rest of the pattern first, then one more character. */
static const char *min_expand(matcher *m, const char *s, const char *p, const char *ep)
{
	for (;;) {
		const char *res = do_match(m, s, ep + 1);
		if (res)
			return res;
		if (!single_match(m, s, p, ep))
			return NULL;
		s++;
		step(m, 1);
	}
}

static const char *start_capture(matcher *m, const char *s, const char *p, ptrdiff_t what)
{
	const char *res;
	if (m->level >= MAXCAPTURES)
		luaL_error(m->L, "too many captures");
	m->capture[m->level].init = s;
	m->capture[m->level].len = what;
	m->level++;
	if (!(res = do_match(m, s, p)))
		m->level--;
	return res;
}

static const char *end_capture(matcher *m, const char *s, const char *p)
{
	int l = m->level - 1;
	const char *res;
	while (l >= 0 && m->capture[l].len != CAP_UNFINISHED)
		l--;
	if (l < 0)
		luaL_error(m->L, "invalid pattern capture");
	m->capture[l].len = s - m->capture[l].init;
	if (!(res = do_match(m, s, p)))
		m->capture[l].len = CAP_UNFINISHED;
	return res;
}

static const char *match_backref(matcher *m, const char *s, int digit)
{
	int l = digit - '1';
	size_t len;
	if (l < 0 || l >= m->level || m->capture[l].len == CAP_UNFINISHED)
		luaL_error(m->L, "invalid capture index %%%d", l + 1);
	len = (size_t)m->capture[l].len;
	step(m, len);
	if ((size_t)(m->src_end - s) >= len && memcmp(m->capture[l].init, s, len) == 0)
		return s + len;
	return NULL;
}

static const char *match_frontier(matcher *m, const char *s, const char **pp)
{
	const char *p = *pp + 2, *ep;
	int prev;
	if (*p != '[')
		luaL_error(m->L, "missing '[' after '%%f' in pattern");
	ep = class_end(m, p);
	prev = s == m->src_init ? '\0' : (unsigned char)s[-1];
	*pp = ep;
	/* at the end of the subject the next character is its '\0' */
	if (!match_set(prev, p, ep - 1) && match_set((unsigned char)*s, p, ep - 1))
		return s;
	return NULL;
}

/* A single character class and its optional quantifier. */
static const char *match_item(matcher *m, const char *s, const char **pp, int *done)
{
	const char *p = *pp, *ep = class_end(m, p), *res;

	*done = 1;
	if (!single_match(m, s, p, ep)) {
		if (*ep == '*' || *ep == '?' || *ep == '-') {
			*pp = ep + 1; /* zero repetitions */
			*done = 0;
			return s;
		}
		return NULL;
	}
	switch (*ep) {
	case '?':
		if ((res = do_match(m, s + 1, ep + 1)))
			return res;
		*pp = ep + 1;
		*done = 0;
		return s;
	case '+': return max_expand(m, s + 1, p, ep);
	case '*': return max_expand(m, s, p, ep);
	case '-': return min_expand(m, s, p, ep);
	default:
		*pp = ep;
		*done = 0;
		return s + 1;
	}
}

/* Returns the end of the match of p at s, or NULL. Items that end the
 * match (captures, quantifiers) return; the others loop. */
static const char *do_match(matcher *m, const char *s, const char *p)
{
	int done = 0;

	if (m->depth-- == 0)
		luaL_error(m->L, "pattern too complex");
	while (s && !done && p != m->p_end) {
		step(m, 1);
		if (*p == '(') {
			s = p[1] == ')' ? start_capture(m, s, p + 2, CAP_POSITION)
					: start_capture(m, s, p + 1, CAP_UNFINISHED);
			done = 1;
		} else if (*p == ')') {
			s = end_capture(m, s, p + 1);
			done = 1;
		} else if (*p == '$' && p + 1 == m->p_end) {
			s = s == m->src_end ? s : NULL;
			done = 1;
		} else if (*p == '%' && p[1] == 'b') {
			if ((s = match_balance(m, s, p + 2)))
				p += 4;
		} else if (*p == '%' && p[1] == 'f') {
			s = match_frontier(m, s, &p);
		} else if (*p == '%' && isdigit((unsigned char)p[1])) {
			if ((s = match_backref(m, s, (unsigned char)p[1])))
				p += 2;
		} else {
			s = match_item(m, s, &p, &done);
		}
	}
	m->depth++;
	return s;
}

/* ---- captures ---- */

/* Pushes capture i (the whole match s..e when there are no captures). */
static void push_capture(matcher *m, int i, const char *s, const char *e)
{
	ptrdiff_t l;
	if (i >= m->level) {
		if (i != 0)
			luaL_error(m->L, "invalid capture index %%%d", i + 1);
		lua_pushlstring(m->L, s, (size_t)(e - s));
		return;
	}
	l = m->capture[i].len;
	if (l == CAP_UNFINISHED)
		luaL_error(m->L, "unfinished capture");
	if (l == CAP_POSITION)
		lua_pushinteger(m->L, (m->capture[i].init - m->src_init) + 1);
	else
		lua_pushlstring(m->L, m->capture[i].init, (size_t)l);
}

/* s == NULL: captures only (find); otherwise the whole match if none. */
static int push_captures(matcher *m, const char *s, const char *e)
{
	int i, n = (m->level == 0 && s) ? 1 : m->level;
	luaL_checkstack(m->L, n, "too many captures");
	for (i = 0; i < n; i++)
		push_capture(m, i, s, e);
	return n;
}

/* ---- find and match ---- */

/* Lua 5.4's posrelatI: a start position clipped to [1, inf). */
static size_t start_pos(lua_Integer pos, size_t len)
{
	if (pos > 0)
		return (size_t)pos;
	if (pos == 0 || pos < -(lua_Integer)len)
		return 1;
	return len + (size_t)pos + 1;
}

static int no_specials(const char *p, size_t lp)
{
	size_t upto = 0;
	do { /* strpbrk stops at '\0': look at each piece */
		if (strpbrk(p + upto, SPECIALS))
			return 0;
		upto += strlen(p + upto) + 1;
	} while (upto <= lp);
	return 1;
}

static const char *plain_find(matcher *m, const char *s, size_t ls, const char *p, size_t lp)
{
	const char *init;
	if (lp == 0)
		return s;
	if (lp > ls)
		return NULL;
	lp--;
	ls -= lp;
	while (ls > 0 && (init = memchr(s, *p, ls)) != NULL) {
		init++;
		step(m, lp + 1);
		if (memcmp(init, p + 1, lp) == 0)
			return init - 1;
		ls -= (size_t)(init - s);
		s = init;
	}
	return NULL;
}

static int find_plain(lua_State *L, matcher *m, const char *s, size_t ls, size_t init,
		      const char *p, size_t lp)
{
	const char *found;
	prepare(m, L, s, ls, p, lp);
	found = plain_find(m, s + init, ls - init, p, lp);
	settle(m);
	if (!found) {
		luaL_pushfail(L);
		return 1;
	}
	lua_pushinteger(L, (found - s) + 1);
	lua_pushinteger(L, (lua_Integer)((size_t)(found - s) + lp));
	return 2;
}

static int find_aux(lua_State *L, int find)
{
	size_t ls, lp;
	const char *s = luaL_checklstring(L, 1, &ls);
	const char *p = luaL_checklstring(L, 2, &lp);
	size_t init = start_pos(luaL_optinteger(L, 3, 1), ls) - 1;
	const char *s1 = s + init, *e;
	int anchor;
	matcher m;

	if (init > ls) {
		luaL_pushfail(L);
		return 1;
	}
	if (find && (lua_toboolean(L, 4) || no_specials(p, lp)))
		return find_plain(L, &m, s, ls, init, p, lp);
	anchor = *p == '^';
	if (anchor) {
		p++;
		lp--;
	}
	prepare(&m, L, s, ls, p, lp);
	do {
		restart(&m);
		if ((e = do_match(&m, s1, p)) != NULL) {
			settle(&m);
			if (!find)
				return push_captures(&m, s1, e);
			lua_pushinteger(L, (s1 - s) + 1);
			lua_pushinteger(L, e - s);
			return push_captures(&m, NULL, NULL) + 2;
		}
	} while (s1++ < m.src_end && !anchor);
	settle(&m);
	luaL_pushfail(L);
	return 1;
}

static int str_find(lua_State *L)
{
	return find_aux(L, 1);
}

static int str_match(lua_State *L)
{
	return find_aux(L, 0);
}

/* ---- gmatch ---- */

typedef struct gmatch_state {
	const char *src;       /* where the next match starts */
	const char *p;
	const char *lastmatch; /* end of the last match: no empty match there */
	matcher m;
} gmatch_state;

static int gmatch_next(lua_State *L)
{
	gmatch_state *g = lua_touserdata(L, lua_upvalueindex(3));
	const char *src, *e;

	g->m.L = L; /* the iterator may run in another coroutine */
	for (src = g->src; src <= g->m.src_end; src++) {
		restart(&g->m);
		if ((e = do_match(&g->m, src, g->p)) != NULL && e != g->lastmatch) {
			g->src = g->lastmatch = e;
			settle(&g->m);
			return push_captures(&g->m, src, e);
		}
	}
	g->src = src;
	settle(&g->m);
	return 0;
}

static int str_gmatch(lua_State *L)
{
	size_t ls, lp;
	const char *s = luaL_checklstring(L, 1, &ls);
	const char *p = luaL_checklstring(L, 2, &lp);
	size_t init = start_pos(luaL_optinteger(L, 3, 1), ls) - 1;
	gmatch_state *g;

	lua_settop(L, 2); /* the closure keeps both strings alive */
	g = lua_newuserdatauv(L, sizeof(*g), 0);
	if (init > ls)
		init = ls + 1;
	prepare(&g->m, L, s, ls, p, lp);
	g->src = s + init;
	g->p = p;
	g->lastmatch = NULL;
	lua_pushcclosure(L, gmatch_next, 3);
	return 1;
}

/* ---- gsub ---- */

static void add_template(matcher *m, luaL_Buffer *b, const char *s, const char *e)
{
	lua_State *L = m->L;
	size_t l;
	const char *news = lua_tolstring(L, 3, &l), *p;

	while ((p = memchr(news, '%', l)) != NULL) {
		luaL_addlstring(b, news, (size_t)(p - news));
		p++;
		if (*p == '%') {
			luaL_addchar(b, '%');
		} else if (*p == '0') {
			luaL_addlstring(b, s, (size_t)(e - s));
		} else if (isdigit((unsigned char)*p)) {
			push_capture(m, *p - '1', s, e);
			luaL_tolstring(L, -1, NULL); /* a position capture is a number */
			lua_remove(L, -2);
			luaL_addvalue(b);
		} else {
			luaL_error(L, "invalid use of '%%' in replacement string");
		}
		l -= (size_t)(p + 1 - news);
		news = p + 1;
	}
	luaL_addlstring(b, news, l);
}

/* Adds the replacement of s..e; returns whether the text changed. */
static int add_value(matcher *m, luaL_Buffer *b, const char *s, const char *e, int tr)
{
	lua_State *L = m->L;
	if (tr == LUA_TFUNCTION) {
		int n;
		lua_pushvalue(L, 3);
		n = push_captures(m, s, e);
		lua_call(L, n, 1);
	} else if (tr == LUA_TTABLE) {
		push_capture(m, 0, s, e);
		lua_gettable(L, 3);
	} else {
		add_template(m, b, s, e);
		return 1;
	}
	if (!lua_toboolean(L, -1)) { /* nil or false: keep the original */
		lua_pop(L, 1);
		luaL_addlstring(b, s, (size_t)(e - s));
		return 0;
	}
	if (!lua_isstring(L, -1))
		return luaL_error(L, "invalid replacement value (a %s)", luaL_typename(L, -1));
	luaL_addvalue(b);
	return 1;
}

static int str_gsub(lua_State *L)
{
	size_t ls, lp;
	const char *src = luaL_checklstring(L, 1, &ls);
	const char *p = luaL_checklstring(L, 2, &lp);
	const char *lastmatch = NULL, *e;
	int tr = lua_type(L, 3), anchor = *p == '^', changed = 0;
	lua_Integer max_s = luaL_optinteger(L, 4, (lua_Integer)ls + 1), n = 0;
	luaL_Buffer b;
	matcher m;

	luaL_argexpected(L, tr == LUA_TNUMBER || tr == LUA_TSTRING || tr == LUA_TFUNCTION ||
			 tr == LUA_TTABLE, 3, "string/function/table");
	luaL_buffinit(L, &b);
	if (anchor) {
		p++;
		lp--;
	}
	prepare(&m, L, src, ls, p, lp);
	while (n < max_s) {
		restart(&m);
		if ((e = do_match(&m, src, p)) != NULL && e != lastmatch) {
			n++;
			changed = add_value(&m, &b, src, e, tr) | changed;
			src = lastmatch = e;
		} else if (src < m.src_end) {
			luaL_addchar(&b, *src++);
		} else {
			break;
		}
		if (anchor)
			break;
	}
	settle(&m);
	if (!changed) {
		lua_pushvalue(L, 1);
	} else {
		luaL_addlstring(&b, src, (size_t)(m.src_end - src));
		luaL_pushresult(&b);
	}
	lua_pushinteger(L, n);
	return 2;
}

void sandbox_open_patterns(lua_State *L)
{
	static const luaL_Reg funcs[] = {
		{"find", str_find},
		{"match", str_match},
		{"gmatch", str_gmatch},
		{"gsub", str_gsub},
		{NULL, NULL},
	};
	luaL_setfuncs(L, funcs, 0);
}
