/* codec_decode — codec_parse_response and codec_push_placeholder (codec.h):
 * AWS responses to Lua tables in boto3's shapes, read the way botocore's
 * parsers (botocore/parsers.py) read them, walking the generated model.
 *
 *
 * Memory: the body is parsed into a malloc'd tree (xml.h, json_tree.h) before
 * any Lua call; the tree is then walked and pushed inside a lua_pcall of
 * push_protected, and freed after that pcall returns, whatever happened. A
 * memory error is re-raised after the free; any other error (a value that does
 * not fit the model) becomes "InvalidResponse". Error responses touch no Lua.
 *
 * Where this deliberately differs from botocore (each is an edge botocore
 * answers with an exception or a Python-only value):
 *  - a null inside a JSON list or map is skipped (Lua tables hold no nil);
 *  - an XML map entry with an unknown tag, or without key or value, is skipped;
 *  - a query result without its <XxxResult> wrapper decodes as empty;
 *  - a 2xx json body that is not JSON is an InvalidResponse (botocore: {});
 *  - a body of blanks is an empty body (botocore: an XML syntax error);
 *  - tagged unions get no "exactly one member" check (none is decoded here);
 *  - RequestId falls back to the x-amzn-RequestId / x-amz-request-id headers
 *    when an ec2/query body has none;
 *  - an error with an empty body, or a body that is not an AWS error, gets a
 *    code of ours (NotFound, Forbidden, ..., "HTTP503") instead of "404". */
#include "text.h"
#include "codec.h"

#include <errno.h>
#include <lauxlib.h>
#include <math.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "base64.h"
#include "json_tree.h"
#include "model_types.h"
#include "timestamp.h"
#include "xml.h"

#define EXCERPT_MAX 100 /* printable characters of a non-AWS body in a message */
#define PH_MAX_DEPTH 3  /* nesting of placeholder structures */
#define SCALAR_MAX TEXT_NUMBER_MAX /* longest number text we look at */

typedef struct dctx {
	lua_State *L;
	const aws_operation *op;
	const http_response *resp;
	xml_doc *xdoc;     /* the XML body, or NULL */
	jt_doc *jdoc;      /* the JSON body, or NULL */
	jt_doc *scratch;   /* a jsonvalue header's tree; freed with the body */
	int failed;        /* push_protected stopped on a value that did not fit */
	int keys;          /* stack index of the member-name key table (push_key) */
	char why[256];
} dctx;

/* ==== small helpers ===================================================== */

static const char *resp_header(const http_response *r, const char *name)
{
	for (size_t i = 0; i < r->nheaders; i++)
		if (r->header_names[i] && strcasecmp(r->header_names[i], name) == 0)
			return r->header_values[i] ? r->header_values[i] : "";
	return NULL;
}

static const char *header_request_id(const http_response *r)
{
	const char *id = resp_header(r, "x-amzn-requestid");
	return id ? id : resp_header(r, "x-amz-request-id");
}

static int body_blank(const http_response *r)
{
	const char *s = r->body.data ? r->body.data : "";
	size_t len = r->body.len;
	text_trim(&s, &len);
	return len == 0;
}

static int is_flattened(const aws_member *m)
{
	return (m->flags & AWS_MF_FLATTENED) || (m->shape->flags & AWS_SF_FLATTENED);
}

/* botocore's serialization "name": member locationName over shape locationName. */
static const char *wire_name(const aws_member *m, const char *fallback)
{
	if (m->location_name)
		return m->location_name;
	if (m->shape->location_name)
		return m->shape->location_name;
	return m->name ? m->name : fallback;
}

/* The tag a structure member is found under (botocore _member_key_name). */
static const char *member_key(const aws_member *m)
{
	const aws_shape *s = m->shape;
	if (s->type == AWS_SHAPE_LIST && is_flattened(m)) {
		const char *n = s->list_member ? wire_name(s->list_member, NULL) : NULL;
		if (n)
			return n;
	}
	return wire_name(m, m->name);
}

/* Raises out of push_protected; codec_parse_response reports InvalidResponse. */
static void d_fail(dctx *c, const char *fmt, ...) __attribute__((format(printf, 2, 3), noreturn));
static void d_fail(dctx *c, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(c->why, sizeof(c->why), fmt, ap);
	va_end(ap);
	c->failed = 1;
	lua_pushnil(c->L);
	lua_error(c->L);
	abort(); /* not reached */
}

/* ==== member keys ======================================================= */

/* Results are tables keyed by member names, a hundred or more per answer.
 * lua_setfield would hash each name again (its pointer cache is too small
 * for that many) and re-create the strings the previous result's collection
 * freed. Instead every member name gets a small number (key_id, by the
 * address of the model's string), each lua_State keeps the name's Lua string
 * at that number in a table in its registry, and fields are set raw: the
 * tables filled here are fresh and have no metatable, so raw is the same.
 * The numbering is process-wide and not thread-safe (deadbolt is not
 * threaded). */
#define KEY_IDS 1024 /* a power of two; numbers given: up to half of it */

static const char *key_names[KEY_IDS]; /* open addressing by address */
static int key_numbers[KEY_IDS];
static int key_count;

static const char key_table_id; /* its address is the registry key */

/* The number of a model name string, 1..KEY_IDS/2; 0 once they ran out. */
static int key_id(const char *name)
{
	size_t i = (size_t)(((uint64_t)(uintptr_t)name * 0x9E3779B97F4A7C15u) >> 54);
	for (;; i = (i + 1) & (KEY_IDS - 1)) {
		if (key_names[i] == name)
			return key_numbers[i];
		if (!key_names[i])
			break;
	}
	if (key_count >= KEY_IDS / 2)
		return 0;
	key_names[i] = name;
	key_numbers[i] = ++key_count;
	return key_count;
}

