/* codec_build — codec_build_request and the helpers its passes share:
 * error paths, raw table reads, scalar conversions, encodings.
 * See codec.h and serialize.h. */
#include "codec.h"

#include <math.h>
#include <openssl/rand.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "base64.h"
#include "serialize.h"
#include "timestamp.h"

/* ---- errors and member paths -------------------------------------------- */

int cb_fail(cb_ctx *c, const char *fmt, ...)
{
	char what[sizeof(c->err->message)];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(what, sizeof(what), fmt, ap);
	va_end(ap);
	aws_error_set(c->err, "ValidationError", "%s.%s: %s", c->op->service->name,
		      c->op->name, what);
	snprintf(c->err->op, sizeof(c->err->op), "%s.%s", c->op->service->name, c->op->name);
	c->err->status = 0;
	c->failed = 1;
	return -1;
}

static size_t path_append(cb_ctx *c, const char *s, size_t n)
{
	size_t old = c->pathlen;
	size_t room = sizeof(c->path) - 1 - c->pathlen;
	if (n > room)
		n = room;
	memcpy(c->path + c->pathlen, s, n);
	c->pathlen += n;
	c->path[c->pathlen] = '\0';
	return old;
}

size_t cb_path_push_name(cb_ctx *c, const char *name)
{
	size_t old = c->pathlen;
	if (c->pathlen)
		path_append(c, ".", 1);
	path_append(c, name, strlen(name));
	return old;
}

size_t cb_path_push_index(cb_ctx *c, lua_Integer i)
{
	char tmp[32];
	int n = snprintf(tmp, sizeof(tmp), "[%lld]", (long long)i);
	return path_append(c, tmp, (size_t)n);
}

/* ["key"], at most 64 bytes of the key, anything unprintable as '?'. */
size_t cb_path_push_key(cb_ctx *c, const char *key, size_t len)
{
	char tmp[72];
	size_t n = 0;
	tmp[n++] = '[';
	tmp[n++] = '"';
	for (size_t i = 0; i < len && i < 64; i++)
		tmp[n++] = (key[i] >= 0x20 && key[i] < 0x7f) ? key[i] : '?';
	tmp[n++] = '"';
	tmp[n++] = ']';
	return path_append(c, tmp, n);
}

void cb_path_pop(cb_ctx *c, size_t oldlen)
{
	c->pathlen = oldlen;
	c->path[oldlen] = '\0';
}

const char *cb_path(const cb_ctx *c)
{
	return c->pathlen ? c->path : "parameters";
}

/* ---- reading the Lua table ------------------------------------------------ */

int cb_get_field(lua_State *L, int t, const char *name)
{
	size_t n = strlen(name);
	lua_pushnil(L); /* stack: nil */
	while (lua_next(L, t)) {
		/* stack: key, value */
		if (lua_type(L, -2) == LUA_TSTRING) {
			size_t klen;
			const char *k = lua_tolstring(L, -2, &klen);
			if (klen == n && memcmp(k, name, n) == 0) {
				lua_remove(L, -2); /* stack: value */
				return 1;
			}
		}
		lua_pop(L, 1);
	}
	return 0;
}

lua_Integer cb_list_len(lua_State *L, int t)
{
	return (lua_Integer)lua_rawlen(L, t); /* no holes: checked by codec_validate */
}

static int key_cmp(const void *a, const void *b)
{
	const cb_key *x = a, *y = b;
	size_t n = x->len < y->len ? x->len : y->len;
	int c = memcmp(x->s, y->s, n);
	if (c)
		return c;
	return x->len < y->len ? -1 : x->len > y->len;
}

static size_t count_entries(lua_State *L, int t)
{
	size_t n = 0;
	lua_pushnil(L);
	while (lua_next(L, t)) {
		lua_pop(L, 1);
		n++;
	}
	return n;
}

