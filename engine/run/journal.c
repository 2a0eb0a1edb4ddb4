/* journal — JSON lines for every run, and the JSON writer. See journal.h. */
#include "journal.h"

#include <ctype.h>
#include <limits.h>
#include <math.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/random.h>
#include <time.h>

#include <lauxlib.h>

#include "clock.h"
#include "digest.h"
#include "json_escape.h"
#include "timestamp.h"
#include "ordered.h"

/* A line: more than a step's undo data (MAX_SAVE_BYTES, 1 MiB) with its
 * keys, error and traceback, so a step line is never the one dropped. */
#define LINE_MAX_BYTES (((size_t)1 << 20) + ((size_t)256 << 10))
#define LUA_MAX_DEPTH 32
#define JOURNAL_TIME_LIMIT 9.2e18 /* seconds: what an int64_t holds */

struct journal {
	FILE *f;
	buf line;
	jw w;
	char run_id[40];
	const char *event;  /* of the line being built (a static string) */
	size_t limit;       /* bytes of one run's lines, run_start and run_end aside */
	size_t run_bytes;   /* written for the run so far */
	size_t dropped;     /* lines of the run past the limit */
	int held;          /* lines are kept in kept, by order key, until journal_release */
	char order[192];   /* the key of the next line kept */
	ordered kept;
};

/* ---- the writer ---- */

void jw_init(jw *w, buf *b)
{
	memset(w, 0, sizeof(*w));
	w->b = b;
}

int jw_failed(const jw *w)
{
	return w->failed;
}

static void put(jw *w, const char *s, size_t n)
{
	if (!w->failed && buf_append(w->b, s, n) != 0)
		w->failed = 1;
}

/* Before every value: a comma unless it is the first in its container or
 * follows a key. */
static void before_value(jw *w)
{
	if (w->after_key) {
		w->after_key = 0;
		return;
	}
	if (w->comma[w->depth])
		put(w, ",", 1);
	w->comma[w->depth] = 1;
}

static void open_container(jw *w, const char *c)
{
	before_value(w);
	put(w, c, 1);
	if (w->depth >= JW_MAX_DEPTH) {
		w->failed = 1;
		return;
	}
	w->depth++;
	w->comma[w->depth] = 0;
}

static void close_container(jw *w, const char *c)
{
	put(w, c, 1);
	if (w->depth > 0)
		w->depth--;
}

void jw_obj(jw *w) { open_container(w, "{"); }
void jw_obj_end(jw *w) { close_container(w, "}"); }
void jw_arr(jw *w) { open_container(w, "["); }
void jw_arr_end(jw *w) { close_container(w, "]"); }

static void put_escaped(jw *w, const char *str, size_t n)
{
	if (!w->failed && json_escape(w->b, str, n, JSON_ESC_UTF8) != 0)
		w->failed = 1;
}

void jw_key_n(jw *w, const char *k, size_t n)
{
	before_value(w);
	put_escaped(w, k, n);
	put(w, ":", 1);
	w->after_key = 1;
}

void jw_key(jw *w, const char *k)
{
	jw_key_n(w, k, strlen(k));
}

void jw_strn(jw *w, const char *s, size_t n)
{
	before_value(w);
	put_escaped(w, s, n);
}

void jw_str(jw *w, const char *s)
{
	if (!s) {
		jw_null(w);
		return;
	}
	jw_strn(w, s, strlen(s));
}

void jw_num(jw *w, double d)
{
	char tmp[40];
	if (!isfinite(d)) {
		jw_null(w);
		return;
	}
	snprintf(tmp, sizeof(tmp), "%.15g", d);
	if (strtod(tmp, NULL) != d)
		snprintf(tmp, sizeof(tmp), "%.17g", d);
	before_value(w);
	put(w, tmp, strlen(tmp));
}

void jw_int(jw *w, long long v)
{
	char tmp[32];
	int n = snprintf(tmp, sizeof(tmp), "%lld", v);
	before_value(w);
	put(w, tmp, (size_t)n);
}

void jw_bool(jw *w, int v)
{
	before_value(w);
	put(w, v ? "true" : "false", v ? 4 : 5);
}

void jw_null(jw *w)
{
	before_value(w);
	put(w, "null", 4);
}

void jw_raw(jw *w, const char *json)
{
	before_value(w);
	put(w, json, strlen(json));
}

