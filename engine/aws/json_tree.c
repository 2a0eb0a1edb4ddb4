/* json_tree — see json_tree.h. Recursive descent, depth-bounded; one arena. */
#include "json_tree.h"

#include <errno.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "arena.h"

#define JT_DEF_MAX_BYTES ((size_t)16 << 20)
#define JT_DEF_MAX_DEPTH 64
#define JT_DEF_MAX_NODES ((size_t)1000000)

typedef struct jnode {
	jt_node pub;
	struct jnode *last;
} jnode;

struct jt_doc {
	arena mem;
	jnode *root;
};

typedef struct jparser {
	jt_doc *doc;
	const unsigned char *s;
	size_t len, pos;
	size_t depth, nodes;
	jt_limits lim;
	char err[128];
} jparser;

void json_tree_free(jt_doc *d)
{
	if (!d)
		return;
	arena_free(&d->mem);
	free(d);
}

static int fail(jparser *p, const char *what)
{
	if (!p->err[0])
		snprintf(p->err, sizeof(p->err), "offset %zu: %s", p->pos, what);
	return -1;
}

static void skip_ws(jparser *p)
{
	while (p->pos < p->len) {
		unsigned char c = p->s[p->pos];
		if (c != ' ' && c != '\t' && c != '\n' && c != '\r')
			break;
		p->pos++;
	}
}

static int peek(jparser *p)
{
	skip_ws(p);
	return p->pos < p->len ? p->s[p->pos] : -1;
}

static jnode *new_node(jparser *p, jt_type t)
{
	if (++p->nodes > p->lim.max_nodes) {
		fail(p, "too many values");
		return NULL;
	}
	jnode *n = arena_alloc(&p->doc->mem, sizeof(*n));
	if (!n) {
		fail(p, "out of memory");
		return NULL;
	}
	memset(n, 0, sizeof(*n));
	n->pub.type = t;
	return n;
}

static void append(jnode *parent, jnode *child)
{
	if (parent->last)
		parent->last->pub.next = &child->pub;
	else
		parent->pub.first = &child->pub;
	parent->last = child;
	parent->pub.n++;
}

/* ---- strings -------------------------------------------------------- */

static int hex4(jparser *p, unsigned *out)
{
	if (p->len - p->pos < 4)
		return fail(p, "truncated \\u escape");
	unsigned v = 0;
	for (int i = 0; i < 4; i++) {
		unsigned char c = p->s[p->pos++];
		v <<= 4;
		if (c >= '0' && c <= '9')
			v |= c - '0';
		else if (c >= 'a' && c <= 'f')
			v |= c - 'a' + 10;
		else if (c >= 'A' && c <= 'F')
			v |= c - 'A' + 10;
		else
			return fail(p, "bad \\u escape");
	}
	*out = v;
	return 0;
}

static size_t put_utf8(char *o, unsigned cp)
{
	if (cp < 0x80) {
		o[0] = (char)cp;
		return 1;
	}
	if (cp < 0x800) {
		o[0] = (char)(0xC0 | (cp >> 6));
		o[1] = (char)(0x80 | (cp & 0x3F));
		return 2;
	}
	if (cp < 0x10000) {
		o[0] = (char)(0xE0 | (cp >> 12));
		o[1] = (char)(0x80 | ((cp >> 6) & 0x3F));
		o[2] = (char)(0x80 | (cp & 0x3F));
		return 3;
	}
	o[0] = (char)(0xF0 | (cp >> 18));
	o[1] = (char)(0x80 | ((cp >> 12) & 0x3F));
	o[2] = (char)(0x80 | ((cp >> 6) & 0x3F));
	o[3] = (char)(0x80 | (cp & 0x3F));
	return 4;
}

/* A \u escape (after the 'u'): a surrogate pair joins, a lone surrogate
 * becomes U+FFFD. */
static int unicode_escape(jparser *p, char *o, size_t *olen)
{
	unsigned cp;
	if (hex4(p, &cp) != 0)
		return -1;
	if (cp >= 0xD800 && cp <= 0xDBFF && p->len - p->pos >= 6 && p->s[p->pos] == '\\' &&
	    p->s[p->pos + 1] == 'u') {
		size_t save = p->pos;
		unsigned lo;
		p->pos += 2;
		if (hex4(p, &lo) != 0)
			return -1;
		if (lo >= 0xDC00 && lo <= 0xDFFF)
			cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
		else
			p->pos = save;
	}
	if (cp >= 0xD800 && cp <= 0xDFFF)
		cp = 0xFFFD;
	*olen += put_utf8(o + *olen, cp);
	return 0;
}

