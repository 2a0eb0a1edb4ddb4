/* sigv4 — AWS Signature Version 4, header form.
 *
 * The rules follow botocore's SigV4Auth/S3SigV4Auth (auth.py), which the
 * vectors in tests/vectors/sigv4_vectors.txt were produced with:
 *   canonical URI     non-S3: dot segments and empty segments removed as in
 *                     botocore.utils.remove_dot_segments, then every byte but
 *                     A-Z a-z 0-9 - _ . ~ / percent-encoded again ("%20"
 *                     becomes "%2520"); S3: the path as sent.
 *   canonical query   each k=v decoded ('+' is a space, %XX a byte) and
 *                     encoded again per RFC 3986, sorted by key then value;
 *                     "k" gives "k="; empty pieces ("a=1&&b=2") are skipped.
 *   canonical headers names lower-cased, values trimmed and runs of white
 *                     space folded to one space, repeated names joined by
 *                     ',', sorted by name.
 * The time comes from p->now; nothing here reads the clock or environment.
 *
 * Speed (an AWS call signs once, so this is on every call's path): SHA-256
 * is fetched from OpenSSL once per process and one digest context is reused,
 * HMAC is built on it (OpenSSL 3's one-shot HMAC()/EVP_Digest() look the
 * algorithm up in the provider store on every call, which cost more than the
 * hashing), and the derived signing key is kept in a small cache keyed by
 * everything it is derived from (secret, date, region, service), so the
 * signer stays a pure function of its inputs. The cache holds secrets: an
 * entry is wiped when replaced and all of them at exit. Process-wide state,
 * not thread-safe: deadbolt is single-threaded. */
#include "sigv4.h"

#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>

#include "buf.h"

#define SIGV4_MAX_CANONICAL ((size_t)256 << 10) /* canonical request, bytes */
#define SIGV4_MAX_HEADERS 64                    /* headers the caller gives */
#define SIGV4_MAX_QUERY_PARAMS 1024
#define SIGV4_MAX_SCOPE_PART 64  /* region, service */
#define SIGV4_MAX_KEY_ID 128
#define SIGV4_MAX_SECRET 256
#define SIGV4_ALGORITHM "AWS4-HMAC-SHA256"

/* One header line of the canonical request before sorting. */
typedef struct hdr {
	const char *name;
	size_t name_len;
	const char *value;
	size_t order; /* position given: keeps repeated names in order */
} hdr;

/* One query parameter, both parts already encoded (pointers into a buf). */
typedef struct qparam {
	const char *key;
	const char *value;
} qparam;

typedef struct signer {
	const sigv4_request *req;
	const sigv4_params *p;
	sigv4_output *out;
	char *err;
	size_t errlen;
	buf cr; /* canonical request */
	buf sh; /* signed headers */
	buf sts;
} signer;

