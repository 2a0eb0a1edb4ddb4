/* codec_validate — checks a Lua params table against an operation's input
 * shape before anything is serialized: member names, required members,
 * types, enums, lengths, ranges, list shape, nesting depth, and what the
 * wire needs (header values without CR/LF, a bucket that is a host label).
 * Raw access only; see serialize.h. */
#include <stdio.h>
#include <string.h>

#include "serialize.h"
#include "suggest.h"

static int v_value(cb_ctx *c, const aws_shape *s, int idx);
static int v_document(cb_ctx *c, const aws_shape *s, int idx);

static const char *type_phrase(int type)
{
	switch (type) {
	case AWS_SHAPE_STRING: return "a string";
	case AWS_SHAPE_INTEGER:
	case AWS_SHAPE_LONG: return "an integer";
	case AWS_SHAPE_BOOLEAN: return "a boolean";
	case AWS_SHAPE_DOUBLE:
	case AWS_SHAPE_FLOAT: return "a number";
	case AWS_SHAPE_TIMESTAMP: return "a timestamp (an ISO-8601 string or epoch seconds)";
	case AWS_SHAPE_BLOB: return "a string (bytes)";
	case AWS_SHAPE_LIST: return "a list (a table with keys 1..n)";
	case AWS_SHAPE_MAP: return "a table (map of string keys)";
	case AWS_SHAPE_STRUCTURE: return "a table";
	default: return "a JSON value";
	}
}

static int wrong_type(cb_ctx *c, const aws_shape *s)
{
	return cb_fail(c, "%s must be %s", cb_path(c), type_phrase(s->type));
}

/* Code points in a valid UTF-8 string (no overlongs, surrogates or values
 * past U+10FFFF), or -1. */
