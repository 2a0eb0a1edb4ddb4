/* test_codec_build — codec_build_request (validation + the four serializers)
 * and the generated model.
 *
 * The serializer cases are data: tests/vectors/codec_build.lua holds params
 * and what botocore's own serializers produce for them
 * (tools/gen_codec_vectors.py); each must match byte for byte. Validation
 * cases are a table below. A small hand-made model at the end covers what the
 * allow-listed operations do not use (timestamps, idempotency tokens,
 * doubles, recursive shapes, flattened lists and maps); its expected bodies
 * are what botocore gives for the same model written as service-2 JSON. */
#include <check.h>
#include <lauxlib.h>
#include <lualib.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "codec.h"
#include "model_types.h"

#ifndef VECTORS_FILE
#define VECTORS_FILE "tests/vectors/codec_build.lua"
#endif

/* ---- helpers --------------------------------------------------------------- */

/* Evaluates "return <src>" and leaves the value on the stack. */
static void push_lua(lua_State *L, const char *src)
{
	char chunk[8192];
	snprintf(chunk, sizeof(chunk), "return %s", src);
	if (luaL_dostring(L, chunk) != 0)
		ck_abort_msg("bad Lua in test: %s: %s", src, lua_tostring(L, -1));
}

static lua_State *new_state(void)
{
	lua_State *L = luaL_newstate();
	ck_assert_ptr_nonnull(L);
	luaL_openlibs(L);
	return L;
}

/* Builds op with params src; returns codec_build_request's result. */
static int build_src(lua_State *L, const aws_operation *op, const char *src, aws_request *req,
		     aws_error *err)
{
	ck_assert_ptr_nonnull(op);
	push_lua(L, src);
	int top = lua_gettop(L);
	int rc = codec_build_request(L, op, -1, req, err);
	ck_assert_int_eq(lua_gettop(L), top); /* the stack is left as it was */
	lua_pop(L, 1);
	return rc;
}

static const aws_operation *op_of(const char *service, const char *name)
{
	const aws_operation *op = model_find_operation(service, name);
	ck_assert_msg(op != NULL, "no operation %s.%s", service, name);
	return op;
}

/* ---- the generated model ------------------------------------------------------ */

START_TEST(test_model_finds_operations_by_model_and_boto3_names)
{
	const aws_operation *a = model_find_operation("ec2", "CreateSnapshot");
	const aws_operation *b = model_find_operation("ec2", "create_snapshot");
	ck_assert_ptr_nonnull(a);
	ck_assert_ptr_eq(a, b);
	ck_assert_str_eq(model_op_name(a), "CreateSnapshot");
	ck_assert_str_eq(model_op_snake_name(a), "create_snapshot");
	ck_assert_str_eq(model_op_service(a), "ec2");
	ck_assert_str_eq(model_op_protocol(a), "ec2");
	ck_assert_ptr_null(model_find_operation("ec2", "TerminateInstances"));
	ck_assert_ptr_null(model_find_operation("s3", "CreateSnapshot"));
	ck_assert_ptr_null(model_find_operation("nosuch", "X"));
}
END_TEST

START_TEST(test_model_service_metadata)
{
	const aws_operation *op = op_of("elbv2", "register_targets");
	ck_assert_str_eq(model_op_signing_name(op), "elasticloadbalancing");
	ck_assert_str_eq(op->service->service_id, "Elastic Load Balancing v2");
	ck_assert_str_eq(op->service->api_version, "2015-12-01");
	op = op_of("ssm", "SendCommand");
	ck_assert_str_eq(op->service->target_prefix, "AmazonSSM");
	ck_assert_str_eq(op->service->json_version, "1.1");
	ck_assert_int_eq(op->service->protocol, AWS_PROTO_JSON);
	op = op_of("iam", "PutUserPolicy");
	ck_assert_str_eq(op->service->global_endpoint, "iam.amazonaws.com");
	op = op_of("s3", "PutPublicAccessBlock");
	ck_assert(op->flags & AWS_OF_CHECKSUM_REQUIRED);
	ck_assert_str_eq(op->request_uri, "/{Bucket}?publicAccessBlock");
	ck_assert_str_eq(op_of("elb", "DescribeInstanceHealth")->result_wrapper,
			 "DescribeInstanceHealthResult");
	ck_assert(!(op_of("s3", "PutObject")->flags & AWS_OF_CHECKSUM_REQUIRED));
}
END_TEST

START_TEST(test_model_has_every_listed_operation_sorted)
{
	ck_assert_uint_ge(model_op_count(), 50);
	for (size_t i = 1; i < model_op_count(); i++) {
		const aws_operation *p = model_op_at(i - 1), *q = model_op_at(i);
		int c = strcmp(p->service->name, q->service->name);
		ck_assert_msg(c < 0 || (c == 0 && strcmp(p->name, q->name) < 0), "unsorted at %zu", i);
		ck_assert_ptr_eq(model_find_operation(q->service->name, q->snake_name), q);
	}
	ck_assert_ptr_null(model_op_at(model_op_count()));
}
END_TEST