int cb_map_keys(cb_ctx *c, int t, cb_key **keys, size_t *n)
{
	lua_State *L = c->L;
	size_t count = count_entries(L, t), i = 0;
	*keys = NULL;
	*n = 0;
	if (count > 1000000 || !lua_checkstack(L, (int)count + 8))
		return cb_fail(c, "%s has too many entries", cb_path(c));
	cb_key *k = calloc(count ? count : 1, sizeof(*k));
	if (!k)
		return cb_fail(c, "out of memory");
	int base = lua_gettop(L);
	lua_pushnil(L);
	while (lua_next(L, t) && i < count) {
		lua_pop(L, 1);       /* stack: keys..., key */
		lua_pushvalue(L, -1); /* stack: keys..., key, key */
		k[i].pos = base + (int)i + 1;
		k[i].s = lua_tolstring(L, -1, &k[i].len); /* a string: validated */
		i++;
		lua_insert(L, -2);   /* stack: keys..., key(kept), key(iteration) */
	}
	lua_settop(L, base + (int)i);
	qsort(k, i, sizeof(*k), key_cmp);
	*keys = k;
	*n = i;
	return 0;
}

/* ---- the model: member traits override the target shape's --------------- */

const char *cb_member_name(const aws_member *m, const char *fallback)
{
	if (m->location_name)
		return m->location_name;
	if (m->shape->location_name)
		return m->shape->location_name;
	return fallback;
}

int cb_member_flattened(const aws_member *m)
{
	return (m->flags & AWS_MF_FLATTENED) || (m->shape->flags & AWS_SF_FLATTENED);
}

int cb_member_ts_format(const aws_member *m, int protocol_default)
{
	if (m->timestamp_format)
		return m->timestamp_format;
	if (m->shape->timestamp_format)
		return m->shape->timestamp_format;
	return protocol_default;
}

const char *cb_member_ns(const aws_member *m)
{
	return m->xml_namespace ? m->xml_namespace : m->shape->xml_namespace;
}

int cb_is_idempotency_token(const aws_member *m)
{
	return (m->flags & AWS_MF_IDEMPOTENCY_TOKEN) != 0;
}

/* ---- scalars -------------------------------------------------------------- */

int cb_to_int64(lua_State *L, int idx, int64_t *out)
{
	if (lua_type(L, idx) != LUA_TNUMBER)
		return -1;
	if (lua_isinteger(L, idx)) {
		*out = (int64_t)lua_tointeger(L, idx);
		return 0;
	}
	lua_Number d = lua_tonumber(L, idx);
	if (d != floor(d) || !(d >= -9223372036854775808.0 && d < 9223372036854775808.0))
		return -1;
	*out = (int64_t)d;
	return 0;
}

static int digits(const char **p, int n, int *out)
{
	int v = 0;
	for (int i = 0; i < n; i++) {
		char ch = (*p)[i];
		if (ch < '0' || ch > '9')
			return -1;
		v = v * 10 + (ch - '0');
	}
	*p += n;
	*out = v;
	return 0;
}

/* "Z", "+hh:mm", "+hhmm", "+hh" (or '-') at *p: the offset in seconds. */
static int parse_zone(const char *p, int *offset)
{
	int h = 0, m = 0;
	*offset = 0;
	if (*p == '\0' || ((*p == 'Z' || *p == 'z') && p[1] == '\0'))
		return 0;
	if (*p != '+' && *p != '-')
		return -1;
	int sign = *p++ == '-' ? -1 : 1;
	if (digits(&p, 2, &h) != 0)
		return -1;
	if (*p == ':')
		p++;
	if (*p && digits(&p, 2, &m) != 0)
		return -1;
	if (*p || h > 23 || m > 59)
		return -1;
	*offset = sign * (h * 3600 + m * 60);
	return 0;
}

/* "hh:mm[:ss[.frac]]" at *p. */
static int parse_clock(const char **p, int *h, int *mi, int *s, int32_t *usec)
{
	*s = 0;
	*usec = 0;
	if (digits(p, 2, h) != 0 || **p != ':')
		return -1;
	(*p)++;
	if (digits(p, 2, mi) != 0)
		return -1;
	if (**p == ':') {
		(*p)++;
		if (digits(p, 2, s) != 0)
			return -1;
		if (**p == '.' || **p == ',') {
			int32_t scale = 100000;
			(*p)++;
			if (**p < '0' || **p > '9')
				return -1;
			for (; **p >= '0' && **p <= '9'; (*p)++, scale /= 10)
				*usec += (**p - '0') * scale;
		}
	}
	return *h > 23 || *mi > 59 || *s > 59 ? -1 : 0;
}

