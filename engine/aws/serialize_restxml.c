/* serialize_restxml — the rest-xml protocol (S3), as botocore's
 * RestXMLSerializer writes it:
 *
 *   - the requestUri's {Label} / {Label+} filled from "uri" members,
 *     percent-encoded ({Key+} keeps '/'). S3's {Bucket} goes to req->bucket
 *     and not into the path: "/{Bucket}/{Key+}" gives the path "/a/b.txt".
 *   - a requestUri's own query ("/{Bucket}?publicAccessBlock") starts
 *     req->query as it is: "publicAccessBlock" (the signer canonicalises a
 *     bare sub-resource as "publicAccessBlock="); "querystring" members follow
 *     as "&name=value" (lists repeat the name, maps add their entries).
 *   - "header" members as headers (timestamps as HTTP dates, lists joined
 *     with ','), "headers" maps as prefix+key.
 *   - the payload member: a blob or string is the raw body; a structure is
 *     XML rooted at the member's locationName with its xmlNamespace.
 *   - Content-MD5 (base64 MD5 of the body) when the model takes a checksum
 *     (httpChecksum, required or not: see x_checksum), unless the caller
 *     gave one (ContentMD5) or asked for another algorithm
 *     (ChecksumAlgorithm: x-amz-checksum-crc32/crc32c/sha1/sha256). */
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base64.h"
#include "serialize.h"

static int x_node(cb_ctx *c, buf *b, const aws_member *m, int idx, const char *name);

static int oom(cb_ctx *c)
{
	return c->failed ? -1 : cb_fail(c, "request too large (out of memory)");
}

static const aws_member *find_label(const aws_shape *in, const char *label, size_t n)
{
	for (size_t i = 0; in && i < in->nmembers; i++) {
		const aws_member *m = &in->members[i];
		const char *name = cb_member_name(m, m->name);
		if (m->location == AWS_LOC_URI && strlen(name) == n && memcmp(name, label, n) == 0)
			return m;
	}
	return NULL;
}

/* Text of a scalar member (blob: its raw bytes) for a URI, query or header. */
static int x_text(cb_ctx *c, const aws_member *m, const aws_shape *s, int idx, int ts_default,
		  char *tmp, size_t tmplen, const char **text, size_t *n)
{
	if (s->type == AWS_SHAPE_BLOB) {
		*text = lua_tolstring(c->L, idx, n);
		return 0;
	}
	if (cb_scalar_text(c->L, idx, s, cb_member_ts_format(m, ts_default), tmp, tmplen, text,
			   n) != 0)
		return cb_fail(c, "%s cannot be sent in the URL or a header", m->name ? m->name : "");
	return 0;
}

/* One {Label} of the path template at *p (just past '{'). */
static int x_label(cb_ctx *c, int idx, const char **p, int *skip_slash)
{
	const char *end = strchr(*p, '}');
	char tmp[64];
	const char *text;
	size_t n, len = end ? (size_t)(end - *p) : 0;
	int greedy = len > 0 && (*p)[len - 1] == '+';
	const aws_member *m = find_label(c->op->input, *p, len - (size_t)greedy);
	if (!end || !m || !idx || !cb_get_field(c->L, idx, m->name))
		return cb_fail(c, "no value for the URI label %.*s", (int)len, *p);
	int rc = x_text(c, m, m->shape, lua_gettop(c->L), AWS_TS_ISO8601, tmp, sizeof(tmp), &text, &n);
	*p = end + 1;
	if (rc == 0 && strcmp(c->op->service->name, "s3") == 0 && strcmp(m->name, "Bucket") == 0) {
		snprintf(c->req->bucket, sizeof(c->req->bucket), "%.*s", (int)n, text);
		*skip_slash = 1; /* "/{Bucket}/{Key+}": the key's '/' is the path's first */
	} else if (rc == 0 && buf_put_uri_encoded(&c->req->path, text, n, greedy) != 0) {
		rc = oom(c);
	}
	lua_pop(c->L, 1);
	return rc;
}