/* Every URI member is a {Label} of the operation's requestUri, which the
 * rest-xml serializer percent-encodes as botocore does (the hostile-key
 * vectors); the other protocols post to a fixed "/" and have none. A new
 * operation with a label the serializer does not fill fails here. */
START_TEST(test_uri_members_are_exactly_the_request_uris_labels)
{
	for (size_t i = 0; i < model_op_count(); i++) {
		const aws_operation *op = model_op_at(i);
		const aws_shape *in = op->input;
		const char *uri = op->request_uri ? op->request_uri : "/";
		int rest = op->service->protocol == AWS_PROTO_REST_XML;
		if (!rest)
			ck_assert_msg(strcmp(uri, "/") == 0, "%s: requestUri %s", op->name, uri);
		for (size_t k = 0; in && k < in->nmembers; k++) {
			const aws_member *m = &in->members[k];
			if (m->location != AWS_LOC_URI)
				continue;
			char label[160], greedy[160];
			const char *name = m->location_name ? m->location_name : m->name;
			snprintf(label, sizeof(label), "{%s}", name);
			snprintf(greedy, sizeof(greedy), "{%s+}", name);
			ck_assert_msg(rest && (strstr(uri, label) || strstr(uri, greedy)),
				      "%s.%s: URI member %s is not a label of %s", op->service->name,
				      op->name, name, uri);
		}
		for (const char *p = strchr(uri, '{'); p; p = strchr(p + 1, '{')) {
			size_t n = strcspn(p + 1, "+}");
			int found = 0;
			for (size_t k = 0; in && k < in->nmembers && !found; k++) {
				const aws_member *m = &in->members[k];
				const char *name = m->location_name ? m->location_name : m->name;
				found = m->location == AWS_LOC_URI && strlen(name) == n &&
					strncmp(name, p + 1, n) == 0;
			}
			ck_assert_msg(found, "%s: label %s has no URI member", op->name, p);
		}
	}
}
END_TEST

START_TEST(test_model_shapes_carry_traits)
{
	const aws_shape *in = op_of("s3", "PutPublicAccessBlock")->input;
	ck_assert_int_ge(in->payload, 0);
	const aws_member *p = &in->members[in->payload];
	ck_assert_str_eq(p->name, "PublicAccessBlockConfiguration");
	ck_assert_str_eq(p->xml_namespace, "http://s3.amazonaws.com/doc/2006-03-01/");
	const aws_member *b = model_member_find(in, "Bucket");
	ck_assert_int_eq(b->location, AWS_LOC_URI);
	ck_assert(b->flags & AWS_MF_REQUIRED);
	const aws_member *f = model_member_find(op_of("ec2", "DescribeInstances")->input, "Filters");
	ck_assert_str_eq(f->location_name, "Filter");
	ck_assert_int_eq(f->shape->type, AWS_SHAPE_LIST);
	ck_assert_str_eq(f->shape->list_member->location_name, "Filter");
	const aws_shape *status = model_member_find(op_of("iam", "UpdateAccessKey")->input,
						    "Status")->shape;
	ck_assert_uint_ge(status->nenums, 2);
	ck_assert_ptr_eq(model_member_find_wire(in, "x-amz-expected-bucket-owner", AWS_LOC_HEADER),
			 model_member_find(in, "ExpectedBucketOwner"));
}
END_TEST

/* ---- botocore vectors -------------------------------------------------------- */

static const char *field_str(lua_State *L, int t, const char *k, size_t *n)
{
	lua_getfield(L, t, k);
	const char *s = lua_tolstring(L, -1, n);
	lua_pop(L, 1); /* still referenced by the case table */
	ck_assert_msg(s != NULL, "vector field %s missing", k);
	return s;
}

static int same_str(const char *what, const char *name, const char *want, size_t wn,
		    const char *got, size_t gn)
{
	if (wn == gn && memcmp(want, got, wn) == 0)
		return 1;
	fprintf(stderr, "%s: %s differs\n  want: %.*s\n  got:  %.*s\n", name, what, (int)wn, want,
		(int)gn, got);
	return 0;
}

