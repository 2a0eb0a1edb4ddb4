/* lua_lex — Lua 5.4 source as tokens, for the checks `deadbolt check` makes
 * without running anything: where a literal table's fields are, which calls
 * a file makes and with what literal parameters.
 *
 * It reads, never runs: comments and strings are skipped as Lua skips them
 * (long brackets of any level included), each token keeps its line. Syntax
 * errors are the loader's business; the lexer just keeps going.
 *
 * Ownership: lua_lex_scan fills a lua_toks whose array it owns (free with
 * lua_toks_free); every token points into the caller's text, which must
 * outlive it. Nothing raises. */
#ifndef DEADBOLT_LUA_LEX_H
#define DEADBOLT_LUA_LEX_H

#include <stddef.h>

typedef enum lua_tok_type {
	LT_EOF = 0,
	LT_NAME,   /* identifiers and keywords */
	LT_STRING, /* s/n cover the whole literal, quotes or brackets included */
	LT_NUMBER,
	LT_SYM,    /* operators and punctuation: "{", "==", "...", "::" */
} lua_tok_type;

typedef struct lua_tok {
	lua_tok_type type;
	const char *s;
	size_t n;
	int line;
} lua_tok;

typedef struct lua_toks {
	lua_tok *t; /* n tokens, then one LT_EOF */
	size_t n;
} lua_toks;

/* 0, or -1 when out of memory (toks is then empty). */
int lua_lex_scan(const char *text, size_t len, lua_toks *toks);
void lua_toks_free(lua_toks *toks);

/* 1 when the token is the name, keyword or symbol given. */
int lua_tok_is(const lua_tok *t, const char *text);

/* The value of a string token (simple escapes decoded; a long string as it
 * is), NUL-terminated in out and cut to fit. Returns the full value's length,
 * or -1 for a token that is not a string. */
long lua_tok_string(const lua_tok *t, char *out, size_t outlen);

/* Index of the token after the expression that starts at i: stops at a ",",
 * ";" or closing bracket that is not nested, or at a keyword that ends a
 * statement list; a function body, a table and brackets are skipped whole. */
size_t lua_skip_expr(const lua_toks *k, size_t i);

/* Index of the token after the bracket opened at i ("{", "(" or "["). */
size_t lua_skip_group(const lua_toks *k, size_t i);

/* One field of a table constructor. */
typedef struct lua_field {
	char key[128];     /* the name or string key; "" for a positional field */
	long index;        /* 1.. for a positional field, else 0 */
	int computed;      /* [expr] key that is not a string literal */
	size_t key_tok;    /* the key's token (the value's first for a positional one) */
	size_t value;      /* the value's first token */
	size_t value_end;  /* the token after the value */
} lua_field;

/* Calls fn for each field of the table constructor whose "{" is at i, in
 * order; fn returns nonzero to stop. Returns the index after the "}". */
typedef int (*lua_field_fn)(void *ud, const lua_toks *k, const lua_field *f);
size_t lua_table_fields(const lua_toks *k, size_t i, lua_field_fn fn, void *ud);

/* Index of the "{" of the table the chunk returns (its last top-level
 * `return {`, or `return NAME` with `local NAME = {` before), or 0 when it
 * does not return a literal table. */
size_t lua_returned_table(const lua_toks *k);

/* Where the fields of a literal table are: "handles[2].finding_type" ->
 * line. Paths go through nested literal tables; a positional field is
 * "[n]", a named one ".name" (the first without the dot). */
typedef struct lua_srcmap_entry {
	char path[160];
	int line;
} lua_srcmap_entry;

typedef struct lua_srcmap {
	lua_srcmap_entry *e; /* owned */
	size_t n, cap;
} lua_srcmap;

/* Maps the table the chunk returns. 0, or -1 when out of memory. */
int lua_srcmap_build(const lua_toks *k, lua_srcmap *m);
void lua_srcmap_free(lua_srcmap *m);
/* The line of path, else of its nearest mapped parent, else of the
 * returned table's "{" (path ""), else 0. */
int lua_srcmap_line(const lua_srcmap *m, const char *path);

#endif
