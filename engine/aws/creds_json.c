/* creds_json — reads the flat JSON object that credential_process, the
 * container endpoint and IMDS return (owned by the credentials module).
 *
 * A small strict reader rather than lua-cjson, so that every byte of a
 * decoded secret lives in a buffer this file wipes. Input is hostile: the
 * whole document must be one valid JSON object; nesting is skipped with a
 * depth limit; string values longer than the scratch buffer are flagged. */
#include "creds_internal.h"

#include <openssl/crypto.h>
#include <stdio.h>
#include <string.h>

#define JSON_MAX_DEPTH 32
#define JSON_MAX_VALUE 8192

typedef struct json_reader {
	const char *p, *end;
} json_reader;

typedef enum json_kind { JV_STRING, JV_NUMBER, JV_OTHER } json_kind;

/* One member as seen by the walker. */
typedef struct json_member {
	char key[64];
	int key_long; /* did not fit: matches no known key */
	json_kind kind;
	char val[JSON_MAX_VALUE];
	size_t len;
	int val_long;
} json_member;

static void skip_ws(json_reader *r)
{
	while (r->p < r->end && (*r->p == ' ' || *r->p == '\t' || *r->p == '\n' || *r->p == '\r'))
		r->p++;
}

static int hex4(const char *s, unsigned *out)
{
	unsigned v = 0;
	for (int i = 0; i < 4; i++) {
		char c = s[i];
		int d = c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10
			: c >= 'A' && c <= 'F' ? c - 'A' + 10 : -1;
		if (d < 0)
			return -1;
		v = v * 16 + (unsigned)d;
	}
	*out = v;
	return 0;
}

/* Appends one byte to out (NULL: discard); sets *lng when it does not fit. */
static void put_byte(char *out, size_t outlen, size_t *n, int *lng, char c)
{
	if (out && *n + 1 < outlen)
		out[*n] = c;
	else if (out)
		*lng = 1;
	(*n)++;
}

static void put_utf8(char *out, size_t outlen, size_t *n, int *lng, unsigned cp)
{
	if (cp < 0x80) {
		put_byte(out, outlen, n, lng, (char)cp);
	} else if (cp < 0x800) {
		put_byte(out, outlen, n, lng, (char)(0xc0 | (cp >> 6)));
		put_byte(out, outlen, n, lng, (char)(0x80 | (cp & 0x3f)));
	} else if (cp < 0x10000) {
		put_byte(out, outlen, n, lng, (char)(0xe0 | (cp >> 12)));
		put_byte(out, outlen, n, lng, (char)(0x80 | ((cp >> 6) & 0x3f)));
		put_byte(out, outlen, n, lng, (char)(0x80 | (cp & 0x3f)));
	} else {
		put_byte(out, outlen, n, lng, (char)(0xf0 | (cp >> 18)));
		put_byte(out, outlen, n, lng, (char)(0x80 | ((cp >> 12) & 0x3f)));
		put_byte(out, outlen, n, lng, (char)(0x80 | ((cp >> 6) & 0x3f)));
		put_byte(out, outlen, n, lng, (char)(0x80 | (cp & 0x3f)));
	}
}

/* After a backslash-u: one code point, joining a surrogate pair. */
static int read_unicode(json_reader *r, unsigned *cp)
{
	if (r->end - r->p < 4 || hex4(r->p, cp) != 0)
		return -1;
	r->p += 4;
	if (*cp >= 0xdc00 && *cp <= 0xdfff)
		return -1;
	if (*cp < 0xd800 || *cp > 0xdbff)
		return 0;
	unsigned lo;
	if (r->end - r->p < 6 || r->p[0] != '\\' || r->p[1] != 'u' || hex4(r->p + 2, &lo) != 0 ||
	    lo < 0xdc00 || lo > 0xdfff)
		return -1;
	r->p += 6;
	*cp = 0x10000 + ((*cp - 0xd800) << 10) + (lo - 0xdc00);
	return 0;
}

static int read_escape(json_reader *r, char *out, size_t outlen, size_t *n, int *lng)
{
	static const char from[] = "\"\\/bfnrt", to[] = "\"\\/\b\f\n\r\t";
	if (r->p >= r->end)
		return -1;
	char c = *r->p++;
	const char *hit = c ? strchr(from, c) : NULL;
	if (hit) {
		put_byte(out, outlen, n, lng, to[hit - from]);
		return 0;
	}
	unsigned cp;
	if (c != 'u' || read_unicode(r, &cp) != 0)
		return -1;
	put_utf8(out, outlen, n, lng, cp);
	return 0;
}