/* Every expected header is present with its value, and no other. */
static int same_headers(lua_State *L, int t, const char *name, const aws_request *req)
{
	int ok = 1;
	size_t want = 0;
	lua_getfield(L, t, "headers");
	lua_pushnil(L);
	while (lua_next(L, -2)) {
		const char *k = lua_tostring(L, -2), *v = lua_tostring(L, -1);
		const char *got = aws_request_header(req, k);
		want++;
		if (!got || strcmp(got, v) != 0) {
			fprintf(stderr, "%s: header %s want [%s] got [%s]\n", name, k, v,
				got ? got : "(none)");
			ok = 0;
		}
		lua_pop(L, 1);
	}
	lua_pop(L, 1);
	if (want != req->nheaders) {
		fprintf(stderr, "%s: %zu headers, want %zu\n", name, req->nheaders, want);
		ok = 0;
	}
	return ok;
}

/* Runs one vector case (the table at the top of the stack); 1 if it matches. */
static int run_case(lua_State *L)
{
	int t = lua_gettop(L);
	size_t n, wn;
	const char *name = field_str(L, t, "name", &n);
	const aws_operation *op = op_of(field_str(L, t, "service", &n), field_str(L, t, "op", &n));
	aws_request req = {0};
	aws_error err = {0};
	lua_getfield(L, t, "params");
	int rc = codec_build_request(L, op, -1, &req, &err);
	lua_pop(L, 1);
	int ok = rc == 0;
	if (!ok)
		fprintf(stderr, "%s: failed: %s: %s\n", name, err.code, err.message);
	const char *w = field_str(L, t, "method", &wn);
	ok = ok && same_str("method", name, w, wn, req.method, strlen(req.method));
	w = field_str(L, t, "path", &wn);
	ok = ok && same_str("path", name, w, wn, buf_cstr(&req.path), req.path.len);
	w = field_str(L, t, "query", &wn);
	ok = ok && same_str("query", name, w, wn, buf_cstr(&req.query), req.query.len);
	w = field_str(L, t, "bucket", &wn);
	ok = ok && same_str("bucket", name, w, wn, req.bucket, strlen(req.bucket));
	w = field_str(L, t, "body", &wn);
	ok = ok && same_str("body", name, w, wn, buf_cstr(&req.body), req.body.len);
	ok = ok && same_headers(L, t, name, &req);
	aws_request_free(&req);
	return ok;
}

static void run_vectors(const char *protocol)
{
	lua_State *L = new_state();
	int cases = 0, failed = 0;
	if (luaL_dofile(L, VECTORS_FILE) != 0)
		ck_abort_msg("cannot load %s: %s", VECTORS_FILE, lua_tostring(L, -1));
	for (lua_Integer i = 1; lua_rawgeti(L, -1, i) == LUA_TTABLE; i++) {
		size_t n;
		const aws_operation *op = op_of(field_str(L, -1, "service", &n),
						field_str(L, -1, "op", &n));
		if (strcmp(op->service->protocol_name, protocol) == 0) {
			cases++;
			failed += !run_case(L);
		}
		lua_pop(L, 1);
	}
	lua_close(L);
	ck_assert_msg(cases > 0, "no %s vectors", protocol);
	ck_assert_msg(failed == 0, "%d of %d %s vectors differ from botocore (see stderr)", failed,
		      cases, protocol);
}

START_TEST(test_ec2_matches_botocore)
{
	run_vectors("ec2");
}
END_TEST

START_TEST(test_query_matches_botocore)
{
	run_vectors("query");
}
END_TEST

START_TEST(test_json_matches_botocore)
{
	run_vectors("json");
}
END_TEST

START_TEST(test_restxml_matches_botocore)
{
	run_vectors("rest-xml");
}
END_TEST

/* ---- validation ------------------------------------------------------------------ */

