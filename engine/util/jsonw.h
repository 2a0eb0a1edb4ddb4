/* jsonw — writes a Lua value as JSON into a buf.
 *
 * Lua cannot tell an empty list from an empty object; when a model shape is
 * given, it decides (a list shape writes [], a structure or map {}), and
 * members outside the shape (ResponseMetadata) are written by their content.
 * Tables are read with raw access only; no metamethod runs. Borrows L and
 * the shape; the caller owns out. */
#ifndef DEADBOLT_JSONW_H
#define DEADBOLT_JSONW_H

#include <lua.h>

#include "buf.h"
#include "model_types.h"

/* 0, or -1 when out passed its maximum, the nesting passed 64, or a value
 * cannot be written (a function, a NaN): err names it. */
int jsonw_value(lua_State *L, int idx, const aws_shape *shape, buf *out, char *err, size_t errlen);
/* A JSON string literal with escapes. */
int jsonw_string(buf *out, const char *s, size_t len);

#endif