/* YYYY-MM-DD[(T| )hh:mm[:ss[.frac]][zone]]. Not timestamp_parse_iso8601 on
 * purpose: a request keeps microseconds (cb_format_time writes ".ffffffZ"),
 * and the basic form, the RFC 822 form and out-of-range zones are refused. */
static int parse_iso8601(const char *p, cb_time *out)
{
	int y, mo, d, h = 0, mi = 0, s = 0, off = 0;
	int32_t usec = 0;
	if (digits(&p, 4, &y) != 0 || *p++ != '-' || digits(&p, 2, &mo) != 0 ||
	    *p++ != '-' || digits(&p, 2, &d) != 0)
		return -1;
	if (y < 1 || mo < 1 || mo > 12 || d < 1 || d > timestamp_days_in_month(y, mo))
		return -1;
	if (*p == 'T' || *p == 't' || *p == ' ') {
		p++;
		if (parse_clock(&p, &h, &mi, &s, &usec) != 0)
			return -1;
	}
	if (parse_zone(p, &off) != 0)
		return -1;
	out->sec = timestamp_days_from_civil(y, mo, d) * 86400 + h * 3600 + mi * 60 + s - off;
	out->usec = usec;
	return 0;
}

static int time_from_double(double d, cb_time *out)
{
	if (!(d > -1e13 && d < 1e13))
		return -1;
	double whole = floor(d);
	out->sec = (int64_t)whole;
	out->usec = (int32_t)llround((d - whole) * 1e6);
	if (out->usec >= 1000000) {
		out->sec++;
		out->usec = 0;
	}
	return 0;
}

/* Years 1..9999, as Python's datetime (and so botocore) allows. */
#define CB_TIME_MIN (-62135596800LL)
#define CB_TIME_MAX 253402300799LL

int cb_to_time(lua_State *L, int idx, cb_time *out)
{
	int rc = -1;
	out->usec = 0;
	if (lua_type(L, idx) == LUA_TNUMBER) {
		if (lua_isinteger(L, idx)) {
			out->sec = (int64_t)lua_tointeger(L, idx);
			rc = 0;
		} else {
			rc = time_from_double(lua_tonumber(L, idx), out);
		}
	} else if (lua_type(L, idx) == LUA_TSTRING) {
		size_t n;
		const char *s = lua_tolstring(L, idx, &n);
		char *end = NULL;
		double d = n ? strtod(s, &end) : 0;
		if (strlen(s) != n)
			rc = -1;
		else if (end == s + n && n > 0 && s[0] != ' ')
			rc = time_from_double(d, out); /* epoch seconds as a string */
		else
			rc = parse_iso8601(s, out);
	}
	if (rc == 0 && (out->sec < CB_TIME_MIN || out->sec > CB_TIME_MAX))
		rc = -1;
	return rc;
}

void cb_format_time(const cb_time *t, int format, char *out, size_t outlen)
{
	static const char *const wd[] = {"Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"};
	static const char *const mon[] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
					  "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
	struct tm tm;
	time_t sec = (time_t)t->sec;
	if (format == AWS_TS_UNIX || !gmtime_r(&sec, &tm)) {
		snprintf(out, outlen, "%lld", (long long)t->sec);
	} else if (format == AWS_TS_RFC822) {
		snprintf(out, outlen, "%s, %02d %s %04d %02d:%02d:%02d GMT", wd[tm.tm_wday],
			 tm.tm_mday, mon[tm.tm_mon], tm.tm_year + 1900, tm.tm_hour, tm.tm_min,
			 tm.tm_sec);
	} else {
		int n = snprintf(out, outlen, "%04d-%02d-%02dT%02d:%02d:%02d", tm.tm_year + 1900,
				 tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec);
		if (n > 0 && (size_t)n < outlen)
			snprintf(out + n, outlen - (size_t)n, t->usec ? ".%06dZ" : "Z", (int)t->usec);
	}
}

/* Python's repr: the shortest digits that read back as v, in fixed notation
 * for exponents -4..15 ("0.0001", "123.0") and scientific otherwise ("1e+16"). */