static const struct bad_case {
	const char *service, *op, *params;
	const char *message; /* the whole message, or its start when it ends in '*' */
} bad_cases[] = {
	{"ec2", "CreateSnapshot", "{}", "ec2.CreateSnapshot: VolumeId is required"},
	{"ec2", "CreateSnapshot", "nil", "ec2.CreateSnapshot: VolumeId is required"},
	{"ec2", "CreateSnapshot", "'vol-1'", "ec2.CreateSnapshot: parameters must be a table"},
	{"ec2", "DescribeInstances",
	 "{ Filters = { { Name = 'a', Values = { 'x' } }, { Name = 'b', Values = { true } } } }",
	 "ec2.DescribeInstances: Filters[2].Values[1] must be a string"},
	{"ec2", "DescribeInstances", "{ InstanceIds = { 'i-1', 5 } }",
	 "ec2.DescribeInstances: InstanceIds[2] must be a string"},
	{"ec2", "DescribeSnapshots", "{ MaxResults = '5' }",
	 "ec2.DescribeSnapshots: MaxResults must be an integer"},
	{"ec2", "DescribeSnapshots", "{ MaxResults = 5.5 }",
	 "ec2.DescribeSnapshots: MaxResults must be an integer"},
	{"ec2", "DescribeSnapshots", "{ MaxResults = 2^40 }",
	 "ec2.DescribeSnapshots: MaxResults must be a 32-bit integer"},
	{"ec2", "DescribeInstances", "{ DryRun = 'true' }",
	 "ec2.DescribeInstances: DryRun must be a boolean"},
	{"iam", "UpdateAccessKey",
	 "{ UserName = 'u', AccessKeyId = 'AKIAIOSFODNN7EXAMPLE', Status = 'Disabled' }",
	 "iam.UpdateAccessKey: Status must be one of: Active, Inactive*"},
	{"iam", "PutUserPolicy",
	 "{ UserName = string.rep('a', 129), PolicyName = 'p', PolicyDocument = '{}' }",
	 "iam.PutUserPolicy: UserName must be at most 128 characters long (got 129)"},
	{"ssm", "GetCommandInvocation", "{ CommandId = 'abc', InstanceId = 'i-1' }",
	 "ssm.GetCommandInvocation: CommandId must be at least 36 characters long (got 3)"},
	{"iam", "PutUserPolicy", "{ UserName = 'u', PolicyName = '\\255', PolicyDocument = '{}' }",
	 "iam.PutUserPolicy: PolicyName must be valid UTF-8"},
	{"elbv2", "RegisterTargets", "{ TargetGroupArn = 'a', Targets = { { Id = 'i', Port = 70000 } } }",
	 "elbv2.RegisterTargets: Targets[1].Port must be at most 65535"},
	{"elbv2", "RegisterTargets", "{ TargetGroupArn = 'a', Targets = { { Port = 80 } } }",
	 "elbv2.RegisterTargets: Targets[1].Id is required"},
	{"ec2", "CreateSnapshot", "{ VolumeId = 'v', Nope = 1 }",
	 "ec2.CreateSnapshot: unknown parameter Nope"},
	{"ec2", "DescribeInstances", "{ Filters = { { Name = 'a', Vals = {} } } }",
	 "ec2.DescribeInstances: unknown parameter Filters[1].Vals: did you mean Values?"},
	{"ec2", "ModifyInstanceAttribute", "{ InstanceID = 'i-1' }",
	 "ec2.ModifyInstanceAttribute: unknown parameter InstanceID: did you mean InstanceId?"},
	{"ec2", "CreateSnapshot", "{ VolumeId = 'v', [1] = 'x' }",
	 "ec2.CreateSnapshot: parameters has a key that is not a string*"},
	{"ec2", "DescribeInstances", "{ InstanceIds = { 'a', nil, 'c' } }",
	 "ec2.DescribeInstances: InstanceIds must be a list (a table with keys 1..n, no holes)"},
	{"ec2", "DescribeInstances", "{ InstanceIds = { x = 'a' } }",
	 "ec2.DescribeInstances: InstanceIds must be a list*"},
	{"ec2", "DescribeInstances", "{ InstanceIds = { [0] = 'a', 'b' } }",
	 "ec2.DescribeInstances: InstanceIds must be a list*"},
	{"ec2", "DescribeInstances", "{ InstanceIds = 'i-1' }",
	 "ec2.DescribeInstances: InstanceIds must be a list*"},
	{"ssm", "SendCommand", "{ DocumentName = 'd', Parameters = { [1] = { 'x' } } }",
	 "ssm.SendCommand: Parameters must have string keys"},
	{"ssm", "SendCommand", "{ DocumentName = 'd', Parameters = { commands = 'ls' } }",
	 "ssm.SendCommand: Parameters[\"commands\"] must be a list*"},
	{"s3", "HeadObject", "{ Bucket = 'b', Key = 'k', IfModifiedSince = 'yesterday' }",
	 "s3.HeadObject: IfModifiedSince must be a timestamp (an ISO-8601 string or epoch seconds)"},
	{"s3", "HeadObject", "{ Bucket = 'b', Key = 'k', IfModifiedSince = '2024-02-30' }",
	 "s3.HeadObject: IfModifiedSince must be a timestamp*"},
	{"s3", "GetPublicAccessBlock", "{ Bucket = 'evil.com/x' }",
	 "s3.GetPublicAccessBlock: Bucket must be a bucket name*"},
	{"s3", "PutObject", "{ Bucket = '..', Key = 'other-bucket/x' }",
	 "s3.PutObject: Bucket must be a bucket name*"},
	{"s3", "HeadObject", "{ Bucket = '.', Key = 'k' }", "s3.HeadObject: Bucket must be a bucket name*"},
	{"s3", "HeadObject", "{ Bucket = 'a/../b', Key = 'k' }",
	 "s3.HeadObject: Bucket must be a bucket name*"},
	{"s3", "PutObject", "{ Bucket = 'b', Key = '' }",
	 "s3.PutObject: Key must be at least 1 characters long (got 0)"},
	{"s3", "PutObject", "{ Bucket = 'b', Key = 'k', ContentType = 'a\\r\\nX-Evil: 1' }",
	 "s3.PutObject: ContentType must not contain CR, LF or NUL (it is sent in a header)"},
	{"s3", "PutObject", "{ Bucket = 'b', Key = 'k', Metadata = { ['bad key'] = 'v' } }",
	 "s3.PutObject: Metadata has a key that is not a header name"},
	{"s3", "PutObject", "{ Bucket = 'b', Key = 'k', Body = 42 }",
	 "s3.PutObject: Body must be a string (bytes)"},
	{"sts", "GetCallerIdentity", "{ Foo = 1 }", "sts.GetCallerIdentity: unknown parameter Foo"},
};