/* Pushes the key table (created on first use in this lua_State). */
static void push_key_table(lua_State *L)
{
	if (lua_rawgetp(L, LUA_REGISTRYINDEX, &key_table_id) == LUA_TTABLE)
		return;
	lua_pop(L, 1);
	lua_createtable(L, 128, 0);
	lua_pushvalue(L, -1);
	lua_rawsetp(L, LUA_REGISTRYINDEX, &key_table_id);
}

/* Pushes the Lua string of a model name, from the key table when there. */
static void push_key(dctx *c, const char *name)
{
	lua_State *L = c->L;
	int id = key_id(name);
	if (id && lua_rawgeti(L, c->keys, id) == LUA_TSTRING)
		return;
	if (id)
		lua_pop(L, 1);
	lua_pushstring(L, name);
	if (id) {
		lua_pushvalue(L, -1);
		lua_rawseti(L, c->keys, id);
	}
}

/* ==== numbers, booleans ================================================= */

/* Copies trimmed text into a NUL-terminated scratch; -1 when too long/empty. */
static int scalar_copy(const char *s, size_t len, char out[SCALAR_MAX + 1])
{
	text_trim(&s, &len);
	if (len == 0 || len > SCALAR_MAX)
		return -1;
	memcpy(out, s, len);
	out[len] = '\0';
	return 0;
}

/* Python's int(text). Pushes an integer, or a float past the int64 range. */
static void push_int(dctx *c, const char *s, size_t len)
{
	char tmp[SCALAR_MAX + 1], *end;
	if (scalar_copy(s, len, tmp) != 0)
		d_fail(c, "not an integer: \"%.40s\"", s);
	errno = 0;
	long long v = strtoll(tmp, &end, 10);
	if (*end != '\0' || end == tmp)
		d_fail(c, "not an integer: \"%.40s\"", tmp);
	if (errno == ERANGE)
		lua_pushnumber(c->L, strtod(tmp, NULL));
	else
		lua_pushinteger(c->L, (lua_Integer)v);
}

/* ==== timestamps ========================================================= */

/* Parsing and printing are timestamp.c's; these push what it makes. */

static void push_ts(lua_State *L, const timestamp_value *t)
{
	char out[TIMESTAMP_TEXT_MAX];
	lua_pushlstring(L, out, timestamp_format(t, out));
}

static void push_timestamp_text(dctx *c, const char *s, size_t len)
{
	timestamp_value t;
	if (timestamp_parse_text(s, len, &t) != 0)
		d_fail(c, "not a timestamp: \"%.40s\"", s);
	push_ts(c->L, &t);
}

/* ==== base64 ============================================================= */

/* Leniently (base64.h: as botocore), into Lua's memory (a luaL_Buffer), so
 * nothing leaks on a raise. */
static void push_base64(lua_State *L, const char *s, size_t len)
{
	luaL_Buffer b;
	char *out = luaL_buffinitsize(L, &b, BASE64_LENIENT_SIZE(len));
	luaL_pushresultsize(&b, base64_decode_lenient(s, len, out));
}

/* ==== JSON values ======================================================== */

static int j_generic(dctx *c, const jt_node *v);

static void j_generic_container(dctx *c, const jt_node *v)
{
	lua_State *L = c->L;
	luaL_checkstack(L, 4, "json nesting");
	lua_createtable(L, v->type == JT_ARRAY ? (int)v->n : 0, v->type == JT_OBJECT ? (int)v->n : 0);
	lua_Integer i = 0;
	for (const jt_node *e = v->first; e; e = e->next) {
		if (v->type == JT_OBJECT)
			lua_pushlstring(L, e->key, e->key_len);
		if (!j_generic(c, e)) {
			if (v->type == JT_OBJECT)
				lua_pop(L, 1);
			continue;
		}
		if (v->type == JT_OBJECT)
			lua_rawset(L, -3);
		else
			lua_rawseti(L, -2, ++i);
	}
}

/* A JSON value as is (botocore's _default_handle). 0 for null: nothing pushed. */
static int j_generic(dctx *c, const jt_node *v)
{
	switch (v->type) {
	case JT_NULL:
		return 0;
	case JT_FALSE:
	case JT_TRUE:
		lua_pushboolean(c->L, v->type == JT_TRUE);
		return 1;
	case JT_INT:
		lua_pushinteger(c->L, (lua_Integer)v->i);
		return 1;
	case JT_NUMBER:
		lua_pushnumber(c->L, v->d);
		return 1;
	case JT_STRING:
		lua_pushlstring(c->L, v->str, v->len);
		return 1;
	default:
		j_generic_container(c, v);
		return 1;
	}
}

static int j_value(dctx *c, const aws_shape *s, const jt_node *v);

static int j_structure(dctx *c, const aws_shape *s, const jt_node *v)
{
	if (v->type != JT_OBJECT)
		return 0;
	luaL_checkstack(c->L, 4, "json nesting");
	lua_createtable(c->L, 0, (int)(v->n < s->nmembers ? v->n : s->nmembers));
	for (size_t i = 0; i < s->nmembers; i++) {
		const aws_member *m = &s->members[i];
		const jt_node *mv = json_tree_get(v, wire_name(m, m->name));
		if (!mv)
			continue;
		push_key(c, m->name); /* stack: t, key */
		if (j_value(c, m->shape, mv))
			lua_rawset(c->L, -3);
		else
			lua_pop(c->L, 1);
	}
	return 1;
}

