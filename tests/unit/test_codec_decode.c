/* test_codec_decode — codec_parse_response and codec_push_placeholder.
 *
 * Data-driven: every tests/vectors/decode/<name>.lua (written by
 * tools/gen_decode_vectors.py from botocore's own parsers) is one HTTP
 * response and the boto3 result or the error deadbolt must make of it; the
 * result is deep-compared, integers and floats kept apart. The vectors'
 * "synthetic-*" services are mirrored below in C (SYNTHETIC in the
 * generator): they use every shape kind the real operations do not.
 *
 * DEADBOLT_DECODE_VECTORS overrides the vector directory (default
 * tests/vectors/decode, relative to the repository root where tests run). */
#include <check.h>
#include <dirent.h>
#include <lauxlib.h>
#include <lualib.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "codec.h"
#include "model_types.h"
#include "testutil.h"

/* ==== the synthetic model (mirrors _synthetic_shapes in the generator) ==== */

enum {
	Y_S, Y_I, Y_L, Y_B, Y_D, Y_F, Y_T, Y_BLOB, Y_SLIST, Y_ILIST, Y_FLATLIST, Y_FLATNAMED, Y_SMAP, Y_NAMEDMAP, Y_FLATMAP,
	Y_INNER, Y_EVERYTHING, Y_HEADERS, Y_JSONDOC, Y_HMAP, Y_PAYLOAD, Y_NSHAPES
};

enum { P_S, P_I, P_IITEM, P_INNER_THING, P_MKEY_NAME, P_MVAL_NAME, NPARTS };

static const aws_shape syn_shapes[Y_NSHAPES];
static const aws_member syn_parts[NPARTS];
static const aws_member syn_inner[4];
static const aws_member syn_everything[25];
static const aws_member syn_headers[11];
static const aws_member syn_payload[2];

#define SH(i) (&syn_shapes[i])
#define SCALAR(i, n, t) [i] = { .name = n, .type = t, .payload = -1 }

static const aws_member syn_parts[NPARTS] = {
	[P_S] = { .shape = SH(Y_S) },
	[P_I] = { .shape = SH(Y_I) },
	[P_IITEM] = { .shape = SH(Y_I), .location_name = "item" },
	[P_INNER_THING] = { .shape = SH(Y_INNER), .location_name = "Thing" },
	[P_MKEY_NAME] = { .shape = SH(Y_S), .location_name = "Name" },
	[P_MVAL_NAME] = { .shape = SH(Y_S), .location_name = "Val" },
};

static const aws_member syn_inner[4] = {
	{ .name = "Id", .shape = SH(Y_S) },
	{ .name = "Kind", .shape = SH(Y_S), .location_name = "kind", .flags = AWS_MF_XML_ATTRIBUTE },
	{ .name = "Count", .shape = SH(Y_I) },
	{ .name = "Tags", .shape = SH(Y_SLIST) },
};

static const aws_member syn_everything[25] = {
	{ .name = "Str", .shape = SH(Y_S) },
	{ .name = "Renamed", .shape = SH(Y_S), .location_name = "renamedThing" },
	{ .name = "EmptyStr", .shape = SH(Y_S) },
	{ .name = "Int", .shape = SH(Y_I) },
	{ .name = "Negative", .shape = SH(Y_I) },
	{ .name = "Long", .shape = SH(Y_L) },
	{ .name = "Bool", .shape = SH(Y_B) },
	{ .name = "BoolFalse", .shape = SH(Y_B) },
	{ .name = "Dbl", .shape = SH(Y_D) },
	{ .name = "Flt", .shape = SH(Y_F) },
	{ .name = "When", .shape = SH(Y_T) },
	{ .name = "WhenOffset", .shape = SH(Y_T) },
	{ .name = "WhenEpoch", .shape = SH(Y_T) },
	{ .name = "WhenMicros", .shape = SH(Y_T) },
	{ .name = "Data", .shape = SH(Y_BLOB) },
	{ .name = "Wrapped", .shape = SH(Y_SLIST) },
	{ .name = "Numbers", .shape = SH(Y_ILIST) },
	{ .name = "Empty", .shape = SH(Y_SLIST) },
	{ .name = "Flat", .shape = SH(Y_FLATLIST) },
	{ .name = "Things", .shape = SH(Y_FLATNAMED) },
	{ .name = "Dict", .shape = SH(Y_SMAP) },
	{ .name = "Named", .shape = SH(Y_NAMEDMAP) },
	{ .name = "FlatDict", .shape = SH(Y_FLATMAP) },
	{ .name = "Nested", .shape = SH(Y_INNER) },
	{ .name = "Missing", .shape = SH(Y_S) },
};