static void check_message(const struct bad_case *c, const aws_error *err)
{
	size_t n = strlen(c->message);
	ck_assert_str_eq(err->code, "ValidationError");
	if (c->message[n - 1] == '*')
		ck_assert_msg(strncmp(err->message, c->message, n - 1) == 0, "got [%s] want [%s]",
			      err->message, c->message);
	else
		ck_assert_str_eq(err->message, c->message);
}

START_TEST(test_bad_params_are_rejected_naming_the_member)
{
	const struct bad_case *c = &bad_cases[_i];
	lua_State *L = new_state();
	aws_request req = {0};
	aws_error err = {0};
	int rc = build_src(L, op_of(c->service, c->op), c->params, &req, &err);
	ck_assert_msg(rc == -1, "%s.%s %s was accepted", c->service, c->op, c->params);
	check_message(c, &err);
	aws_request_free(&req);
	lua_close(L);
}
END_TEST

START_TEST(test_integral_floats_and_optional_params_are_accepted)
{
	lua_State *L = new_state();
	aws_request req = {0};
	aws_error err = {0};
	ck_assert_int_eq(build_src(L, op_of("ec2", "DescribeSnapshots"), "{ MaxResults = 5.0 }",
				   &req, &err), 0);
	ck_assert_str_eq(buf_cstr(&req.body),
			 "Action=DescribeSnapshots&Version=2016-11-15&MaxResults=5");
	aws_request_free(&req);
	memset(&req, 0, sizeof(req));
	ck_assert_int_eq(build_src(L, op_of("iam", "ListAccessKeys"), "nil", &req, &err), 0);
	ck_assert_str_eq(buf_cstr(&req.body), "Action=ListAccessKeys&Version=2010-05-08");
	aws_request_free(&req);
	lua_close(L);
}
END_TEST

START_TEST(test_cyclic_table_is_rejected_not_followed)
{
	lua_State *L = new_state();
	aws_request req = {0};
	aws_error err = {0};
	push_lua(L, "(function() local f = { Name = 'a' }; f.Values = f;"
		    " local p = { Filters = { f } }; p.Filters[2] = p; return p end)()");
	ck_assert_int_eq(codec_build_request(L, op_of("ec2", "DescribeInstances"), -1, &req, &err), -1);
	ck_assert_str_eq(err.code, "ValidationError");
	ck_assert_ptr_nonnull(strstr(err.message, "Filters["));
	aws_request_free(&req);
	lua_close(L);
}
END_TEST

/* Metamethods on every table would record that they ran; none may. */
static const char *const TRAPPED =
	"(function()"
	"  touched = false"
	"  local mt = { __index = function() touched = true end,"
	"    __newindex = function() touched = true end,"
	"    __pairs = function() touched = true; return next, {}, nil end,"
	"    __len = function() touched = true; return 0 end,"
	"    __eq = function() touched = true; return true end,"
	"    __lt = function() touched = true; return true end,"
	"    __tostring = function() touched = true; return 'x' end }"
	"  local function trap(t) return setmetatable(t, mt) end"
	"  return trap{ InstanceIds = trap{ 'i-1', 'i-2' },"
	"    Filters = trap{ trap{ Name = 'n', Values = trap{ 'v' } } } }"
	"end)()";

START_TEST(test_metamethods_of_params_never_run)
{
	lua_State *L = new_state();
	aws_request req = {0};
	aws_error err = {0};
	ck_assert_int_eq(build_src(L, op_of("ec2", "DescribeInstances"), TRAPPED, &req, &err), 0);
	ck_assert_str_eq(buf_cstr(&req.body),
			 "Action=DescribeInstances&Version=2016-11-15&InstanceId.1=i-1&InstanceId.2=i-2"
			 "&Filter.1.Name=n&Filter.1.Value.1=v");
	lua_getglobal(L, "touched");
	ck_assert(lua_type(L, -1) == LUA_TBOOLEAN && !lua_toboolean(L, -1));
	lua_pop(L, 1);
	aws_request_free(&req);
	/* the same tables, with a validation error to report */
	memset(&req, 0, sizeof(req));
	ck_assert_int_eq(build_src(L, op_of("ec2", "CreateSnapshot"), TRAPPED, &req, &err), -1);
	lua_getglobal(L, "touched");
	ck_assert(!lua_toboolean(L, -1));
	aws_request_free(&req);
	lua_close(L);
}
END_TEST

