/* serialize_json — the json 1.1 protocol (SSM): POST /, X-Amz-Target
 * "<targetPrefix>.<Operation>", Content-Type application/x-amz-json-1.1, and
 * the params as a compact JSON object (members by locationName, else model
 * name, in model order; map keys sorted; timestamps epoch seconds unless the
 * model says otherwise; blobs base64; UTF-8 passed through, control
 * characters escaped). Also the JSON of jsonvalue headers (rest-xml). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "json_escape.h"
#include "serialize.h"

static int j_string(buf *b, const char *s, size_t n)
{
	return json_escape(b, s, n, 0);
}

static int j_token(buf *b)
{
	char uuid[CB_UUID_LEN + 1];
	if (cb_uuid4(uuid) != 0)
		return -1;
	return j_string(b, uuid, strlen(uuid));
}

static int j_struct(cb_ctx *c, buf *b, const aws_shape *s, int idx)
{
	int rc = buf_putc(b, '{'), first = 1;
	for (size_t i = 0; rc == 0 && i < s->nmembers; i++) {
		const aws_member *m = &s->members[i];
		int present = idx && cb_get_field(c->L, idx, m->name);
		if (!present && !cb_is_idempotency_token(m))
			continue;
		const char *name = cb_member_name(m, m->name);
		rc = (first ? 0 : buf_putc(b, ',')) || j_string(b, name, strlen(name)) ||
		     buf_putc(b, ':');
		first = 0;
		if (rc == 0)
			rc = present ? cb_json_value(c, b, m->shape, cb_member_ts_format(m, AWS_TS_UNIX),
						     lua_gettop(c->L))
				     : j_token(b);
		if (present)
			lua_pop(c->L, 1);
	}
	return rc == 0 ? buf_putc(b, '}') : -1;
}

static int j_list(cb_ctx *c, buf *b, const aws_shape *s, int idx)
{
	lua_Integer n = cb_list_len(c->L, idx);
	const aws_member *e = s->list_member;
	int rc = buf_putc(b, '[');
	for (lua_Integer i = 1; rc == 0 && i <= n; i++) {
		if (i > 1)
			rc = buf_putc(b, ',');
		lua_rawgeti(c->L, idx, i);
		if (rc == 0)
			rc = cb_json_value(c, b, e->shape, cb_member_ts_format(e, AWS_TS_UNIX),
					   lua_gettop(c->L));
		lua_pop(c->L, 1);
	}
	return rc == 0 ? buf_putc(b, ']') : -1;
}

static int j_map(cb_ctx *c, buf *b, const aws_shape *s, int idx)
{
	cb_key *keys;
	size_t n;
	const aws_member *v = s->map_value;
	if (cb_map_keys(c, idx, &keys, &n) != 0)
		return -1;
	int rc = buf_putc(b, '{');
	for (size_t i = 0; rc == 0 && i < n; i++) {
		rc = (i ? buf_putc(b, ',') : 0) || j_string(b, keys[i].s, keys[i].len) ||
		     buf_putc(b, ':');
		lua_pushvalue(c->L, keys[i].pos);
		lua_rawget(c->L, idx);
		if (rc == 0)
			rc = cb_json_value(c, b, v->shape, cb_member_ts_format(v, AWS_TS_UNIX),
					   lua_gettop(c->L));
		lua_pop(c->L, 1);
	}
	lua_pop(c->L, (int)n);
	free(keys);
	return rc == 0 ? buf_putc(b, '}') : -1;
}

/* A document: a list (keys 1..n, non-empty) as an array, any other table as
 * an object with its string keys sorted; integer keys of a mixed table are
 * written as strings. */
static int j_is_array(lua_State *L, int idx)
{
	lua_Integer n = 0;
	int array = 1;
	lua_pushnil(L);
	while (lua_next(L, idx)) {
		lua_pop(L, 1);
		n++;
		array = array && lua_isinteger(L, -1) && lua_tointeger(L, -1) >= 1;
	}
	return array && n > 0 && (lua_Integer)lua_rawlen(L, idx) == n;
}

static int j_document(cb_ctx *c, buf *b, const aws_shape *s, int idx);

static int j_doc_object(cb_ctx *c, buf *b, const aws_shape *s, int idx)
{
	lua_State *L = c->L;
	int rc = buf_putc(b, '{'), first = 1;
	lua_pushnil(L);
	while (rc == 0 && lua_next(L, idx)) {
		char num[24];
		size_t kn;
		const char *k = num;
		if (lua_type(L, -2) == LUA_TSTRING)
			k = lua_tolstring(L, -2, &kn);
		else
			kn = (size_t)snprintf(num, sizeof(num), "%lld", (long long)lua_tointeger(L, -2));
		rc = (first ? 0 : buf_putc(b, ',')) || j_string(b, k, kn) || buf_putc(b, ':') ||
		     j_document(c, b, s, lua_gettop(L));
		first = 0;
		lua_pop(L, 1);
	}
	if (rc != 0)
		lua_pop(L, 1);
	return rc == 0 ? buf_putc(b, '}') : -1;
}