static const aws_member syn_headers[11] = {
	{ .name = "Count", .shape = SH(Y_I), .location = AWS_LOC_HEADER, .location_name = "x-count" },
	{ .name = "Big", .shape = SH(Y_L), .location = AWS_LOC_HEADER, .location_name = "x-big" },
	{ .name = "On", .shape = SH(Y_B), .location = AWS_LOC_HEADER, .location_name = "x-on" },
	{ .name = "Names", .shape = SH(Y_SLIST), .location = AWS_LOC_HEADER, .location_name = "x-names" },
	{ .name = "Seen", .shape = SH(Y_T), .location = AWS_LOC_HEADER, .location_name = "x-seen" },
	{ .name = "Doc", .shape = SH(Y_JSONDOC), .location = AWS_LOC_HEADER, .location_name = "x-doc",
	  .flags = AWS_MF_JSON_VALUE },
	{ .name = "Meta", .shape = SH(Y_HMAP), .location = AWS_LOC_HEADERS, .location_name = "x-meta-" },
	{ .name = "Status", .shape = SH(Y_I), .location = AWS_LOC_STATUS_CODE },
	{ .name = "Absent", .shape = SH(Y_S), .location = AWS_LOC_HEADER, .location_name = "x-absent" },
	{ .name = "Nested", .shape = SH(Y_INNER) },
	{ .name = "Str", .shape = SH(Y_S) },
};

static const aws_member syn_payload[2] = {
	{ .name = "Body", .shape = SH(Y_BLOB) },
	{ .name = "Type", .shape = SH(Y_S), .location = AWS_LOC_HEADER, .location_name = "Content-Type" },
};

#define N(a) (uint16_t)(sizeof(a) / sizeof((a)[0]))

static const aws_shape syn_shapes[Y_NSHAPES] = {
	SCALAR(Y_S, "S", AWS_SHAPE_STRING),
	SCALAR(Y_I, "I", AWS_SHAPE_INTEGER),
	SCALAR(Y_L, "L", AWS_SHAPE_LONG),
	SCALAR(Y_B, "B", AWS_SHAPE_BOOLEAN),
	SCALAR(Y_D, "D", AWS_SHAPE_DOUBLE),
	SCALAR(Y_F, "F", AWS_SHAPE_FLOAT),
	SCALAR(Y_T, "T", AWS_SHAPE_TIMESTAMP),
	SCALAR(Y_BLOB, "Blob", AWS_SHAPE_BLOB),
	SCALAR(Y_JSONDOC, "JsonDoc", AWS_SHAPE_STRING),
	[Y_SLIST] = { .name = "SList", .type = AWS_SHAPE_LIST, .payload = -1,
		    .list_member = &syn_parts[P_S] },
	[Y_ILIST] = { .name = "IList", .type = AWS_SHAPE_LIST, .payload = -1,
		    .list_member = &syn_parts[P_IITEM] },
	[Y_FLATLIST] = { .name = "FlatList", .type = AWS_SHAPE_LIST, .payload = -1,
		       .flags = AWS_SF_FLATTENED, .list_member = &syn_parts[P_S] },
	[Y_FLATNAMED] = { .name = "FlatNamedList", .type = AWS_SHAPE_LIST, .payload = -1,
			.flags = AWS_SF_FLATTENED, .list_member = &syn_parts[P_INNER_THING] },
	[Y_SMAP] = { .name = "SMap", .type = AWS_SHAPE_MAP, .payload = -1,
		   .map_key = &syn_parts[P_S], .map_value = &syn_parts[P_I] },
	[Y_NAMEDMAP] = { .name = "NamedMap", .type = AWS_SHAPE_MAP, .payload = -1,
		       .map_key = &syn_parts[P_MKEY_NAME], .map_value = &syn_parts[P_MVAL_NAME] },
	[Y_FLATMAP] = { .name = "FlatMap", .type = AWS_SHAPE_MAP, .payload = -1,
		      .flags = AWS_SF_FLATTENED, .map_key = &syn_parts[P_S],
		      .map_value = &syn_parts[P_S] },
	[Y_HMAP] = { .name = "HMap", .type = AWS_SHAPE_MAP, .payload = -1,
		   .map_key = &syn_parts[P_S], .map_value = &syn_parts[P_S] },
	[Y_INNER] = { .name = "Inner", .type = AWS_SHAPE_STRUCTURE, .payload = -1,
		    .members = syn_inner, .nmembers = N(syn_inner) },
	[Y_EVERYTHING] = { .name = "EverythingOutput", .type = AWS_SHAPE_STRUCTURE, .payload = -1,
			 .members = syn_everything, .nmembers = N(syn_everything) },
	[Y_HEADERS] = { .name = "HeadersOutput", .type = AWS_SHAPE_STRUCTURE, .payload = -1,
		      .members = syn_headers, .nmembers = N(syn_headers) },
	[Y_PAYLOAD] = { .name = "PayloadOutput", .type = AWS_SHAPE_STRUCTURE, .payload = 0,
		      .members = syn_payload, .nmembers = N(syn_payload) },
};