static int j_list(dctx *c, const aws_shape *s, const jt_node *v)
{
	if (v->type != JT_ARRAY)
		return 0;
	luaL_checkstack(c->L, 4, "json nesting");
	lua_createtable(c->L, (int)v->n, 0);
	lua_Integer i = 0;
	for (const jt_node *e = v->first; e; e = e->next)
		if (j_value(c, s->list_member->shape, e))
			lua_rawseti(c->L, -2, ++i);
	return 1;
}

static int j_map(dctx *c, const aws_shape *s, const jt_node *v)
{
	if (v->type != JT_OBJECT)
		return 0;
	luaL_checkstack(c->L, 4, "json nesting");
	lua_createtable(c->L, 0, (int)v->n);
	for (const jt_node *e = v->first; e; e = e->next) {
		lua_pushlstring(c->L, e->key, e->key_len);
		if (j_value(c, s->map_value->shape, e))
			lua_rawset(c->L, -3);
		else
			lua_pop(c->L, 1);
	}
	return 1;
}

/* One JSON value of shape s; 0 when nothing was pushed (null, wrong kind). */
static int j_value(dctx *c, const aws_shape *s, const jt_node *v)
{
	if (v->type == JT_NULL)
		return 0;
	switch (s->type) {
	case AWS_SHAPE_STRUCTURE:
		return j_structure(c, s, v);
	case AWS_SHAPE_LIST:
		return j_list(c, s, v);
	case AWS_SHAPE_MAP:
		return j_map(c, s, v);
	case AWS_SHAPE_TIMESTAMP: {
		timestamp_value t;
		if (v->type == JT_STRING)
			push_timestamp_text(c, v->str, v->len);
		else if ((v->type == JT_INT || v->type == JT_NUMBER) && timestamp_from_epoch(v->d, &t) == 0)
			push_ts(c->L, &t);
		else
			d_fail(c, "%s: not a timestamp", s->name);
		return 1;
	}
	case AWS_SHAPE_BLOB:
		if (v->type != JT_STRING)
			return 0;
		push_base64(c->L, v->str, v->len);
		return 1;
	default:
		return j_generic(c, v);
	}
}

/* ==== XML values ========================================================= */

/* A jsonvalue header: base64 of a JSON document, pushed as Lua values. The
 * tree is kept in c->scratch so that a raise cannot leak it. */
static void push_json_header(dctx *c, const char *t, size_t len)
{
	size_t jl;
	char why[128];
	push_base64(c->L, t, len);
	const char *js = lua_tolstring(c->L, -1, &jl);
	json_tree_free(c->scratch);
	c->scratch = json_tree_parse(js, jl, NULL, why, sizeof(why));
	if (!c->scratch)
		d_fail(c, "jsonvalue header: %s", why);
	lua_pop(c->L, 1);
	if (!j_generic(c, json_tree_root(c->scratch)))
		lua_pushnil(c->L);
}

/* A scalar from text: an XML element's text or a header's value. */
static void push_scalar_text(dctx *c, const aws_shape *s, const char *t, size_t len, int jsonvalue)
{
	lua_State *L = c->L;
	double d;
	switch (s->type) {
	case AWS_SHAPE_INTEGER:
	case AWS_SHAPE_LONG:
		push_int(c, t, len);
		break;
	case AWS_SHAPE_BOOLEAN:
		lua_pushboolean(L, len == 4 && memcmp(t, "true", 4) == 0);
		break;
	case AWS_SHAPE_DOUBLE:
	case AWS_SHAPE_FLOAT:
		if (text_to_double(t, len, &d) != 0)
			d_fail(c, "not a number: \"%.40s\"", t);
		lua_pushnumber(L, d);
		break;
	case AWS_SHAPE_TIMESTAMP:
		push_timestamp_text(c, t, len);
		break;
	case AWS_SHAPE_BLOB:
		push_base64(L, t, len);
		break;
	default:
		if (jsonvalue)
			push_json_header(c, t, len);
		else
			lua_pushlstring(L, t, len);
		break;
	}
}

static void x_value(dctx *c, const aws_shape *s, const xml_node *n);

static void x_list_item(dctx *c, const aws_shape *s, const xml_node *n, lua_Integer *i)
{
	x_value(c, s->list_member->shape, n);
	lua_rawseti(c->L, -2, ++*i);
}

/* A list: the children of a wrapper (any name, as botocore), or, flattened,
 * first and the siblings after it with the same name. */
static void x_list(dctx *c, const aws_shape *s, const xml_node *n, int flattened)
{
	lua_Integer i = 0;
	luaL_checkstack(c->L, 4, "xml nesting");
	if (!flattened) {
		lua_createtable(c->L, (int)n->nchildren, 0);
		for (const xml_node *e = n->first; e; e = e->next)
			x_list_item(c, s, e, &i);
		return;
	}
	lua_createtable(c->L, 1, 0);
	for (const xml_node *e = n; e; e = xml_next_named(e))
		x_list_item(c, s, e, &i);
}

static void x_map_entry(dctx *c, const aws_shape *s, const xml_node *entry)
{
	const char *kname = wire_name(s->map_key, "key");
	const char *vname = wire_name(s->map_value, "value");
	const xml_node *k = xml_child(entry, kname), *v = xml_child(entry, vname);
	if (!k || !v)
		return;
	push_scalar_text(c, s->map_key->shape, k->text, k->text_len, 0);
	x_value(c, s->map_value->shape, v);
	lua_rawset(c->L, -3);
}