/* Reads a string (r->p at the opening quote) into out (NULL: skip), NUL
 * terminated; *len is its decoded length, *lng set when it did not fit. */
static int read_string(json_reader *r, char *out, size_t outlen, size_t *len, int *lng)
{
	size_t n = 0;
	*lng = 0;
	r->p++;
	while (r->p < r->end && *r->p != '"') {
		unsigned char c = (unsigned char)*r->p++;
		if (c < 0x20)
			return -1;
		if (c == '\\') {
			if (read_escape(r, out, outlen, &n, lng) != 0)
				return -1;
		} else {
			put_byte(out, outlen, &n, lng, (char)c);
		}
	}
	if (r->p >= r->end)
		return -1;
	r->p++;
	if (out && outlen)
		out[*lng ? 0 : n] = '\0';
	*len = n;
	return 0;
}

static size_t digits(json_reader *r)
{
	size_t n = 0;
	while (r->p < r->end && *r->p >= '0' && *r->p <= '9') {
		r->p++;
		n++;
	}
	return n;
}

/* -?(0|[1-9][0-9]*)(.[0-9]+)?([eE][+-]?[0-9]+)? */
static int read_number(json_reader *r)
{
	if (r->p < r->end && *r->p == '-')
		r->p++;
	if (r->p < r->end && *r->p == '0')
		r->p++;
	else if (digits(r) == 0)
		return -1;
	if (r->p < r->end && *r->p == '.') {
		r->p++;
		if (digits(r) == 0)
			return -1;
	}
	if (r->p < r->end && (*r->p == 'e' || *r->p == 'E')) {
		r->p++;
		if (r->p < r->end && (*r->p == '+' || *r->p == '-'))
			r->p++;
		if (digits(r) == 0)
			return -1;
	}
	return 0;
}

static int read_literal(json_reader *r)
{
	static const char *const lits[] = {"true", "false", "null"};
	for (size_t i = 0; i < 3; i++) {
		size_t n = strlen(lits[i]);
		if ((size_t)(r->end - r->p) >= n && memcmp(r->p, lits[i], n) == 0) {
			r->p += n;
			return 0;
		}
	}
	return -1;
}

static int skip_value(json_reader *r, int depth);

/* An object or array (r->p at '{' or '['), skipped. */
static int skip_compound(json_reader *r, int depth)
{
	char close = *r->p == '{' ? '}' : ']';
	int obj = close == '}';
	size_t len;
	int lng;
	if (depth >= JSON_MAX_DEPTH)
		return -1;
	r->p++;
	skip_ws(r);
	if (r->p < r->end && *r->p == close) {
		r->p++;
		return 0;
	}
	for (;;) {
		skip_ws(r);
		if (obj) {
			if (r->p >= r->end || *r->p != '"' || read_string(r, NULL, 0, &len, &lng) != 0)
				return -1;
			skip_ws(r);
			if (r->p >= r->end || *r->p++ != ':')
				return -1;
		}
		if (skip_value(r, depth + 1) != 0)
			return -1;
		skip_ws(r);
		if (r->p >= r->end)
			return -1;
		char c = *r->p++;
		if (c == close)
			return 0;
		if (c != ',')
			return -1;
	}
}

static int skip_value(json_reader *r, int depth)
{
	size_t len;
	int lng;
	skip_ws(r);
	if (r->p >= r->end)
		return -1;
	if (*r->p == '"')
		return read_string(r, NULL, 0, &len, &lng);
	if (*r->p == '{' || *r->p == '[')
		return skip_compound(r, depth);
	if (*r->p == '-' || (*r->p >= '0' && *r->p <= '9'))
		return read_number(r);
	return read_literal(r);
}

/* Reads a top-level member's value into m. */
static int read_member_value(json_reader *r, json_member *m)
{
	skip_ws(r);
	if (r->p >= r->end)
		return -1;
	if (*r->p == '"') {
		m->kind = JV_STRING;
		return read_string(r, m->val, sizeof(m->val), &m->len, &m->val_long);
	}
	const char *start = r->p;
	if (skip_value(r, 1) != 0)
		return -1;
	m->kind = *start == '-' || (*start >= '0' && *start <= '9') ? JV_NUMBER : JV_OTHER;
	m->len = (size_t)(r->p - start);
	m->val_long = m->len >= sizeof(m->val);
	if (!m->val_long)
		memcpy(m->val, start, m->len);
	m->val[m->val_long ? 0 : m->len] = '\0';
	return 0;
}