static void fail(signer *s, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void fail(signer *s, const char *fmt, ...)
{
	if (!s->err || !s->errlen)
		return;
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(s->err, s->errlen, fmt, ap);
	va_end(ap);
}

/* ---- SHA-256 and HMAC-SHA256 on one reused context ---- */

static EVP_MD *sha256_md;      /* fetched once, kept for the process */
static EVP_MD_CTX *sha256_ctx; /* reused by every hash below */

static void free_digest(void)
{
	EVP_MD_CTX_free(sha256_ctx);
	EVP_MD_free(sha256_md);
	sha256_ctx = NULL;
	sha256_md = NULL;
}

/* Starts a SHA-256 on the shared context. */
static int sha_begin(void)
{
	if (!sha256_ctx) {
		if (!sha256_md && !(sha256_md = EVP_MD_fetch(NULL, "SHA256", NULL)))
			return -1;
		if (!(sha256_ctx = EVP_MD_CTX_new()))
			return -1;
		atexit(free_digest);
	}
	return EVP_DigestInit_ex(sha256_ctx, sha256_md, NULL) == 1 ? 0 : -1;
}

static int sha_add(const void *data, size_t len)
{
	return !len || EVP_DigestUpdate(sha256_ctx, data, len) == 1 ? 0 : -1;
}

static int sha_end(unsigned char md[32])
{
	unsigned int n = 0;
	return EVP_DigestFinal_ex(sha256_ctx, md, &n) == 1 && n == 32 ? 0 : -1;
}

static int sha256(const void *data, size_t len, unsigned char md[32])
{
	return sha_begin() || sha_add(data, len) || sha_end(md) ? -1 : 0;
}

static void hex32(const unsigned char md[32], char out[65])
{
	static const char hex[] = "0123456789abcdef";
	for (unsigned int i = 0; i < 32; i++) {
		out[2 * i] = hex[md[i] >> 4];
		out[2 * i + 1] = hex[md[i] & 15];
	}
	out[64] = '\0';
}

void sigv4_sha256_hex(const void *data, size_t len, char out[65])
{
	unsigned char md[32];
	out[0] = '\0';
	if (sha256(data ? data : "", len, md) == 0)
		hex32(md, out);
}

/* HMAC-SHA256 (RFC 2104): H(K ^ opad, H(K ^ ipad, msg)), K padded to the
 * 64-byte block (hashed first when longer). */
static int hmac(const void *key, size_t keylen, const void *msg, size_t len, unsigned char md[32])
{
	unsigned char k[64], pad[64], inner[32];
	int rc = -1;
	memset(k, 0, sizeof(k));
	if (keylen <= sizeof(k))
		memcpy(k, key, keylen);
	else if (sha256(key, keylen, k) != 0)
		goto out;
	for (size_t i = 0; i < sizeof(pad); i++)
		pad[i] = k[i] ^ 0x36;
	if (sha_begin() || sha_add(pad, sizeof(pad)) || sha_add(msg, len) || sha_end(inner))
		goto out;
	for (size_t i = 0; i < sizeof(pad); i++)
		pad[i] = k[i] ^ 0x5c;
	if (sha_begin() || sha_add(pad, sizeof(pad)) || sha_add(inner, sizeof(inner)) || sha_end(md))
		goto out;
	rc = 0;
out:
	OPENSSL_cleanse(k, sizeof(k));
	OPENSSL_cleanse(pad, sizeof(pad));
	OPENSSL_cleanse(inner, sizeof(inner));
	return rc;
}

static int is_ws(char c)
{
	return c == ' ' || c == '\t' || c == '\v' || c == '\f';
}

static int has_crlf(const char *s)
{
	return s && strpbrk(s, "\r\n") != NULL;
}

/* ---- parameters ---- */

static int check_part(signer *s, const char *what, const char *v, size_t max)
{
	if (!v || !*v) {
		fail(s, "sigv4: %s is missing", what);
		return -1;
	}
	if (strlen(v) > max) {
		fail(s, "sigv4: %s is too long (%zu bytes, at most %zu)", what, strlen(v), max);
		return -1;
	}
	if (strpbrk(v, "/\r\n ")) {
		fail(s, "sigv4: %s contains '/', a space or a line break", what);
		return -1;
	}
	return 0;
}

static int check_params(signer *s)
{
	const sigv4_request *r = s->req;
	const sigv4_params *p = s->p;

	if (check_part(s, "method", r->method, 16) || check_part(s, "region", p->region, SIGV4_MAX_SCOPE_PART) ||
	    check_part(s, "service", p->service, SIGV4_MAX_SCOPE_PART) ||
	    check_part(s, "access key id", p->access_key_id, SIGV4_MAX_KEY_ID))
		return -1;
	if (!p->secret_access_key || strlen(p->secret_access_key) > SIGV4_MAX_SECRET) {
		fail(s, "sigv4: secret access key is missing or too long");
		return -1;
	}
	if (has_crlf(r->path) || has_crlf(r->query) || has_crlf(p->session_token)) {
		fail(s, "sigv4: path, query or session token contains a line break");
		return -1;
	}
	if (r->nheaders > SIGV4_MAX_HEADERS || (r->nheaders && !r->headers)) {
		fail(s, "sigv4: too many headers (%zu, at most %d)", r->nheaders, SIGV4_MAX_HEADERS);
		return -1;
	}
	if (r->payload_len && !r->payload) {
		fail(s, "sigv4: payload_len without payload");
		return -1;
	}
	return 0;
}

static int format_date(signer *s)
{
	struct tm tm;
	time_t now = s->p->now;

	if (!gmtime_r(&now, &tm) || tm.tm_year < 0 || tm.tm_year > 9999 - 1900 ||
	    strftime(s->out->amz_date, sizeof(s->out->amz_date), "%Y%m%dT%H%M%SZ", &tm) != 16) {
		fail(s, "sigv4: time %lld is out of range", (long long)now);
		return -1;
	}
	return 0;
}

/* ---- canonical URI ---- */

/* botocore.utils.remove_dot_segments: drops "" and "." segments, ".." pops
 * one; keeps a leading '/', and a trailing '/' when segments remain. */
static int remove_dot_segments(buf *out, const char *path)
{
	buf segs = BUF_INIT;
	int rc = -1;
	size_t n = strlen(path);

	buf_init(&segs, SIGV4_MAX_CANONICAL);
	for (const char *seg = path; seg <= path + n;) {
		size_t len = strcspn(seg, "/");
		if (len == 2 && seg[0] == '.' && seg[1] == '.') {
			char *slash = segs.len ? memrchr(segs.data, '/', segs.len) : NULL;
			segs.len = slash ? (size_t)(slash - segs.data) : 0;
		} else if (len && !(len == 1 && seg[0] == '.')) {
			if ((segs.len && buf_putc(&segs, '/')) || buf_append(&segs, seg, len))
				goto out;
		}
		seg += len + 1;
	}
	int last = n && path[n - 1] == '/' && segs.len;
	if ((path[0] == '/' && buf_putc(out, '/')) || buf_append(out, buf_cstr(&segs), segs.len) ||
	    (last && buf_putc(out, '/')))
		goto out;
	rc = 0;
out:
	buf_free(&segs);
	return rc;
}

static int put_canonical_uri(signer *s)
{
	const char *path = s->req->path && *s->req->path ? s->req->path : "/";
	buf norm = BUF_INIT;
	int rc = -1;

	if (s->p->s3) {
		rc = buf_puts(&s->cr, path);
		goto out;
	}
	buf_init(&norm, SIGV4_MAX_CANONICAL);
	if (remove_dot_segments(&norm, path) != 0)
		goto out;
	if (norm.len == 0)
		rc = buf_putc(&s->cr, '/');
	else
		rc = buf_put_uri_encoded(&s->cr, norm.data, norm.len, 1);
out:
	buf_free(&norm);
	if (rc != 0)
		fail(s, "sigv4: path too long or out of memory");
	return rc;
}

/* ---- canonical query ---- */

static int hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* Form-decodes s[0..n) ('+' is a space, %XX a byte; a '%' not followed by
 * two hex digits is kept as is) and appends it RFC 3986-encoded, then a NUL. */
static int put_recoded(buf *enc, buf *tmp, const char *s, size_t n)
{
	buf_reset(tmp);
	for (size_t i = 0; i < n; i++) {
		char c = s[i];
		if (c == '+')
			c = ' ';
		else if (c == '%' && i + 2 < n && hexval(s[i + 1]) >= 0 && hexval(s[i + 2]) >= 0) {
			c = (char)(hexval(s[i + 1]) << 4 | hexval(s[i + 2]));
			i += 2;
		}
		if (buf_putc(tmp, c) != 0)
			return -1;
	}
	if (buf_put_uri_encoded(enc, buf_cstr(tmp), tmp->len, 0) != 0)
		return -1;
	return buf_append(enc, "", 1); /* the NUL that ends this part */
}

static int qparam_cmp(const void *a, const void *b)
{
	const qparam *x = a, *y = b;
	int c = strcmp(x->key, y->key);
	return c ? c : strcmp(x->value, y->value);
}

/* How many non-empty '&'-separated pieces q has. */
static size_t count_pieces(const char *q)
{
	size_t n = 0;
	for (const char *piece = q; *piece;) {
		size_t len = strcspn(piece, "&");
		n += len != 0;
		piece += len + (piece[len] == '&');
	}
	return n;
}

/* Encodes every parameter of q into enc as "key\0value\0", in order. */
static int encode_query(const char *q, buf *enc)
{
	buf tmp = BUF_INIT;
	int rc = -1;

	buf_init(&tmp, SIGV4_MAX_CANONICAL);
	for (const char *piece = q; *piece;) {
		size_t len = strcspn(piece, "&");
		const char *eq = memchr(piece, '=', len);
		size_t klen = eq ? (size_t)(eq - piece) : len;
		if (len && (put_recoded(enc, &tmp, piece, klen) != 0 ||
			    put_recoded(enc, &tmp, eq ? eq + 1 : "", eq ? len - klen - 1 : 0) != 0))
			goto out;
		piece += len + (piece[len] == '&');
	}
	rc = 0;
out:
	buf_free(&tmp);
	return rc;
}

static int put_canonical_query(signer *s)
{
	const char *q = s->req->query ? s->req->query : "";
	size_t n = count_pieces(q);
	buf enc = BUF_INIT;
	qparam *params = NULL;
	int rc = -1;

	buf_init(&enc, SIGV4_MAX_CANONICAL);
	if (n > SIGV4_MAX_QUERY_PARAMS || (n && !(params = calloc(n, sizeof(*params)))) ||
	    encode_query(q, &enc) != 0)
		goto out;
	const char *at = buf_cstr(&enc); /* enc no longer moves */
	for (size_t i = 0; i < n; i++) {
		params[i].key = at;
		params[i].value = at + strlen(at) + 1;
		at = params[i].value + strlen(params[i].value) + 1;
	}
	if (n)
		qsort(params, n, sizeof(*params), qparam_cmp);
	for (size_t i = 0; i < n; i++)
		if (buf_printf(&s->cr, "%s%s=%s", i ? "&" : "", params[i].key, params[i].value) != 0)
			goto out;
	rc = 0;
out:
	if (rc != 0)
		fail(s, "sigv4: query too long, more than %d parameters, or out of memory",
		     SIGV4_MAX_QUERY_PARAMS);
	free(params);
	buf_free(&enc);
	return rc;
}

/* ---- canonical headers ---- */

static int name_cmp(const hdr *x, const hdr *y)
{
	size_t n = x->name_len < y->name_len ? x->name_len : y->name_len;
	for (size_t i = 0; i < n; i++) {
		unsigned char a = (unsigned char)x->name[i], b = (unsigned char)y->name[i];
		a = (a >= 'A' && a <= 'Z') ? (unsigned char)(a + 32) : a;
		b = (b >= 'A' && b <= 'Z') ? (unsigned char)(b + 32) : b;
		if (a != b)
			return a < b ? -1 : 1;
	}
	return x->name_len < y->name_len ? -1 : x->name_len > y->name_len;
}

static int hdr_cmp(const void *a, const void *b)
{
	const hdr *x = a, *y = b;
	int c = name_cmp(x, y);
	return c ? c : (x->order > y->order) - (x->order < y->order);
}

static int name_is(const char *name, const char *lower)
{
	return strcasecmp(name, lower) == 0;
}

/* Headers the signer sets itself; a copy among the caller's is ignored. */
static int is_managed(const signer *s, const char *name)
{
	const char *tok = s->p->session_token;
	return name_is(name, "authorization") || name_is(name, "x-amz-date") ||
	       (tok && *tok && name_is(name, "x-amz-security-token")) ||
	       (s->p->s3 && name_is(name, "x-amz-content-sha256"));
}

static int valid_name(const char *name)
{
	if (!name || !*name)
		return 0;
	for (const unsigned char *c = (const unsigned char *)name; *c; c++)
		if (*c <= ' ' || *c == ':' || *c >= 127)
			return 0;
	return 1;
}

static void add_hdr(hdr *h, size_t *n, const char *name, const char *value)
{
	h[*n] = (hdr){name, strlen(name), value, *n};
	(*n)++;
}

/* Fills h with the caller's headers and the managed ones; returns the count. */
static long collect_headers(signer *s, hdr *h)
{
	const sigv4_request *r = s->req;
	size_t n = 0;
	int host = 0;

	for (size_t i = 0; i < r->nheaders; i++) {
		const char *name = r->headers[i].name, *value = r->headers[i].value;
		if (!valid_name(name) || !value || has_crlf(value)) {
			fail(s, "sigv4: header %zu has a bad name or value", i);
			return -1;
		}
		host |= name_is(name, "host");
		if (!is_managed(s, name))
			add_hdr(h, &n, name, value);
	}
	if (!host) {
		fail(s, "sigv4: the headers must include Host");
		return -1;
	}
	add_hdr(h, &n, "x-amz-date", s->out->amz_date);
	if (s->p->session_token && *s->p->session_token)
		add_hdr(h, &n, "x-amz-security-token", s->p->session_token);
	if (s->p->s3)
		add_hdr(h, &n, "x-amz-content-sha256", s->out->content_sha256);
	return (long)n;
}

/* Appends value trimmed, with inner runs of white space folded to one
 * space: word by word, one append each. */
static int put_folded(buf *b, const char *v)
{
	int first = 1;
	for (;;) {
		while (is_ws(*v))
			v++;
		size_t n = 0;
		while (v[n] && !is_ws(v[n]))
			n++;
		if (!n)
			return 0;
		if ((!first && buf_putc(b, ' ') != 0) || buf_append(b, v, n) != 0)
			return -1;
		first = 0;
		v += n;
	}
}

/* Appends s[0..n) lower-cased (ASCII). */
static int put_lower(buf *b, const char *s, size_t n)
{
	size_t at = b->len;
	if (buf_append(b, s, n) != 0)
		return -1;
	for (char *c = b->data + at; c < b->data + b->len; c++)
		if (*c >= 'A' && *c <= 'Z')
			*c = (char)(*c + 32);
	return 0;
}

/* One "name:v1,v2\n" line per distinct name; the name also into s->sh. */
static int put_header_lines(signer *s, const hdr *h, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		int first = i == 0 || name_cmp(&h[i - 1], &h[i]) != 0;
		int last = i + 1 == n || name_cmp(&h[i], &h[i + 1]) != 0;
		if (first && ((s->sh.len && buf_putc(&s->sh, ';')) ||
			      put_lower(&s->sh, h[i].name, h[i].name_len) ||
			      put_lower(&s->cr, h[i].name, h[i].name_len) || buf_putc(&s->cr, ':')))
			return -1;
		if (!first && buf_putc(&s->cr, ',') != 0)
			return -1;
		if (put_folded(&s->cr, h[i].value) != 0 || (last && buf_putc(&s->cr, '\n')))
			return -1;
	}
	return 0;
}