void cb_format_double(double v, char *out, size_t outlen)
{
	if (isnan(v) || isinf(v)) {
		snprintf(out, outlen, "%s", isnan(v) ? "NaN" : v > 0 ? "Infinity" : "-Infinity");
		return;
	}
	char e[40], dig[24];
	int p, exp, nd = 0;
	for (p = 1; p < 17; p++) {
		snprintf(e, sizeof(e), "%.*e", p - 1, v);
		if (strtod(e, NULL) == v)
			break;
	}
	snprintf(e, sizeof(e), "%.*e", p - 1, v);
	const char *s = e + (e[0] == '-');
	for (; *s && *s != 'e'; s++)
		if (*s != '.')
			dig[nd++] = *s;
	dig[nd] = '\0';
	exp = (int)strtol(s + 1, NULL, 10);
	buf b = BUF_INIT;
	if (e[0] == '-')
		buf_putc(&b, '-');
	if (exp < -4 || exp >= 16) {
		buf_append(&b, dig, 1);
		if (nd > 1)
			buf_printf(&b, ".%s", dig + 1);
		buf_printf(&b, "e%c%02d", exp < 0 ? '-' : '+', exp < 0 ? -exp : exp);
	} else if (exp < 0) {
		buf_printf(&b, "0.%.*s%s", -exp - 1, "0000", dig);
	} else {
		for (int i = 0; i <= exp; i++)
			buf_putc(&b, i < nd ? dig[i] : '0');
		buf_printf(&b, ".%s", nd > exp + 1 ? dig + exp + 1 : "0");
	}
	snprintf(out, outlen, "%s", buf_cstr(&b));
	buf_free(&b);
}

static int number_text(lua_State *L, int idx, const aws_shape *s, char *tmp, size_t tmplen)
{
	int64_t i;
	if (s->type == AWS_SHAPE_INTEGER || s->type == AWS_SHAPE_LONG ||
	    lua_isinteger(L, idx)) {
		if (cb_to_int64(L, idx, &i) != 0)
			return -1;
		snprintf(tmp, tmplen, "%lld", (long long)i);
		return 0;
	}
	if (lua_type(L, idx) != LUA_TNUMBER)
		return -1;
	cb_format_double(lua_tonumber(L, idx), tmp, tmplen);
	return 0;
}

int cb_scalar_text(lua_State *L, int idx, const aws_shape *s, int ts_format,
		   char *tmp, size_t tmplen, const char **text, size_t *len)
{
	cb_time t;
	*text = tmp;
	switch (s->type) {
	case AWS_SHAPE_STRING:
		if (lua_type(L, idx) != LUA_TSTRING)
			return -1;
		*text = lua_tolstring(L, idx, len);
		return 0;
	case AWS_SHAPE_BOOLEAN:
		snprintf(tmp, tmplen, "%s", lua_toboolean(L, idx) ? "true" : "false");
		break;
	case AWS_SHAPE_TIMESTAMP:
		if (cb_to_time(L, idx, &t) != 0)
			return -1;
		cb_format_time(&t, ts_format, tmp, tmplen);
		break;
	case AWS_SHAPE_INTEGER:
	case AWS_SHAPE_LONG:
	case AWS_SHAPE_DOUBLE:
	case AWS_SHAPE_FLOAT:
		if (number_text(L, idx, s, tmp, tmplen) != 0)
			return -1;
		break;
	default:
		return -1;
	}
	*len = strlen(tmp);
	return 0;
}

/* ---- encodings -------------------------------------------------------------- */

int cb_put_base64(buf *b, const void *data, size_t n)
{
	const unsigned char *p = data;
	char out[BASE64_ENCODED_SIZE(768)];
	while (n > 0) {
		size_t chunk = n > 768 ? 768 : n; /* a multiple of 3: no padding inside */
		if (buf_append(b, out, base64_encode(p, chunk, out)) != 0)
			return -1;
		p += chunk;
		n -= chunk;
	}
	return buf_append(b, "", 0);
}

