/* json_escape — the one JSON string writer: every JSON text deadbolt makes
 * (request bodies, the journal, `deadbolt call`, the Lambda runtime's lines)
 * quotes its strings here.
 *
 * '"' and '\' are escaped, \n \r \t \b \f take their short forms, every
 * other control character becomes \u00XX. JSON_ESC_UTF8 is for text that
 * people and log tools read: bytes that are not valid UTF-8 (overlong,
 * surrogates, past U+10FFFF, truncated) become \ufffd, so the text is valid
 * UTF-8 whatever the input, and DEL becomes \u007f. Without it the bytes
 * pass through as they are, as botocore's json.dumps sends them. */
#ifndef DEADBOLT_JSON_ESCAPE_H
#define DEADBOLT_JSON_ESCAPE_H

#include <stddef.h>

#include "buf.h"

#define JSON_ESC_UTF8 1

/* Length of the valid UTF-8 sequence at s (s[0] >= 0x80, at most n bytes),
 * or 0 when it is not one (overlong, surrogate, past U+10FFFF, truncated). */
size_t json_utf8_seq(const unsigned char *s, size_t n);

/* Appends s (n bytes) as a quoted JSON string. 0, or -1 when b is full. */
int json_escape(buf *b, const char *s, size_t n, int flags);

#endif