static const aws_service syn_services[] = {
	{ .name = "synthetic-query", .protocol = AWS_PROTO_QUERY, .protocol_name = "query" },
	{ .name = "synthetic-json", .protocol = AWS_PROTO_JSON, .protocol_name = "json" },
	{ .name = "synthetic-rest", .protocol = AWS_PROTO_REST_XML, .protocol_name = "rest-xml" },
};

static const aws_operation syn_ops[] = {
	{ .name = "Everything", .service = &syn_services[0], .output = SH(Y_EVERYTHING),
	  .result_wrapper = "EverythingResult" },
	{ .name = "Everything", .service = &syn_services[1], .output = SH(Y_EVERYTHING) },
	{ .name = "Headers", .service = &syn_services[2], .output = SH(Y_HEADERS) },
	{ .name = "Payload", .service = &syn_services[2], .output = SH(Y_PAYLOAD) },
};

static const aws_operation *find_op(const char *service, const char *name)
{
	for (size_t i = 0; i < sizeof(syn_ops) / sizeof(syn_ops[0]); i++)
		if (strcmp(syn_ops[i].service->name, service) == 0 && strcmp(syn_ops[i].name, name) == 0)
			return &syn_ops[i];
	return model_find_operation(service, name);
}

/* ==== helpers ============================================================ */

typedef struct fake_resp {
	http_response r;
	char *names[32];
	char *values[32];
} fake_resp;

static void resp_init(fake_resp *f, long status, const char *body, size_t len)
{
	memset(f, 0, sizeof(*f));
	f->r.status = status;
	buf_init(&f->r.body, 0);
	if (len)
		ck_assert_int_eq(buf_append(&f->r.body, body, len), 0);
	f->r.header_names = f->names;
	f->r.header_values = f->values;
}

static void resp_header(fake_resp *f, const char *name, const char *value)
{
	ck_assert_uint_lt(f->r.nheaders, 32);
	f->names[f->r.nheaders] = strdup(name);
	f->values[f->r.nheaders] = strdup(value);
	f->r.nheaders++;
}

static void resp_free(fake_resp *f)
{
	for (size_t i = 0; i < f->r.nheaders; i++) {
		free(f->names[i]);
		free(f->values[i]);
	}
	buf_free(&f->r.body);
}

typedef struct decode_call {
	const aws_operation *op;
	const http_response *resp;
	aws_error *err;
	int rc;
} decode_call;

static int decode_protected(lua_State *L)
{
	decode_call *d = lua_touserdata(L, 1);
	lua_settop(L, 0);
	d->rc = codec_parse_response(L, d->op, d->resp, d->err);
	return d->rc == 0 ? 1 : 0;
}