static void x_map(dctx *c, const aws_shape *s, const xml_node *n, int flattened)
{
	luaL_checkstack(c->L, 4, "xml nesting");
	lua_createtable(c->L, 0, flattened ? 1 : (int)n->nchildren);
	if (!flattened) {
		for (const xml_node *e = n->first; e; e = e->next)
			x_map_entry(c, s, e);
		return;
	}
	for (const xml_node *e = n; e; e = xml_next_named(e))
		x_map_entry(c, s, e);
}

/* An xmlAttribute member ("xsi:type" matches the attribute's local name). */
static int x_attribute(dctx *c, const aws_member *m, const xml_node *parent)
{
	const char *name = wire_name(m, m->name), *colon = strchr(name, ':');
	const char *v = xml_attr(parent, colon ? colon + 1 : name);
	if (!v)
		return 0;
	push_scalar_text(c, m->shape, v, strlen(v), 0);
	return 1;
}

/* ---- a structure's members among an element's children ----
 * Looking every member of a shape up among an element's children costs
 * members x children name compares (an EC2 Instance: ~60 x ~35). Nodes carry
 * a hash of their name and an element's children can be indexed by it
 * (xml.h); the members' hashes are cached here. */

#define KEY_HASH_SLOTS 512 /* a power of two */

/* xml_name_hash of a model string, cached by the string's address
 * (direct-mapped; process-wide, not thread-safe: deadbolt is not threaded). */
static unsigned key_hash(const char *key)
{
	static struct {
		const char *key;
		unsigned hash;
	} cache[KEY_HASH_SLOTS];
	size_t i = (size_t)(((uint64_t)(uintptr_t)key * 0x9E3779B97F4A7C15u) >> 55);
	if (cache[i].key != key) {
		cache[i].key = key;
		cache[i].hash = xml_name_hash(key);
	}
	return cache[i].hash;
}

/* One member of a structure: n is its element under parent (NULL: none);
 * 0 when absent. */
static int x_member(dctx *c, const aws_member *m, const xml_node *parent, const xml_node *n)
{
	const aws_shape *s = m->shape;
	if (!n)
		return (m->flags & AWS_MF_XML_ATTRIBUTE) ? x_attribute(c, m, parent) : 0;
	if (s->type == AWS_SHAPE_LIST)
		x_list(c, s, n, is_flattened(m));
	else if (s->type == AWS_SHAPE_MAP)
		x_map(c, s, n, is_flattened(m));
	else
		x_value(c, s, n);
	return 1;
}

/* Fills the table on top with the body members of s found under n (NULL: none). */
static void x_fill_structure(dctx *c, const aws_shape *s, const xml_node *n)
{
	xml_child_index ix;
	if (!n)
		return;
	xml_index_children(&ix, n);
	for (size_t i = 0; i < s->nmembers; i++) {
		const aws_member *m = &s->members[i];
		if (m->location != AWS_LOC_BODY)
			continue; /* headers and status code: the rest-xml pass */
		const char *key = member_key(m);
		const xml_node *child = xml_index_find(&ix, key, key_hash(key));
		if (!child && !(m->flags & AWS_MF_XML_ATTRIBUTE))
			continue;
		push_key(c, m->name); /* stack: t, key */
		if (x_member(c, m, n, child))
			lua_rawset(c->L, -3);
		else
			lua_pop(c->L, 1);
	}
}

static void x_value(dctx *c, const aws_shape *s, const xml_node *n)
{
	switch (s->type) {
	case AWS_SHAPE_STRUCTURE:
		luaL_checkstack(c->L, 4, "xml nesting");
		lua_createtable(c->L, 0, (int)(n->nchildren < s->nmembers ? n->nchildren : s->nmembers));
		x_fill_structure(c, s, n);
		break;
	case AWS_SHAPE_LIST:
		x_list(c, s, n, 0);
		break;
	case AWS_SHAPE_MAP:
		x_map(c, s, n, 0);
		break;
	default:
		push_scalar_text(c, s, n->text, n->text_len, 0);
		break;
	}
}

/* ==== results per protocol =============================================== */

static void set_string_field(lua_State *L, const char *key, const char *v)
{
	lua_pushstring(L, v);
	lua_setfield(L, -2, key);
}

/* ec2 and query: the output structure at the root, or under <XxxResult>. */
static void push_query_result(dctx *c)
{
	const xml_node *root = xml_root(c->xdoc), *start = root;
	const aws_shape *out = c->op->output;
	if (out && c->op->result_wrapper && c->op->service->protocol != AWS_PROTO_EC2)
		start = xml_child(root, c->op->result_wrapper);
	lua_createtable(c->L, 0, out ? out->nmembers + 1 : 1);
	if (out)
		x_fill_structure(c, out, start);
}

/* Pushes ResponseMetadata's table with what the body says. */
static void push_query_metadata(dctx *c)
{
	const xml_node *root = xml_root(c->xdoc);
	lua_createtable(c->L, 0, 2);
	if (c->op->service->protocol == AWS_PROTO_EC2) {
		const char *id = xml_child_text(root, "requestId");
		if (id)
			set_string_field(c->L, "RequestId", id);
		return;
	}
	const xml_node *md = xml_child(root, "ResponseMetadata");
	for (const xml_node *e = md ? md->first : NULL; e; e = e->next)
		set_string_field(c->L, e->name, e->text);
}