static int x_uri(cb_ctx *c, int idx)
{
	const char *p = c->op->request_uri;
	buf *path = &c->req->path;
	int rc = 0, skip_slash = 0;
	while (rc == 0 && *p && *p != '?') {
		if (*p == '{') {
			p++;
			rc = x_label(c, idx, &p, &skip_slash);
			continue;
		}
		if (!(skip_slash && *p == '/' && path->len > 0))
			rc = buf_putc(path, *p) ? oom(c) : 0;
		skip_slash = 0;
		p++;
	}
	if (rc == 0 && path->len == 0)
		rc = buf_putc(path, '/') ? oom(c) : 0;
	if (rc == 0 && *p == '?')
		rc = buf_puts(&c->req->query, p + 1) ? oom(c) : 0;
	return rc;
}

/* ---- query string ------------------------------------------------------------ */

static int x_qpair(cb_ctx *c, const char *k, size_t kn, const char *v, size_t vn)
{
	buf *q = &c->req->query;
	if ((q->len && buf_putc(q, '&') != 0) || buf_put_uri_encoded(q, k, kn, 0) != 0 ||
	    buf_putc(q, '=') != 0 || buf_put_uri_encoded(q, v, vn, 0) != 0)
		return oom(c);
	return 0;
}

/* name=value, or name=v1&name=v2 for a list (the value at the top of the stack). */
static int x_qvalue(cb_ctx *c, const aws_member *m, const char *k, size_t kn)
{
	lua_State *L = c->L;
	int idx = lua_gettop(L), rc = 0;
	char tmp[64];
	const char *text;
	size_t n;
	if (m->shape->type != AWS_SHAPE_LIST) {
		if (x_text(c, m, m->shape, idx, AWS_TS_ISO8601, tmp, sizeof(tmp), &text, &n) != 0)
			return -1;
		return x_qpair(c, k, kn, text, n);
	}
	const aws_member *e = m->shape->list_member;
	for (lua_Integer i = 1; rc == 0 && i <= cb_list_len(L, idx); i++) {
		lua_rawgeti(L, idx, i);
		rc = x_text(c, e, e->shape, lua_gettop(L), AWS_TS_ISO8601, tmp, sizeof(tmp), &text, &n);
		if (rc == 0)
			rc = x_qpair(c, k, kn, text, n);
		lua_pop(L, 1);
	}
	return rc;
}

static int x_qmap(cb_ctx *c, const aws_member *m, int idx)
{
	cb_key *keys;
	size_t n;
	int rc = 0;
	if (cb_map_keys(c, idx, &keys, &n) != 0)
		return -1;
	for (size_t i = 0; rc == 0 && i < n; i++) {
		lua_pushvalue(c->L, keys[i].pos);
		lua_rawget(c->L, idx);
		rc = x_qvalue(c, m->shape->map_value, keys[i].s, keys[i].len);
		lua_pop(c->L, 1);
	}
	lua_pop(c->L, (int)n);
	free(keys);
	return rc;
}

/* ---- headers ----------------------------------------------------------------- */

/* A list header: elements joined with ','; strings holding '"' or ',' quoted. */
static int x_hlist(cb_ctx *c, const aws_member *m, int idx, buf *out)
{
	const aws_member *e = m->shape->list_member;
	char tmp[64];
	const char *text;
	size_t n;
	for (lua_Integer i = 1; i <= cb_list_len(c->L, idx); i++) {
		lua_rawgeti(c->L, idx, i);
		int rc = x_text(c, e, e->shape, lua_gettop(c->L), AWS_TS_RFC822, tmp, sizeof(tmp),
				&text, &n);
		lua_pop(c->L, 1);
		if (rc != 0)
			return -1;
		int quote = e->shape->type == AWS_SHAPE_STRING && (memchr(text, '"', n) || memchr(text, ',', n));
		if (i > 1 && buf_putc(out, ',') != 0)
			return oom(c);
		if (quote && buf_putc(out, '"') != 0)
			return oom(c);
		for (size_t k = 0; k < n; k++)
			if ((quote && text[k] == '"' && buf_putc(out, '\\') != 0) ||
			    buf_putc(out, text[k]) != 0)
				return oom(c);
		if (quote && buf_putc(out, '"') != 0)
			return oom(c);
	}
	return 0;
}