/* Runs the decoder as the client does (under lua_pcall). Returns the pcall
 * status; *rc is the decoder's. The result (rc 0) is left on top. */
static int run_decode(lua_State *L, const aws_operation *op, const http_response *r,
		      aws_error *err, int *rc)
{
	decode_call d = { op, r, err, -2 };
	int top = lua_gettop(L);
	lua_pushcfunction(L, decode_protected);
	lua_pushlightuserdata(L, &d);
	int st = lua_pcall(L, 1, LUA_MULTRET, 0);
	*rc = d.rc;
	if (st == LUA_OK && d.rc != 0)
		ck_assert_int_eq(lua_gettop(L), top); /* nothing pushed on failure */
	return st;
}

/* Deep comparison of the values at a and b; on a difference, a path in why. */
static int same(lua_State *L, int a, int b, char *why, size_t cap, const char *path);

static int same_tables(lua_State *L, int a, int b, char *why, size_t cap, const char *path)
{
	size_t na = 0, nb = 0;
	char sub[512];
	lua_pushnil(L);
	while (lua_next(L, a)) { /* stack: key, value */
		na++;
		if (lua_type(L, -2) == LUA_TSTRING)
			snprintf(sub, sizeof(sub), "%s.%s", path, lua_tostring(L, -2));
		else
			snprintf(sub, sizeof(sub), "%s[%lld]", path, (long long)lua_tointeger(L, -2));
		lua_pushvalue(L, -2);
		lua_rawget(L, b); /* stack: key, value, other */
		int ok = same(L, lua_gettop(L) - 1, lua_gettop(L), why, cap, sub);
		lua_pop(L, 2);
		if (!ok) {
			lua_pop(L, 1);
			return 0;
		}
	}
	lua_pushnil(L);
	while (lua_next(L, b)) {
		nb++;
		lua_pop(L, 1);
	}
	if (na != nb) {
		snprintf(why, cap, "%s: %zu keys expected, %zu found", path, na, nb);
		return 0;
	}
	return 1;
}

static int same(lua_State *L, int a, int b, char *why, size_t cap, const char *path)
{
	a = lua_absindex(L, a);
	b = lua_absindex(L, b);
	int ta = lua_type(L, a), tb = lua_type(L, b);
	if (ta != tb) {
		snprintf(why, cap, "%s: expected %s, found %s", path, lua_typename(L, ta),
			 lua_typename(L, tb));
		return 0;
	}
	switch (ta) {
	case LUA_TNUMBER:
		if (lua_isinteger(L, a) != lua_isinteger(L, b)) {
			snprintf(why, cap, "%s: expected %s, found %s", path,
				 lua_isinteger(L, a) ? "an integer" : "a float",
				 lua_isinteger(L, b) ? "an integer" : "a float");
			return 0;
		}
		if (lua_isinteger(L, a) ? lua_tointeger(L, a) != lua_tointeger(L, b)
					: !(lua_tonumber(L, a) == lua_tonumber(L, b) ||
					    (isnan(lua_tonumber(L, a)) && isnan(lua_tonumber(L, b))))) {
			snprintf(why, cap, "%s: expected %.17g, found %.17g", path, lua_tonumber(L, a),
				 lua_tonumber(L, b));
			return 0;
		}
		return 1;
	case LUA_TSTRING: {
		size_t la, lb;
		const char *sa = lua_tolstring(L, a, &la), *sb = lua_tolstring(L, b, &lb);
		if (la != lb || memcmp(sa, sb, la) != 0) {
			snprintf(why, cap, "%s: expected \"%.80s\", found \"%.80s\"", path, sa, sb);
			return 0;
		}
		return 1;
	}
	case LUA_TBOOLEAN:
		if (lua_toboolean(L, a) != lua_toboolean(L, b)) {
			snprintf(why, cap, "%s: booleans differ", path);
			return 0;
		}
		return 1;
	case LUA_TTABLE:
		return same_tables(L, a, b, why, cap, path);
	default:
		return 1;
	}
}

static const char *field_str(lua_State *L, int t, const char *k)
{
	lua_getfield(L, t, k);
	const char *s = lua_tostring(L, -1); /* kept alive by the table */
	lua_pop(L, 1);
	return s;
}