void jw_field_str(jw *w, const char *k, const char *v)
{
	jw_key(w, k);
	jw_str(w, v);
}

void jw_field_int(jw *w, const char *k, long long v)
{
	jw_key(w, k);
	jw_int(w, v);
}

void jw_field_num(jw *w, const char *k, double v)
{
	jw_key(w, k);
	jw_num(w, v);
}

void jw_field_bool(jw *w, const char *k, int v)
{
	jw_key(w, k);
	jw_bool(w, v);
}

/* ---- redaction ---- */

int journal_secret_key(const char *key, size_t n)
{
	static const char *const words[] = {"secret", "password", "token", "credential",
					    "authorization", "privatekey"};
	for (size_t i = 0; i < sizeof(words) / sizeof(words[0]); i++) {
		size_t wl = strlen(words[i]);
		for (size_t at = 0; at + wl <= n; at++)
			if (strncasecmp(key + at, words[i], wl) == 0)
				return 1;
	}
	return 0;
}

static int is_b64(unsigned char c)
{
	return isalnum(c) || c == '/' || c == '+' || c == '=';
}

/* A secret access key is 40 characters of base64 with mixed case and a digit
 * (a SHA-1 in hex is not); a session token is long base64 with a known start. */
int journal_secret_value(const char *s, size_t n)
{
	int upper = 0, lower = 0, digit = 0;
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];
		if (!is_b64(c))
			return 0;
		upper |= isupper(c) != 0;
		lower |= islower(c) != 0;
		digit |= isdigit(c) != 0;
	}
	if (n == 40 && upper && lower && digit)
		return 1;
	return n >= 100 && (strncmp(s, "IQoJb3JpZ2lu", 12) == 0 || strncmp(s, "FwoGZXIvYXdz", 12) == 0 ||
			    strncmp(s, "AQoDYXdz", 8) == 0);
}

/* ---- Lua values ---- */

typedef struct lkey {
	const char *k; /* a string key's text; NULL: the text is num */
	size_t n;
	char num[32];
	int vidx; /* stack index of the value */
} lkey;

/* The key's text: num is inside the struct, which qsort moves, so it is
 * never pointed at. */
static const char *lkey_text(const lkey *e)
{
	return e->k ? e->k : e->num;
}

static void lua_value(jw *w, lua_State *L, int idx, int redact, int depth);

static int lkey_cmp(const void *a, const void *b)
{
	const lkey *x = a, *y = b;
	size_t n = x->n < y->n ? x->n : y->n;
	int c = memcmp(lkey_text(x), lkey_text(y), n);
	return c ? c : (x->n > y->n) - (x->n < y->n);
}

/* Counts the keys of the table at t; 1 when they are exactly 1..rawlen. */
static int is_array(lua_State *L, int t, size_t *count)
{
	lua_Unsigned len = lua_rawlen(L, t);
	size_t n = 0;
	int ints = 1;
	lua_pushnil(L);
	while (lua_next(L, t)) {
		n++;
		if (!lua_isinteger(L, -2) || lua_tointeger(L, -2) < 1 ||
		    (lua_Unsigned)lua_tointeger(L, -2) > len)
			ints = 0;
		lua_pop(L, 1);
	}
	*count = n;
	return n > 0 && ints && n == len;
}

static int key_text(lua_State *L, int k, lkey *e)
{
	if (lua_type(L, k) == LUA_TSTRING) {
		e->k = lua_tolstring(L, k, &e->n);
		return 1;
	}
	if (lua_isinteger(L, k))
		snprintf(e->num, sizeof(e->num), "%lld", (long long)lua_tointeger(L, k));
	else if (lua_type(L, k) == LUA_TNUMBER)
		snprintf(e->num, sizeof(e->num), "%.14g", lua_tonumber(L, k));
	else if (lua_type(L, k) == LUA_TBOOLEAN)
		snprintf(e->num, sizeof(e->num), "%s", lua_toboolean(L, k) ? "true" : "false");
	else
		return 0;
	e->k = NULL;
	e->n = strlen(e->num);
	return 1;
}

