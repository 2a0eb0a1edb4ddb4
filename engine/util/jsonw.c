#include "jsonw.h"

#include "json_escape.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

#define JSONW_MAX_DEPTH 64

typedef struct jw {
	lua_State *L;
	buf *out;
	char *err;
	size_t errlen;
} jw;

static int write_value(jw *w, int idx, const aws_shape *shape, int depth);

int jsonw_string(buf *out, const char *s, size_t len)
{
	return json_escape(out, s, len, JSON_ESC_UTF8);
}

static int fail(jw *w, const char *what)
{
	snprintf(w->err, w->errlen, "%s", what);
	return -1;
}

static int write_number(jw *w, int idx)
{
	if (lua_isinteger(w->L, idx))
		return buf_printf(w->out, "%lld", (long long)lua_tointeger(w->L, idx));
	double d = lua_tonumber(w->L, idx);
	if (!isfinite(d))
		return fail(w, "a number that is not finite");
	return buf_printf(w->out, "%.17g", d);
}

/* 1..n with no other keys: a list. */
static int is_array(lua_State *L, int idx)
{
	lua_Integer n = (lua_Integer)lua_rawlen(L, idx), count = 0;
	lua_pushnil(L);
	while (lua_next(L, idx)) {
		lua_pop(L, 1);
		if (!lua_isinteger(L, -1) || lua_tointeger(L, -1) < 1 || lua_tointeger(L, -1) > n) {
			lua_pop(L, 1);
			return 0;
		}
		count++;
	}
	return count == n && n > 0;
}

static const aws_shape *member_shape(const aws_shape *s, lua_State *L, int key)
{
	if (!s || lua_type(L, key) != LUA_TSTRING)
		return NULL;
	if (s->type == AWS_SHAPE_MAP)
		return s->map_value->shape;
	if (s->type != AWS_SHAPE_STRUCTURE)
		return NULL;
	const aws_member *m = model_member_find(s, lua_tostring(L, key));
	return m ? m->shape : NULL;
}

static int write_array(jw *w, int idx, const aws_shape *shape, int depth)
{
	const aws_shape *elem = shape && shape->type == AWS_SHAPE_LIST ? shape->list_member->shape : NULL;
	lua_Integer n = (lua_Integer)lua_rawlen(w->L, idx);
	if (buf_putc(w->out, '[') != 0)
		return -1;
	for (lua_Integer i = 1; i <= n; i++) {
		lua_rawgeti(w->L, idx, i);
		int rc = (i > 1 && buf_putc(w->out, ',') != 0) || write_value(w, lua_gettop(w->L), elem, depth + 1);
		lua_pop(w->L, 1);
		if (rc)
			return -1;
	}
	return buf_putc(w->out, ']');
}

static int write_object(jw *w, int idx, const aws_shape *shape, int depth)
{
	int first = 1;
	if (buf_putc(w->out, '{') != 0)
		return -1;
	lua_pushnil(w->L);
	while (lua_next(w->L, idx)) {
		int top = lua_gettop(w->L);
		size_t klen;
		const char *k = lua_type(w->L, top - 1) == LUA_TSTRING ? lua_tolstring(w->L, top - 1, &klen) : NULL;
		int rc = !k ? fail(w, "a table key that is not a string") :
			     ((!first && buf_putc(w->out, ',') != 0) || jsonw_string(w->out, k, klen) ||
			      buf_putc(w->out, ':') || write_value(w, top, member_shape(shape, w->L, top - 1), depth + 1));
		lua_pop(w->L, 1);
		if (rc) {
			lua_pop(w->L, 1);
			return -1;
		}
		first = 0;
	}
	return buf_putc(w->out, '}');
}

static int write_table(jw *w, int idx, const aws_shape *shape, int depth)
{
	if (depth > JSONW_MAX_DEPTH)
		return fail(w, "nesting deeper than 64");
	if (!lua_checkstack(w->L, 4))
		return fail(w, "no Lua stack left");
	int empty = (lua_pushnil(w->L), lua_next(w->L, idx) == 0);
	if (!empty)
		lua_pop(w->L, 2);
	if (empty)
		return buf_puts(w->out, shape && shape->type == AWS_SHAPE_LIST ? "[]" : "{}");
	if ((shape && shape->type == AWS_SHAPE_LIST) || (!shape && is_array(w->L, idx)))
		return write_array(w, idx, shape, depth);
	return write_object(w, idx, shape, depth);
}

static int write_value(jw *w, int idx, const aws_shape *shape, int depth)
{
	size_t len;
	const char *s;
	switch (lua_type(w->L, idx)) {
	case LUA_TNIL:
	case LUA_TLIGHTUSERDATA: /* cjson.null */
		return buf_puts(w->out, "null");
	case LUA_TBOOLEAN:
		return buf_puts(w->out, lua_toboolean(w->L, idx) ? "true" : "false");
	case LUA_TNUMBER:
		return write_number(w, idx);
	case LUA_TSTRING:
		s = lua_tolstring(w->L, idx, &len);
		return jsonw_string(w->out, s, len);
	case LUA_TTABLE:
		return write_table(w, lua_absindex(w->L, idx), shape, depth);
	default:
		return fail(w, "a value JSON cannot hold");
	}
}

int jsonw_value(lua_State *L, int idx, const aws_shape *shape, buf *out, char *err, size_t errlen)
{
	jw w = {L, out, err, errlen};
	if (errlen)
		err[0] = '\0';
	int rc = write_value(&w, lua_absindex(L, idx), shape, 0);
	if (rc && err && !err[0])
		snprintf(err, errlen, "output too large");
	return rc ? -1 : 0;
}