/* ==== the vectors ======================================================== */

#define MAX_VECTORS 256
static char *vector_files[MAX_VECTORS];
static int nvectors;

static const char *vector_dir(void)
{
	const char *d = getenv("DEADBOLT_DECODE_VECTORS");
	return d && *d ? d : "tests/vectors/decode";
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static void scan_vectors(void)
{
	DIR *dir = opendir(vector_dir());
	struct dirent *e;
	while (dir && (e = readdir(dir)) && nvectors < MAX_VECTORS) {
		size_t n = strlen(e->d_name);
		if (n > 4 && strcmp(e->d_name + n - 4, ".lua") == 0)
			vector_files[nvectors++] = strdup(e->d_name);
	}
	if (dir)
		closedir(dir);
	qsort(vector_files, (size_t)nvectors, sizeof(char *), cmp_str);
}

static void load_response(lua_State *L, int v, fake_resp *f)
{
	size_t blen;
	lua_getfield(L, v, "body");
	const char *body = lua_tolstring(L, -1, &blen);
	lua_getfield(L, v, "status");
	resp_init(f, (long)lua_tointeger(L, -1), body, blen);
	lua_pop(L, 2);
	lua_getfield(L, v, "headers");
	for (lua_Integer i = 1; lua_rawgeti(L, -1, i) == LUA_TTABLE; i++) {
		lua_rawgeti(L, -1, 1);
		lua_rawgeti(L, -2, 2);
		resp_header(f, lua_tostring(L, -2), lua_tostring(L, -1));
		lua_pop(L, 3);
	}
	lua_pop(L, 2);
}

static void check_error(lua_State *L, int v, const char *name, const aws_error *err)
{
	lua_getfield(L, v, "error");
	int e = lua_gettop(L);
	ck_assert_msg(lua_istable(L, e), "%s: expected success, got %s: %s", name, err->code,
		      err->message);
	ck_assert_msg(strcmp(err->code, field_str(L, e, "code")) == 0, "%s: code %s, expected %s",
		      name, err->code, field_str(L, e, "code"));
	lua_getfield(L, e, "status");
	ck_assert_msg(err->status == (long)lua_tointeger(L, -1), "%s: status %ld", name, err->status);
	lua_pop(L, 1);
	ck_assert_msg(strcmp(err->request_id, field_str(L, e, "request_id")) == 0,
		      "%s: request id \"%s\", expected \"%s\"", name, err->request_id,
		      field_str(L, e, "request_id"));
	const char *msg = field_str(L, e, "message"), *part = field_str(L, e, "message_contains");
	if (msg)
		ck_assert_msg(strcmp(err->message, msg) == 0, "%s: message \"%s\", expected \"%s\"",
			      name, err->message, msg);
	if (part)
		ck_assert_msg(strstr(err->message, part) != NULL, "%s: message \"%s\" lacks \"%s\"",
			      name, err->message, part);
	ck_assert_msg(err->op[0] != '\0', "%s: err->op not set", name);
	lua_pop(L, 1);
}

START_TEST(test_vector)
{
	char path[1024], why[1024] = "";
	const char *name = vector_files[_i];
	snprintf(path, sizeof(path), "%s/%s", vector_dir(), name);
	lua_State *L = luaL_newstate();
	luaL_openlibs(L);
	ck_assert_msg(luaL_dofile(L, path) == LUA_OK, "%s: %s", name, lua_tostring(L, -1));
	int v = lua_gettop(L);
	const aws_operation *op = find_op(field_str(L, v, "service"), field_str(L, v, "operation"));
	ck_assert_msg(op != NULL, "%s: operation not in the model", name);
	fake_resp f;
	load_response(L, v, &f);
	aws_error err;
	aws_error_clear(&err);
	int rc, st = run_decode(L, op, &f.r, &err, &rc);
	ck_assert_msg(st == LUA_OK, "%s: decoder raised: %s", name, lua_tostring(L, -1));
	if (rc != 0) {
		check_error(L, v, name, &err);
	} else {
		lua_getfield(L, v, "expect");
		ck_assert_msg(lua_istable(L, -1), "%s: decoded, but an error was expected", name);
		ck_assert_msg(same(L, -1, -2, why, sizeof(why), "result"), "%s: %s", name, why);
	}
	resp_free(&f);
	lua_close(L);
}
END_TEST

START_TEST(test_vectors_are_there)
{
	ck_assert_msg(nvectors >= 40, "only %d vectors in %s", nvectors, vector_dir());
}
END_TEST

/* ==== hostile and broken bodies, beyond the vectors ====================== */

static void expect_invalid(const char *service, const char *opname, long status,
			   const char *body, size_t len, const char *why_part)
{
	lua_State *L = luaL_newstate();
	fake_resp f;
	aws_error err;
	aws_error_clear(&err);
	resp_init(&f, status, body, len);
	int rc, st = run_decode(L, find_op(service, opname), &f.r, &err, &rc);
	ck_assert_int_eq(st, LUA_OK);
	ck_assert_int_eq(rc, -1);
	ck_assert_msg(strstr(err.message, why_part) != NULL, "\"%s\" lacks \"%s\"", err.message,
		      why_part);
	resp_free(&f);
	lua_close(L);
}

START_TEST(test_deep_xml_is_invalid_not_a_crash)
{
	size_t depth = 10000, len = 0;
	char *doc = malloc(depth * 7 + 64);
	for (size_t i = 0; i < depth; i++)
		len += (size_t)snprintf(doc + len, 8, "<a>");
	expect_invalid("ec2", "DescribeInstances", 200, doc, len, "nesting deeper than 64");
	expect_invalid("ec2", "DescribeInstances", 400, doc, len, "HTTP 400");
	free(doc);
}
END_TEST

START_TEST(test_deep_json_is_invalid_not_a_crash)
{
	size_t depth = 10000;
	char *doc = malloc(depth + 1);
	memset(doc, '[', depth);
	expect_invalid("ssm", "SendCommand", 200, doc, depth, "nesting deeper than 64");
	free(doc);
}
END_TEST

START_TEST(test_20mb_body_is_refused)
{
	size_t len = (size_t)20 << 20;
	char *doc = tu_blank_doc(len, "<DescribeInstancesResponse>", "");
	expect_invalid("ec2", "DescribeInstances", 200, doc, len, "larger than");
	free(doc);
}
END_TEST

START_TEST(test_error_body_excerpt_is_sanitised)
{
	static const char body[] = "\x01\x02<p>bad\x1b[31m \xff gateway</p>\n\n\t  upstream\r\n";
	lua_State *L = luaL_newstate();
	fake_resp f;
	aws_error err;
	aws_error_clear(&err);
	resp_init(&f, 502, body, sizeof(body) - 1);
	int rc;
	run_decode(L, find_op("iam", "GetUserPolicy"), &f.r, &err, &rc);
	ck_assert_int_eq(rc, -1);
	ck_assert_str_eq(err.code, "HTTP502");
	ck_assert_msg(strstr(err.message, "bad [31m gateway upstream") != NULL, "%s", err.message);
	for (const char *p = err.message; *p; p++)
		ck_assert_msg((unsigned char)*p >= 0x20 && (unsigned char)*p < 0x7f, "byte %02x",
			      (unsigned char)*p);
	resp_free(&f);
	lua_close(L);
}
END_TEST

START_TEST(test_invalid_response_never_quotes_the_body)
{
	/* a truncated AssumeRole answer: its secret must not reach the log */
	static const char body[] = "<AssumeRoleResponse><AssumeRoleResult><Credentials>"
				   "<AccessKeyId>ASIAEXAMPLE</AccessKeyId>"
				   "<SecretAccessKey>wJalrXUtnFEMI/K7MDENG/bPxRfiCYzEXAMPLEKEY"
				   "</SecretAccessKey><SessionToken>FwoGZXIvYXdzEXAMPLE";
	lua_State *L = luaL_newstate();
	fake_resp f;
	aws_error err;
	aws_error_clear(&err);
	resp_init(&f, 200, body, sizeof(body) - 1);
	resp_header(&f, "x-amzn-requestid", "rid-7");
	int rc;
	ck_assert_int_eq(run_decode(L, find_op("sts", "AssumeRole"), &f.r, &err, &rc), LUA_OK);
	ck_assert_int_eq(rc, -1);
	ck_assert_str_eq(err.code, "InvalidResponse");
	ck_assert_str_eq(err.request_id, "rid-7");
	ck_assert_str_eq(err.op, "sts.AssumeRole");
	ck_assert_ptr_null(strstr(err.message, "wJalr"));
	ck_assert_ptr_null(strstr(err.message, "ASIA"));
	ck_assert_ptr_null(strstr(err.message, "FwoG"));
	resp_free(&f);
	lua_close(L);
}
END_TEST

/* ==== out of memory: raised, never leaked ================================ */

typedef struct capped {
	size_t count, fail_after;
} capped;

static void *capped_alloc(void *ud, void *ptr, size_t osize, size_t nsize)
{
	capped *c = ud;
	(void)osize;
	if (nsize == 0) {
		free(ptr);
		return NULL;
	}
	if (nsize > osize || !ptr)
		if (++c->count > c->fail_after)
			return NULL;
	return realloc(ptr, nsize);
}

/* Fails the n-th Lua allocation for every n until the decode succeeds: each
 * run ends in a clean result or LUA_ERRMEM, never anything else (ASan, via
 * make check-asan, checks that nothing leaks on those paths). */
static void oom_sweep(const char *service, const char *opname, const char *file)
{
	char path[1024];
	snprintf(path, sizeof(path), "%s/%s", vector_dir(), file);
	int succeeded = 0, failures = 0;
	for (size_t n = 0; n < 5000 && !succeeded; n++) {
		capped cap = { 0, (size_t)-1 };
		lua_State *L = lua_newstate(capped_alloc, &cap);
		luaL_openlibs(L);
		ck_assert_int_eq(luaL_dofile(L, path), LUA_OK);
		fake_resp f;
		load_response(L, lua_gettop(L), &f);
		aws_error err;
		aws_error_clear(&err);
		cap.fail_after = cap.count + n;
		int rc, st = run_decode(L, find_op(service, opname), &f.r, &err, &rc);
		ck_assert_msg(st == LUA_OK || st == LUA_ERRMEM, "status %d at %zu", st, n);
		if (st == LUA_OK) {
			ck_assert_msg(rc == 0, "%s at %zu", err.message, n);
			succeeded = 1;
		} else {
			failures++;
		}
		cap.fail_after = (size_t)-1;
		resp_free(&f);
		lua_close(L);
	}
	ck_assert(succeeded);
	ck_assert_int_gt(failures, 10);
}

START_TEST(test_oom_while_pushing_raises_memory_error)
{
	oom_sweep("ec2", "DescribeInstances", "ec2_describe_instances_rich.lua");
	oom_sweep("ssm", "DescribeInstanceInformation", "ssm_describe_instance_information.lua");
	oom_sweep("synthetic-rest", "Headers", "synthetic_rest_headers.lua");
}
END_TEST

/* ==== placeholders ======================================================= */

static lua_State *placeholder(const char *service, const char *opname)
{
	lua_State *L = luaL_newstate();
	const aws_operation *op = model_find_operation(service, opname);
	ck_assert_ptr_nonnull(op);
	codec_push_placeholder(L, op, 0);
	ck_assert_int_eq(lua_gettop(L), 1);
	ck_assert(lua_istable(L, 1));
	lua_getfield(L, 1, "ResponseMetadata");
	ck_assert_str_eq(field_str(L, -1, "RequestId"), "dryrun");
	lua_getfield(L, -1, "HTTPStatusCode");
	ck_assert(lua_isinteger(L, -1));
	ck_assert_int_eq(lua_tointeger(L, -1), 200);
	lua_pop(L, 2);
	return L;
}

START_TEST(test_placeholder_ids_of_two_writes_differ)
{
	lua_State *L = luaL_newstate();
	const aws_operation *op = model_find_operation("ec2", "CreateSecurityGroup");
	ck_assert_ptr_nonnull(op);
	codec_push_placeholder(L, op, 3);
	codec_push_placeholder(L, op, 4);
	ck_assert_str_eq(field_str(L, 1, "GroupId"), "sg-dryrun3");
	ck_assert_str_eq(field_str(L, 2, "GroupId"), "sg-dryrun4");
	lua_close(L);
}
END_TEST

START_TEST(test_placeholder_ids_look_like_ids)
{
	lua_State *L = placeholder("ec2", "CreateSnapshot");
	ck_assert_str_eq(field_str(L, 1, "SnapshotId"), "snap-dryrun");
	ck_assert_str_eq(field_str(L, 1, "VolumeId"), "vol-dryrun");
	ck_assert_str_eq(field_str(L, 1, "Description"), "dryrun-Description");
	ck_assert_str_eq(field_str(L, 1, "State"), "pending"); /* first enum value */
	ck_assert_str_eq(field_str(L, 1, "StartTime"), "1970-01-01T00:00:00.000Z");
	lua_getfield(L, 1, "VolumeSize");
	ck_assert(lua_isinteger(L, -1) && lua_tointeger(L, -1) == 0);
	lua_getfield(L, 1, "Encrypted");
	ck_assert(lua_isboolean(L, -1) && !lua_toboolean(L, -1));
	lua_getfield(L, 1, "Tags");
	ck_assert(lua_istable(L, -1) && lua_rawlen(L, -1) == 0);
	lua_close(L);
	L = placeholder("ec2", "CreateSecurityGroup");
	ck_assert_str_eq(field_str(L, 1, "GroupId"), "sg-dryrun");
	lua_close(L);
}
END_TEST

START_TEST(test_placeholder_nested_structures)
{
	lua_State *L = placeholder("ssm", "SendCommand");
	lua_getfield(L, 1, "Command");
	ck_assert(lua_istable(L, -1));
	ck_assert_str_eq(field_str(L, -1, "CommandId"), "dryrun-command");
	lua_close(L);
	L = placeholder("ec2", "AssociateIamInstanceProfile");
	lua_getfield(L, 1, "IamInstanceProfileAssociation");
	ck_assert_str_eq(field_str(L, -1, "AssociationId"), "iip-assoc-dryrun");
	ck_assert_str_eq(field_str(L, -1, "InstanceId"), "i-dryrun");
	lua_close(L);
}
END_TEST

START_TEST(test_placeholder_without_output_and_rest_members)
{
	lua_State *L = placeholder("iam", "PutUserPolicy");
	lua_pushnil(L);
	ck_assert(lua_next(L, 1)); /* only ResponseMetadata */
	ck_assert_str_eq(lua_tostring(L, -2), "ResponseMetadata");
	lua_pop(L, 1);
	ck_assert(!lua_next(L, 1));
	lua_close(L);
	L = placeholder("s3", "HeadObject");
	lua_getfield(L, 1, "Metadata");
	ck_assert(lua_istable(L, -1));
	lua_getfield(L, 1, "ContentLength");
	ck_assert(lua_isinteger(L, -1));
	lua_close(L);
}
END_TEST

static Suite *suite(void)
{
	Suite *s = suite_create("codec_decode");
	TCase *tc = tcase_create("vectors");
	scan_vectors();
	tcase_add_test(tc, test_vectors_are_there);
	tcase_add_loop_test(tc, test_vector, 0, nvectors);
	suite_add_tcase(s, tc);
	tc = tcase_create("hostile");
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, test_deep_xml_is_invalid_not_a_crash);
	tcase_add_test(tc, test_deep_json_is_invalid_not_a_crash);
	tcase_add_test(tc, test_20mb_body_is_refused);
	tcase_add_test(tc, test_error_body_excerpt_is_sanitised);
	tcase_add_test(tc, test_invalid_response_never_quotes_the_body);
	tcase_add_test(tc, test_oom_while_pushing_raises_memory_error);
	suite_add_tcase(s, tc);
	tc = tcase_create("placeholder");
	tcase_add_test(tc, test_placeholder_ids_look_like_ids);
	tcase_add_test(tc, test_placeholder_ids_of_two_writes_differ);
	tcase_add_test(tc, test_placeholder_nested_structures);
	tcase_add_test(tc, test_placeholder_without_output_and_rest_members);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	int status = tu_run(suite());
	for (int i = 0; i < nvectors; i++)
		free(vector_files[i]);
	return status;
}