static int simple_escape(unsigned char c, char *out)
{
	static const char from[] = "\"\\/bfnrt", to[] = "\"\\/\b\f\n\r\t";
	const char *hit = c ? strchr(from, c) : NULL;
	if (!hit)
		return -1;
	*out = to[hit - from];
	return 0;
}

/* Scans a string (p->pos at the opening quote) into the arena. The decoded
 * form is never longer than the source, so one allocation of the source
 * length is enough. */
static int parse_string(jparser *p, const char **out, size_t *outlen)
{
	size_t start = ++p->pos, end = start;
	while (end < p->len && p->s[end] != '"')
		end += (p->s[end] == '\\') ? 2 : 1;
	if (end >= p->len)
		return fail(p, "unterminated string");
	char *o = arena_alloc(&p->doc->mem, end - start + 1);
	if (!o)
		return fail(p, "out of memory");
	size_t n = 0;
	while (p->pos < end) {
		unsigned char c = p->s[p->pos++];
		if (c < 0x20)
			return fail(p, "control character in string");
		if (c != '\\') {
			o[n++] = (char)c;
		} else if (p->s[p->pos] == 'u') {
			p->pos++;
			if (unicode_escape(p, o, &n) != 0)
				return -1;
		} else if (simple_escape(p->s[p->pos++], &o[n++]) != 0) {
			return fail(p, "bad escape");
		}
	}
	if (p->pos != end)
		return fail(p, "bad escape");
	p->pos = end + 1;
	o[n] = '\0';
	*out = o;
	*outlen = n;
	return 0;
}

/* ---- numbers and literals ------------------------------------------- */

static size_t digits(jparser *p)
{
	size_t n = 0;
	while (p->pos < p->len && p->s[p->pos] >= '0' && p->s[p->pos] <= '9')
		p->pos++, n++;
	return n;
}

/* Checks the RFC 8259 grammar; *is_int when there is no fraction or exponent. */
static int scan_number(jparser *p, int *is_int)
{
	size_t start = p->pos;
	if (p->s[p->pos] == '-')
		p->pos++;
	size_t nd = digits(p);
	if (nd == 0 || (nd > 1 && p->s[p->pos - nd] == '0'))
		return fail(p, "bad number");
	*is_int = 1;
	if (p->pos < p->len && p->s[p->pos] == '.') {
		p->pos++;
		*is_int = 0;
		if (digits(p) == 0)
			return fail(p, "bad number");
	}
	if (p->pos < p->len && (p->s[p->pos] == 'e' || p->s[p->pos] == 'E')) {
		p->pos++;
		*is_int = 0;
		if (p->pos < p->len && (p->s[p->pos] == '+' || p->s[p->pos] == '-'))
			p->pos++;
		if (digits(p) == 0)
			return fail(p, "bad number");
	}
	if (p->pos - start > 64)
		return fail(p, "number too long");
	return 0;
}

static jnode *parse_number(jparser *p)
{
	size_t start = p->pos;
	int is_int = 0;
	if (scan_number(p, &is_int) != 0)
		return NULL;
	char tmp[72];
	memcpy(tmp, p->s + start, p->pos - start);
	tmp[p->pos - start] = '\0';
	jnode *n = new_node(p, JT_NUMBER);
	if (!n)
		return NULL;
	n->pub.d = strtod(tmp, NULL);
	if (is_int) {
		errno = 0;
		long long v = strtoll(tmp, NULL, 10);
		if (errno == 0) {
			n->pub.type = JT_INT;
			n->pub.i = v;
		}
	}
	return n;
}

static jnode *parse_literal(jparser *p, const char *word, jt_type t)
{
	size_t wl = strlen(word);
	if (p->len - p->pos < wl || memcmp(p->s + p->pos, word, wl) != 0) {
		fail(p, "unexpected character");
		return NULL;
	}
	p->pos += wl;
	return new_node(p, t);
}

/* ---- containers ----------------------------------------------------- */

static jnode *parse_value(jparser *p);