START_TEST(test_number_params_are_not_converted_in_place)
{
	lua_State *L = new_state();
	aws_request req = {0};
	aws_error err = {0};
	push_lua(L, "{ MaxResults = 7 }");
	ck_assert_int_eq(codec_build_request(L, op_of("ec2", "DescribeSnapshots"), -1, &req, &err), 0);
	lua_getfield(L, -1, "MaxResults");
	ck_assert_int_eq(lua_type(L, -1), LUA_TNUMBER); /* not turned into a string */
	ck_assert(lua_isinteger(L, -1));
	aws_request_free(&req);
	lua_close(L);
}
END_TEST

START_TEST(test_s3_bucket_leaves_the_path)
{
	lua_State *L = new_state();
	aws_request req = {0};
	aws_error err = {0};
	ck_assert_int_eq(build_src(L, op_of("s3", "put_object"),
				   "{ Bucket = 'b', Key = '/lead/ing slash', Body = '' }", &req, &err), 0);
	ck_assert_str_eq(req.bucket, "b");
	ck_assert_str_eq(buf_cstr(&req.path), "//lead/ing%20slash");
	ck_assert_str_eq(req.method, "PUT");
	aws_request_free(&req);
	lua_close(L);
}
END_TEST

START_TEST(test_s3_caller_content_md5_is_kept)
{
	lua_State *L = new_state();
	aws_request req = {0};
	aws_error err = {0};
	ck_assert_int_eq(build_src(L, op_of("s3", "PutPublicAccessBlock"),
				   "{ Bucket = 'b', ContentMD5 = 'given',"
				   "  PublicAccessBlockConfiguration = { BlockPublicAcls = true } }",
				   &req, &err), 0);
	ck_assert_str_eq(aws_request_header(&req, "Content-MD5"), "given");
	aws_request_free(&req);
	memset(&req, 0, sizeof(req));
	ck_assert_int_eq(build_src(L, op_of("s3", "PutPublicAccessBlock"),
				   "{ Bucket = 'b', ChecksumAlgorithm = 'SHA256',"
				   "  PublicAccessBlockConfiguration = {} }", &req, &err), 0);
	ck_assert_ptr_null(aws_request_header(&req, "Content-MD5"));
	ck_assert_str_eq(aws_request_header(&req, "x-amz-sdk-checksum-algorithm"), "SHA256");
	/* base64(sha256(body)), body checked by the vectors */
	ck_assert_ptr_nonnull(aws_request_header(&req, "x-amz-checksum-sha256"));
	ck_assert_uint_eq(strlen(aws_request_header(&req, "x-amz-checksum-sha256")), 44);
	aws_request_free(&req);
	lua_close(L);
}
END_TEST

/* ---- a hand-made model --------------------------------------------------------- */

static const aws_service t_query = {.name = "tq", .service_id = "TQ", .signing_name = "tq",
				    .protocol = AWS_PROTO_QUERY, .protocol_name = "query",
				    .api_version = "2020-01-01"};
static const aws_service t_json = {.name = "tj", .service_id = "TJ", .signing_name = "tj",
				   .protocol = AWS_PROTO_JSON, .protocol_name = "json",
				   .api_version = "2020-01-01", .target_prefix = "TJ",
				   .json_version = "1.0"};
static const aws_shape t_str = {.name = "S", .type = AWS_SHAPE_STRING, .payload = -1};
static const aws_shape t_ts = {.name = "T", .type = AWS_SHAPE_TIMESTAMP, .payload = -1};
static const aws_shape t_dbl = {.name = "D", .type = AWS_SHAPE_DOUBLE, .payload = -1};
static const aws_member t_flat_elem = {.shape = &t_str, .location_name = "Item"};
static const aws_shape t_flat = {.name = "FL", .type = AWS_SHAPE_LIST, .payload = -1,
				 .flags = AWS_SF_FLATTENED, .list_member = &t_flat_elem};
static const aws_member t_map_key = {.shape = &t_str, .location_name = "K"};
static const aws_member t_map_val = {.shape = &t_str};
static const aws_shape t_map = {.name = "M", .type = AWS_SHAPE_MAP, .payload = -1,
				.flags = AWS_SF_FLATTENED, .map_key = &t_map_key,
				.map_value = &t_map_val};
static const aws_shape t_node;
static const aws_member t_node_members[] = {
	{.name = "Name", .shape = &t_str},
	{.name = "Child", .shape = &t_node},
};
static const aws_shape t_node = {.name = "Node", .type = AWS_SHAPE_STRUCTURE, .payload = -1,
				 .members = t_node_members, .nmembers = 2};
