/* journal — JSON lines for every run, and the JSON writer. See journal.h. */
#include "journal.h"

#include <ctype.h>
#include <limits.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/random.h>
#include <time.h>

#include <lauxlib.h>

#include "timestamp.h"

#define LINE_MAX_BYTES ((size_t)1 << 20)
#define LUA_MAX_DEPTH 32
#define JOURNAL_TIME_LIMIT 9.2e18 /* seconds: what an int64_t holds */

struct journal {
	FILE *f;
	buf line;
	jw w;
	char run_id[40];
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

/* Length of the valid UTF-8 sequence at s (at most n bytes), or 0. */
static size_t utf8_seq(const unsigned char *s, size_t n)
{
	size_t len = s[0] >= 0xF0 ? 4 : s[0] >= 0xE0 ? 3 : 2;
	if (s[0] < 0xC2 || s[0] > 0xF4 || len > n)
		return 0;
	for (size_t i = 1; i < len; i++)
		if ((s[i] & 0xC0) != 0x80)
			return 0;
	if ((s[0] == 0xE0 && s[1] < 0xA0) || (s[0] == 0xED && s[1] > 0x9F) ||
	    (s[0] == 0xF0 && s[1] < 0x90) || (s[0] == 0xF4 && s[1] > 0x8F))
		return 0; /* overlong, surrogate, or past U+10FFFF */
	return len;
}

static void put_escaped(jw *w, const char *str, size_t n)
{
	const unsigned char *s = (const unsigned char *)str;
	char esc[8];
	put(w, "\"", 1);
	for (size_t i = 0; i < n && !w->failed;) {
		size_t run = i;
		while (run < n && s[run] >= 0x20 && s[run] < 0x80 && s[run] != '"' && s[run] != '\\')
			run++;
		put(w, str + i, run - i);
		i = run;
		if (i >= n)
			break;
		if (s[i] >= 0x80) {
			size_t len = utf8_seq(s + i, n - i);
			put(w, len ? str + i : "\\ufffd", len ? len : 6);
			i += len ? len : 1;
			continue;
		}
		if (s[i] == '"' || s[i] == '\\') {
			esc[0] = '\\';
			esc[1] = (char)s[i];
			put(w, esc, 2);
		} else if (s[i] == '\n') {
			put(w, "\\n", 2);
		} else if (s[i] == '\t') {
			put(w, "\\t", 2);
		} else {
			snprintf(esc, sizeof(esc), "\\u%04x", s[i]);
			put(w, esc, 6);
		}
		i++;
	}
	put(w, "\"", 1);
}

void jw_key(jw *w, const char *k)
{
	before_value(w);
	put_escaped(w, k, strlen(k));
	put(w, ":", 1);
	w->after_key = 1;
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
	const char *k;
	size_t n;
	char num[32];
	int vidx; /* stack index of the value */
} lkey;

static void lua_value(jw *w, lua_State *L, int idx, int redact, int depth);

static int lkey_cmp(const void *a, const void *b)
{
	const lkey *x = a, *y = b;
	size_t n = x->n < y->n ? x->n : y->n;
	int c = memcmp(x->k, y->k, n);
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
	e->k = e->num;
	e->n = strlen(e->num);
	return 1;
}

static void write_member(jw *w, lua_State *L, const lkey *e, int redact, int depth)
{
	before_value(w);
	put_escaped(w, e->k, e->n);
	put(w, ":", 1);
	w->after_key = 1;
	if (redact && journal_secret_key(e->k, e->n))
		jw_str(w, "<redacted>");
	else if (e->n == 14 && memcmp(e->k, "PolicyDocument", 14) == 0)
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
	for (size_t i = 0; i < n; i++)
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
	for (size_t i = 1; i <= count && i <= JW_LUA_MAX_KEYS; i++) {
		lua_rawgeti(L, t, (lua_Integer)i);
		lua_value(w, L, lua_gettop(L), redact, depth + 1);
		lua_pop(L, 1);
	}
	jw_arr_end(w);
}

/* An object body or a screenshot does not belong in a journal line. */
static void long_string(jw *w, size_t n)
{
	char tmp[64];
	snprintf(tmp, sizeof(tmp), "<%zu bytes>", n);
	jw_str(w, tmp);
}

static void lua_value(jw *w, lua_State *L, int idx, int redact, int depth)
{
	size_t n;
	const char *s;
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
		else if (redact && n > JW_MAX_STRING)
			long_string(w, n);
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
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	journal_format_time((double)ts.tv_sec + ts.tv_nsec / 1e9, out, outlen);
}

/* ---- the journal ---- */

journal *journal_new(FILE *f)
{
	journal *j = calloc(1, sizeof(*j));
	if (!j)
		return NULL;
	j->f = f;
	buf_init(&j->line, LINE_MAX_BYTES);
	journal_new_run(j);
	return j;
}

void journal_set_file(journal *j, FILE *f)
{
	j->f = f;
}

void journal_free(journal *j)
{
	if (!j)
		return;
	buf_free(&j->line);
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

int journal_emit(journal *j)
{
	int rc = 0;
	jw_obj_end(&j->w);
	if (!j->f)
		goto out;
	if (jw_failed(&j->w) || j->w.depth != 0)
		emit_too_long(j);
	else if (fwrite(j->line.data, 1, j->line.len, j->f) != j->line.len || fputc('\n', j->f) == EOF)
		rc = -1;
	if (fflush(j->f) != 0)
		rc = -1;
out:
	buf_reset(&j->line);
	return rc;
}
