/* journal — the run journal as JSON lines, and the small JSON writer the lines
 * (and the dry-run plan) are built with.
 *
 * Ownership: a journal borrows
 * its FILE (the caller closes it) and owns its line buffer; a jw borrows the
 * buf it writes into. jw_lua reads a Lua value with raw access only and never
 * raises or allocates in that lua_State, so it may be called anywhere. */
#ifndef DEADBOLT_JOURNAL_H
#define DEADBOLT_JOURNAL_H

#include <lua.h>
#include <stddef.h>
#include <stdio.h>

#include "buf.h"

#define JW_MAX_DEPTH 40     /* writer nesting; deeper Lua values become "<too deep>" */
#define JW_LUA_MAX_KEYS 4096 /* keys of one Lua table written; the rest are dropped */
#define JW_MAX_STRING 65536  /* longer strings are written as "<N bytes>" when redacting */

/* A streaming JSON writer. Errors (buffer full) are sticky: check jw_failed. */
typedef struct jw {
	buf *b;
	int depth;
	int after_key;
	int failed;
	size_t shorten; /* jw_lua: strings longer than this become "<N bytes, sha256 ...>"; 0: JW_MAX_STRING when redacting */
	unsigned char comma[JW_MAX_DEPTH + 1];
} jw;

void jw_init(jw *w, buf *b);
void jw_obj(jw *w);
void jw_obj_end(jw *w);
void jw_arr(jw *w);
void jw_arr_end(jw *w);
void jw_key(jw *w, const char *k);
void jw_key_n(jw *w, const char *k, size_t n);
void jw_str(jw *w, const char *s); /* NULL writes null */
void jw_strn(jw *w, const char *s, size_t n);
void jw_num(jw *w, double d);      /* NaN and infinities write null */
void jw_int(jw *w, long long v);
void jw_bool(jw *w, int v);
void jw_null(jw *w);
void jw_raw(jw *w, const char *json); /* an already encoded value */
int jw_failed(const jw *w);

/* A key and its value, in one call. */
void jw_field_str(jw *w, const char *k, const char *v); /* NULL writes null */
void jw_field_int(jw *w, const char *k, long long v);
void jw_field_num(jw *w, const char *k, double v);
void jw_field_bool(jw *w, const char *k, int v);

/* Writes the Lua value at idx: tables with keys 1..n as arrays, others as
 * objects with sorted keys; functions and userdata by their type name.
 * With redact set (the journal), values under secret-looking keys and
 * strings that look like AWS secrets become "<redacted>" (PolicyDocument is
 * kept as is), and strings longer than JW_MAX_STRING become "<N bytes>". */
void jw_lua(jw *w, lua_State *L, int idx, int redact);

/* Pushes the table behind the read-only view at idx and returns 1, or
 * returns 0 pushing nothing (not a view). Must not raise. */
typedef int (*jw_view_fn)(lua_State *L, int idx);

/* Writes the Lua value at idx exactly, or refuses: returns 0, or -1 with
 * why (and where: "at .a[2]: ...") in err, the writer then holding a part
 * of the value that the caller must drop. Exactly: nil, booleans,
 * integers, finite floats (17 digits where 15 do not give the number
 * back), strings of UTF-8 text; tables with keys 1..n as arrays, others as
 * objects whose keys are strings, numbers or booleans written as their
 * value (1 -> "1", 1.5 -> "1.5", true -> "true"). Refused: two keys with the
 * same text, a table that appears twice (a shared sub-table or a cycle),
 * nesting past 32, a table of more than JW_LUA_MAX_KEYS keys, NaN and
 * infinities, bytes that are not UTF-8, functions, userdata, threads, and
 * a value larger than the writer's buffer. Secrets are redacted as jw_lua
 * does (the journal never holds them). view unwraps read-only views (NULL:
 * none). *work (may be NULL) gets the values and bytes walked, for
 * charging. Raw access only; never raises; allocates only the stack slots
 * lua_checkstack gives. */
int jw_lua_exact(jw *w, lua_State *L, int idx, jw_view_fn view, size_t *work, char *err,
		 size_t errlen);

/* The redaction rules, exposed for tests: a key matching
 * /secret|password|token|credential|authorization|privatekey/i, and a value
 * that looks like an AWS secret access key or session token. */
int journal_secret_key(const char *key, size_t n);
int journal_secret_value(const char *s, size_t n);

/* ISO-8601 UTC with milliseconds ("2024-05-01T12:00:00.123Z"), now or for t
 * (seconds since the epoch). out needs 32 bytes. */
void journal_timestamp(char *out, size_t outlen);
void journal_format_time(double t, char *out, size_t outlen);

typedef struct journal journal;

/* f may be NULL: lines are built and dropped (so callers need no checks). */
journal *journal_new(FILE *f);
void journal_free(journal *j);
/* Later lines go to f (NULL: none). The journal never closes it. */
void journal_set_file(journal *j, FILE *f);
int journal_enabled(const journal *j);

/* At most this many bytes of one run's lines reach the file (0: the
 * default JOURNAL_RUN_LIMIT); past it one "output_cut" line says so and
 * the run's later lines are dropped, except run_start, run_end and
 * input_error, which are always written. journal_dropped says how many
 * lines of the current run were dropped. */
#define JOURNAL_RUN_LIMIT ((size_t)16 << 20)
void journal_set_limit(journal *j, size_t bytes);
size_t journal_dropped(const journal *j);

/* Starts a new run: a fresh random run id for the lines that follow, and
 * a fresh output limit. */
void journal_new_run(journal *j);
const char *journal_run_id(const journal *j);

/* Starts a line {"ts":..,"run":..,"event":event and returns the writer for
 * more fields; journal_emit closes it, writes it with a newline and flushes.
 * A line that does not fit (1 MiB) is replaced by a short line saying so. */
jw *journal_line(journal *j, const char *event);
int journal_emit(journal *j);

/* While calls overlap (inside aws.all): between journal_hold and
 * journal_release, journal_emit keeps each line under the order key last
 * given to journal_set_order (sandbox_order_key's) instead of writing it;
 * journal_release writes the kept lines sorted by key, lines of one key in
 * the order they came, and stops holding. */
void journal_hold(journal *j);
void journal_set_order(journal *j, const char *key);
int journal_release(journal *j);

#endif