static void push_json_result(dctx *c)
{
	const jt_node *root = json_tree_root(c->jdoc);
	if (!c->op->output || !root || !j_structure(c, c->op->output, root))
		lua_createtable(c->L, 0, 1);
}

static void push_header_list(dctx *c, const aws_shape *s, const char *v)
{
	lua_Integer i = 0;
	const char *comma;
	lua_newtable(c->L);
	do { /* as botocore: "a, b" -> {"a", "b"}; "" -> {""} */
		comma = strchr(v, ',');
		size_t len = comma ? (size_t)(comma - v) : strlen(v);
		const char *item = v;
		text_trim(&item, &len);
		push_scalar_text(c, s->list_member->shape, item, len, 0);
		lua_rawseti(c->L, -2, ++i);
		v = comma ? comma + 1 : v;
	} while (comma);
}

/* A "headers" member: every header starting with the prefix, prefix cut. */
static void push_header_map(dctx *c, const aws_member *m)
{
	const http_response *r = c->resp;
	const char *prefix = m->location_name ? m->location_name : "";
	size_t plen = strlen(prefix);
	lua_newtable(c->L);
	for (size_t i = 0; i < r->nheaders; i++) {
		const char *name = r->header_names[i];
		if (!name || strncasecmp(name, prefix, plen) != 0)
			continue;
		set_string_field(c->L, name + plen, r->header_values[i] ? r->header_values[i] : "");
	}
}

/* rest-xml members that live outside the body; 0 when absent. */
static int push_rest_member(dctx *c, const aws_member *m)
{
	if (m->location == AWS_LOC_STATUS_CODE) {
		lua_pushinteger(c->L, (lua_Integer)c->resp->status);
		return 1;
	}
	if (m->location == AWS_LOC_HEADERS) {
		push_header_map(c, m);
		return 1;
	}
	const char *v = resp_header(c->resp, wire_name(m, m->name));
	if (!v)
		return 0;
	if (m->shape->type == AWS_SHAPE_LIST)
		push_header_list(c, m->shape, v);
	else
		push_scalar_text(c, m->shape, v, strlen(v), (m->flags & AWS_MF_JSON_VALUE) != 0);
	return 1;
}

static void push_restxml_payload(dctx *c, const aws_member *pm)
{
	const xml_node *root = xml_root(c->xdoc);
	const buf *b = &c->resp->body;
	if (pm->shape->type == AWS_SHAPE_STRING || pm->shape->type == AWS_SHAPE_BLOB) {
		lua_pushlstring(c->L, b->data ? b->data : "", b->len);
	} else if (pm->shape->type == AWS_SHAPE_STRUCTURE) {
		lua_createtable(c->L, 0, pm->shape->nmembers);
		x_fill_structure(c, pm->shape, root);
	} else if (root) {
		x_value(c, pm->shape, root);
	} else {
		lua_newtable(c->L);
	}
	lua_setfield(c->L, -2, pm->name);
}

static void push_restxml_result(dctx *c)
{
	const aws_shape *out = c->op->output;
	lua_createtable(c->L, 0, out ? out->nmembers + 1 : 1);
	if (!out)
		return;
	for (size_t i = 0; i < out->nmembers; i++) {
		const aws_member *m = &out->members[i];
		if (m->location == AWS_LOC_STATUS_CODE || m->location == AWS_LOC_HEADER ||
		    m->location == AWS_LOC_HEADERS) {
			if (push_rest_member(c, m))
				lua_setfield(c->L, -2, m->name);
		}
	}
	if (out->payload >= 0)
		push_restxml_payload(c, &out->members[out->payload]);
	else
		x_fill_structure(c, out, xml_root(c->xdoc));
}

/* Sets ResponseMetadata on the result table on top. */
static void set_metadata(dctx *c)
{
	lua_State *L = c->L;
	int proto = c->op->service->protocol;
	if (proto == AWS_PROTO_EC2 || proto == AWS_PROTO_QUERY)
		push_query_metadata(c);
	else
		lua_createtable(L, 0, 3);
	lua_getfield(L, -1, "RequestId");
	int have_id = !lua_isnil(L, -1);
	lua_pop(L, 1);
	const char *id = header_request_id(c->resp);
	if (!have_id && id)
		set_string_field(L, "RequestId", id);
	if (proto == AWS_PROTO_REST_XML && !resp_header(c->resp, "x-amzn-requestid") && id) {
		const char *host = resp_header(c->resp, "x-amz-id-2");
		set_string_field(L, "HostId", host ? host : "");
	}
	lua_pushinteger(L, (lua_Integer)c->resp->status);
	lua_setfield(L, -2, "HTTPStatusCode");
	lua_setfield(L, -2, "ResponseMetadata");
}

static int push_protected(lua_State *L)
{
	dctx *c = lua_touserdata(L, 1);
	luaL_checkstack(L, 16, "decode");
	push_key_table(L);
	c->keys = lua_gettop(L);
	switch (c->op->service->protocol) {
	case AWS_PROTO_JSON:
		push_json_result(c);
		break;
	case AWS_PROTO_REST_XML:
		push_restxml_result(c);
		break;
	default:
		push_query_result(c);
		break;
	}
	set_metadata(c);
	return 1;
}

/* ==== error reporting (no Lua) =========================================== */