static int put_canonical_headers(signer *s)
{
	hdr h[SIGV4_MAX_HEADERS + 3];
	long n = collect_headers(s, h);

	if (n < 0)
		return -1;
	qsort(h, (size_t)n, sizeof(h[0]), hdr_cmp);
	if (put_header_lines(s, h, (size_t)n) != 0) {
		fail(s, "sigv4: headers too long or out of memory");
		return -1;
	}
	return 0;
}

/* ---- canonical request, string to sign, signature ---- */

static int build_canonical(signer *s)
{
	if (buf_puts(&s->cr, s->req->method) != 0 || buf_putc(&s->cr, '\n') != 0 ||
	    put_canonical_uri(s) != 0 || buf_putc(&s->cr, '\n') != 0 || put_canonical_query(s) != 0 ||
	    buf_putc(&s->cr, '\n') != 0 || put_canonical_headers(s) != 0)
		goto too_long;
	if (buf_putc(&s->cr, '\n') != 0 || buf_append(&s->cr, buf_cstr(&s->sh), s->sh.len) != 0 ||
	    buf_putc(&s->cr, '\n') != 0 || buf_puts(&s->cr, s->out->content_sha256) != 0)
		goto too_long;
	return 0;
too_long:
	if (s->err && s->errlen && !s->err[0])
		fail(s, "sigv4: canonical request too long (at most %zu bytes) or out of memory",
		     SIGV4_MAX_CANONICAL);
	return -1;
}

