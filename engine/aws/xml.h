/* xml — a small read-only XML tree for AWS responses, by a parser of our own.
 *
 * Every input is treated as hostile: a
 * document with a DOCTYPE (hence any entity declaration, internal or
 * external) is rejected before its internal subset is read; depth, element
 * count, text per element and document size are bounded. Namespaces are not
 * processed (botocore ignores them too): a node's name is the element's
 * local name ("Code" for both <Code> and <s3:Code>), attributes keep their
 * local names, and xmlns declarations are not attributes.
 *
 * A node's text is what ElementTree calls .text: the character data before
 * its first child element ("" when none); text after a child is dropped.
 *
 * Ownership: xml_parse returns a document that owns every node and string in
 * it (one arena); xml_free releases them all at once. Nodes and strings are
 * borrowed from the document and die with it. Nothing here touches Lua.
 *
 * The parser is our own (xml.c says why not expat, and what it checks). */
#ifndef DEADBOLT_XML_H
#define DEADBOLT_XML_H

#include <stddef.h>

typedef struct xml_doc xml_doc;
typedef struct xml_node xml_node;

struct xml_node {
	const char *name;          /* local name, never NULL */
	const char *text;          /* never NULL; NUL-terminated, may hold NULs (use text_len) */
	size_t text_len;
	const char *const *attrs;  /* NULL, or local name, value, ..., NULL */
	const xml_node *parent;    /* NULL for the root */
	const xml_node *first;     /* first child element, or NULL */
	const xml_node *next;      /* next sibling element, or NULL */
	size_t nchildren;
	unsigned name_hash;        /* xml_name_hash(name), for callers that look many names up */
};

typedef struct xml_limits {
	size_t max_bytes;  /* document size; 0: 16 MiB */
	size_t max_depth;  /* element nesting; 0: 64 */
	size_t max_nodes;  /* elements in all; 0: 1,000,000 */
	size_t max_text;   /* character data of one element; 0: 8 MiB */
} xml_limits;

/* Parses data[0..len). lim NULL means the defaults. Returns the document, or
 * NULL with a one-line reason in errbuf ("line 3: mismatched tag", "DOCTYPE
 * not allowed", "nesting deeper than 64", "too many attributes" (over 64 on
 * one element), "out of memory"). */
xml_doc *xml_parse(const char *data, size_t len, const xml_limits *lim, char *errbuf,
		   size_t errlen);
void xml_free(xml_doc *d); /* NULL is fine */

const xml_node *xml_root(const xml_doc *d);
/* The first child element named name (local name, exact case), or NULL. */
const xml_node *xml_child(const xml_node *n, const char *name);
/* The next sibling after n with the same name as n, or NULL. */
const xml_node *xml_next_named(const xml_node *n);
/* Text of the first child named name, or NULL when there is no such child. */
const char *xml_child_text(const xml_node *n, const char *name);
/* The value of the attribute with this local name, or NULL. */
const char *xml_attr(const xml_node *n, const char *name);

/* A hash of a name, as every node's name_hash holds it (any stable function
 * of the bytes; not for use across processes). */
unsigned xml_name_hash(const char *name);
/* xml_child for a name whose xml_name_hash the caller already has: names are
 * compared only where the hashes match. */
const xml_node *xml_child_hashed(const xml_node *n, const char *name, unsigned hash);

/* The children of one element by name, for looking many names up among them
 * (a structure's members). Lives on the caller's stack; borrows the node. */
#define XML_INDEX_SLOTS 128
typedef struct xml_child_index {
	const xml_node *node;
	int used; /* 0: too few or too many children to be worth a table */
	const xml_node *slot[XML_INDEX_SLOTS];
} xml_child_index;

void xml_index_children(xml_child_index *ix, const xml_node *n);
/* What xml_child_hashed(n, name, hash) gives, n being the indexed node. */
const xml_node *xml_index_find(const xml_child_index *ix, const char *name, unsigned hash);

#endif