static const char *reason_phrase(long status)
{
	static const struct {
		long status;
		const char *text;
	} tab[] = {
		{ 301, "Moved Permanently" },  { 302, "Found" },
		{ 304, "Not Modified" },       { 307, "Temporary Redirect" },
		{ 400, "Bad Request" },        { 401, "Unauthorized" },
		{ 403, "Forbidden" },          { 404, "Not Found" },
		{ 405, "Method Not Allowed" }, { 409, "Conflict" },
		{ 412, "Precondition Failed" }, { 413, "Payload Too Large" },
		{ 429, "Too Many Requests" },  { 500, "Internal Server Error" },
		{ 501, "Not Implemented" },    { 502, "Bad Gateway" },
		{ 503, "Service Unavailable" }, { 504, "Gateway Timeout" },
	};
	for (size_t i = 0; i < sizeof(tab) / sizeof(tab[0]); i++)
		if (tab[i].status == status)
			return tab[i].text;
	return "";
}

/* Codes for an error without a body (S3 HEAD answers): boto3 users know the
 * status names. Others become "HTTP<status>". */
static const char *bodyless_code(long status)
{
	switch (status) {
	case 301:
		return "PermanentRedirect";
	case 304:
		return "NotModified";
	case 400:
		return "BadRequest";
	case 403:
		return "Forbidden";
	case 404:
		return "NotFound";
	case 412:
		return "PreconditionFailed";
	default:
		return NULL;
	}
}

/* The length of s[0..n) without a UTF-8 sequence cut short at its end. */
static size_t utf8_whole(const char *s, size_t n)
{
	size_t i = n, cont = 0;
	while (i > 0 && cont < 3 && ((unsigned char)s[i - 1] & 0xC0) == 0x80)
		i--, cont++;
	if (i == 0)
		return n;
	unsigned char lead = (unsigned char)s[i - 1];
	size_t need = lead >= 0xF0 ? 4 : lead >= 0xE0 ? 3 : lead >= 0xC0 ? 2 : 1;
	return cont + 1 < need ? i - 1 : n;
}

/* Copies src into dst for logs: control characters become spaces, a cut
 * never splits a UTF-8 sequence; ascii_only also drops non-ASCII bytes. */
static void copy_clean(char *dst, size_t cap, const char *src, size_t len, int ascii_only)
{
	size_t n = 0, i = 0;
	text_trim(&src, &len);
	for (; i < len && n + 1 < cap; i++) {
		unsigned char ch = (unsigned char)src[i];
		if (ch >= 0x80 && ascii_only)
			continue;
		dst[n++] = (ch < 0x20 || ch == 0x7f) ? ' ' : (char)ch;
	}
	if (i < len)
		n = utf8_whole(dst, n);
	dst[n] = '\0';
}

/* Up to EXCERPT_MAX printable ASCII characters of a body, markup removed
 * and blanks folded: "503 Service Unavailable No server is available". */
static void body_excerpt(const buf *b, char *out, size_t cap)
{
	size_t n = 0, max = cap - 1 < EXCERPT_MAX ? cap - 1 : EXCERPT_MAX;
	int in_tag = 0, space = 0;
	for (size_t i = 0; i < b->len && n < max; i++) {
		unsigned char ch = (unsigned char)b->data[i];
		if (ch == '<' || ch == '>') {
			in_tag = ch == '<';
			space = 1;
			continue;
		}
		if (in_tag)
			continue;
		if (ch <= 0x20 || ch >= 0x7f) {
			space = 1;
			continue;
		}
		if (space && n > 0 && n < max - 1)
			out[n++] = ' ';
		space = 0;
		out[n++] = (char)ch;
	}
	out[n] = '\0';
}

static void set_op(const aws_operation *op, aws_error *err)
{
	if (!err->op[0])
		snprintf(err->op, sizeof(err->op), "%s.%s", op->service->name, op->name);
}

static void set_request_id(aws_error *err, const char *id)
{
	if (id && *id)
		copy_clean(err->request_id, sizeof(err->request_id), id, strlen(id), 1);
}

/* A non-AWS error body (HTML, truncated, empty): "HTTP503" and an excerpt. */
static void generic_error(const http_response *r, aws_error *err)
{
	char ex[EXCERPT_MAX + 1];
	char code[16];
	const char *known = body_blank(r) ? bodyless_code(r->status) : NULL;
	snprintf(code, sizeof(code), "HTTP%ld", r->status);
	body_excerpt(&r->body, ex, sizeof(ex));
	if (!ex[0])
		aws_error_set(err, known ? known : code, "HTTP %ld %s (%s)", r->status,
			      reason_phrase(r->status), r->body.len ? "no error in the body" : "empty body");
	else
		aws_error_set(err, code, "HTTP %ld %s; the body is not an AWS error: %s%s", r->status,
			      reason_phrase(r->status), ex, r->body.len > EXCERPT_MAX ? "..." : "");
}

static void fill_error(aws_error *err, const char *code, const char *msg)
{
	copy_clean(err->code, sizeof(err->code), code, strlen(code), 1);
	copy_clean(err->message, sizeof(err->message), msg ? msg : "", msg ? strlen(msg) : 0, 0);
}

/* ec2 <Response><Errors><Error>, query <ErrorResponse><Error>, S3 <Error>. */
static int xml_error(const http_response *r, aws_error *err)
{
	char why[160];
	xml_doc *d = xml_parse(r->body.data, r->body.len, NULL, why, sizeof(why));
	const xml_node *root = xml_root(d), *e = NULL;
	int rc = -1;
	if (!root)
		goto out;
	if (strcmp(root->name, "Error") == 0)
		e = root;
	else if (!(e = xml_child(root, "Error")))
		e = xml_child(xml_child(root, "Errors"), "Error");
	const char *code = e ? xml_child_text(e, "Code") : NULL;
	if (!code || !*code)
		goto out;
	fill_error(err, code, xml_child_text(e, "Message"));
	const char *id = xml_child_text(e, "RequestId");
	if (!id)
		id = xml_child_text(root, "RequestID");
	if (!id)
		id = xml_child_text(root, "RequestId");
	if (!err->request_id[0])
		set_request_id(err, id);
	rc = 0;
out:
	xml_free(d);
	return rc;
}