static void write_member(jw *w, lua_State *L, const lkey *e, int redact, int depth)
{
	const char *k = lkey_text(e);
	before_value(w);
	put_escaped(w, k, e->n);
	put(w, ":", 1);
	w->after_key = 1;
	if (redact && journal_secret_key(k, e->n))
		jw_str(w, "<redacted>");
	else if (e->n == 14 && memcmp(k, "PolicyDocument", 14) == 0)
		lua_value(w, L, e->vidx, 0, depth + 1);
	else
		lua_value(w, L, e->vidx, redact, depth + 1);
}

/* Pushes key/value pairs onto the stack (lua_checkstack fails softly, never
 * raises), sorts the keys, writes the members in order. */
static void lua_object(jw *w, lua_State *L, int t, size_t count, int redact, int depth)
{
	size_t n = 0, seen = 0;
	int top = lua_gettop(L);
	if (count > JW_LUA_MAX_KEYS)
		count = JW_LUA_MAX_KEYS;
	lkey *keys = calloc(count ? count : 1, sizeof(*keys));
	if (!keys || !lua_checkstack(L, (int)(2 * count + 8))) {
		jw_str(w, "<too large>");
		goto out;
	}
	lua_pushnil(L);
	while (seen++ < count && lua_next(L, t)) {
		keys[n].vidx = lua_gettop(L);
		if (key_text(L, -2, &keys[n]))
			n++;
		lua_pushvalue(L, -2); /* stack: ..., key, value, key */
	}
	qsort(keys, n, sizeof(*keys), lkey_cmp);
	jw_obj(w);
	for (size_t i = 0; i < n && !w->failed; i++)
		write_member(w, L, &keys[i], redact, depth);
	jw_obj_end(w);
out:
	lua_settop(L, top);
	free(keys);
}

static void lua_table(jw *w, lua_State *L, int t, int redact, int depth)
{
	size_t count;
	if (depth >= LUA_MAX_DEPTH || !lua_checkstack(L, 8)) {
		jw_str(w, "<too deep>");
		return;
	}
	if (!is_array(L, t, &count)) {
		lua_object(w, L, t, count, redact, depth);
		return;
	}
	jw_arr(w);
	for (size_t i = 1; i <= count && i <= JW_LUA_MAX_KEYS && !w->failed; i++) {
		lua_rawgeti(L, t, (lua_Integer)i);
		lua_value(w, L, lua_gettop(L), redact, depth + 1);
		lua_pop(L, 1);
	}
	jw_arr_end(w);
}

/* An object body or a screenshot does not belong in a journal line, nor in
 * a plan: its size and the start of its SHA-256 say which one it was. */
static void long_string(jw *w, const char *s, size_t n)
{
	char tmp[96], sha[65];
	digest_sha256_hex(s, n, sha);
	snprintf(tmp, sizeof(tmp), "<%zu bytes, sha256 %.12s...>", n, sha);
	jw_str(w, tmp);
}

static void lua_value(jw *w, lua_State *L, int idx, int redact, int depth)
{
	size_t n;
	const char *s;
	if (w->failed) /* the buffer is full: walking on would only cost time */
		return;
	switch (lua_type(L, idx)) {
	case LUA_TNONE:
	case LUA_TNIL: jw_null(w); break;
	case LUA_TBOOLEAN: jw_bool(w, lua_toboolean(L, idx)); break;
	case LUA_TNUMBER:
		if (lua_isinteger(L, idx))
			jw_int(w, (long long)lua_tointeger(L, idx));
		else
			jw_num(w, lua_tonumber(L, idx));
		break;
	case LUA_TSTRING:
		s = lua_tolstring(L, idx, &n);
		if (redact && journal_secret_value(s, n))
			jw_str(w, "<redacted>");
		else if (w->shorten ? n > w->shorten : redact && n > JW_MAX_STRING)
			long_string(w, s, n);
		else
			jw_strn(w, s, n);
		break;
	case LUA_TTABLE: lua_table(w, L, lua_absindex(L, idx), redact, depth); break;
	case LUA_TLIGHTUSERDATA:
		if (!lua_touserdata(L, idx)) { /* cjson.null */
			jw_null(w);
			break;
		}
		/* fall through */
	default: jw_str(w, lua_typename(L, lua_type(L, idx))); break;
	}
}

void jw_lua(jw *w, lua_State *L, int idx, int redact)
{
	lua_value(w, L, lua_absindex(L, idx), redact, 0);
}

