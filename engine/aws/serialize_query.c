/* serialize_query — the query (IAM, Auto Scaling, ELB, ELBv2, SNS, STS) and
 * ec2 protocols: a form body "Action=Op&Version=V&Name.1.Sub=value...",
 * written the way botocore's QuerySerializer / EC2Serializer write it.
 *
 *   query: a member is named by its locationName (else its model name); a
 *          list is Name.member.N (Name.<locationName>.N), flattened Name.N;
 *          an empty list is "Name="; a map is Name.entry.N.key / .value.
 *   ec2:   a member is named by its queryName, else its locationName with
 *          the first letter capitalised, else its model name; every list is
 *          Name.N and an empty list sends nothing.
 * Timestamps ISO-8601, booleans true/false, blobs base64. Values are
 * form-encoded like Python's urlencode (space as '+'). */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "serialize.h"

/* The key being built ("Filters.2.Values.1"): children append, then restore. */
typedef struct qkey {
	char s[CB_NAME_MAX];
	size_t len;
} qkey;

static int q_value(cb_ctx *c, const aws_member *m, int idx, qkey *k);

static int is_ec2(const cb_ctx *c)
{
	return c->op->service->protocol == AWS_PROTO_EC2;
}

/* Appends [sep] seg to the key; returns the old length, or -1 if too long. */
static long q_push(cb_ctx *c, qkey *k, const char *sep, const char *seg, size_t n)
{
	size_t old = k->len, sl = k->len ? strlen(sep) : 0;
	if (old + sl + n >= sizeof(k->s)) {
		cb_fail(c, "%s: parameter name too long", cb_path(c));
		return -1;
	}
	memcpy(k->s + k->len, sep, sl);
	memcpy(k->s + k->len + sl, seg, n);
	k->len += sl + n;
	k->s[k->len] = '\0';
	return (long)old;
}

static long q_push_index(cb_ctx *c, qkey *k, lua_Integer i)
{
	char num[24];
	int n = snprintf(num, sizeof(num), "%lld", (long long)i);
	return q_push(c, k, ".", num, (size_t)n);
}

static void q_pop(qkey *k, long old)
{
	k->len = (size_t)old;
	k->s[k->len] = '\0';
}

/* "&key=value" */
static int q_pair(cb_ctx *c, const qkey *k, const char *v, size_t n)
{
	buf *b = &c->req->body;
	if (buf_putc(b, '&') != 0 || cb_put_form_encoded(b, k->s, k->len) != 0 ||
	    buf_putc(b, '=') != 0 || cb_put_form_encoded(b, v, n) != 0)
		return cb_fail(c, "request body too large");
	return 0;
}

/* The name of a structure member on the wire. */
static const char *q_member_name(const cb_ctx *c, const aws_member *m, char *tmp, size_t len)
{
	if (!is_ec2(c))
		return cb_member_name(m, m->name);
	if (m->query_name)
		return m->query_name;
	const char *loc = cb_member_name(m, NULL);
	if (!loc)
		return m->name;
	snprintf(tmp, len, "%s", loc);
	tmp[0] = (char)toupper((unsigned char)tmp[0]);
	return tmp;
}

static int q_token(cb_ctx *c, qkey *k)
{
	char uuid[CB_UUID_LEN + 1];
	if (cb_uuid4(uuid) != 0)
		return cb_fail(c, "cannot generate an idempotency token");
	return q_pair(c, k, uuid, strlen(uuid));
}

static int q_struct(cb_ctx *c, const aws_shape *s, int idx, qkey *k)
{
	int rc = 0;
	if (!lua_checkstack(c->L, 8))
		return cb_fail(c, "out of Lua stack");
	for (size_t i = 0; rc == 0 && i < s->nmembers; i++) {
		const aws_member *m = &s->members[i];
		char tmp[128];
		const char *name = q_member_name(c, m, tmp, sizeof(tmp));
		int present = cb_get_field(c->L, idx, m->name);
		if (!present && !cb_is_idempotency_token(m))
			continue;
		long old = q_push(c, k, ".", name, strlen(name));
		if (old < 0)
			rc = -1;
		else
			rc = present ? q_value(c, m, lua_gettop(c->L), k) : q_token(c, k);
		if (old >= 0)
			q_pop(k, old);
		if (present)
			lua_pop(c->L, 1);
	}
	return rc;
}

/* Where the elements of a query list go: Name.member, Name.<loc>, or for a
 * flattened list Name (or the last segment replaced by the element's name). */
static long q_list_prefix(cb_ctx *c, const aws_member *m, qkey *k)
{
	const char *elem = cb_member_name(m->shape->list_member, NULL);
	long old = (long)k->len;
	if (!cb_member_flattened(m))
		return q_push(c, k, ".", elem ? elem : "member", strlen(elem ? elem : "member"));
	if (elem) {
		char *dot = memrchr(k->s, '.', k->len);
		k->len = dot ? (size_t)(dot - k->s) : 0;
		if (q_push(c, k, ".", elem, strlen(elem)) < 0)
			return -1;
	}
	return old;
}