static int parse_member(jparser *p, jnode *obj)
{
	const char *key;
	size_t klen;
	if (peek(p) != '"')
		return fail(p, "expected a member name");
	if (parse_string(p, &key, &klen) != 0)
		return -1;
	if (peek(p) != ':')
		return fail(p, "expected ':'");
	p->pos++;
	jnode *v = parse_value(p);
	if (!v)
		return -1;
	v->pub.key = key;
	v->pub.key_len = klen;
	append(obj, v);
	return 0;
}

static jnode *parse_container(jparser *p, int is_obj)
{
	char close = is_obj ? '}' : ']';
	if (++p->depth > p->lim.max_depth) {
		char why[48];
		snprintf(why, sizeof(why), "nesting deeper than %zu", p->lim.max_depth);
		fail(p, why);
		return NULL;
	}
	jnode *n = new_node(p, is_obj ? JT_OBJECT : JT_ARRAY);
	if (!n)
		return NULL;
	p->pos++; /* the '{' or '[' */
	if (peek(p) == close) {
		p->pos++;
		p->depth--;
		return n;
	}
	for (;;) {
		if (is_obj) {
			if (parse_member(p, n) != 0)
				return NULL;
		} else {
			jnode *v = parse_value(p);
			if (!v)
				return NULL;
			append(n, v);
		}
		int c = peek(p);
		p->pos++;
		if (c == close)
			break;
		if (c != ',') {
			p->pos--;
			fail(p, is_obj ? "expected ',' or '}'" : "expected ',' or ']'");
			return NULL;
		}
	}
	p->depth--;
	return n;
}

static jnode *parse_value(jparser *p)
{
	int c = peek(p);
	switch (c) {
	case '{':
		return parse_container(p, 1);
	case '[':
		return parse_container(p, 0);
	case '"': {
		jnode *n = new_node(p, JT_STRING);
		if (n && parse_string(p, &n->pub.str, &n->pub.len) != 0)
			return NULL;
		return n;
	}
	case 't':
		return parse_literal(p, "true", JT_TRUE);
	case 'f':
		return parse_literal(p, "false", JT_FALSE);
	case 'n':
		return parse_literal(p, "null", JT_NULL);
	case -1:
		fail(p, "unexpected end of document");
		return NULL;
	default:
		if (c == '-' || (c >= '0' && c <= '9'))
			return parse_number(p);
		fail(p, "unexpected character");
		return NULL;
	}
}

/* ---- API ------------------------------------------------------------ */

jt_doc *json_tree_parse(const char *data, size_t len, const jt_limits *lim, char *errbuf,
			size_t errlen)
{
	jparser p;
	memset(&p, 0, sizeof(p));
	p.lim.max_bytes = lim && lim->max_bytes ? lim->max_bytes : JT_DEF_MAX_BYTES;
	p.lim.max_depth = lim && lim->max_depth ? lim->max_depth : JT_DEF_MAX_DEPTH;
	p.lim.max_nodes = lim && lim->max_nodes ? lim->max_nodes : JT_DEF_MAX_NODES;
	p.s = (const unsigned char *)(data ? data : "");
	p.len = len;
	jt_doc *ret = NULL;
	if (len > p.lim.max_bytes) {
		snprintf(p.err, sizeof(p.err), "document larger than %zu bytes", p.lim.max_bytes);
		goto out;
	}
	p.doc = calloc(1, sizeof(*p.doc));
	if (!p.doc) {
		snprintf(p.err, sizeof(p.err), "out of memory");
		goto out;
	}
	p.doc->root = parse_value(&p);
	if (!p.doc->root)
		goto out;
	if (peek(&p) != -1) {
		fail(&p, "trailing data after the document");
		goto out;
	}
	ret = p.doc;
	p.doc = NULL;
out:
	json_tree_free(p.doc);
	if (errlen)
		snprintf(errbuf, errlen, "%s", ret ? "" : p.err);
	return ret;
}

const jt_node *json_tree_root(const jt_doc *d)
{
	return d && d->root ? &d->root->pub : NULL;
}

const jt_node *json_tree_get(const jt_node *obj, const char *key)
{
	const jt_node *hit = NULL;
	if (!obj || obj->type != JT_OBJECT)
		return NULL;
	size_t kl = strlen(key);
	for (const jt_node *c = obj->first; c; c = c->next)
		if (c->key_len == kl && memcmp(c->key, key, kl) == 0)
			hit = c;
	return hit;
}