static const aws_member t_in_members[] = {
	{.name = "When", .shape = &t_ts},
	{.name = "Ratio", .shape = &t_dbl},
	{.name = "ClientToken", .shape = &t_str, .flags = AWS_MF_IDEMPOTENCY_TOKEN},
	{.name = "Things", .shape = &t_flat, .location_name = "Thing"},
	{.name = "Attrs", .shape = &t_map},
	{.name = "Tree", .shape = &t_node},
};
static const aws_shape t_in = {.name = "In", .type = AWS_SHAPE_STRUCTURE, .payload = -1,
			       .members = t_in_members, .nmembers = 6};
static const aws_operation t_qop = {.name = "Op", .snake_name = "op", .service = &t_query,
				    .http_method = "POST", .request_uri = "/", .input = &t_in};
static const aws_operation t_jop = {.name = "Op", .snake_name = "op", .service = &t_json,
				    .http_method = "POST", .request_uri = "/", .input = &t_in};

/* Builds the hand-made op and returns the body (the request is freed). */
static void body_of(const aws_operation *op, const char *src, char *out, size_t n)
{
	lua_State *L = new_state();
	aws_request req = {0};
	aws_error err = {0};
	int rc = build_src(L, op, src, &req, &err);
	ck_assert_msg(rc == 0, "%s: %s", src, err.message);
	snprintf(out, n, "%s", buf_cstr(&req.body));
	aws_request_free(&req);
	lua_close(L);
}

static const struct { const char *params, *query, *json; } t_cases[] = {
	{"{ When = '2024-01-02T03:04:05Z', ClientToken = 't' }",
	 "When=2024-01-02T03%3A04%3A05Z", "{\"When\":1704164645,"},
	{"{ When = 1704164645, ClientToken = 't' }", "When=2024-01-02T03%3A04%3A05Z",
	 "{\"When\":1704164645,"},
	{"{ When = '2024-01-02T05:04:05.25+02:00', ClientToken = 't' }",
	 "When=2024-01-02T03%3A04%3A05.250000Z", "{\"When\":1704164645,"},
	{"{ When = 1704164645.5, ClientToken = 't' }", "When=2024-01-02T03%3A04%3A05.500000Z",
	 "{\"When\":1704164645,"},
	{"{ When = '2024-01-02', ClientToken = 't' }", "When=2024-01-02T00%3A00%3A00Z",
	 "{\"When\":1704153600,"},
	{"{ Ratio = 1.5, ClientToken = 't' }", "Ratio=1.5", "{\"Ratio\":1.5,"},
	{"{ Ratio = 1e16, ClientToken = 't' }", "Ratio=1e%2B16", "{\"Ratio\":1e+16,"},
	{"{ Ratio = 0.0001, ClientToken = 't' }", "Ratio=0.0001", "{\"Ratio\":0.0001,"},
	{"{ Ratio = 0.1 + 0.2, ClientToken = 't' }", "Ratio=0.30000000000000004",
	 "{\"Ratio\":0.30000000000000004,"},
	{"{ Ratio = 3, ClientToken = 't' }", "Ratio=3", "{\"Ratio\":3,"},
	{"{ Ratio = 100.0, ClientToken = 't' }", "Ratio=100.0", "{\"Ratio\":100.0,"},
	{"{ Ratio = 1/0, ClientToken = 't' }", "Ratio=Infinity", "{\"Ratio\":\"Infinity\","},
	{"{ ClientToken = 't', Things = { 'a', 'b' } }", "ClientToken=t&Item.1=a&Item.2=b",
	 "{\"ClientToken\":\"t\",\"Thing\":[\"a\",\"b\"]}"}, /* JSON: locationName */
	{"{ ClientToken = 't', Attrs = { z = '1', a = '2' } }",
	 "ClientToken=t&Attrs.1.K=a&Attrs.1.value=2&Attrs.2.K=z&Attrs.2.value=1",
	 "{\"ClientToken\":\"t\",\"Attrs\":{\"a\":\"2\",\"z\":\"1\"}}"},
	{"{ ClientToken = 't', Tree = { Name = 'r', Child = { Name = 'c', Child = {} } } }",
	 "ClientToken=t&Tree.Name=r&Tree.Child.Name=c",
	 "{\"ClientToken\":\"t\",\"Tree\":{\"Name\":\"r\",\"Child\":{\"Name\":\"c\",\"Child\":{}}}}"},
};

