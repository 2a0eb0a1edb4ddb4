/* xml — see xml.h. A strict, non-validating parser of our own for the part
 * of XML 1.0 that AWS answers use: elements, attributes, character data, the
 * five predefined entities, character references, CDATA sections, comments
 * and processing instructions. There is no DTD support at all: a DOCTYPE is
 * refused, so no entity can be declared, expanded or fetched.
 *
 * Why not expat (used before): on a 4 KiB DescribeInstances answer expat
 * spent ~360,000 instructions even with empty handlers (its per-token
 * amplification accounting, salted hashing of every name, parser set-up),
 * about as much as the rest of an AWS call together. This parser does the
 * work in about a fifth of that. It accepts and refuses what expat did and
 * builds the same tree: tests/unit/test_xml_expat.c checks this on
 * every test run against expat itself (the decode vectors, edge cases and
 * 60,000 mutations of the vectors). Two differences are deliberate: at most
 * 64 attributes an element, and non-ASCII name characters taken without
 * XML's finer name classes (name_len). Error texts are expat's ("line 3:
 * mismatched tag"); on badly broken input the first fault named may differ.
 * Limits are worded as before.
 *
 * Well-formedness checked: names, tag nesting and matching, attribute syntax
 * and duplicates, UTF-8 (no overlongs, surrogates, U+FFFE/U+FFFF) and the XML
 * Char range, references, "]]>" in text, "--" in comments, misplaced XML
 * declarations, anything but blanks, comments and PIs outside the root.
 * Line breaks: CR LF and a lone CR become LF in text; tab, CR and LF become a
 * space in attribute values (XML 1.0, 2.11 and 3.3.3). The input need not be
 * NUL-terminated; every read is bounded by its end. */
#include "xml.h"

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "arena.h"
#include "buf.h"

#define XML_DEF_MAX_BYTES ((size_t)16 << 20)
#define XML_DEF_MAX_DEPTH 64
#define XML_DEF_MAX_NODES ((size_t)1000000)
#define XML_DEF_MAX_TEXT ((size_t)8 << 20)
#define XML_MAX_ATTRS 64 /* per element: duplicates are found by comparing pairs */

/* expat's wording for each fault, so messages read as they did. */
#define E_INVALID "not well-formed (invalid token)"
#define E_UNCLOSED "unclosed token"
#define E_MISMATCH "mismatched tag"
#define E_DUPLICATE "duplicate attribute"
#define E_JUNK "junk after document element"
#define E_UNDEFINED "undefined entity"
#define E_BAD_CHAR_REF "reference to invalid character number"
#define E_NO_ELEMENT "no element found"
#define E_SYNTAX "syntax error"
#define E_CDATA "unclosed CDATA section"
#define E_MISPLACED_DECL "XML or text declaration not at start of entity"
#define E_BAD_DECL "XML declaration not well-formed"

/* A node as built: the public part first, so a node pointer is both. */
typedef struct xnode {
	xml_node pub;
	struct xnode *last; /* last child, for appending */
	const char *raw;    /* the name as written ("ec2:item"), for the end tag */
	size_t raw_len;
} xnode;

struct xml_doc {
	arena mem;
	xnode *root;
};

void xml_free(xml_doc *d)
{
	if (!d)
		return;
	arena_free(&d->mem);
	free(d);
}

/* ---- parser state and errors ---------------------------------------- */

typedef struct pstate {
	const char *start; /* the document */
	const char *p;     /* the next byte to read */
	const char *end;
	xml_doc *doc;
	xml_limits lim;
	xnode *cur; /* innermost open element; NULL outside the root */
	size_t depth;
	size_t nodes;
	/* cur's pending text (ElementTree's .text): a piece of the input while
	 * it is one plain piece, else copied into text (references, CR, CDATA) */
	const char *span;
	size_t span_len;
	buf text;
	char *strings;      /* free room for strings in the arena ... */
	size_t strings_left; /* ... and how much */
	xnode *free_nodes;  /* unused nodes in the arena ... */
	size_t free_left;   /* ... and how many */
	char err[160];
} pstate;

/* The line of at, counting LF, CR LF and a lone CR as one break each. */
static unsigned long line_of(const pstate *st, const char *at)
{
	unsigned long line = 1;
	for (const char *q = st->start; q < at && q < st->end; q++)
		line += *q == '\n' || (*q == '\r' && (q + 1 == st->end || q[1] != '\n'));
	return line;
}

/* A well-formedness fault at at: "line N: what". Returns -1. */
static int syntax_error(pstate *st, const char *at, const char *what)
{
	if (!st->err[0])
		snprintf(st->err, sizeof(st->err), "line %lu: %s", line_of(st, at), what);
	return -1;
}

/* A refusal that is not about syntax (limits, DOCTYPE, memory). Returns -1. */
static int refuse(pstate *st, const char *what)
{
	if (!st->err[0])
		snprintf(st->err, sizeof(st->err), "%s", what);
	return -1;
}

/* ---- allocation: strings and nodes in the document's arena ----------- */

#define STRING_CHUNK ((size_t)4096)
#define NODE_CHUNK 64

/* A NUL-terminated copy of s[0..n) owned by the document. Strings are
 * packed into chunks (no alignment padding, one arena call per chunk). */