static int q_list(cb_ctx *c, const aws_member *m, int idx, qkey *k)
{
	lua_Integer n = cb_list_len(c->L, idx);
	int rc = 0;
	if (n == 0)
		return is_ec2(c) ? 0 : q_pair(c, k, "", 0);
	char saved[CB_NAME_MAX]; /* a flattened list may rename the last segment */
	size_t saved_len = k->len;
	memcpy(saved, k->s, k->len + 1);
	if (!is_ec2(c) && q_list_prefix(c, m, k) < 0)
		return -1;
	for (lua_Integer i = 1; rc == 0 && i <= n; i++) {
		long before = q_push_index(c, k, i);
		if (before < 0) {
			rc = -1;
			break;
		}
		lua_rawgeti(c->L, idx, i);
		rc = q_value(c, m->shape->list_member, lua_gettop(c->L), k);
		lua_pop(c->L, 1);
		q_pop(k, before);
	}
	memcpy(k->s, saved, saved_len + 1);
	k->len = saved_len;
	return rc;
}

/* Name.entry.N.key=K and Name.entry.N.value=V (flattened: Name.N.key). */
static int q_map_entry(cb_ctx *c, const aws_shape *s, int idx, qkey *k, const cb_key *key,
		       lua_Integer i)
{
	const char *kname = cb_member_name(s->map_key, "key");
	const char *vname = cb_member_name(s->map_value, "value");
	long old = q_push_index(c, k, i);
	if (old < 0 || q_push(c, k, ".", kname, strlen(kname)) < 0)
		return -1;
	int rc = q_pair(c, k, key->s, key->len);
	q_pop(k, old);
	if (rc != 0 || q_push_index(c, k, i) < 0 || q_push(c, k, ".", vname, strlen(vname)) < 0)
		return -1;
	lua_pushvalue(c->L, key->pos);
	lua_rawget(c->L, idx);
	rc = q_value(c, s->map_value, lua_gettop(c->L), k);
	lua_pop(c->L, 1);
	q_pop(k, old);
	return rc;
}

static int q_map(cb_ctx *c, const aws_member *m, int idx, qkey *k)
{
	cb_key *keys;
	size_t n;
	int rc = 0;
	if (cb_map_keys(c, idx, &keys, &n) != 0)
		return -1;
	long old = cb_member_flattened(m) ? (long)k->len : q_push(c, k, ".", "entry", 5);
	if (old < 0)
		rc = -1;
	for (size_t i = 0; rc == 0 && i < n; i++)
		rc = q_map_entry(c, m->shape, idx, k, &keys[i], (lua_Integer)i + 1);
	if (old >= 0)
		q_pop(k, old);
	lua_pop(c->L, (int)n);
	free(keys);
	return rc;
}

static int q_blob(cb_ctx *c, int idx, qkey *k)
{
	size_t n;
	const char *v = lua_tolstring(c->L, idx, &n);
	buf_reset(&c->scratch);
	if (cb_put_base64(&c->scratch, v, n) != 0)
		return cb_fail(c, "request body too large");
	return q_pair(c, k, buf_cstr(&c->scratch), c->scratch.len);
}

static int q_value(cb_ctx *c, const aws_member *m, int idx, qkey *k)
{
	char tmp[64];
	const char *text;
	size_t n;
	switch (m->shape->type) {
	case AWS_SHAPE_STRUCTURE:
		return q_struct(c, m->shape, idx, k);
	case AWS_SHAPE_LIST:
		return q_list(c, m, idx, k);
	case AWS_SHAPE_MAP:
		return q_map(c, m, idx, k);
	case AWS_SHAPE_BLOB:
		return q_blob(c, idx, k);
	default:
		if (cb_scalar_text(c->L, idx, m->shape, cb_member_ts_format(m, AWS_TS_ISO8601),
				   tmp, sizeof(tmp), &text, &n) != 0)
			return cb_fail(c, "%s cannot be sent in a query", k->s);
		return q_pair(c, k, text, n);
	}
}

int cb_serialize_query(cb_ctx *c, int idx)
{
	aws_request *r = c->req;
	qkey k = {.len = 0};
	k.s[0] = '\0';
	if (buf_puts(&r->path, "/") != 0 || buf_puts(&r->body, "Action=") != 0 ||
	    cb_put_form_encoded(&r->body, c->op->name, strlen(c->op->name)) != 0 ||
	    buf_puts(&r->body, "&Version=") != 0 ||
	    cb_put_form_encoded(&r->body, c->op->service->api_version,
				strlen(c->op->service->api_version)) != 0)
		return cb_fail(c, "out of memory");
	if (idx && c->op->input && q_struct(c, c->op->input, idx, &k) != 0)
		return -1;
	return cb_set_header(c, "Content-Type",
			     "application/x-www-form-urlencoded; charset=utf-8");
}