static int x_header(cb_ctx *c, const aws_member *m, int idx)
{
	buf *v = &c->scratch;
	char tmp[64];
	const char *text;
	size_t n;
	int rc = 0;
	buf_reset(v);
	if (m->flags & AWS_MF_JSON_VALUE) {
		buf json = BUF_INIT;
		rc = cb_json_document(c, &json, idx) || cb_put_base64(v, json.data, json.len) ? oom(c) : 0;
		buf_free(&json);
	} else if (m->shape->type == AWS_SHAPE_LIST) {
		if (cb_list_len(c->L, idx) == 0)
			return 0;
		rc = x_hlist(c, m, idx, v);
	} else if (x_text(c, m, m->shape, idx, AWS_TS_RFC822, tmp, sizeof(tmp), &text, &n) != 0) {
		return -1;
	} else if (buf_append(v, text, n) != 0) {
		rc = oom(c);
	}
	return rc ? rc : cb_set_header(c, cb_member_name(m, m->name), buf_cstr(v));
}

/* "headers": a map of string values, each sent as prefix+key. */
static int x_header_map(cb_ctx *c, const aws_member *m, int idx)
{
	const char *prefix = cb_member_name(m, "");
	cb_key *keys;
	size_t n;
	int rc = 0;
	if (cb_map_keys(c, idx, &keys, &n) != 0)
		return -1;
	for (size_t i = 0; rc == 0 && i < n; i++) {
		char name[256];
		snprintf(name, sizeof(name), "%s%.*s", prefix, (int)keys[i].len, keys[i].s);
		lua_pushvalue(c->L, keys[i].pos);
		lua_rawget(c->L, idx);
		rc = cb_set_header(c, name, lua_tostring(c->L, -1)); /* a string: validated */
		lua_pop(c->L, 1);
	}
	lua_pop(c->L, (int)n);
	free(keys);
	return rc;
}

/* An absent idempotency token member: a fresh UUIDv4. */
static int x_token(cb_ctx *c, const aws_member *m)
{
	char uuid[CB_UUID_LEN + 1];
	const char *name = cb_member_name(m, m->name);
	if (cb_uuid4(uuid) != 0)
		return cb_fail(c, "cannot generate an idempotency token");
	if (m->location == AWS_LOC_HEADER)
		return cb_set_header(c, name, uuid);
	return x_qpair(c, name, strlen(name), uuid, strlen(uuid));
}

/* Every querystring, header and headers member, in model order. */
static int x_located(cb_ctx *c, int idx)
{
	const aws_shape *in = c->op->input;
	int rc = 0;
	for (size_t i = 0; rc == 0 && in && i < in->nmembers; i++) {
		const aws_member *m = &in->members[i];
		int loc = m->location;
		if (loc != AWS_LOC_QUERYSTRING && loc != AWS_LOC_HEADER && loc != AWS_LOC_HEADERS)
			continue;
		if (!idx || !cb_get_field(c->L, idx, m->name)) {
			rc = cb_is_idempotency_token(m) ? x_token(c, m) : 0;
			continue;
		}
		int v = lua_gettop(c->L); /* stack: value */
		const char *name = cb_member_name(m, m->name);
		if (loc == AWS_LOC_HEADERS)
			rc = x_header_map(c, m, v);
		else if (loc == AWS_LOC_HEADER)
			rc = x_header(c, m, v);
		else if (m->shape->type == AWS_SHAPE_MAP)
			rc = x_qmap(c, m, v);
		else
			rc = x_qvalue(c, m, name, strlen(name));
		lua_pop(c->L, 1);
	}
	return rc;
}

/* ---- XML ---------------------------------------------------------------------- */

/* Escapes as Python's ElementTree does: text & < >; attributes also " \n \r \t. */
static int x_escape(buf *b, const char *s, size_t n, int attr)
{
	for (size_t i = 0; i < n; i++) {
		const char *e = NULL;
		switch (s[i]) {
		case '&': e = "&amp;"; break;
		case '<': e = "&lt;"; break;
		case '>': e = "&gt;"; break;
		case '"': e = attr ? "&quot;" : NULL; break;
		case '\n': e = attr ? "&#10;" : NULL; break;
		case '\r': e = attr ? "&#13;" : NULL; break;
		case '\t': e = attr ? "&#09;" : NULL; break;
		default: break;
		}
		if (e ? buf_puts(b, e) : buf_putc(b, s[i]))
			return -1;
	}
	return 0;
}