static char *doc_strndup(pstate *st, const char *s, size_t n)
{
	if (n >= st->strings_left) {
		size_t size = n + 1 > STRING_CHUNK ? n + 1 : STRING_CHUNK;
		if (!(st->strings = arena_alloc(&st->doc->mem, size)))
			return NULL;
		st->strings_left = size;
	}
	char *out = st->strings;
	memcpy(out, s, n);
	out[n] = '\0';
	st->strings += n + 1;
	st->strings_left -= n + 1;
	return out;
}

/* A zeroed node owned by the document, taken from a chunk of NODE_CHUNK
 * (zeroed at once: a memset per node cost more than the rest of making it). */
static xnode *doc_node(pstate *st)
{
	if (!st->free_left) {
		if (!(st->free_nodes = arena_alloc(&st->doc->mem, NODE_CHUNK * sizeof(xnode))))
			return NULL;
		memset(st->free_nodes, 0, NODE_CHUNK * sizeof(xnode));
		st->free_left = NODE_CHUNK;
	}
	st->free_left--;
	return st->free_nodes++;
}

/* ---- characters ------------------------------------------------------ */

static int is_blank(unsigned char c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

/* The length of the UTF-8 sequence at p if it is a valid non-ASCII XML Char
 * (no overlong form, surrogate, U+FFFE or U+FFFF, nothing past U+10FFFF);
 * 0 otherwise. */
static size_t utf8_char(const unsigned char *p, const unsigned char *end)
{
	unsigned c = p[0];
	size_t n = c >= 0xF0 ? 4 : c >= 0xE0 ? 3 : 2;
	if (c < 0xC2 || c > 0xF4 || (size_t)(end - p) < n)
		return 0;
	for (size_t i = 1; i < n; i++)
		if ((p[i] & 0xC0) != 0x80)
			return 0;
	if (n == 3 && ((c == 0xE0 && p[1] < 0xA0) || (c == 0xED && p[1] >= 0xA0) ||
		       (c == 0xEF && p[1] == 0xBF && p[2] >= 0xBE)))
		return 0;
	if (n == 4 && ((c == 0xF0 && p[1] < 0x90) || (c == 0xF4 && p[1] >= 0x90)))
		return 0;
	return n;
}

/* The length of the XML Char at p (1 for tab, LF, CR and printable ASCII),
 * or 0 for a byte that cannot start one. p < end. */
static size_t xml_char(const char *p, const char *end)
{
	unsigned char c = (unsigned char)*p;
	if (c < 0x80)
		return c >= 0x20 || c == '\t' || c == '\n' || c == '\r' ? 1 : 0;
	return utf8_char((const unsigned char *)p, (const unsigned char *)end);
}

/* Checks that p[0..n) is all XML Chars (comments, PIs). */
static int check_chars(pstate *st, const char *p, size_t n)
{
	const char *end = p + n;
	while (p < end) {
		size_t k = xml_char(p, end);
		if (!k)
			return syntax_error(st, p, E_INVALID);
		p += k;
	}
	return 0;
}

/* Appends code point cp as UTF-8 to out; returns the length. */
static size_t utf8_put(unsigned long cp, char out[4])
{
	if (cp < 0x80) {
		out[0] = (char)cp;
		return 1;
	}
	if (cp < 0x800) {
		out[0] = (char)(0xC0 | (cp >> 6));
		out[1] = (char)(0x80 | (cp & 0x3F));
		return 2;
	}
	if (cp < 0x10000) {
		out[0] = (char)(0xE0 | (cp >> 12));
		out[1] = (char)(0x80 | ((cp >> 6) & 0x3F));
		out[2] = (char)(0x80 | (cp & 0x3F));
		return 3;
	}
	out[0] = (char)(0xF0 | (cp >> 18));
	out[1] = (char)(0x80 | ((cp >> 12) & 0x3F));
	out[2] = (char)(0x80 | ((cp >> 6) & 0x3F));
	out[3] = (char)(0x80 | (cp & 0x3F));
	return 4;
}

/* ASCII name characters: 1 may start a name (letters, '_', ':'), 2 may only
 * continue one (digits, '-', '.'). Every byte >= 0x80 may do both. */
static const unsigned char ascii_name[128] = {
	0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, /* 0x00 */
	0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, /* 0x10 */
	0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 2, 2, 0, /* 0x20  - . */
	2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 1, 0, 0, 0, 0, 0, /* 0x30  0-9 : */
	0, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, /* 0x40  A-O */
	1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 0, 0, 0, 0, 1, /* 0x50  P-Z _ */
	0, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, /* 0x60  a-o */
	1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 0, 0, 0, 0, 0, /* 0x70  p-z */
};

/* ASCII bytes that character data can hold as they are: printable ones but
 * '&' and ']' (which need a look), plus tab and LF. CR, '&', ']', other
 * control bytes and every byte >= 0x80 take the slow path. */
static const unsigned char ascii_text[128] = {
	0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 0, 0, 0, 0, 0, /* 0x00  tab LF */
	0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, /* 0x10 */
	1, 1, 1, 1, 1, 1, 0, 1, 1, 1, 1, 1, 1, 1, 1, 1, /* 0x20  not & */
	1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, /* 0x30 */
	1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, /* 0x40 */
	1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 0, 1, 1, /* 0x50  not ] */
	1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, /* 0x60 */
	1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, /* 0x70 */
};

static int is_name_start(unsigned char c)
{
	return c >= 0x80 || ascii_name[c] == 1;
}

static int is_name_char(unsigned char c)
{
	return c >= 0x80 || ascii_name[c] != 0;
}

/* The length of the XML name at p (0: none). Non-ASCII name characters are
 * accepted when they are valid UTF-8 (XML's finer classes are not checked). */
static size_t name_len(const char *p, const char *end)
{
	const char *q = p;
	size_t k = 1;
	if (q == end || !is_name_start((unsigned char)*q))
		return 0;
	while (q < end && k) {
		while (q < end && (unsigned char)*q < 0x80 && ascii_name[(unsigned char)*q])
			q++; /* the common case: ASCII */
		k = q < end && (unsigned char)*q >= 0x80
			    ? utf8_char((const unsigned char *)q, (const unsigned char *)end) : 0;
		if (q < end && (unsigned char)*q >= 0x80 && !k)
			return 0; /* bad UTF-8 in a name */
		q += k;
	}
	return (size_t)(q - p);
}

static int starts_with(const char *p, const char *end, const char *lit)
{
	size_t n = strlen(lit);
	return (size_t)(end - p) >= n && memcmp(p, lit, n) == 0;
}

/* The first occurrence of lit in [p, end), or NULL. */
static const char *find(const char *p, const char *end, const char *lit)
{
	return p < end ? memmem(p, (size_t)(end - p), lit, strlen(lit)) : NULL;
}

/* ---- references ------------------------------------------------------ */

static int digit_value(char c, int hex)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (hex && ((c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F')))
		return (c | 0x20) - 'a' + 10;
	return -1;
}

static int is_xml_code_point(unsigned long v)
{
	return v == 0x9 || v == 0xA || v == 0xD || (v >= 0x20 && v <= 0xD7FF) ||
	       (v >= 0xE000 && v <= 0xFFFD) || (v >= 0x10000 && v <= 0x10FFFF);
}

/* "&#233;" or "&#xE9;" at amp: the character's UTF-8 into out, *pp past ';'. */
static int char_ref(pstate *st, const char *amp, const char **pp, char out[4])
{
	const char *p = amp + 2, *end = st->end, *digits;
	int hex = p < end && *p == 'x', d;
	unsigned long v = 0;
	for (digits = p += hex; p < end && (d = digit_value(*p, hex)) >= 0; p++)
		v = v > 0x10FFFF ? v : v * (hex ? 16 : 10) + (unsigned long)d; /* stays bounded */
	if (p == end)
		return syntax_error(st, amp, E_UNCLOSED);
	if (p == digits || *p != ';')
		return syntax_error(st, amp, E_INVALID);
	if (!is_xml_code_point(v))
		return syntax_error(st, amp, E_BAD_CHAR_REF);
	*pp = p + 1;
	return (int)utf8_put(v, out);
}

/* The reference at *pp ('&'): its bytes into out, *pp past the ';'.
 * Returns the length (1-4), or -1 after reporting the fault. */
static int reference(pstate *st, const char **pp, char out[4])
{
	static const struct {
		const char *name;
		size_t len;
		char c;
	} predefined[] = { { "amp", 3, '&' }, { "lt", 2, '<' }, { "gt", 2, '>' },
			   { "quot", 4, '"' }, { "apos", 4, '\'' } };
	const char *amp = *pp, *p = amp + 1, *end = st->end;
	if (p < end && *p == '#')
		return char_ref(st, amp, pp, out);
	size_t n = name_len(p, end);
	if (p + n == end)
		return syntax_error(st, amp, E_UNCLOSED);
	if (!n || p[n] != ';')
		return syntax_error(st, amp, E_INVALID);
	*pp = p + n + 1;
	for (size_t i = 0; i < sizeof(predefined) / sizeof(predefined[0]); i++)
		if (predefined[i].len == n && memcmp(predefined[i].name, p, n) == 0) {
			out[0] = predefined[i].c;
			return 1;
		}
	return syntax_error(st, amp, E_UNDEFINED);
}

/* ---- text of the current element ------------------------------------ */

/* Whether text now belongs to cur: ElementTree's .text is what comes before
 * the first child; later ("tail") text is checked but dropped. */
static int keeps_text(const pstate *st)
{
	return st->cur && !st->cur->pub.first;
}

static size_t pending_len(const pstate *st)
{
	return st->span_len ? st->span_len : st->text.len;
}

/* Adds s[0..n) to cur's pending text. stable: s lies in the input (it can be
 * kept as a span without copying); otherwise it is copied now. */
static int add_text(pstate *st, const char *s, size_t n, int stable)
{
	if (!n || !keeps_text(st))
		return 0;
	if (n > st->lim.max_text || pending_len(st) > st->lim.max_text - n)
		return refuse(st, "element text too long");
	if (stable && !st->text.len && (!st->span_len || st->span + st->span_len == s)) {
		st->span = st->span_len ? st->span : s;
		st->span_len += n;
		return 0;
	}
	if (st->span_len) { /* a second piece: move the first into the buffer */
		if (buf_append(&st->text, st->span, st->span_len) != 0)
			return refuse(st, "out of memory");
		st->span_len = 0;
	}
	return buf_append(&st->text, s, n) == 0 ? 0 : refuse(st, "out of memory");
}

/* Gives cur its pending text and starts afresh. */
static int commit_text(pstate *st)
{
	xnode *n = st->cur;
	size_t len = pending_len(st);
	if (n && !n->pub.first && len) {
		char *t = doc_strndup(st, st->span_len ? st->span : st->text.data, len);
		if (!t)
			return refuse(st, "out of memory");
		n->pub.text = t;
		n->pub.text_len = len;
	}
	st->span_len = 0;
	buf_reset(&st->text);
	return 0;
}

/* Whether all eight bytes of w are plain text in ascii_text's sense but for
 * tab and LF (which only end the fast scan): none >= 0x80, none below 0x20,
 * no '&' and no ']'. Classic SWAR tests; exact for "any byte", which is all
 * that is asked. */
static int word_is_plain(uint64_t w)
{
	const uint64_t ones = 0x0101010101010101u, high = 0x8080808080808080u;
	uint64_t amp = w ^ (ones * '&'), bracket = w ^ (ones * ']');
	uint64_t flags = w | ((w - ones * 0x20) & ~w) | ((amp - ones) & ~amp) |
			 ((bracket - ones) & ~bracket);
	return (flags & high) == 0;
}

/* p past the plain text bytes (ascii_text) from p, up to stop. */
static const char *skip_plain(const char *p, const char *stop)
{
	uint64_t w;
	while (stop - p >= 8) {
		memcpy(&w, p, 8);
		if (!word_is_plain(w))
			break;
		p += 8;
	}
	while (p < stop && (unsigned char)*p < 0x80 && ascii_text[(unsigned char)*p])
		p++;
	return p;
}

/* A line break at *p (CR LF, CR or LF): *p past it. */
static void skip_break(const char **p, const char *stop)
{
	*p += (**p == '\r' && *p + 1 < stop && (*p)[1] == '\n') ? 2 : 1;
}

/* The special byte at *p in character data: a CR (LF is added), a
 * reference (its bytes are added) or a fault. *p moves past it. */
static int text_special(pstate *st, const char **p, const char *stop)
{
	char out[4] = { '\n' };
	int n = 1;
	if (**p == '\r')
		skip_break(p, stop);
	else if ((n = reference(st, p, out)) < 0)
		return -1;
	return add_text(st, out, (size_t)n, 0);
}

/* Character data or CDATA content [p, stop): checked, CR LF and CR turned
 * into LF; in character data '&' starts a reference and "]]>" is a fault.
 * Plain runs are added as spans of the input, without copying. */
static int text_run(pstate *st, const char *p, const char *stop, int cdata)
{
	const char *run = p;
	while ((p = skip_plain(p, stop)) < stop) {
		unsigned char c = (unsigned char)*p;
		size_t k;
		if (c == '\r' || (c == '&' && !cdata)) {
			if (add_text(st, run, (size_t)(p - run), 1) != 0 || text_special(st, &p, stop) != 0)
				return -1;
			run = p;
		} else if (c == ']' || c == '&') {
			if (!cdata && stop - p >= 3 && p[1] == ']' && p[2] == '>')
				return syntax_error(st, p, E_INVALID);
			p++;
		} else if ((k = xml_char(p, stop)) != 0) {
			p += k;
		} else {
			return syntax_error(st, p, E_INVALID);
		}
	}
	return add_text(st, run, (size_t)(p - run), 1);
}

/* ---- elements ---------------------------------------------------------- */

/* "ec2:item" -> "item". Namespaces are not processed (botocore drops them
 * too): a prefix is cut, whatever it is bound to. */
static const char *local_name(const char *name, size_t len, size_t *out_len)
{
	const char *sep = memchr(name, ':', len);
	*out_len = sep ? len - (size_t)(sep + 1 - name) : len;
	return sep ? sep + 1 : name;
}

/* The hash behind xml_name_hash: eight bytes at a time, multiply and fold;
 * the last word overlaps the one before it (names are short: no tail loop). */
static unsigned hash_bytes(const char *s, size_t n)
{
	uint64_t h = (uint64_t)n * 0x9E3779B97F4A7C15u, w = 0;
	if (n < 8) {
		for (size_t i = 0; i < n; i++)
			w = w << 8 | (unsigned char)s[i];
		h = (h ^ w) * 0xFF51AFD7ED558CCDu;
		return (unsigned)(h ^ (h >> 29));
	}
	for (size_t i = 0; i + 8 < n; i += 8) {
		memcpy(&w, s + i, 8);
		h = (h ^ w) * 0xFF51AFD7ED558CCDu;
		h ^= h >> 32;
	}
	memcpy(&w, s + n - 8, 8);
	h = (h ^ w) * 0xFF51AFD7ED558CCDu;
	return (unsigned)(h ^ (h >> 29));
}

unsigned xml_name_hash(const char *name)
{
	return hash_bytes(name, strlen(name));
}

/* Names n (its local name and hash) after the element's name as written. */
static int set_node_name(pstate *st, xnode *n, const char *raw, size_t raw_len)
{
	/* Siblings usually share a name (<item>, <member>): reuse it. */
	const xnode *prev = st->cur ? st->cur->last : NULL;
	if (prev && prev->raw_len == raw_len && memcmp(prev->raw, raw, raw_len) == 0) {
		n->pub.name = prev->pub.name;
		n->pub.name_hash = prev->pub.name_hash;
		return 0;
	}
	size_t len;
	const char *local = local_name(raw, raw_len, &len);
	n->pub.name_hash = hash_bytes(local, len);
	return (n->pub.name = doc_strndup(st, local, len)) ? 0 : -1;
}

static void link_child(pstate *st, xnode *n)
{
	xnode *parent = st->cur;
	if (!parent) {
		st->doc->root = n;
		return;
	}
	n->pub.parent = &parent->pub;
	if (parent->last)
		parent->last->pub.next = &n->pub;
	else
		parent->pub.first = &n->pub;
	parent->last = n;
	parent->pub.nchildren++;
}

/* A new element named raw[0..len) as the last child of cur; it becomes cur. */
static int open_element(pstate *st, const char *raw, size_t len)
{
	if (st->depth >= st->lim.max_depth) {
		char why[64];
		snprintf(why, sizeof(why), "nesting deeper than %zu", st->lim.max_depth);
		return refuse(st, why);
	}
	if (++st->nodes > st->lim.max_nodes)
		return refuse(st, "too many elements");
	if (commit_text(st) != 0)
		return -1;
	xnode *n = doc_node(st);
	if (!n)
		return refuse(st, "out of memory");
	n->pub.text = "";
	n->raw = raw;
	n->raw_len = len;
	if (set_node_name(st, n, raw, len) != 0)
		return refuse(st, "out of memory");
	link_child(st, n);
	st->cur = n;
	st->depth++;
	return 0;
}

static int close_element(pstate *st)
{
	if (commit_text(st) != 0)
		return -1;
	st->cur = (xnode *)st->cur->pub.parent;
	st->depth--;
	return 0;
}

/* ---- attributes ------------------------------------------------------ */

typedef struct attr {
	const char *name; /* raw, as written */
	size_t name_len;
	const char *value; /* decoded, in the arena */
} attr;

/* The value of an attribute [p, close), decoded into v: references
 * replaced, each tab, CR, LF or CR LF turned into a space. */
static int decode_value(pstate *st, const char *p, const char *close, buf *v)
{
	const char *run = p;
	while (p < close) {
		unsigned char c = (unsigned char)*p;
		size_t k;
		char out[4] = { ' ' };
		int n = 1;
		if (c >= 0x20 && c < 0x80 && c != '&' && c != '<') {
			p++;
			continue;
		}
		if (c >= 0x80 && (k = utf8_char((const unsigned char *)p, (const unsigned char *)close))) {
			p += k;
			continue;
		}
		if (c != '&' && !is_blank(c))
			return syntax_error(st, p, E_INVALID); /* '<', a control byte, bad UTF-8 */
		if (buf_append(v, run, (size_t)(p - run)) != 0)
			return refuse(st, "attribute value too long");
		if (c == '&' ? (n = reference(st, &p, out)) < 0 : (skip_break(&p, close), 0))
			return -1;
		if (buf_append(v, out, (size_t)n) != 0)
			return refuse(st, "attribute value too long");
		run = p;
	}
	return buf_append(v, run, (size_t)(p - run)) == 0 ? 0 : refuse(st, "attribute value too long");
}

/* A quoted attribute value at *pp, decoded into the arena; *pp past it. */
static const char *attr_value(pstate *st, const char **pp)
{
	const char *open = *pp, *close = open + 1;
	buf v = BUF_INIT;
	const char *out = NULL;
	while (close < st->end && *close != *open && *close != '<')
		close++;
	if (close == st->end || *close == '<') {
		syntax_error(st, close, close == st->end ? E_UNCLOSED : E_INVALID);
		return NULL;
	}
	buf_init(&v, st->lim.max_text);
	if (decode_value(st, open + 1, close, &v) != 0)
		goto out;
	if (!(out = doc_strndup(st, buf_cstr(&v), v.len)))
		refuse(st, "out of memory");
	*pp = close + 1;
out:
	buf_free(&v);
	return out;
}

/* One name="value" at *pp into a, then *pp past it. */
static int attribute(pstate *st, const char **pp, attr *a)
{
	const char *p = *pp, *end = st->end;
	size_t n = name_len(p, end);
	if (!n)
		return syntax_error(st, p, p == end ? E_UNCLOSED : E_INVALID);
	a->name = p;
	a->name_len = n;
	p += n;
	while (p < end && is_blank((unsigned char)*p))
		p++;
	if (p < end && *p == '=')
		p++;
	else
		return syntax_error(st, p, p == end ? E_UNCLOSED : E_INVALID);
	while (p < end && is_blank((unsigned char)*p))
		p++;
	if (p == end || (*p != '"' && *p != '\''))
		return syntax_error(st, p, p == end ? E_UNCLOSED : E_INVALID);
	if (!(a->value = attr_value(st, &p)))
		return -1;
	*pp = p;
	return 0;
}

static int is_xmlns(const attr *a)
{
	return a->name_len >= 5 && memcmp(a->name, "xmlns", 5) == 0 &&
	       (a->name_len == 5 || a->name[5] == ':');
}

/* Gives cur its attributes: local names, xmlns declarations left out. */
static int set_attrs(pstate *st, const attr *as, size_t n)
{
	const char **out = arena_alloc(&st->doc->mem, (2 * n + 1) * sizeof(*out));
	size_t k = 0;
	if (!out)
		return refuse(st, "out of memory");
	for (size_t i = 0; i < n; i++) {
		if (is_xmlns(&as[i]))
			continue;
		size_t len;
		const char *local = local_name(as[i].name, as[i].name_len, &len);
		if (!(out[k] = doc_strndup(st, local, len)))
			return refuse(st, "out of memory");
		out[k + 1] = as[i].value;
		k += 2;
	}
	out[k] = NULL;
	st->cur->pub.attrs = k ? out : NULL;
	return 0;
}

static int is_duplicate(const attr *as, size_t n, const attr *a)
{
	for (size_t i = 0; i < n; i++)
		if (as[i].name_len == a->name_len && memcmp(as[i].name, a->name, a->name_len) == 0)
			return 1;
	return 0;
}

/* The attributes of a start tag, from *pp up to and past '>' or "/>";
 * *empty tells which. */
static int attributes(pstate *st, const char **pp, int *empty)
{
	attr as[XML_MAX_ATTRS];
	size_t n = 0;
	const char *p = *pp, *end = st->end;
	for (;;) {
		const char *before = p;
		while (p < end && is_blank((unsigned char)*p))
			p++;
		if (p == end)
			return syntax_error(st, p, E_UNCLOSED);
		if (*p == '>' || (*p == '/' && p + 1 < end && p[1] == '>'))
			break;
		if (p == before) /* a blank must come before each attribute */
			return syntax_error(st, p, p + 1 == end ? E_UNCLOSED : E_INVALID);
		if (n == XML_MAX_ATTRS)
			return refuse(st, "too many attributes");
		if (attribute(st, &p, &as[n]) != 0)
			return -1;
		if (is_duplicate(as, n, &as[n]))
			return syntax_error(st, as[n].name, E_DUPLICATE);
		n++;
	}
	*empty = *p == '/';
	*pp = p + (*empty ? 2 : 1);
	return n ? set_attrs(st, as, n) : 0;
}

/* ---- markup ------------------------------------------------------------ */

/* What misplaced markup or text outside the root is called (as expat does). */
static const char *outside_root(const pstate *st)
{
	return st->doc->root ? E_JUNK : E_SYNTAX;
}

static int start_tag(pstate *st)
{
	const char *p = st->p + 1;
	size_t n = name_len(p, st->end);
	int empty = 0;
	if (!n)
		return syntax_error(st, st->p, p == st->end ? E_UNCLOSED : E_INVALID);
	if (open_element(st, p, n) != 0)
		return -1;
	p += n;
	if (p < st->end && *p == '>') /* no attributes: the common case */
		p++;
	else if (attributes(st, &p, &empty) != 0)
		return -1;
	st->p = p;
	return empty ? close_element(st) : 0;
}

/* The end tag of cur exactly as its start tag named it, then '>': the
 * common case, checked without scanning the name twice. */
static int end_tag_fast(pstate *st)
{
	const char *p = st->p + 2;
	size_t n = st->cur ? st->cur->raw_len : 0;
	if (!n || (size_t)(st->end - p) <= n || memcmp(p, st->cur->raw, n) != 0 || p[n] != '>')
		return 0;
	st->p = p + n + 1;
	return 1;
}

static int end_tag(pstate *st)
{
	if (end_tag_fast(st))
		return close_element(st);
	const char *p = st->p + 2, *end = st->end;
	size_t n = name_len(p, end);
	if (!n)
		return syntax_error(st, st->p, p == end ? E_UNCLOSED : E_INVALID);
	const char *close = p + n;
	while (close < end && is_blank((unsigned char)*close))
		close++;
	if (close == end || *close != '>')
		return syntax_error(st, close, close == end ? E_UNCLOSED : E_INVALID);
	if (!st->cur || st->cur->raw_len != n || memcmp(st->cur->raw, p, n) != 0)
		return syntax_error(st, st->p, st->cur ? E_MISMATCH : E_INVALID);
	st->p = close + 1;
	return close_element(st);
}

static int comment(pstate *st)
{
	const char *body = st->p + 4, *dashes = find(body, st->end, "--");
	if (!dashes)
		return syntax_error(st, st->p, E_UNCLOSED);
	if (dashes + 2 == st->end || dashes[2] != '>')
		return syntax_error(st, dashes, E_INVALID); /* "--" inside a comment */
	if (check_chars(st, body, (size_t)(dashes - body)) != 0)
		return -1;
	st->p = dashes + 3;
	return 0;
}

static int cdata(pstate *st)
{
	const char *body = st->p + 9, *close = find(body, st->end, "]]>");
	if (!close)
		return syntax_error(st, st->p, E_CDATA);
	if (text_run(st, body, close, 1) != 0)
		return -1;
	st->p = close + 3;
	return 0;
}

static int is_xml_target(const char *p, size_t n)
{
	return n == 3 && (p[0] | 0x20) == 'x' && (p[1] | 0x20) == 'm' && (p[2] | 0x20) == 'l';
}

/* <?target ...?>: skipped. An XML declaration here is misplaced. */
static int processing_instruction(pstate *st)
{
	const char *p = st->p + 2, *end = st->end;
	size_t n = name_len(p, end);
	if (!n)
		return syntax_error(st, st->p, p == end ? E_UNCLOSED : E_INVALID);
	if (is_xml_target(p, n))
		return syntax_error(st, st->p, st->doc->root && !st->cur ? E_JUNK : E_MISPLACED_DECL);
	const char *close = find(p + n, end, "?>");
	if (!close)
		return syntax_error(st, st->p, E_UNCLOSED);
	if (close != p + n && !is_blank((unsigned char)p[n]))
		return syntax_error(st, p + n, E_INVALID);
	if (check_chars(st, p + n, (size_t)(close - p - n)) != 0)
		return -1;
	st->p = close + 2;
	return 0;
}

/* Whether the input ends inside what could still become lit. */
static int cut_short(const pstate *st, const char *lit)
{
	size_t left = (size_t)(st->end - st->p);
	return left < strlen(lit) && memcmp(st->p, lit, left) == 0;
}

/* <!-- comments -->, <![CDATA[ sections ]]> and, before the root, a
 * DOCTYPE, which is refused whatever it holds. */
static int bang(pstate *st)
{
	static const char *const kinds[] = { "<!--", "<![CDATA[", "<!DOCTYPE" };
	if (starts_with(st->p, st->end, kinds[0]))
		return comment(st);
	if (starts_with(st->p, st->end, kinds[1]))
		return st->cur ? cdata(st) : syntax_error(st, st->p, outside_root(st));
	if (starts_with(st->p, st->end, kinds[2]) && !st->doc->root)
		return refuse(st, "DOCTYPE not allowed");
	for (size_t i = 0; i < sizeof(kinds) / sizeof(kinds[0]); i++)
		if (cut_short(st, kinds[i]))
			return syntax_error(st, st->p, E_UNCLOSED);
	return syntax_error(st, st->p, E_INVALID);
}

static int markup(pstate *st)
{
	const char *p = st->p + 1;
	if (p == st->end)
		return syntax_error(st, st->p, E_UNCLOSED);
	if (*p == '/')
		return end_tag(st);
	if (*p == '?')
		return processing_instruction(st);
	if (*p == '!')
		return bang(st);
	if (st->doc->root && !st->cur)
		return syntax_error(st, st->p, E_JUNK);
	return start_tag(st);
}

/* Text up to the next '<': content inside the root, only blanks outside. */
static int char_data(pstate *st)
{
	const char *p = st->p, *lt = memchr(p, '<', (size_t)(st->end - p));
	const char *stop = lt ? lt : st->end;
	if (st->cur) {
		if (text_run(st, p, stop, 0) != 0)
			return -1;
	} else {
		while (p < stop && is_blank((unsigned char)*p))
			p++;
		if (p < stop) /* a word: expat's "syntax error" (or junk); else a bad token */
			return syntax_error(st, p, is_name_char((unsigned char)*p) ? outside_root(st)
										   : E_INVALID);
	}
	st->p = stop;
	return 0;
}

/* The values the XML declaration allows (XML 1.0, 2.8 and 4.3.3), as
 * expat reads them: every value is made of ASCII letters, digits, '.', '-'
 * and '_' (no ':', though XML 1.0's older VersionNum allowed it). */
static int is_version(const char *v, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (!is_name_char((unsigned char)v[i]) || v[i] == ':' || (unsigned char)v[i] >= 0x80)
			return 0;
	return 1; /* expat takes version="" too */
}

static int is_encoding(const char *v, size_t n)
{
	if (!n || !((v[0] | 0x20) >= 'a' && (v[0] | 0x20) <= 'z'))
		return 0;
	for (size_t i = 1; i < n; i++)
		if (!is_name_char((unsigned char)v[i]) || v[i] == ':' || (unsigned char)v[i] >= 0x80)
			return 0;
	return 1;
}

static int is_standalone(const char *v, size_t n)
{
	return (n == 3 && memcmp(v, "yes", 3) == 0) || (n == 2 && memcmp(v, "no", 2) == 0);
}

/* One pseudo-attribute of the declaration at *pp: blanks, name, '=', a
 * quoted value. 1 when there (*pp moves past it), 0 when absent, -1 bad. */
static int decl_attr(const char **pp, const char *close, const char *name,
		     int (*valid)(const char *, size_t))
{
	const char *p = *pp, *blanks = p, *value, *quote;
	size_t n = strlen(name);
	while (p < close && is_blank((unsigned char)*p))
		p++;
	if (p == blanks || (size_t)(close - p) < n || memcmp(p, name, n) != 0)
		return 0;
	for (p += n; p < close && is_blank((unsigned char)*p); p++)
		;
	if (p == close || *p++ != '=')
		return -1;
	while (p < close && is_blank((unsigned char)*p))
		p++;
	if (p == close || (*p != '"' && *p != '\''))
		return -1;
	value = p + 1;
	quote = memchr(value, *p, (size_t)(close - value));
	if (!quote || !valid(value, (size_t)(quote - value)))
		return -1;
	*pp = quote + 1;
	return 1;
}

/* <?xml version="1.0" encoding="UTF-8" standalone="yes"?> at the very
 * start, checked for form. The encoding is taken as UTF-8 whatever it says
 * (as expat was told before). */
static int xml_declaration(pstate *st)
{
	const char *p = st->p + 5, *end = st->end, *close;
	if (!starts_with(st->p, end, "<?xml") || p == end || !(is_blank((unsigned char)*p) || *p == '?'))
		return 0;
	if (!(close = find(p, end, "?>")))
		return syntax_error(st, st->p, E_UNCLOSED);
	if (decl_attr(&p, close, "version", is_version) != 1 ||
	    decl_attr(&p, close, "encoding", is_encoding) < 0 ||
	    decl_attr(&p, close, "standalone", is_standalone) < 0)
		return syntax_error(st, st->p, E_BAD_DECL);
	while (p < close && is_blank((unsigned char)*p))
		p++;
	if (p != close)
		return syntax_error(st, st->p, E_BAD_DECL);
	st->p = close + 2;
	return 0;
}

static int parse_document(pstate *st)
{
	if (starts_with(st->p, st->end, "\xEF\xBB\xBF"))
		st->p += 3; /* a UTF-8 byte order mark */
	if (xml_declaration(st) != 0)
		return -1;
	while (st->p < st->end)
		if ((*st->p == '<' ? markup(st) : char_data(st)) != 0)
			return -1;
	if (!st->doc->root || st->cur)
		return syntax_error(st, st->end, E_NO_ELEMENT);
	return 0;
}

static void set_limits(xml_limits *out, const xml_limits *in)
{
	static const xml_limits none;
	if (!in)
		in = &none;
	out->max_bytes = in->max_bytes ? in->max_bytes : XML_DEF_MAX_BYTES;
	out->max_depth = in->max_depth ? in->max_depth : XML_DEF_MAX_DEPTH;
	out->max_nodes = in->max_nodes ? in->max_nodes : XML_DEF_MAX_NODES;
	out->max_text = in->max_text ? in->max_text : XML_DEF_MAX_TEXT;
}

xml_doc *xml_parse(const char *data, size_t len, const xml_limits *lim, char *errbuf,
		   size_t errlen)
{
	pstate st;
	memset(&st, 0, sizeof(st));
	set_limits(&st.lim, lim);
	buf_init(&st.text, st.lim.max_text);
	xml_doc *ret = NULL;
	if (errlen)
		errbuf[0] = '\0';
	if (len > st.lim.max_bytes) {
		snprintf(errbuf, errlen, "document larger than %zu bytes", st.lim.max_bytes);
		goto out;
	}
	if (!(st.doc = calloc(1, sizeof(*st.doc)))) {
		snprintf(errbuf, errlen, "out of memory");
		goto out;
	}
	st.start = st.p = data ? data : "";
	st.end = st.start + (data ? len : 0);
	if (parse_document(&st) != 0) {
		snprintf(errbuf, errlen, "%s", st.err);
		goto out;
	}
	ret = st.doc;
	st.doc = NULL;
out:
	xml_free(st.doc);
	buf_free(&st.text);
	return ret;
}

/* ---- queries -------------------------------------------------------- */

const xml_node *xml_root(const xml_doc *d)
{
	return d && d->root ? &d->root->pub : NULL;
}

const xml_node *xml_child(const xml_node *n, const char *name)
{
	for (const xml_node *c = n ? n->first : NULL; c; c = c->next)
		if (c->name[0] == name[0] && strcmp(c->name, name) == 0)
			return c;
	return NULL;
}

const xml_node *xml_child_hashed(const xml_node *n, const char *name, unsigned hash)
{
	for (const xml_node *c = n ? n->first : NULL; c; c = c->next)
		if (c->name_hash == hash && strcmp(c->name, name) == 0)
			return c;
	return NULL;
}

/* Indexed only between 8 and XML_INDEX_SLOTS / 2 children: fewer are as
 * quick to walk, more would fill the table (they are walked then too). */
void xml_index_children(xml_child_index *ix, const xml_node *n)
{
	ix->node = n;
	ix->used = n && n->nchildren >= 8 && n->nchildren <= XML_INDEX_SLOTS / 2;
	if (!ix->used)
		return;
	memset(ix->slot, 0, sizeof(ix->slot));
	for (const xml_node *e = n->first; e; e = e->next) {
		unsigned i = e->name_hash & (XML_INDEX_SLOTS - 1);
		const xml_node *o;
		while ((o = ix->slot[i]) && !(o->name_hash == e->name_hash && strcmp(o->name, e->name) == 0))
			i = (i + 1) & (XML_INDEX_SLOTS - 1);
		if (!o)
			ix->slot[i] = e; /* the first of each name, as xml_child finds */
	}
}

const xml_node *xml_index_find(const xml_child_index *ix, const char *name, unsigned hash)
{
	const xml_node *o;
	if (!ix->used)
		return xml_child_hashed(ix->node, name, hash);
	for (unsigned i = hash & (XML_INDEX_SLOTS - 1); (o = ix->slot[i]); i = (i + 1) & (XML_INDEX_SLOTS - 1))
		if (o->name_hash == hash && strcmp(o->name, name) == 0)
			return o;
	return NULL;
}

const xml_node *xml_next_named(const xml_node *n)
{
	for (const xml_node *c = n ? n->next : NULL; c; c = c->next)
		if (c->name == n->name || strcmp(c->name, n->name) == 0)
			return c;
	return NULL;
}

const char *xml_child_text(const xml_node *n, const char *name)
{
	const xml_node *c = xml_child(n, name);
	return c ? c->text : NULL;
}

const char *xml_attr(const xml_node *n, const char *name)
{
	if (!n || !n->attrs)
		return NULL;
	for (size_t i = 0; n->attrs[i]; i += 2)
		if (strcmp(n->attrs[i], name) == 0)
			return n->attrs[i + 1];
	return NULL;
}
