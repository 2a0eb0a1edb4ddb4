/* xml — see xml.h. One arena per document; expat does the parsing. */
#include "xml.h"

#include <expat.h>
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

/* A node as built: the public part first, so a node pointer is both. */
typedef struct xnode {
	xml_node pub;
	struct xnode *last; /* last child, for appending */
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

/* ---- parser state and handlers -------------------------------------- */

typedef struct pstate {
	xml_doc *doc;
	XML_Parser p;
	xml_limits lim;
	xnode *cur;   /* innermost open element */
	size_t depth;
	size_t nodes;
	buf text;     /* pending character data of cur, before its first child */
	int stopped;
	char err[160];
} pstate;

static void stop(pstate *st, const char *why)
{
	if (st->stopped)
		return;
	st->stopped = 1;
	snprintf(st->err, sizeof(st->err), "%s", why);
	XML_StopParser(st->p, XML_FALSE);
}

/* "ec2:item" -> "item". Namespaces are not processed (faster, and botocore
 * drops them anyway): a prefix is cut, whatever it is bound to. */
static const char *local_name(const char *name)
{
	const char *sep = strchr(name, ':');
	return sep ? sep + 1 : name;
}

static int is_xmlns(const char *name)
{
	return strncmp(name, "xmlns", 5) == 0 && (name[5] == '\0' || name[5] == ':');
}

/* Gives cur its pending text (ElementTree's .text) and empties the buffer. */
static int commit_text(pstate *st)
{
	xnode *n = st->cur;
	if (n && !n->pub.first && st->text.len > 0) {
		char *t = arena_strndup(&st->doc->mem, st->text.data, st->text.len);
		if (!t)
			return -1;
		n->pub.text = t;
		n->pub.text_len = st->text.len;
	}
	buf_reset(&st->text);
	return 0;
}

static const char *intern_name(pstate *st, const char *name)
{
	/* Siblings usually share a name (<item>, <member>): reuse it. */
	if (st->cur && st->cur->last && strcmp(st->cur->last->pub.name, name) == 0)
		return st->cur->last->pub.name;
	return arena_strndup(&st->doc->mem, name, strlen(name));
}

static const char *const *copy_attrs(pstate *st, const XML_Char **atts)
{
	size_t n = 0, k = 0;
	while (atts[n])
		n++;
	const char **out = arena_alloc(&st->doc->mem, (n + 1) * sizeof(*out));
	if (!out)
		return NULL;
	for (size_t i = 0; i < n; i += 2) {
		if (is_xmlns(atts[i]))
			continue;
		const char *name = local_name(atts[i]);
		out[k] = arena_strndup(&st->doc->mem, name, strlen(name));
		out[k + 1] = arena_strndup(&st->doc->mem, atts[i + 1], strlen(atts[i + 1]));
		if (!out[k] || !out[k + 1])
			return NULL;
		k += 2;
	}
	out[k] = NULL;
	return out;
}

static xnode *new_node(pstate *st, const char *name, const XML_Char **atts)
{
	xnode *n = arena_alloc(&st->doc->mem, sizeof(*n));
	if (!n)
		return NULL;
	memset(n, 0, sizeof(*n));
	n->pub.text = "";
	n->pub.name = intern_name(st, local_name(name));
	if (!n->pub.name)
		return NULL;
	if (atts && atts[0]) {
		const char *const *a = copy_attrs(st, atts);
		if (!a)
			return NULL;
		n->pub.attrs = a[0] ? a : NULL;
	}
	return n;
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

static void XMLCALL on_start(void *ud, const XML_Char *name, const XML_Char **atts)
{
	pstate *st = ud;
	if (st->stopped)
		return;
	if (st->depth >= st->lim.max_depth) {
		char why[64];
		snprintf(why, sizeof(why), "nesting deeper than %zu", st->lim.max_depth);
		stop(st, why);
		return;
	}
	if (++st->nodes > st->lim.max_nodes) {
		stop(st, "too many elements");
		return;
	}
	if (commit_text(st) != 0) {
		stop(st, "out of memory");
		return;
	}
	xnode *n = new_node(st, name, atts);
	if (!n) {
		stop(st, "out of memory");
		return;
	}
	link_child(st, n);
	st->cur = n;
	st->depth++;
}

static void XMLCALL on_end(void *ud, const XML_Char *name)
{
	pstate *st = ud;
	(void)name;
	if (st->stopped || !st->cur)
		return;
	if (commit_text(st) != 0) {
		stop(st, "out of memory");
		return;
	}
	st->cur = (xnode *)st->cur->pub.parent;
	st->depth--;
}

static void XMLCALL on_text(void *ud, const XML_Char *s, int len)
{
	pstate *st = ud;
	if (st->stopped || !st->cur || st->cur->pub.first || len <= 0)
		return; /* outside the root, or tail text after a child */
	if (buf_append(&st->text, s, (size_t)len) != 0)
		stop(st, "element text too long");
}

static void XMLCALL on_doctype(void *ud, const XML_Char *name, const XML_Char *sysid,
			       const XML_Char *pubid, int has_internal_subset)
{
	(void)name, (void)sysid, (void)pubid, (void)has_internal_subset;
	stop(ud, "DOCTYPE not allowed");
}

static void XMLCALL on_entity(void *ud, const XML_Char *name, int is_param,
			      const XML_Char *value, int value_len, const XML_Char *base,
			      const XML_Char *sysid, const XML_Char *pubid,
			      const XML_Char *notation)
{
	(void)name, (void)is_param, (void)value, (void)value_len, (void)base;
	(void)sysid, (void)pubid, (void)notation;
	stop(ud, "entity declarations not allowed");
}

/* ---- parse ---------------------------------------------------------- */

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

static XML_Parser make_parser(pstate *st)
{
	XML_Parser p = XML_ParserCreate("UTF-8");
	if (!p)
		return NULL;
	XML_SetUserData(p, st);
	XML_SetElementHandler(p, on_start, on_end);
	XML_SetCharacterDataHandler(p, on_text);
	XML_SetStartDoctypeDeclHandler(p, on_doctype);
	XML_SetEntityDeclHandler(p, on_entity);
	XML_SetParamEntityParsing(p, XML_PARAM_ENTITY_PARSING_NEVER);
	return p;
}

static void parse_error(pstate *st, char *errbuf, size_t errlen)
{
	if (st->err[0]) {
		snprintf(errbuf, errlen, "%s", st->err);
		return;
	}
	snprintf(errbuf, errlen, "line %lu: %s", (unsigned long)XML_GetCurrentLineNumber(st->p),
		 XML_ErrorString(XML_GetErrorCode(st->p)));
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
	if (len > st.lim.max_bytes || len > INT32_MAX) {
		snprintf(errbuf, errlen, "document larger than %zu bytes", st.lim.max_bytes);
		goto out;
	}
	st.doc = calloc(1, sizeof(*st.doc));
	st.p = st.doc ? make_parser(&st) : NULL;
	if (!st.p) {
		snprintf(errbuf, errlen, "out of memory");
		goto out;
	}
	if (XML_Parse(st.p, data ? data : "", (int)len, XML_TRUE) != XML_STATUS_OK ||
	    st.stopped || !st.doc->root) {
		parse_error(&st, errbuf, errlen);
		goto out;
	}
	ret = st.doc;
	st.doc = NULL;
out:
	if (st.p)
		XML_ParserFree(st.p);
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