static int j_document(cb_ctx *c, buf *b, const aws_shape *s, int idx)
{
	lua_State *L = c->L;
	char tmp[64];
	size_t n;
	int rc = 0;
	switch (lua_type(L, idx)) {
	case LUA_TSTRING: {
		const char *v = lua_tolstring(L, idx, &n);
		return j_string(b, v, n);
	}
	case LUA_TBOOLEAN:
		return buf_puts(b, lua_toboolean(L, idx) ? "true" : "false");
	case LUA_TNUMBER:
		if (lua_isinteger(L, idx))
			return buf_printf(b, "%lld", (long long)lua_tointeger(L, idx));
		cb_format_double(lua_tonumber(L, idx), tmp, sizeof(tmp));
		return buf_puts(b, tmp);
	default:
		break;
	}
	if (!lua_checkstack(L, 8))
		return -1;
	if (!j_is_array(L, idx))
		return j_doc_object(c, b, s, idx);
	lua_Integer len = (lua_Integer)lua_rawlen(L, idx);
	rc = buf_putc(b, '[');
	for (lua_Integer i = 1; rc == 0 && i <= len; i++) {
		lua_rawgeti(L, idx, i);
		rc = (i > 1 ? buf_putc(b, ',') : 0) || j_document(c, b, s, lua_gettop(L));
		lua_pop(L, 1);
	}
	return rc == 0 ? buf_putc(b, ']') : -1;
}

int cb_json_document(cb_ctx *c, buf *b, int idx)
{
	return j_document(c, b, NULL, idx);
}

static int j_number(cb_ctx *c, buf *b, const aws_shape *s, int idx)
{
	char tmp[64];
	const char *text;
	size_t n;
	if (cb_scalar_text(c->L, idx, s, AWS_TS_UNIX, tmp, sizeof(tmp), &text, &n) != 0)
		return -1;
	if (text[0] == 'N' || text[0] == 'I' || text[1] == 'I') /* NaN, +-Infinity */
		return j_string(b, text, n);
	return buf_append(b, text, n);
}

int cb_json_value(cb_ctx *c, buf *b, const aws_shape *s, int ts_format, int idx)
{
	char tmp[64];
	const char *text;
	size_t n;
	if (!lua_checkstack(c->L, 8))
		return -1;
	switch (s->type) {
	case AWS_SHAPE_STRUCTURE:
		return j_struct(c, b, s, idx);
	case AWS_SHAPE_LIST:
		return j_list(c, b, s, idx);
	case AWS_SHAPE_MAP:
		return j_map(c, b, s, idx);
	case AWS_SHAPE_DOCUMENT:
		return j_document(c, b, s, idx);
	case AWS_SHAPE_BLOB:
		text = lua_tolstring(c->L, idx, &n);
		return buf_putc(b, '"') || cb_put_base64(b, text, n) || buf_putc(b, '"');
	case AWS_SHAPE_STRING:
		text = lua_tolstring(c->L, idx, &n);
		return j_string(b, text, n);
	case AWS_SHAPE_BOOLEAN:
		return buf_puts(b, lua_toboolean(c->L, idx) ? "true" : "false");
	case AWS_SHAPE_TIMESTAMP:
		if (cb_scalar_text(c->L, idx, s, ts_format, tmp, sizeof(tmp), &text, &n) != 0)
			return -1;
		return ts_format == AWS_TS_UNIX ? buf_append(b, text, n) : j_string(b, text, n);
	default:
		return j_number(c, b, s, idx);
	}
}

int cb_serialize_json(cb_ctx *c, int idx)
{
	const aws_service *svc = c->op->service;
	char target[256], type[64];
	snprintf(target, sizeof(target), "%s.%s", svc->target_prefix ? svc->target_prefix : "",
		 c->op->name);
	snprintf(type, sizeof(type), "application/x-amz-json-%s",
		 svc->json_version ? svc->json_version : "1.0");
	if (buf_puts(&c->req->path, c->op->request_uri) != 0)
		return cb_fail(c, "out of memory");
	int rc = c->op->input ? j_struct(c, &c->req->body, c->op->input, idx)
			      : buf_puts(&c->req->body, "{}");
	if (rc != 0)
		return c->failed ? -1 : cb_fail(c, "request body too large");
	if (cb_set_header(c, "X-Amz-Target", target) != 0)
		return -1;
	return cb_set_header(c, "Content-Type", type);
}