static long utf8_count(const unsigned char *s, size_t n)
{
	long count = 0;
	for (size_t i = 0; i < n; count++) {
		unsigned char b = s[i];
		size_t len = b < 0x80 ? 1 : (b & 0xe0) == 0xc0 ? 2 : (b & 0xf0) == 0xe0 ? 3
			   : (b & 0xf8) == 0xf0 ? 4 : 0;
		if (len == 0 || i + len > n)
			return -1;
		unsigned long cp = len == 1 ? b : b & (0x7f >> len);
		for (size_t k = 1; k < len; k++) {
			if ((s[i + k] & 0xc0) != 0x80)
				return -1;
			cp = (cp << 6) | (s[i + k] & 0x3f);
		}
		static const unsigned long min_cp[] = {0, 0, 0x80, 0x800, 0x10000};
		if (cp < min_cp[len] || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
			return -1;
		i += len;
	}
	return count;
}

static int check_length(cb_ctx *c, const aws_shape *s, long long n, const char *unit)
{
	if ((s->flags & AWS_SF_HAS_MIN) && n < s->min)
		return cb_fail(c, "%s must be at least %lld %s long (got %lld)", cb_path(c),
			       (long long)s->min, unit, n);
	if ((s->flags & AWS_SF_HAS_MAX) && n > s->max)
		return cb_fail(c, "%s must be at most %lld %s long (got %lld)", cb_path(c),
			       (long long)s->max, unit, n);
	return 0;
}

static int check_enum(cb_ctx *c, const aws_shape *s, const char *v, size_t n)
{
	char list[320];
	size_t used = 0;
	if (!s->nenums)
		return 0;
	for (size_t i = 0; i < s->nenums; i++)
		if (strlen(s->enums[i]) == n && memcmp(s->enums[i], v, n) == 0)
			return 0;
	list[0] = '\0';
	for (size_t i = 0; i < s->nenums && used < sizeof(list) - 1; i++) {
		int w = snprintf(list + used, sizeof(list) - used, "%s%s", i ? ", " : "",
				 s->enums[i]);
		used += w > 0 ? (size_t)w : 0;
	}
	return cb_fail(c, "%s must be one of: %s", cb_path(c), list);
}

static int v_string(cb_ctx *c, const aws_shape *s, int idx)
{
	size_t n;
	if (lua_type(c->L, idx) != LUA_TSTRING)
		return wrong_type(c, s);
	const char *v = lua_tolstring(c->L, idx, &n);
	long count = utf8_count((const unsigned char *)v, n);
	if (count < 0)
		return cb_fail(c, "%s must be valid UTF-8", cb_path(c));
	if (check_length(c, s, count, "characters") != 0)
		return -1;
	return check_enum(c, s, v, n);
}

static int check_range(cb_ctx *c, const aws_shape *s, double v)
{
	if ((s->flags & AWS_SF_HAS_MIN) && v < (double)s->min)
		return cb_fail(c, "%s must be at least %lld", cb_path(c), (long long)s->min);
	if ((s->flags & AWS_SF_HAS_MAX) && v > (double)s->max)
		return cb_fail(c, "%s must be at most %lld", cb_path(c), (long long)s->max);
	return 0;
}

static int v_integer(cb_ctx *c, const aws_shape *s, int idx)
{
	int64_t v;
	if (cb_to_int64(c->L, idx, &v) != 0)
		return wrong_type(c, s);
	if (s->type == AWS_SHAPE_INTEGER && (v < -2147483648LL || v > 2147483647LL))
		return cb_fail(c, "%s must be a 32-bit integer", cb_path(c));
	if ((s->flags & AWS_SF_HAS_MIN) && v < s->min)
		return cb_fail(c, "%s must be at least %lld", cb_path(c), (long long)s->min);
	if ((s->flags & AWS_SF_HAS_MAX) && v > s->max)
		return cb_fail(c, "%s must be at most %lld", cb_path(c), (long long)s->max);
	return 0;
}

static int v_scalar(cb_ctx *c, const aws_shape *s, int idx)
{
	cb_time t;
	size_t n;
	switch (s->type) {
	case AWS_SHAPE_BOOLEAN:
		return lua_type(c->L, idx) == LUA_TBOOLEAN ? 0 : wrong_type(c, s);
	case AWS_SHAPE_DOUBLE:
	case AWS_SHAPE_FLOAT:
		if (lua_type(c->L, idx) != LUA_TNUMBER)
			return wrong_type(c, s);
		return check_range(c, s, (double)lua_tonumber(c->L, idx));
	case AWS_SHAPE_TIMESTAMP:
		return cb_to_time(c->L, idx, &t) == 0 ? 0 : wrong_type(c, s);
	case AWS_SHAPE_BLOB:
		if (lua_type(c->L, idx) != LUA_TSTRING)
			return wrong_type(c, s);
		lua_tolstring(c->L, idx, &n);
		return check_length(c, s, (long long)n, "bytes");
	default:
		return v_integer(c, s, idx);
	}
}

/* Entering a nested table: depth and stack room. */
static int enter(cb_ctx *c, const aws_shape *s, int idx)
{
	if (lua_type(c->L, idx) != LUA_TTABLE)
		return wrong_type(c, s);
	if (c->depth >= CB_MAX_DEPTH)
		return cb_fail(c, "%s is nested more than %d tables deep (a cyclic table?)",
			       cb_path(c), CB_MAX_DEPTH);
	if (!lua_checkstack(c->L, 8))
		return cb_fail(c, "out of Lua stack");
	c->depth++;
	return 0;
}

/* A list is a table whose keys are exactly the integers 1..n. */
static int list_count(cb_ctx *c, int idx, lua_Integer *count)
{
	lua_State *L = c->L;
	lua_Integer n = 0;
	lua_pushnil(L);
	while (lua_next(L, idx)) {
		lua_pop(L, 1);
		n++;
	}
	lua_pushnil(L);
	while (lua_next(L, idx)) {
		lua_Integer k = lua_isinteger(L, -2) ? lua_tointeger(L, -2) : 0;
		lua_pop(L, 1);
		if (k < 1 || k > n) {
			lua_pop(L, 1);
			return cb_fail(c, "%s must be a list (a table with keys 1..n, no holes)",
				       cb_path(c));
		}
	}
	*count = n;
	return 0;
}

static int v_list(cb_ctx *c, const aws_shape *s, int idx)
{
	lua_Integer n = 0;
	if (enter(c, s, idx) != 0)
		return -1;
	int rc = list_count(c, idx, &n);
	if (rc == 0)
		rc = check_length(c, s, n, "items");
	for (lua_Integer i = 1; rc == 0 && i <= n; i++) {
		size_t old = cb_path_push_index(c, i);
		lua_rawgeti(c->L, idx, i);
		rc = v_value(c, s->list_member->shape, lua_gettop(c->L));
		lua_pop(c->L, 1);
		cb_path_pop(c, old);
	}
	c->depth--;
	return rc;
}

/* One map entry: stack: key, value. */
static int v_map_entry(cb_ctx *c, const aws_shape *s)
{
	lua_State *L = c->L;
	size_t klen;
	if (lua_type(L, -2) != LUA_TSTRING)
		return cb_fail(c, "%s must have string keys", cb_path(c));
	const char *k = lua_tolstring(L, -2, &klen);
	size_t old = cb_path_push_key(c, k, klen);
	int rc = v_string(c, s->map_key->shape, lua_gettop(L) - 1);
	if (rc == 0)
		rc = v_value(c, s->map_value->shape, lua_gettop(L));
	cb_path_pop(c, old);
	return rc;
}

static int v_map(cb_ctx *c, const aws_shape *s, int idx)
{
	lua_State *L = c->L;
	long long n = 0;
	int rc = 0;
	if (enter(c, s, idx) != 0)
		return -1;
	lua_pushnil(L);
	while (lua_next(L, idx)) {
		n++;
		rc = v_map_entry(c, s);
		lua_pop(L, 1);
		if (rc != 0) {
			lua_pop(L, 1);
			break;
		}
	}
	if (rc == 0)
		rc = check_length(c, s, n, "entries");
	c->depth--;
	return rc;
}

/* ---- members that go somewhere other than the body ----------------------- */

static int header_safe(cb_ctx *c, int idx)
{
	size_t n;
	if (lua_type(c->L, idx) != LUA_TSTRING)
		return 0; /* numbers, booleans, timestamps format safely */
	const char *v = lua_tolstring(c->L, idx, &n);
	for (size_t i = 0; i < n; i++)
		if (v[i] == '\r' || v[i] == '\n' || v[i] == '\0')
			return cb_fail(c, "%s must not contain CR, LF or NUL (it is sent in a header)",
				       cb_path(c));
	return 0;
}

static int header_name_safe(cb_ctx *c, const char *k, size_t n)
{
	static const char tchar[] = "!#$%&'*+-.^_`|~";
	for (size_t i = 0; i < n; i++) {
		unsigned char ch = (unsigned char)k[i];
		int ok = (ch >= '0' && ch <= '9') || (ch >= 'a' && ch <= 'z') ||
			 (ch >= 'A' && ch <= 'Z') || (ch && strchr(tchar, ch));
		if (!ok)
			return cb_fail(c, "%s has a key that is not a header name", cb_path(c));
	}
	return 0;
}

/* Every element of a header list, every entry of a header map. */
static int headers_safe(cb_ctx *c, const aws_member *m, int idx)
{
	lua_State *L = c->L;
	int rc = 0;
	if (m->shape->type != AWS_SHAPE_LIST && m->shape->type != AWS_SHAPE_MAP)
		return header_safe(c, idx);
	lua_pushnil(L);
	while (rc == 0 && lua_next(L, idx)) {
		size_t klen;
		if (m->shape->type == AWS_SHAPE_MAP) {
			const char *k = lua_tolstring(L, -2, &klen); /* a string: validated */
			rc = header_name_safe(c, k, klen);
		}
		if (rc == 0)
			rc = header_safe(c, lua_gettop(L));
		lua_pop(L, 1);
	}
	if (rc != 0)
		lua_pop(L, 1);
	return rc;
}

/* S3's bucket becomes part of the host name: a DNS-safe label only. */
static int bucket_safe(cb_ctx *c, int idx)
{
	size_t n;
	const char *v = lua_tolstring(c->L, idx, &n);
	/* "." and ".." would be path segments in a path-style URL. */
	int ok = n >= 1 && n < sizeof(c->req->bucket) && strspn(v, ".") < n;
	for (size_t i = 0; ok && i < n; i++)
		ok = (v[i] >= 'a' && v[i] <= 'z') || (v[i] >= 'A' && v[i] <= 'Z') ||
		     (v[i] >= '0' && v[i] <= '9') || v[i] == '.' || v[i] == '-' || v[i] == '_';
	if (!ok)
		return cb_fail(c, "%s must be a bucket name (at most %zu letters, digits, "
			       "'.', '-' or '_', not only dots)", cb_path(c), sizeof(c->req->bucket) - 1);
	return 0;
}

static int v_location(cb_ctx *c, const aws_member *m, int idx)
{
	switch (m->location) {
	case AWS_LOC_HEADER:
	case AWS_LOC_HEADERS:
		return headers_safe(c, m, idx);
	case AWS_LOC_URI:
		if (c->op->service->protocol == AWS_PROTO_REST_XML &&
		    strcmp(cb_member_name(m, m->name), "Bucket") == 0)
			return bucket_safe(c, idx);
		if (lua_type(c->L, idx) == LUA_TSTRING && lua_rawlen(c->L, idx) == 0)
			return cb_fail(c, "%s must not be empty (it is part of the URL path)",
				       cb_path(c));
		return 0;
	default:
		return 0;
	}
}

/* ---- structures ------------------------------------------------------------ */

static const aws_member *find_member(const aws_shape *s, const char *k, size_t n)
{
	for (size_t i = 0; i < s->nmembers; i++) {
		const char *name = s->members[i].name;
		if (strlen(name) == n && memcmp(name, k, n) == 0)
			return &s->members[i];
	}
	return NULL;
}

/* An unknown member: the nearest member's name when there is one. */
static int unknown_member(cb_ctx *c, const aws_shape *s, const char *name)
{
	suggest sg;
	suggest_init(&sg, name);
	for (size_t i = 0; i < s->nmembers; i++)
		suggest_offer(&sg, s->members[i].name);
	const char *near = suggest_best(&sg);
	if (near)
		return cb_fail(c, "unknown parameter %s: did you mean %s?", cb_path(c), near);
	return cb_fail(c, "unknown parameter %s", cb_path(c));
}

/* One entry of a structure: stack: key, value. */
static int v_struct_entry(cb_ctx *c, const aws_shape *s, int top)
{
	lua_State *L = c->L;
	size_t klen;
	if (lua_type(L, -2) != LUA_TSTRING)
		return cb_fail(c, "%s has a key that is not a string (expected member names)",
			       cb_path(c));
	const char *k = lua_tolstring(L, -2, &klen);
	const aws_member *m = find_member(s, k, klen);
	char name[80];
	snprintf(name, sizeof(name), "%.*s", (int)(klen < 64 ? klen : 64), k);
	size_t old = cb_path_push_name(c, name);
	int rc;
	if (!m)
		rc = unknown_member(c, s, name);
	else if (m->flags & AWS_MF_JSON_VALUE) /* any JSON-able value */
		rc = v_document(c, m->shape, lua_gettop(L));
	else
		rc = v_value(c, m->shape, lua_gettop(L));
	if (rc == 0 && top)
		rc = v_location(c, m, lua_gettop(L));
	cb_path_pop(c, old);
	return rc;
}

static int v_required(cb_ctx *c, const aws_shape *s, int idx)
{
	for (size_t i = 0; i < s->nmembers; i++) {
		const aws_member *m = &s->members[i];
		if (!(m->flags & AWS_MF_REQUIRED) || cb_is_idempotency_token(m))
			continue;
		if (idx && cb_get_field(c->L, idx, m->name)) {
			lua_pop(c->L, 1);
			continue;
		}
		size_t old = cb_path_push_name(c, m->name);
		cb_fail(c, "%s is required", cb_path(c));
		cb_path_pop(c, old);
		return -1;
	}
	return 0;
}

/* top: the operation's input, whose members may go to headers or the URI. */
static int v_structure_at(cb_ctx *c, const aws_shape *s, int idx, int top)
{
	lua_State *L = c->L;
	int rc = 0, set = 0;
	if (enter(c, s, idx) != 0)
		return -1;
	lua_pushnil(L);
	while (lua_next(L, idx)) {
		set++;
		rc = v_struct_entry(c, s, top);
		lua_pop(L, 1);
		if (rc != 0) {
			lua_pop(L, 1);
			break;
		}
	}
	if (rc == 0)
		rc = v_required(c, s, idx);
	if (rc == 0 && (s->flags & AWS_SF_UNION) && set != 1)
		rc = cb_fail(c, "%s must set exactly one member", cb_path(c));
	c->depth--;
	return rc;
}

/* A document: strings, numbers, booleans and tables of them. */
static int v_document(cb_ctx *c, const aws_shape *s, int idx)
{
	lua_State *L = c->L;
	int t = lua_type(L, idx), rc = 0;
	if (t == LUA_TSTRING || t == LUA_TNUMBER || t == LUA_TBOOLEAN)
		return 0;
	if (enter(c, s, idx) != 0)
		return -1;
	lua_pushnil(L);
	while (lua_next(L, idx)) {
		int kt = lua_type(L, -2);
		rc = (kt == LUA_TSTRING || lua_isinteger(L, -2)) ? v_document(c, s, lua_gettop(L))
								  : wrong_type(c, s);
		lua_pop(L, 1);
		if (rc != 0) {
			lua_pop(L, 1);
			break;
		}
	}
	c->depth--;
	return rc;
}

static int v_value(cb_ctx *c, const aws_shape *s, int idx)
{
	switch (s->type) {
	case AWS_SHAPE_STRING:
		return v_string(c, s, idx);
	case AWS_SHAPE_LIST:
		return v_list(c, s, idx);
	case AWS_SHAPE_MAP:
		return v_map(c, s, idx);
	case AWS_SHAPE_STRUCTURE:
		return v_structure_at(c, s, idx, 0);
	case AWS_SHAPE_DOCUMENT:
		return v_document(c, s, idx);
	default:
		return v_scalar(c, s, idx);
	}
}

int cb_validate(cb_ctx *c, int idx)
{
	const aws_shape *in = c->op->input;
	if (idx && lua_type(c->L, idx) != LUA_TTABLE)
		return cb_fail(c, "parameters must be a table");
	if (!in) {
		if (!idx)
			return 0;
		lua_pushnil(c->L);
		if (lua_next(c->L, idx)) {
			lua_pop(c->L, 2);
			return cb_fail(c, "takes no parameters");
		}
		return 0;
	}
	if (!idx)
		return v_required(c, in, 0);
	return v_structure_at(c, in, idx, 1);
}
