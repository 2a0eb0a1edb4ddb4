/* base64 — RFC 4648 encoding, and two decoders for two kinds of text:
 *
 *   base64_decode_lenient  what AWS sends (blob members): as Python's
 *                          b64decode without validate, never fails. Characters
 *                          outside the alphabet are skipped, the URL-safe '-'
 *                          and '_' count as '+' and '/', the first '=' ends the
 *                          data, and a trailing partial byte is dropped.
 *   base64_decode_strict   what a playbook hands the sandbox: whitespace
 *                          (' ', '\t'..'\r') is ignored, everything else must
 *                          be the standard alphabet in whole quads, '='
 *                          padding only at the very end; errors say where.
 *
 * Shared by engine/aws/codec_decode.c, codec_build.c,
 * serialize_restxml.c and sandbox/sandbox_lib.c. Ownership: nothing here
 * allocates; the caller owns every buffer and sizes it with the macros or
 * base64_strict_size below. Inputs need no NUL terminator. */
#ifndef DEADBOLT_BASE64_H
#define DEADBOLT_BASE64_H

#include <stddef.h>

/* Bytes base64_encode writes for n input bytes, its NUL included. */
#define BASE64_ENCODED_SIZE(n) (((n) + 2) / 3 * 4 + 1)
/* Bytes base64_decode_lenient may write for len characters. */
#define BASE64_LENIENT_SIZE(len) ((len) / 4 * 3 + 3)

/* Encodes data[0..n) with '=' padding into out (BASE64_ENCODED_SIZE(n)
 * bytes), NUL-terminated; returns the length without the NUL. */
size_t base64_encode(const void *data, size_t n, char *out);

/* Decodes s[0..len) into out (BASE64_LENIENT_SIZE(len) bytes); returns the
 * bytes written. */
size_t base64_decode_lenient(const char *s, size_t len, char *out);

enum {
	BASE64_OK = 0,
	BASE64_BAD_LENGTH = -1, /* characters but whitespace: not a multiple of 4 */
	BASE64_BAD_CHAR = -2    /* a quad with a character outside the alphabet or misplaced '=' */
};

/* BASE64_OK and *size = the bytes base64_decode_strict may write for s, or
 * BASE64_BAD_LENGTH; reads s, writes nothing else. */
int base64_strict_size(const char *s, size_t len, size_t *size);
/* Decodes s[0..len) into out (base64_strict_size bytes). BASE64_OK and
 * *outlen, or an error: for BASE64_BAD_CHAR *where is the 1-based position,
 * whitespace not counted, of the first character of the bad quad. */
int base64_decode_strict(const char *s, size_t len, char *out, size_t *outlen, size_t *where);

#endif