/* "<name" and its xmlns attribute; the caller adds attributes and ">". */
static int x_open(buf *b, const aws_member *m, const char *name)
{
	const char *ns = cb_member_ns(m);
	if (buf_printf(b, "<%s", name) != 0)
		return -1;
	if (!ns)
		return 0;
	if (m->xml_prefix && buf_printf(b, " xmlns:%s", m->xml_prefix) != 0)
		return -1;
	return (m->xml_prefix ? 0 : buf_puts(b, " xmlns")) || buf_puts(b, "=\"") ||
	       x_escape(b, ns, strlen(ns), 1) || buf_putc(b, '"');
}

/* After "<name ...": ">" children "</name>", or " />" when nothing was written. */
static int x_close(buf *b, size_t gt, const char *name)
{
	if (b->len == gt + 1) {
		b->len = gt;
		b->data[gt] = '\0';
		return buf_puts(b, " />");
	}
	return buf_printf(b, "</%s>", name);
}

static int x_attributes(cb_ctx *c, buf *b, const aws_shape *s, int idx)
{
	char tmp[64];
	const char *text;
	size_t n;
	for (size_t i = 0; i < s->nmembers; i++) {
		const aws_member *m = &s->members[i];
		if (!(m->flags & AWS_MF_XML_ATTRIBUTE) || !cb_get_field(c->L, idx, m->name))
			continue;
		int rc = x_text(c, m, m->shape, lua_gettop(c->L), AWS_TS_ISO8601, tmp, sizeof(tmp),
				&text, &n);
		lua_pop(c->L, 1);
		if (rc != 0 || buf_printf(b, " %s=\"", cb_member_name(m, m->name)) != 0 ||
		    x_escape(b, text, n, 1) != 0 || buf_putc(b, '"') != 0)
			return rc ? rc : oom(c);
	}
	return 0;
}

/* body_only: the input structure itself, whose located members are elsewhere. */
static int x_struct(cb_ctx *c, buf *b, const aws_member *m, int idx, const char *name,
		    int body_only)
{
	const aws_shape *s = m->shape;
	if (x_open(b, m, name) != 0)
		return oom(c);
	if (x_attributes(c, b, s, idx) != 0)
		return -1;
	size_t gt = b->len;
	if (buf_putc(b, '>') != 0)
		return oom(c);
	for (size_t i = 0; i < s->nmembers; i++) {
		const aws_member *k = &s->members[i];
		if ((k->flags & AWS_MF_XML_ATTRIBUTE) || (body_only && k->location != AWS_LOC_BODY) ||
		    !cb_get_field(c->L, idx, k->name))
			continue;
		int rc = x_node(c, b, k, lua_gettop(c->L), cb_member_name(k, k->name));
		lua_pop(c->L, 1);
		if (rc != 0)
			return -1;
	}
	return x_close(b, gt, name) ? oom(c) : 0;
}

static int x_list(cb_ctx *c, buf *b, const aws_member *m, int idx, const char *name)
{
	const aws_member *e = m->shape->list_member;
	int flat = cb_member_flattened(m);
	const char *ename = flat ? name : cb_member_name(e, "member");
	size_t gt = 0;
	if (!flat && (x_open(b, m, name) != 0 || (gt = b->len, buf_putc(b, '>') != 0)))
		return oom(c);
	for (lua_Integer i = 1; i <= cb_list_len(c->L, idx); i++) {
		lua_rawgeti(c->L, idx, i);
		int rc = x_node(c, b, e, lua_gettop(c->L), ename);
		lua_pop(c->L, 1);
		if (rc != 0)
			return -1;
	}
	return !flat && x_close(b, gt, name) ? oom(c) : 0;
}

