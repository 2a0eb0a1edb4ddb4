/* serialize — internals of codec_build_request (the codec's build half):
 * validation (codec_validate.c), shared helpers (codec_build.c) and the
 * protocol serializers (serialize_query.c, serialize_json.c,
 * serialize_restxml.c). Not for use outside those files.
 *
 * Every function here reads the Lua params
 * with raw access only and makes no Lua API call that allocates or can raise
 * (no lua_push* of strings, no lua_tolstring on numbers, no metamethods), so
 * local malloc'd scratch memory is safe. Values are borrowed from the Lua
 * stack: a `const char *` taken from a Lua string is valid while that string
 * is reachable from the params table, which the caller keeps on the stack. */
#ifndef DEADBOLT_SERIALIZE_H
#define DEADBOLT_SERIALIZE_H

#include <lua.h>
#include <stddef.h>
#include <stdint.h>

#include "buf.h"
#include "codec.h"
#include "model_types.h"

#define CB_MAX_DEPTH 32     /* nesting of tables in the params */
#define CB_PATH_MAX 256     /* "Filters[2].Values[1]" for error messages */
#define CB_NAME_MAX 512     /* query keys ("Filters.2.Values.1") */
#define CB_UUID_LEN 36

typedef struct cb_ctx {
	lua_State *L;
	const aws_operation *op;
	aws_request *req;
	aws_error *err;
	int depth;
	char path[CB_PATH_MAX]; /* member path of the value being looked at */
	size_t pathlen;
	buf scratch;            /* reused by serializers; freed by codec_build_request */
	int failed;             /* cb_fail was called: err holds the reason */
} cb_ctx;

/* A point in time: seconds since the epoch (UTC) and microseconds. */
typedef struct cb_time {
	int64_t sec;
	int32_t usec;
} cb_time;

/* ---- errors and member paths (codec_build.c) ---------------------------- */

/* Sets err to ValidationError "<svc>.<Op>: <path> <what>" and returns -1. */
int cb_fail(cb_ctx *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Appends ".name" (or "name" at the top), "[i]" or "[\"key\"]" to the path;
 * returns the old length for cb_path_pop. */
size_t cb_path_push_name(cb_ctx *c, const char *name);
size_t cb_path_push_index(cb_ctx *c, lua_Integer i);
size_t cb_path_push_key(cb_ctx *c, const char *key, size_t len);
void cb_path_pop(cb_ctx *c, size_t oldlen);
const char *cb_path(const cb_ctx *c); /* "parameters" when empty */

/* ---- reading the Lua table (codec_build.c) ------------------------------ */

/* Finds key name in the table at absolute index t by a raw lua_next scan (no
 * string is pushed). Pushes the value and returns 1, or pushes nothing and
 * returns 0 when absent (or nil). */
int cb_get_field(lua_State *L, int t, const char *name);
/* Number of entries of a list already validated by codec_validate. */
lua_Integer cb_list_len(lua_State *L, int t);
/* A map key: borrowed from Lua, kept alive at stack index pos. */
typedef struct cb_key {
	const char *s;
	size_t len;
	int pos;
} cb_key;
/* Pushes every key of the map at absolute index t (validated: all strings)
 * onto the stack and returns them in *keys sorted bytewise (malloc'd: free
 * it, then lua_pop(L, *n)). The value of a key: lua_pushvalue(L, k.pos);
 * lua_rawget(L, t). 0, or -1 with c->err set (stack or memory exhausted). */
int cb_map_keys(cb_ctx *c, int t, cb_key **keys, size_t *n);

/* ---- the model, with member traits over shape traits -------------------- */

const char *cb_member_name(const aws_member *m, const char *fallback); /* locationName */
int cb_member_flattened(const aws_member *m);
int cb_member_ts_format(const aws_member *m, int protocol_default);
const char *cb_member_ns(const aws_member *m);
int cb_is_idempotency_token(const aws_member *m);

/* ---- scalar values ------------------------------------------------------ */

/* An integral Lua number (integer, or float with an integral value in range). */
int cb_to_int64(lua_State *L, int idx, int64_t *out);
/* Parses an ISO-8601 string or a number of epoch seconds. 0 or -1. */
int cb_to_time(lua_State *L, int idx, cb_time *out);
/* Formats t: AWS_TS_ISO8601 ("2024-01-02T03:04:05Z", ".ffffffZ" with
 * microseconds), AWS_TS_RFC822 ("Tue, 02 Jan 2024 03:04:05 GMT") or
 * AWS_TS_UNIX ("1704164645"). */
void cb_format_time(const cb_time *t, int format, char *out, size_t outlen);
/* A double the way Python's repr() writes it ("1.5", "1e+16", "NaN",
 * "Infinity"), so bodies match botocore's. */
void cb_format_double(double v, char *out, size_t outlen);
/* The text of a scalar member value (string, integer, long, boolean,
 * float/double, timestamp in ts_format): *text borrowed from Lua or
 * written into tmp. Not for blobs. */
int cb_scalar_text(lua_State *L, int idx, const aws_shape *s, int ts_format,
		   char *tmp, size_t tmplen, const char **text, size_t *len);

/* ---- encodings (codec_build.c) ------------------------------------------ */

int cb_put_base64(buf *b, const void *data, size_t n);
/* application/x-www-form-urlencoded as Python's urlencode writes it
 * (quote_plus: unreserved kept, space as '+', the rest %XX). */
int cb_put_form_encoded(buf *b, const char *s, size_t n);
/* A random UUIDv4 (idempotency tokens); -1 when no randomness. */
int cb_uuid4(char out[CB_UUID_LEN + 1]);
/* Sets a header; -1 (with err set) when out of memory or too many. */
int cb_set_header(cb_ctx *c, const char *name, const char *value);

/* ---- the passes --------------------------------------------------------- */

/* Validates the params table at absolute index idx (or none: idx 0) against
 * op's input shape. 0, or -1 with c->err set. */
int cb_validate(cb_ctx *c, int idx);
/* Each serializer expects validated params; 0 or -1 with c->err set. */
int cb_serialize_query(cb_ctx *c, int idx); /* query and ec2 */
int cb_serialize_json(cb_ctx *c, int idx);
int cb_serialize_restxml(cb_ctx *c, int idx);
/* The JSON of a value of shape s (ts_format for timestamps); of any Lua
 * value (a document, or a jsonvalue header's value). 0, or non-zero. */
int cb_json_value(cb_ctx *c, buf *b, const aws_shape *s, int ts_format, int idx);
int cb_json_document(cb_ctx *c, buf *b, int idx);

#endif