/* ---- Lua values, exactly (ctx.save) ---- */

/* The tables seen so far in one exact walk: an open-addressing set of
 * pointers (malloc'd, never in the Lua state). */
typedef struct ptrset {
	const void **slot;
	size_t cap, n;
} ptrset;

static size_t ptr_hash(const void *p, size_t cap)
{
	uintptr_t v = (uintptr_t)p;
	v ^= v >> 17;
	v *= (uintptr_t)0x9E3779B97F4A7C15ull;
	return (size_t)(v ^ (v >> 29)) & (cap - 1);
}

/* Adds p; 1 when it was new, 0 when already there, -1 out of memory. */
static int ptrset_add(ptrset *s, const void *p)
{
	if (2 * (s->n + 1) > s->cap) {
		size_t cap = s->cap ? 2 * s->cap : 64;
		const void **slot = calloc(cap, sizeof(*slot));
		if (!slot)
			return -1;
		for (size_t i = 0; i < s->cap; i++)
			if (s->slot[i]) {
				size_t h = ptr_hash(s->slot[i], cap);
				while (slot[h])
					h = (h + 1) & (cap - 1);
				slot[h] = s->slot[i];
			}
		free(s->slot);
		s->slot = slot;
		s->cap = cap;
	}
	size_t h = ptr_hash(p, s->cap);
	while (s->slot[h]) {
		if (s->slot[h] == p)
			return 0;
		h = (h + 1) & (s->cap - 1);
	}
	s->slot[h] = p;
	s->n++;
	return 1;
}

typedef struct exact {
	jw *w;
	lua_State *L;
	jw_view_fn view;
	ptrset seen;
	size_t work;
	char path[160];
	int failed;
	char *err;
	size_t errlen;
} exact;