static int x_entry(cb_ctx *c, buf *b, const aws_shape *s, int idx, const cb_key *k,
		   const char *ename)
{
	const char *kname = cb_member_name(s->map_key, "key");
	size_t gt;
	if (buf_printf(b, "<%s", ename) != 0 || (gt = b->len, buf_putc(b, '>') != 0) ||
	    x_open(b, s->map_key, kname) != 0 || buf_putc(b, '>') != 0 ||
	    x_escape(b, k->s, k->len, 0) != 0 || buf_printf(b, "</%s>", kname) != 0)
		return oom(c);
	lua_pushvalue(c->L, k->pos);
	lua_rawget(c->L, idx);
	int rc = x_node(c, b, s->map_value, lua_gettop(c->L), cb_member_name(s->map_value, "value"));
	lua_pop(c->L, 1);
	return rc ? rc : x_close(b, gt, ename) ? oom(c) : 0;
}

static int x_map(cb_ctx *c, buf *b, const aws_member *m, int idx, const char *name)
{
	int flat = cb_member_flattened(m), rc = 0;
	cb_key *keys;
	size_t n, gt = 0;
	if (!flat && (x_open(b, m, name) != 0 || (gt = b->len, buf_putc(b, '>') != 0)))
		return oom(c);
	if (cb_map_keys(c, idx, &keys, &n) != 0)
		return -1;
	for (size_t i = 0; rc == 0 && i < n; i++)
		rc = x_entry(c, b, m->shape, idx, &keys[i], flat ? name : "entry");
	lua_pop(c->L, (int)n);
	free(keys);
	return rc ? rc : !flat && x_close(b, gt, name) ? oom(c) : 0;
}

static int x_leaf(cb_ctx *c, buf *b, const aws_member *m, int idx, const char *name)
{
	char tmp[64];
	const char *text;
	size_t n, gt;
	if (m->shape->type == AWS_SHAPE_BLOB) {
		text = lua_tolstring(c->L, idx, &n);
		buf_reset(&c->scratch);
		if (cb_put_base64(&c->scratch, text, n) != 0)
			return oom(c);
		text = buf_cstr(&c->scratch);
		n = c->scratch.len;
	} else if (x_text(c, m, m->shape, idx, AWS_TS_ISO8601, tmp, sizeof(tmp), &text, &n) != 0) {
		return -1;
	}
	if (x_open(b, m, name) != 0 || (gt = b->len, buf_putc(b, '>') != 0) ||
	    x_escape(b, text, n, 0) != 0 || x_close(b, gt, name) != 0)
		return oom(c);
	return 0;
}

static int x_node(cb_ctx *c, buf *b, const aws_member *m, int idx, const char *name)
{
	if (!lua_checkstack(c->L, 8))
		return cb_fail(c, "out of Lua stack");
	switch (m->shape->type) {
	case AWS_SHAPE_STRUCTURE:
		return x_struct(c, b, m, idx, name, 0);
	case AWS_SHAPE_LIST:
		return x_list(c, b, m, idx, name);
	case AWS_SHAPE_MAP:
		return x_map(c, b, m, idx, name);
	default:
		return x_leaf(c, b, m, idx, name);
	}
}

/* ---- body ------------------------------------------------------------------------ */

static int has_body_members(cb_ctx *c, const aws_shape *in, int idx)
{
	for (size_t i = 0; idx && i < in->nmembers; i++) {
		if (in->members[i].location == AWS_LOC_BODY &&
		    cb_get_field(c->L, idx, in->members[i].name)) {
			lua_pop(c->L, 1);
			return 1;
		}
	}
	return 0;
}

static int x_body(cb_ctx *c, int idx)
{
	const aws_shape *in = c->op->input;
	buf *body = &c->req->body;
	if (!in)
		return 0;
	if (in->payload < 0) {
		aws_member root = {.name = in->name, .shape = in};
		if (!has_body_members(c, in, idx))
			return 0;
		return x_struct(c, body, &root, idx, cb_member_name(&root, in->name), 1);
	}
	const aws_member *m = &in->members[in->payload];
	if (!idx || !cb_get_field(c->L, idx, m->name))
		return 0;
	int rc, v = lua_gettop(c->L);
	if (m->shape->type == AWS_SHAPE_BLOB || m->shape->type == AWS_SHAPE_STRING) {
		size_t n;
		const char *data = lua_tolstring(c->L, v, &n);
		rc = buf_append(body, data, n) ? oom(c) : 0;
	} else {
		rc = x_node(c, body, m, v, cb_member_name(m, m->name));
	}
	lua_pop(c->L, 1);
	return rc;
}