int cb_put_form_encoded(buf *b, const char *s, size_t n)
{
	static const char hex[] = "0123456789ABCDEF";
	for (size_t i = 0; i < n; i++) {
		unsigned char ch = (unsigned char)s[i];
		int plain = (ch >= 'A' && ch <= 'Z') || (ch >= 'a' && ch <= 'z') ||
			    (ch >= '0' && ch <= '9') || ch == '-' || ch == '_' || ch == '.' ||
			    ch == '~';
		char esc[3] = {'%', hex[ch >> 4], hex[ch & 15]};
		int rc = plain ? buf_putc(b, (char)ch)
			       : ch == ' ' ? buf_putc(b, '+') : buf_append(b, esc, 3);
		if (rc != 0)
			return -1;
	}
	return buf_append(b, "", 0);
}

int cb_uuid4(char out[CB_UUID_LEN + 1])
{
	unsigned char r[16];
	if (RAND_bytes(r, sizeof(r)) != 1)
		return -1;
	r[6] = (unsigned char)((r[6] & 0x0f) | 0x40); /* version 4 */
	r[8] = (unsigned char)((r[8] & 0x3f) | 0x80); /* RFC 4122 variant */
	snprintf(out, CB_UUID_LEN + 1,
		 "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x",
		 r[0], r[1], r[2], r[3], r[4], r[5], r[6], r[7], r[8], r[9], r[10], r[11],
		 r[12], r[13], r[14], r[15]);
	return 0;
}

int cb_set_header(cb_ctx *c, const char *name, const char *value)
{
	if (aws_request_set_header(c->req, name, value) != 0)
		return cb_fail(c, "cannot add header %s (out of memory or too many headers)", name);
	return 0;
}

/* ---- the entry point -------------------------------------------------------- */

static int serialize(cb_ctx *c, int idx)
{
	c->req->method = c->op->http_method;
	switch (c->op->service->protocol) {
	case AWS_PROTO_EC2:
	case AWS_PROTO_QUERY:
		return cb_serialize_query(c, idx);
	case AWS_PROTO_JSON:
		return cb_serialize_json(c, idx);
	case AWS_PROTO_REST_XML:
		return cb_serialize_restxml(c, idx);
	default:
		return cb_fail(c, "protocol %s is not supported", c->op->service->protocol_name);
	}
}

int codec_build_request(lua_State *L, const aws_operation *op, int params,
			aws_request *req, aws_error *err)
{
	cb_ctx c = {.L = L, .op = op, .req = req, .err = err};
	int top = lua_gettop(L);
	int idx = lua_isnoneornil(L, params) ? 0 : lua_absindex(L, params);
	int rc = -1;
	if (!lua_checkstack(L, 16)) {
		cb_fail(&c, "out of Lua stack");
		goto out;
	}
	if (cb_validate(&c, idx) != 0)
		goto out;
	rc = serialize(&c, idx);
out:
	buf_free(&c.scratch);
	lua_settop(L, top);
	return rc;
}

typedef struct check_call {
	const aws_operation *op;
	aws_request *req;
	aws_error *err;
	int rc;
} check_call;

/* stack: check_call, params (a copy: a C function sees only its own frame) */
static int check_protected(lua_State *L)
{
	check_call *x = lua_touserdata(L, 1);
	x->rc = codec_build_request(L, x->op, 2, x->req, x->err);
	return 0;
}

int codec_check_request(lua_State *L, const aws_operation *op, int params, aws_error *err)
{
	aws_request req;
	check_call x = {op, &req, err, -1};
	memset(&req, 0, sizeof(req));
	params = lua_absindex(L, params);
	if (!lua_checkstack(L, 4)) {
		aws_error_set(err, "ValidationError", "%s: out of Lua stack", op->name);
		return -1;
	}
	lua_pushcfunction(L, check_protected);
	lua_pushlightuserdata(L, &x);
	lua_pushvalue(L, params);
	int st = lua_pcall(L, 2, 0, 0);
	aws_request_free(&req);
	if (st == LUA_ERRMEM)
		lua_error(L); /* the request is freed; the error object is on the stack */
	if (st != LUA_OK) {
		const char *msg = lua_type(L, -1) == LUA_TSTRING ? lua_tostring(L, -1) : "error";
		aws_error_set(err, "InternalError", "%s: %s", op->name, msg);
		lua_pop(L, 1);
		return -1;
	}
	return x.rc;
}