/* Appends each piece in turn, up to the NULL that ends the list. */
static int put_pieces(buf *b, const char *const *pieces)
{
	for (; *pieces; pieces++)
		if (buf_puts(b, *pieces) != 0)
			return -1;
	return 0;
}

static int build_string_to_sign(signer *s)
{
	char hash[65], day[9];

	sigv4_sha256_hex(s->cr.data, s->cr.len, hash);
	memcpy(day, s->out->amz_date, 8);
	day[8] = '\0';
	const char *const pieces[] = { SIGV4_ALGORITHM "\n", s->out->amz_date, "\n", day, "/",
				       s->p->region, "/", s->p->service, "/aws4_request\n", hash, NULL };
	if (!hash[0] || put_pieces(&s->sts, pieces) != 0) {
		fail(s, "sigv4: cannot build the string to sign");
		return -1;
	}
	return 0;
}

/* ---- the signing key and its cache ---- */

#define KEY_CACHE_SLOTS 8 /* (secret, date, region, service) in use at once */

typedef struct key_slot {
	char secret[SIGV4_MAX_SECRET + 1];
	char date[9]; /* YYYYMMDD */
	char region[SIGV4_MAX_SCOPE_PART + 1];
	char service[SIGV4_MAX_SCOPE_PART + 1];
	unsigned char key[32];
	int used;
} key_slot;

