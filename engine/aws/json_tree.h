/* json_tree — a small, strict, read-only JSON tree for AWS json-1.1 responses.
 *
 * Why not lua-cjson: the codec needs integer
 * and float literals kept apart (cjson 2.1 turns every number into a float,
 * so a Long of 2^53+1 or a count of 5 would come back as 5.0), a depth and size
 * bound of its own (cjson's depth setting is per module instance), and no
 * garbage in the playbook's capped Lua heap for a document that is thrown
 * away after the walk over the model. RFC 8259 strictly: no NaN/Infinity, no
 * trailing commas, no comments, no raw control characters in strings.
 *
 * Ownership: json_tree_parse returns a document that owns every node and
 * string (one arena); json_tree_free releases them all. Nothing here touches
 * Lua. */
#ifndef DEADBOLT_JSON_TREE_H
#define DEADBOLT_JSON_TREE_H

#include <stddef.h>

typedef enum jt_type {
	JT_NULL = 0,
	JT_FALSE,
	JT_TRUE,
	JT_INT,    /* an integer literal that fits in long long: i (and d) */
	JT_NUMBER, /* any other number: d */
	JT_STRING, /* str[0..len), UTF-8, NUL-terminated, may hold NULs */
	JT_ARRAY,
	JT_OBJECT,
} jt_type;

typedef struct jt_node jt_node;
struct jt_node {
	jt_type type;
	const char *key;      /* the member name inside an object, else NULL */
	size_t key_len;
	const char *str;      /* JT_STRING */
	size_t len;
	long long i;          /* JT_INT */
	double d;             /* JT_INT, JT_NUMBER */
	const jt_node *first; /* array elements / object members in order */
	const jt_node *next;
	size_t n;             /* number of children */
};

typedef struct jt_doc jt_doc;

typedef struct jt_limits {
	size_t max_bytes; /* 0: 16 MiB */
	size_t max_depth; /* 0: 64 */
	size_t max_nodes; /* 0: 1,000,000 */
} jt_limits;

/* Parses data[0..len). Returns the document, or NULL with a one-line reason
 * in errbuf ("offset 17: expected ':'", "nesting deeper than 64"). */
jt_doc *json_tree_parse(const char *data, size_t len, const jt_limits *lim, char *errbuf,
			size_t errlen);
void json_tree_free(jt_doc *d); /* NULL is fine */

const jt_node *json_tree_root(const jt_doc *d);
/* The member named key of an object (the last one if repeated, as Python's
 * json does), or NULL. */
const jt_node *json_tree_get(const jt_node *obj, const char *key);

#endif