static void exact_fail(exact *x, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void exact_fail(exact *x, const char *fmt, ...)
{
	char what[200];
	va_list ap;
	if (x->failed)
		return;
	x->failed = 1;
	va_start(ap, fmt);
	vsnprintf(what, sizeof(what), fmt, ap);
	va_end(ap);
	if (x->errlen)
		snprintf(x->err, x->errlen, "%s%s%s", x->path[0] ? "at " : "", x->path,
			 x->path[0] ? ": " : "");
	size_t used = x->errlen ? strlen(x->err) : 0;
	if (used < x->errlen)
		snprintf(x->err + used, x->errlen - used, "%s", what);
}

static int utf8_valid(const char *str, size_t n)
{
	const unsigned char *s = (const unsigned char *)str;
	for (size_t i = 0; i < n;) {
		if (s[i] < 0x80) {
			i++;
			continue;
		}
		size_t len = json_utf8_seq(s + i, n - i);
		if (!len)
			return 0;
		i += len;
	}
	return 1;
}

/* The key at k as JSON member text, exactly: strings as they are (UTF-8),
 * integers in decimal, floats to 17 significant digits when fewer do not
 * give the same number back, booleans as true/false. 0: not such a key. */
static int exact_key(lua_State *L, int k, lkey *e)
{
	double d;
	switch (lua_type(L, k)) {
	case LUA_TSTRING:
		e->k = lua_tolstring(L, k, &e->n);
		return utf8_valid(e->k, e->n);
	case LUA_TNUMBER:
		if (lua_isinteger(L, k)) {
			snprintf(e->num, sizeof(e->num), "%lld", (long long)lua_tointeger(L, k));
			break;
		}
		d = lua_tonumber(L, k);
		snprintf(e->num, sizeof(e->num), "%.15g", d);
		if (strtod(e->num, NULL) != d)
			snprintf(e->num, sizeof(e->num), "%.17g", d);
		break;
	case LUA_TBOOLEAN:
		snprintf(e->num, sizeof(e->num), "%s", lua_toboolean(L, k) ? "true" : "false");
		break;
	default:
		return 0;
	}
	e->k = NULL;
	e->n = strlen(e->num);
	return 1;
}

static void exact_value(exact *x, int idx, int redact, int depth);

/* Appends ".key" or "[i]" to the path while a member is written. */
static size_t path_push(exact *x, const char *k, size_t n, int index)
{
	size_t at = strlen(x->path), room = sizeof(x->path) - at;
	if (index)
		snprintf(x->path + at, room, "[%.*s]", (int)(n > 40 ? 40 : n), k);
	else
		snprintf(x->path + at, room, ".%.*s", (int)(n > 40 ? 40 : n), k);
	return at;
}

static void exact_object(exact *x, int t, size_t count, int redact, int depth)
{
	lua_State *L = x->L;
	int top = lua_gettop(L);
	size_t n = 0;
	lkey *keys;
	if (count > JW_LUA_MAX_KEYS) {
		exact_fail(x, "a table of %zu keys (at most %d)", count, JW_LUA_MAX_KEYS);
		return;
	}
	keys = calloc(count ? count : 1, sizeof(*keys));
	if (!keys || !lua_checkstack(L, (int)(2 * count + 8))) {
		exact_fail(x, "out of memory");
		goto out;
	}
	lua_pushnil(L);
	while (n < count && lua_next(L, t)) {
		keys[n].vidx = lua_gettop(L);
		if (!exact_key(L, -2, &keys[n])) {
			exact_fail(x, "a key of type %s (keys are strings of UTF-8 text, numbers "
				      "or booleans)", luaL_typename(L, -2));
			goto out;
		}
		n++;
		lua_pushvalue(L, -2); /* stack: ..., key, value, key */
	}
	qsort(keys, n, sizeof(*keys), lkey_cmp);
	for (size_t i = 1; i < n; i++)
		if (lkey_cmp(&keys[i - 1], &keys[i]) == 0) {
			exact_fail(x, "two keys are both written \"%.40s\" (say 1 and \"1\")",
				   lkey_text(&keys[i]));
			goto out;
		}
	jw_obj(x->w);
	for (size_t i = 0; i < n && !x->failed; i++) {
		const lkey *e = &keys[i];
		const char *k = lkey_text(e);
		size_t at = path_push(x, k, e->n, 0);
		x->work += e->n;
		jw_key_n(x->w, k, e->n);
		if (redact && journal_secret_key(k, e->n))
			jw_str(x->w, "<redacted>");
		else
			exact_value(x, e->vidx, redact && !(e->n == 14 && memcmp(k, "PolicyDocument", 14) == 0),
				    depth + 1);
		x->path[at] = '\0';
	}
	jw_obj_end(x->w);
out:
	lua_settop(L, top);
	free(keys);
}

static void exact_table(exact *x, int t, int redact, int depth)
{
	lua_State *L = x->L;
	size_t count;
	int data = 0;
	if (depth >= LUA_MAX_DEPTH || !lua_checkstack(L, 8)) {
		exact_fail(x, "tables nested more than %d deep", LUA_MAX_DEPTH);
		return;
	}
	if (x->view && x->view(L, t)) { /* a read-only view: its data */
		t = lua_gettop(L);
		data = 1;
	}
	int added = ptrset_add(&x->seen, lua_topointer(L, t));
	if (added <= 0) {
		exact_fail(x, added < 0 ? "out of memory"
					: "a table that appears twice (a shared sub-table or a cycle): "
					  "save a copy");
		goto out;
	}
	if (!is_array(L, t, &count)) {
		exact_object(x, t, count, redact, depth);
		goto out;
	}
	jw_arr(x->w);
	for (size_t i = 1; i <= count && !x->failed; i++) {
		char num[32];
		int n = snprintf(num, sizeof(num), "%zu", i);
		size_t at = path_push(x, num, (size_t)n, 1);
		lua_rawgeti(L, t, (lua_Integer)i);
		exact_value(x, lua_gettop(L), redact, depth + 1);
		lua_pop(L, 1);
		x->path[at] = '\0';
	}
	jw_arr_end(x->w);
out:
	if (data)
		lua_pop(L, 1);
}

static void exact_value(exact *x, int idx, int redact, int depth)
{
	lua_State *L = x->L;
	size_t n;
	const char *s;
	double d;
	if (x->failed || jw_failed(x->w))
		return;
	x->work += 8;
	switch (lua_type(L, idx)) {
	case LUA_TNONE:
	case LUA_TNIL: jw_null(x->w); break;
	case LUA_TBOOLEAN: jw_bool(x->w, lua_toboolean(L, idx)); break;
	case LUA_TNUMBER:
		if (lua_isinteger(L, idx)) {
			jw_int(x->w, (long long)lua_tointeger(L, idx));
			break;
		}
		d = lua_tonumber(L, idx);
		if (!isfinite(d))
			exact_fail(x, "a number that JSON cannot hold (%g)", d);
		else
			jw_num(x->w, d);
		break;
	case LUA_TSTRING:
		s = lua_tolstring(L, idx, &n);
		x->work += n;
		if (!utf8_valid(s, n))
			exact_fail(x, "a string that is not UTF-8 text (%zu bytes): base64 it", n);
		else if (redact && journal_secret_value(s, n))
			jw_str(x->w, "<redacted>");
		else
			jw_strn(x->w, s, n);
		break;
	case LUA_TTABLE: exact_table(x, lua_absindex(L, idx), redact, depth); break;
	case LUA_TLIGHTUSERDATA:
		if (!lua_touserdata(L, idx)) { /* json.null */
			jw_null(x->w);
			break;
		}
		/* fall through */
	default:
		exact_fail(x, "a %s value (only nil, booleans, numbers, strings and tables)",
			   luaL_typename(L, idx));
		break;
	}
}

int jw_lua_exact(jw *w, lua_State *L, int idx, jw_view_fn view, size_t *work, char *err,
		 size_t errlen)
{
	exact x;
	memset(&x, 0, sizeof(x));
	x.w = w;
	x.L = L;
	x.view = view;
	x.err = err;
	x.errlen = errlen;
	if (errlen)
		err[0] = '\0';
	exact_value(&x, lua_absindex(L, idx), 1, 0);
	free(x.seen.slot);
	if (work)
		*work = x.work;
	if (!x.failed && jw_failed(w))
		exact_fail(&x, "too large");
	return x.failed ? -1 : 0;
}

/* ---- time ---- */

/* A year that, less 1900, fits an int (struct tm's limit, kept from when
 * this was gmtime_r). */
static int year_fits(int64_t sec)
{
	int64_t y;
	int m, d;
	timestamp_civil_from_days(sec >= 0 ? sec / 86400 : -((-sec + 86399) / 86400), &y, &m, &d);
	return y - 1900 >= INT_MIN && y - 1900 <= INT_MAX;
}

/* Rounded to the nearest millisecond (not truncated as timestamp_from_epoch
 * does for AWS answers); a time past any calendar prints as the epoch. */
void journal_format_time(double t, char *out, size_t outlen)
{
	char text[TIMESTAMP_TEXT_MAX];
	timestamp_value v = { 0, 0 };
	if (t > -JOURNAL_TIME_LIMIT && t < JOURNAL_TIME_LIMIT) {
		v.sec = (int64_t)floor(t);
		v.ms = (int)lround((t - floor(t)) * 1000.0);
		if (v.ms >= 1000) {
			v.sec++;
			v.ms = 0;
		}
		if (!year_fits(v.sec))
			v.sec = v.ms = 0;
	}
	timestamp_format(&v, text);
	snprintf(out, outlen, "%s", text);
}

void journal_timestamp(char *out, size_t outlen)
{
	journal_format_time(clock_wall(), out, outlen);
}

/* ---- the journal ---- */

journal *journal_new(FILE *f)
{
	journal *j = calloc(1, sizeof(*j));
	if (!j)
		return NULL;
	j->f = f;
	j->limit = JOURNAL_RUN_LIMIT;
	buf_init(&j->line, LINE_MAX_BYTES);
	journal_new_run(j);
	return j;
}

void journal_set_file(journal *j, FILE *f)
{
	j->f = f;
}

void journal_set_limit(journal *j, size_t bytes)
{
	j->limit = bytes ? bytes : JOURNAL_RUN_LIMIT;
}

size_t journal_dropped(const journal *j)
{
	return j->dropped;
}

void journal_free(journal *j)
{
	if (!j)
		return;
	buf_free(&j->line);
	ordered_free(&j->kept);
	free(j);
}

int journal_enabled(const journal *j)
{
	return j && j->f;
}

/* A UUID v4 from the kernel's generator (a counter-and-time fallback if it
 * fails: run ids need to be unique, not secret). Not OpenSSL's RAND_bytes:
 * its first call sets up the DRBG, about 1.5 ms of a 15 ms dry run. */
void journal_new_run(journal *j)
{
	static unsigned long counter;
	unsigned char b[16];
	if (getrandom(b, sizeof(b), GRND_NONBLOCK) != (ssize_t)sizeof(b)) {
		unsigned long v = (unsigned long)time(NULL) ^ (++counter << 20);
		for (size_t i = 0; i < sizeof(b); i++)
			b[i] = (unsigned char)(v >> (i % 8 * 8)) ^ (unsigned char)i;
	}
	j->run_bytes = 0;
	j->dropped = 0;
	b[6] = (unsigned char)((b[6] & 0x0F) | 0x40);
	b[8] = (unsigned char)((b[8] & 0x3F) | 0x80);
	snprintf(j->run_id, sizeof(j->run_id),
		 "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x", b[0], b[1],
		 b[2], b[3], b[4], b[5], b[6], b[7], b[8], b[9], b[10], b[11], b[12], b[13], b[14],
		 b[15]);
}

const char *journal_run_id(const journal *j)
{
	return j->run_id;
}

jw *journal_line(journal *j, const char *event)
{
	char ts[32];
	journal_timestamp(ts, sizeof(ts));
	j->event = event;
	buf_reset(&j->line);
	jw_init(&j->w, &j->line);
	jw_obj(&j->w);
	jw_key(&j->w, "ts");
	jw_str(&j->w, ts);
	jw_key(&j->w, "run");
	jw_str(&j->w, j->run_id);
	jw_key(&j->w, "event");
	jw_str(&j->w, event);
	return &j->w;
}

static void emit_too_long(journal *j)
{
	char ts[32];
	journal_timestamp(ts, sizeof(ts));
	fprintf(j->f, "{\"ts\":\"%s\",\"run\":\"%s\",\"event\":\"journal_error\","
		      "\"error\":\"line longer than %zu bytes dropped\"}\n",
		ts, j->run_id, (size_t)LINE_MAX_BYTES);
}

/* The lines every run writes whatever it cost: how it started and ended. */
static int always_written(const char *event)
{
	return strcmp(event, "run_start") == 0 || strcmp(event, "run_end") == 0 ||
	       strcmp(event, "input_error") == 0;
}

/* The one line that says a run's journal was cut, written in place of the
 * first line past the limit. */
static void emit_cut(journal *j)
{
	char ts[32];
	journal_timestamp(ts, sizeof(ts));
	fprintf(j->f, "{\"ts\":\"%s\",\"run\":\"%s\",\"event\":\"output_cut\","
		      "\"what\":\"journal\",\"limit\":%zu,\"error\":\"this run's journal passed "
		      "%zu bytes: its later lines are dropped, run_end says how many\"}\n",
		ts, j->run_id, j->limit, j->limit);
}

int journal_emit(journal *j)
{
	int rc = 0;
	jw_obj_end(&j->w);
	if (!j->f)
		goto out;
	if (!always_written(j->event ? j->event : "") &&
	    (j->dropped || j->line.len + 1 > j->limit - (j->run_bytes < j->limit ? j->run_bytes : j->limit))) {
		if (j->dropped++ == 0)
			emit_cut(j);
		goto flush;
	}
	j->run_bytes += j->line.len + 1;
	if (jw_failed(&j->w) || j->w.depth != 0)
		emit_too_long(j);
	else if (j->held && ordered_add(&j->kept, j->order, 0, j->line.data, j->line.len) == 0)
		goto out;
	else if (fwrite(j->line.data, 1, j->line.len, j->f) != j->line.len || fputc('\n', j->f) == EOF)
		rc = -1;
flush:
	if (fflush(j->f) != 0)
		rc = -1;
out:
	buf_reset(&j->line);
	return rc;
}

/* ---- lines kept back while calls overlap ---- */

void journal_hold(journal *j)
{
	j->held = 1;
	j->order[0] = '\0';
}

void journal_set_order(journal *j, const char *key)
{
	snprintf(j->order, sizeof(j->order), "%s", key ? key : "");
}

static void write_kept(void *ud, int kind, const char *text, size_t len)
{
	journal *j = ud;
	(void)kind;
	if (j->f && fwrite(text, 1, len, j->f) == len)
		fputc('\n', j->f);
}

int journal_release(journal *j)
{
	j->held = 0;
	j->order[0] = '\0';
	ordered_take(&j->kept, write_kept, j);
	return j->f && fflush(j->f) != 0 ? -1 : 0;
}