static key_slot key_cache[KEY_CACHE_SLOTS];
static size_t key_cache_next; /* the slot to replace next (round robin) */

static void wipe_key_cache(void)
{
	OPENSSL_cleanse(key_cache, sizeof(key_cache));
}

static int slot_matches(const key_slot *k, const sigv4_params *p, const char *date)
{
	return k->used && memcmp(k->date, date, 8) == 0 && strcmp(k->region, p->region) == 0 &&
	       strcmp(k->service, p->service) == 0 && strcmp(k->secret, p->secret_access_key) == 0;
}

/* kSigning = HMAC(HMAC(HMAC(HMAC("AWS4" secret, date), region), service),
 * "aws4_request"). check_params has bounded every part. */
static int derive_key(const sigv4_params *p, const char *date, unsigned char key[32])
{
	char k0[4 + SIGV4_MAX_SECRET];
	unsigned char a[32], b[32];
	size_t klen = strlen(p->secret_access_key);
	int rc = -1;

	memcpy(k0, "AWS4", 4);
	memcpy(k0 + 4, p->secret_access_key, klen);
	if (hmac(k0, 4 + klen, date, 8, a) || hmac(a, 32, p->region, strlen(p->region), b) ||
	    hmac(b, 32, p->service, strlen(p->service), a) || hmac(a, 32, "aws4_request", 12, key))
		goto out;
	rc = 0;
out:
	OPENSSL_cleanse(k0, sizeof(k0));
	OPENSSL_cleanse(a, sizeof(a));
	OPENSSL_cleanse(b, sizeof(b));
	return rc;
}