/* What creds_from_json collects. */
typedef struct creds_collect {
	const creds_json_spec *spec;
	aws_credentials *out;
	int have_key, have_secret, version_ok, code_bad, too_long, bad_time, bad_type;
} creds_collect;

static int store(creds_collect *c, const json_member *m, char *dst, size_t dstlen)
{
	if (m->kind != JV_STRING) {
		c->bad_type = 1;
		return 0;
	}
	if (m->val_long || m->len >= dstlen || strlen(m->val) != m->len) {
		c->too_long = 1;
		return 0;
	}
	memcpy(dst, m->val, m->len + 1);
	return 1;
}

static void on_member(creds_collect *c, const json_member *m)
{
	aws_credentials *o = c->out;
	if (m->key_long)
		return;
	if (strcmp(m->key, "AccessKeyId") == 0) {
		c->have_key = store(c, m, o->access_key_id, sizeof(o->access_key_id));
	} else if (strcmp(m->key, "SecretAccessKey") == 0) {
		c->have_secret = store(c, m, o->secret_access_key, sizeof(o->secret_access_key));
	} else if (strcmp(m->key, c->spec->token_key) == 0) {
		if (m->kind != JV_OTHER || strcmp(m->val, "null") != 0) /* null: no token */
			store(c, m, o->session_token, sizeof(o->session_token));
	} else if (strcmp(m->key, "Expiration") == 0) {
		if (m->kind != JV_STRING || creds_parse_time(m->val, &o->expiration) != 0)
			c->bad_time = 1;
	} else if (strcmp(m->key, "Version") == 0) {
		c->version_ok = m->kind == JV_NUMBER && strcmp(m->val, "1") == 0;
	} else if (strcmp(m->key, "Code") == 0) {
		c->code_bad = m->kind != JV_STRING || strcmp(m->val, "Success") != 0;
	}
}

static int read_member(json_reader *r, json_member *m)
{
	size_t klen;
	skip_ws(r);
	if (r->p >= r->end || *r->p != '"' ||
	    read_string(r, m->key, sizeof(m->key), &klen, &m->key_long) != 0)
		return -1;
	if (!m->key_long && strlen(m->key) != klen)
		m->key_long = 1; /* an embedded NUL: matches nothing */
	skip_ws(r);
	if (r->p >= r->end || *r->p++ != ':')
		return -1;
	return read_member_value(r, m);
}

/* Walks the top-level object. -1 when the document is not one JSON object. */
static int walk(json_reader *r, creds_collect *c, json_member *m)
{
	skip_ws(r);
	if (r->p >= r->end || *r->p++ != '{')
		return -1;
	skip_ws(r);
	if (r->p < r->end && *r->p == '}') {
		r->p++;
	} else {
		for (;;) {
			if (read_member(r, m) != 0)
				return -1;
			on_member(c, m);
			OPENSSL_cleanse(m->val, sizeof(m->val));
			skip_ws(r);
			if (r->p >= r->end)
				return -1;
			char ch = *r->p++;
			if (ch == '}')
				break;
			if (ch != ',')
				return -1;
		}
	}
	skip_ws(r);
	return r->p == r->end ? 0 : -1;
}

static int check_collected(const creds_collect *c, aws_error *err)
{
	const char *what = c->spec->what;
	const char *why = c->too_long ? "has a value that is too long or malformed"
		: c->bad_type ? "has a credential that is not a string"
		: c->bad_time ? "has a malformed Expiration"
		: c->code_bad ? "reports a Code other than Success"
		: c->spec->need_version && !c->version_ok ? "lacks \"Version\": 1"
		: !c->have_key ? "lacks AccessKeyId"
		: !c->have_secret ? "lacks SecretAccessKey" : NULL;
	if (!why)
		return 0;
	aws_error_set(err, "InvalidCredentials", "the %s response %s", what, why);
	return -1;
}

int creds_from_json(const char *json, size_t len, const creds_json_spec *spec,
		    aws_credentials *out, aws_error *err)
{
	json_member local; /* about 8 KiB; wiped below */
	creds_collect c;
	json_reader r = {json, json + len};
	int rc = -1;
	memset(&c, 0, sizeof(c));
	c.spec = spec;
	c.out = out;
	memset(out, 0, sizeof(*out));
	if (walk(&r, &c, &local) != 0) {
		aws_error_set(err, "InvalidCredentials", "the %s response is not a JSON object",
			      spec->what);
		goto out;
	}
	rc = check_collected(&c, err);
out:
	OPENSSL_cleanse(&local, sizeof(local));
	if (rc != 0)
		creds_wipe(out);
	return rc;
}