/* "com.amazon.coral.service#ThrottlingException:http://..." -> the name. */
static void clean_json_code(const char *s, size_t len, char *out, size_t cap)
{
	const char *colon = memchr(s, ':', len);
	if (colon)
		len = (size_t)(colon - s);
	for (size_t i = len; i > 0; i--)
		if (s[i - 1] == '#') {
			s += i;
			len -= i;
			break;
		}
	copy_clean(out, cap, s, len, 1);
}

static const char *jstr(const jt_node *obj, const char *key)
{
	const jt_node *v = json_tree_get(obj, key);
	return v && v->type == JT_STRING ? v->str : NULL;
}

/* json: {"__type": "...#Code", "message": "..."}, or x-amzn-ErrorType. */
static int json_error(const http_response *r, aws_error *err)
{
	char why[128];
	jt_doc *d = json_tree_parse(r->body.data, r->body.len, NULL, why, sizeof(why));
	const jt_node *root = json_tree_root(d);
	const char *code = NULL, *msg = NULL, *hdr = resp_header(r, "x-amzn-errortype");
	int rc = -1;
	if (root && root->type == JT_OBJECT) {
		code = jstr(root, "__type");
		if (!code)
			code = jstr(root, "code") ? jstr(root, "code") : jstr(root, "Code");
		msg = jstr(root, "message") ? jstr(root, "message") : jstr(root, "Message");
	} else if (!body_blank(r)) {
		goto out; /* not JSON: generic */
	}
	if (!code || !*code)
		code = hdr;
	if (!code || !*code)
		goto out;
	clean_json_code(code, strlen(code), err->code, sizeof(err->code));
	const char *qe = resp_header(r, "x-amzn-query-error"), *semi = qe ? strchr(qe, ';') : NULL;
	if (semi && semi != qe && !strchr(semi + 1, ';'))
		copy_clean(err->code, sizeof(err->code), qe, (size_t)(semi - qe), 1);
	copy_clean(err->message, sizeof(err->message), msg ? msg : "", msg ? strlen(msg) : 0, 0);
	rc = err->code[0] ? 0 : -1;
out:
	json_tree_free(d);
	return rc;
}

static void decode_error(const aws_operation *op, const http_response *r, aws_error *err)
{
	int proto = op->service->protocol, rc = -1;
	err->status = r->status;
	err->request_id[0] = '\0';
	if (proto == AWS_PROTO_JSON || proto == AWS_PROTO_REST_XML)
		set_request_id(err, header_request_id(r));
	if (proto == AWS_PROTO_JSON)
		rc = json_error(r, err); /* the body, or x-amzn-ErrorType alone */
	else if (!body_blank(r))
		rc = xml_error(r, err);
	if (rc != 0)
		generic_error(r, err);
	if (!err->request_id[0])
		set_request_id(err, header_request_id(r));
	set_op(op, err);
}

/* A 2xx body that cannot be decoded. No excerpt of the body here: a 2xx body
 * can carry secrets (AssumeRole's credentials) and this message is logged. */
static void invalid_response(const aws_operation *op, const http_response *r, aws_error *err,
			     const char *what, const char *detail)
{
	const char *ctype = resp_header(r, "content-type");
	aws_error_set(err, "InvalidResponse", "%s.%s: %s (%s); HTTP %ld, %zu-byte body, %s",
		      op->service->name, op->name, what, detail, r->status, r->body.len,
		      ctype ? ctype : "no Content-Type");
	err->status = r->status;
	err->request_id[0] = '\0';
	set_request_id(err, header_request_id(r));
	set_op(op, err);
}

/* ==== codec_parse_response ============================================== */

static int rest_needs_xml(const aws_operation *op)
{
	const aws_shape *out = op->output;
	if (!out)
		return 0;
	if (out->payload < 0)
		return 1;
	int t = out->members[out->payload].shape->type;
	return t != AWS_SHAPE_STRING && t != AWS_SHAPE_BLOB;
}

/* Parses the body of a 2xx answer into c->xdoc / c->jdoc. */
static int parse_body(dctx *c, char *why, size_t cap)
{
	const buf *b = &c->resp->body;
	switch (c->op->service->protocol) {
	case AWS_PROTO_JSON:
		if (body_blank(c->resp))
			return 0;
		c->jdoc = json_tree_parse(b->data, b->len, NULL, why, cap);
		if (c->jdoc && json_tree_root(c->jdoc)->type != JT_OBJECT)
			snprintf(why, cap, "not a JSON object");
		return c->jdoc && json_tree_root(c->jdoc)->type == JT_OBJECT ? 0 : -1;
	case AWS_PROTO_REST_XML:
		if (body_blank(c->resp) || !rest_needs_xml(c->op))
			return 0;
		/* fall through */
	default:
		c->xdoc = xml_parse(b->data, b->len, NULL, why, cap);
		return c->xdoc ? 0 : -1;
	}
}