/* The signing key for p on date, from the cache or derived (and cached). */
static const unsigned char *signing_key(const sigv4_params *p, const char *date)
{
	static int wipe_registered;
	for (size_t i = 0; i < KEY_CACHE_SLOTS; i++)
		if (slot_matches(&key_cache[i], p, date))
			return key_cache[i].key;
	key_slot *k = &key_cache[key_cache_next];
	key_cache_next = (key_cache_next + 1) % KEY_CACHE_SLOTS;
	OPENSSL_cleanse(k, sizeof(*k)); /* the secret it held */
	if (!wipe_registered)
		wipe_registered = atexit(wipe_key_cache) == 0;
	if (derive_key(p, date, k->key) != 0) {
		OPENSSL_cleanse(k, sizeof(*k));
		return NULL;
	}
	memcpy(k->date, date, 8);
	snprintf(k->region, sizeof(k->region), "%s", p->region);
	snprintf(k->service, sizeof(k->service), "%s", p->service);
	snprintf(k->secret, sizeof(k->secret), "%s", p->secret_access_key);
	k->used = 1;
	return k->key;
}

/* signature = hex HMAC(kSigning, string to sign). */
static int compute_signature(signer *s, char sig[65])
{
	const unsigned char *key = signing_key(s->p, s->out->amz_date);
	unsigned char md[32];
	int rc = -1;

	if (!key || hmac(key, 32, s->sts.data, s->sts.len, md) != 0)
		goto out;
	hex32(md, sig);
	rc = 0;
out:
	OPENSSL_cleanse(md, sizeof(md));
	if (rc != 0)
		fail(s, "sigv4: HMAC-SHA256 failed");
	return rc;
}