/* ---- checksums -------------------------------------------------------------------- */

static uint32_t crc32_any(const unsigned char *p, size_t n, uint32_t poly)
{
	uint32_t crc = 0xffffffffu;
	for (size_t i = 0; i < n; i++) {
		crc ^= p[i];
		for (int k = 0; k < 8; k++)
			crc = (crc >> 1) ^ (poly & (0u - (crc & 1u)));
	}
	return ~crc;
}

/* The checksum named alg ("MD5", "SHA256", "CRC32", ...) of the body, base64. */
static int x_digest(cb_ctx *c, const char *alg, char *out, size_t outlen)
{
	const buf *body = &c->req->body;
	const unsigned char *data = (const unsigned char *)buf_cstr(body);
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int mdlen = 0;
	const EVP_MD *type = strcmp(alg, "MD5") == 0 ? EVP_md5() : strcmp(alg, "SHA1") == 0 ? EVP_sha1()
			   : strcmp(alg, "SHA256") == 0 ? EVP_sha256() : NULL;
	if (type && EVP_Digest(data, body->len, md, &mdlen, type, NULL) != 1)
		return cb_fail(c, "cannot compute the %s of the body", alg);
	if (!type) {
		int castagnoli = strcmp(alg, "CRC32C") == 0;
		if (!castagnoli && strcmp(alg, "CRC32") != 0)
			return cb_fail(c, "ChecksumAlgorithm %s is not supported", alg);
		uint32_t crc = crc32_any(data, body->len, castagnoli ? 0x82f63b78u : 0xedb88320u);
		for (mdlen = 0; mdlen < 4; mdlen++)
			md[mdlen] = (unsigned char)(crc >> (24 - 8 * mdlen));
	}
	char b64[BASE64_ENCODED_SIZE(EVP_MAX_MD_SIZE)];
	base64_encode(md, mdlen, b64);
	snprintf(out, outlen, "%s", b64);
	return 0;
}

/* Every operation whose model takes a checksum (httpChecksum) gets one, not
 * only those that require it: S3 refuses a PutObject into a bucket with
 * Object Lock retention without "Content-MD5 or x-amz-sdk-checksum-algorithm"
 * (the PutObject reference), and the model cannot know the bucket.
 * Content-MD5 is the one every S3 documentation version and every
 * S3-compatible store accepts; it is added beside a checksum value the
 * caller gave (ChecksumSHA256 alone, without ChecksumAlgorithm, is not
 * what that sentence names). */
static int x_checksum(cb_ctx *c)
{
	const char *alg_member = c->op->checksum_algorithm_member;
	const aws_member *am = alg_member ? model_member_find(c->op->input, alg_member) : NULL;
	const char *alg = am ? aws_request_header(c->req, cb_member_name(am, am->name)) : NULL;
	char value[128], name[64];
	if (alg) {
		if (x_digest(c, alg, value, sizeof(value)) != 0)
			return -1;
		snprintf(name, sizeof(name), "x-amz-checksum-%s", alg);
		for (char *p = name; *p; p++)
			*p = (char)(*p >= 'A' && *p <= 'Z' ? *p + 32 : *p);
		return cb_set_header(c, name, value);
	}
	int takes = (c->op->flags & AWS_OF_CHECKSUM_REQUIRED) || alg_member;
	if (!takes || aws_request_header(c->req, "Content-MD5"))
		return 0;
	if (x_digest(c, "MD5", value, sizeof(value)) != 0)
		return -1;
	return cb_set_header(c, "Content-MD5", value);
}

int cb_serialize_restxml(cb_ctx *c, int idx)
{
	if (x_uri(c, idx) != 0 || x_located(c, idx) != 0 || x_body(c, idx) != 0)
		return -1;
	return x_checksum(c);
}