START_TEST(test_handmade_model_matches_botocore_rules)
{
	char body[2048], want[512];
	body_of(&t_qop, t_cases[_i].params, body, sizeof(body));
	snprintf(want, sizeof(want), "Action=Op&Version=2020-01-01&%s", t_cases[_i].query);
	ck_assert_msg(strncmp(body, want, strlen(want)) == 0, "query got [%s] want [%s...]", body, want);
	body_of(&t_jop, t_cases[_i].params, body, sizeof(body));
	ck_assert_msg(strncmp(body, t_cases[_i].json, strlen(t_cases[_i].json)) == 0,
		      "json got [%s] want [%s...]", body, t_cases[_i].json);
}
END_TEST

static int is_uuid4(const char *s)
{
	static const char *const hexd = "0123456789abcdef";
	for (int i = 0; i < 36; i++) {
		int dash = i == 8 || i == 13 || i == 18 || i == 23;
		if (dash ? s[i] != '-' : !strchr(hexd, s[i]) || !s[i])
			return 0;
	}
	return s[14] == '4' && strchr("89ab", s[19]) != NULL;
}

START_TEST(test_idempotency_token_is_filled_when_absent)
{
	char a[512], b[512];
	body_of(&t_qop, "{}", a, sizeof(a));
	body_of(&t_qop, "{}", b, sizeof(b));
	const char *pa = strstr(a, "ClientToken="), *pb = strstr(b, "ClientToken=");
	ck_assert_ptr_nonnull(pa);
	ck_assert_msg(is_uuid4(pa + 12), "not a UUIDv4: %s", pa + 12);
	ck_assert_msg(strncmp(pa, pb, 48) != 0, "two requests share a token");
	body_of(&t_jop, "{}", a, sizeof(a));
	ck_assert_msg(strncmp(a, "{\"ClientToken\":\"", 16) == 0 && is_uuid4(a + 16), "%s", a);
}
END_TEST

START_TEST(test_deep_recursive_table_hits_the_depth_limit)
{
	lua_State *L = new_state();
	aws_request req = {0};
	aws_error err = {0};
	push_lua(L, "(function() local n = { Name = 'x' }; n.Child = n; return { Tree = n } end)()");
	ck_assert_int_eq(codec_build_request(L, &t_qop, -1, &req, &err), -1);
	ck_assert_msg(strstr(err.message, "nested more than 32 tables deep") != NULL, "%s",
		      err.message);
	aws_request_free(&req);
	lua_close(L);
}
END_TEST

START_TEST(test_json_escapes_control_characters)
{
	char body[512];
	body_of(&t_jop, "{ ClientToken = 'a\\0b\\1\\31\\127\"\\\\/\\226\\130\\172' }", body,
		sizeof(body));
	ck_assert_str_eq(body, "{\"ClientToken\":\"a\\u0000b\\u0001\\u001f\x7f\\\"\\\\/\xe2\x82\xac\"}");
}
END_TEST

static Suite *codec_build_suite(void)
{
	Suite *s = suite_create("codec_build");
	TCase *model = tcase_create("model");
	tcase_add_test(model, test_model_finds_operations_by_model_and_boto3_names);
	tcase_add_test(model, test_model_service_metadata);
	tcase_add_test(model, test_model_has_every_listed_operation_sorted);
	tcase_add_test(model, test_model_shapes_carry_traits);
	tcase_add_test(model, test_uri_members_are_exactly_the_request_uris_labels);
	suite_add_tcase(s, model);
	TCase *vec = tcase_create("botocore_vectors");
	tcase_add_test(vec, test_ec2_matches_botocore);
	tcase_add_test(vec, test_query_matches_botocore);
	tcase_add_test(vec, test_json_matches_botocore);
	tcase_add_test(vec, test_restxml_matches_botocore);
	suite_add_tcase(s, vec);
	TCase *val = tcase_create("validation");
	tcase_add_loop_test(val, test_bad_params_are_rejected_naming_the_member, 0,
			    (int)(sizeof(bad_cases) / sizeof(bad_cases[0])));
	tcase_add_test(val, test_integral_floats_and_optional_params_are_accepted);
	tcase_add_test(val, test_cyclic_table_is_rejected_not_followed);
	tcase_add_test(val, test_metamethods_of_params_never_run);
	tcase_add_test(val, test_number_params_are_not_converted_in_place);
	suite_add_tcase(s, val);
	TCase *wire = tcase_create("wire");
	tcase_add_test(wire, test_s3_bucket_leaves_the_path);
	tcase_add_test(wire, test_s3_caller_content_md5_is_kept);
	tcase_add_loop_test(wire, test_handmade_model_matches_botocore_rules, 0,
			    (int)(sizeof(t_cases) / sizeof(t_cases[0])));
	tcase_add_test(wire, test_idempotency_token_is_filled_when_absent);
	tcase_add_test(wire, test_deep_recursive_table_hits_the_depth_limit);
	tcase_add_test(wire, test_json_escapes_control_characters);
	suite_add_tcase(s, wire);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(codec_build_suite());
	srunner_run_all(sr, CK_NORMAL);
	int failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