static int put_authorization(signer *s, const char *sig)
{
	const sigv4_params *p = s->p;
	int n = snprintf(s->out->authorization, sizeof(s->out->authorization),
			 SIGV4_ALGORITHM " Credential=%s/%.8s/%s/%s/aws4_request, SignedHeaders=%s, Signature=%s",
			 p->access_key_id, s->out->amz_date, p->region, p->service, buf_cstr(&s->sh), sig);
	if (n < 0 || (size_t)n >= sizeof(s->out->authorization)) {
		s->out->authorization[0] = '\0';
		fail(s, "sigv4: Authorization would be longer than %zu bytes (too many signed headers)",
		     sizeof(s->out->authorization) - 1);
		return -1;
	}
	return 0;
}

static void copy_text(char *dst, size_t dstlen, const buf *b)
{
	if (!dst || !dstlen)
		return;
	size_t n = b->len < dstlen - 1 ? b->len : dstlen - 1;
	memcpy(dst, buf_cstr(b), n);
	dst[n] = '\0';
}

int sigv4_sign(const sigv4_request *req, const sigv4_params *p, sigv4_output *out,
	       char *canonical, size_t canonical_len, char *string_to_sign, size_t sts_len,
	       char *errbuf, size_t errlen)
{
	signer s = {.req = req, .p = p, .out = out, .err = errbuf, .errlen = errlen};
	char sig[65];
	int rc = -1;

	if (errbuf && errlen)
		errbuf[0] = '\0';
	memset(out, 0, sizeof(*out));
	buf_init(&s.cr, SIGV4_MAX_CANONICAL);
	buf_init(&s.sh, SIGV4_MAX_CANONICAL);
	buf_init(&s.sts, SIGV4_MAX_CANONICAL);
	if (check_params(&s) != 0 || format_date(&s) != 0)
		goto out;
	sigv4_sha256_hex(req->payload, req->payload_len, out->content_sha256);
	if (build_canonical(&s) != 0 || build_string_to_sign(&s) != 0 ||
	    compute_signature(&s, sig) != 0 || put_authorization(&s, sig) != 0)
		goto out;
	copy_text(canonical, canonical_len, &s.cr);
	copy_text(string_to_sign, sts_len, &s.sts);
	rc = 0;
out:
	OPENSSL_cleanse(sig, sizeof(sig));
	buf_wipe(&s.cr); /* holds the session token */
	buf_free(&s.sh);
	buf_free(&s.sts);
	return rc;
}