static int push_result(dctx *c, aws_error *err)
{
	lua_State *L = c->L;
	if (!lua_checkstack(L, 3)) {
		aws_error_set(err, "InternalError", "%s: Lua stack full", c->op->name);
		return -1;
	}
	lua_pushcfunction(L, push_protected);
	lua_pushlightuserdata(L, c);
	int st = lua_pcall(L, 1, 1, 0);
	if (st == LUA_OK)
		return 0;
	if (st == LUA_ERRMEM)
		return 1; /* the caller frees, then re-raises the error on top */
	if (!c->failed) {
		const char *msg = lua_tostring(L, -1);
		snprintf(c->why, sizeof(c->why), "%s", msg ? msg : "error while decoding");
	}
	lua_pop(L, 1);
	invalid_response(c->op, c->resp, err, "a value does not fit the model", c->why);
	return -1;
}

int codec_parse_response(lua_State *L, const aws_operation *op, const http_response *resp,
			 aws_error *err)
{
	dctx c;
	char why[200];
	int rc = -1;
	memset(&c, 0, sizeof(c));
	c.L = L;
	c.op = op;
	c.resp = resp;
	if (resp->status < 200 || resp->status > 299) {
		decode_error(op, resp, err);
		return -1;
	}
	if (parse_body(&c, why, sizeof(why)) != 0) {
		invalid_response(op, resp, err, "the body does not parse", why);
		goto out;
	}
	rc = push_result(&c, err);
out:
	xml_free(c.xdoc);
	json_tree_free(c.jdoc);
	json_tree_free(c.scratch);
	if (rc == 1)
		lua_error(L); /* out of memory, after the trees are freed */
	return rc;
}

/* ==== codec_push_placeholder ============================================= */

/* Ids that look like the real thing, for plans and later steps of a dry run. */
static const char *placeholder_id(const char *member)
{
	static const struct {
		const char *member, *value;
	} tab[] = {
		{ "SnapshotId", "snap-dryrun" },        { "GroupId", "sg-dryrun" },
		{ "InstanceId", "i-dryrun" },           { "VolumeId", "vol-dryrun" },
		{ "AssociationId", "iip-assoc-dryrun" }, { "NetworkInterfaceId", "eni-dryrun" },
		{ "VpcId", "vpc-dryrun" },              { "SubnetId", "subnet-dryrun" },
		{ "ImageId", "ami-dryrun" },            { "CommandId", "dryrun-command" },
		{ "OwnerId", "000000000000" },          { "Account", "000000000000" },
		{ "AccessKeyId", "AKIADRYRUN" },
	};
	for (size_t i = 0; i < sizeof(tab) / sizeof(tab[0]); i++)
		if (strcmp(tab[i].member, member) == 0)
			return tab[i].value;
	return NULL;
}

static void ph_structure(lua_State *L, const aws_shape *s, int depth, int seq, int variant);

/* Pushes a placeholder for member m; 0 when it is left out (deep nesting).
 * Ids end in seq, so that two planned resources never share one. An enum
 * takes its value number variant (modulo their count). */
static int ph_member(lua_State *L, const aws_member *m, int depth, int seq, int variant)
{
	const aws_shape *s = m->shape;
	const char *id;
	switch (s->type) {
	case AWS_SHAPE_STRING:
		if (s->nenums > 0)
			lua_pushstring(L, s->enums[(size_t)variant % s->nenums]);
		else if ((id = placeholder_id(m->name)) && seq > 0)
			lua_pushfstring(L, "%s%d", id, seq);
		else if (id)
			lua_pushstring(L, id);
		else
			lua_pushfstring(L, "dryrun-%s", m->name);
		return 1;
	case AWS_SHAPE_INTEGER:
	case AWS_SHAPE_LONG:
		lua_pushinteger(L, m->location == AWS_LOC_STATUS_CODE ? 200 : 0);
		return 1;
	case AWS_SHAPE_DOUBLE:
	case AWS_SHAPE_FLOAT:
		lua_pushnumber(L, 0.0);
		return 1;
	case AWS_SHAPE_BOOLEAN:
		lua_pushboolean(L, 0);
		return 1;
	case AWS_SHAPE_TIMESTAMP:
		lua_pushliteral(L, "1970-01-01T00:00:00.000Z");
		return 1;
	case AWS_SHAPE_BLOB:
		lua_pushliteral(L, "");
		return 1;
	case AWS_SHAPE_STRUCTURE:
		if (depth >= PH_MAX_DEPTH)
			return 0;
		ph_structure(L, s, depth + 1, seq, variant);
		return 1;
	default: /* lists, maps, documents: empty */
		lua_newtable(L);
		return 1;
	}
}

static void ph_structure(lua_State *L, const aws_shape *s, int depth, int seq, int variant)
{
	luaL_checkstack(L, 4, "placeholder");
	lua_createtable(L, 0, s->nmembers + 1);
	for (size_t i = 0; i < s->nmembers; i++)
		if (ph_member(L, &s->members[i], depth, seq, variant))
			lua_setfield(L, -2, s->members[i].name);
}

void codec_push_placeholder(lua_State *L, const aws_operation *op, int seq)
{
	codec_push_placeholder_variant(L, op, seq, 0);
}

void codec_push_placeholder_variant(lua_State *L, const aws_operation *op, int seq, int variant)
{
	if (variant < 0)
		variant = 0;
	if (op->output)
		ph_structure(L, op->output, 0, seq, variant);
	else
		lua_createtable(L, 0, 1);
	lua_createtable(L, 0, 2);
	lua_pushliteral(L, "dryrun");
	lua_setfield(L, -2, "RequestId");
	lua_pushinteger(L, 200);
	lua_setfield(L, -2, "HTTPStatusCode");
	lua_setfield(L, -2, "ResponseMetadata");
}
