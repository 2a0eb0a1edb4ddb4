/* base64 — see base64.h. Encoding is OpenSSL's EVP_EncodeBlock; the decoders
 * are ours, because neither OpenSSL decoder has either behaviour wanted. */
#include "base64.h"

#include <openssl/evp.h>
#include <stdint.h>

#define ENCODE_CHUNK ((size_t)3 << 20) /* a multiple of 3 (no padding inside) that fits an int */

size_t base64_encode(const void *data, size_t n, char *out)
{
	const unsigned char *p = data;
	size_t w = 0;
	out[0] = '\0';
	while (n > 0) {
		size_t chunk = n > ENCODE_CHUNK ? ENCODE_CHUNK : n;
		/* 4 bytes for every 3 started, then a NUL */
		w += (size_t)EVP_EncodeBlock((unsigned char *)out + w, p, (int)chunk);
		p += chunk;
		n -= chunk;
	}
	return w;
}

/* The 6-bit value of ch, or -1; url also takes the URL-safe '-' and '_'. */
static int b64_value(unsigned char ch, int url)
{
	if (ch >= 'A' && ch <= 'Z')
		return ch - 'A';
	if (ch >= 'a' && ch <= 'z')
		return ch - 'a' + 26;
	if (ch >= '0' && ch <= '9')
		return ch - '0' + 52;
	if (ch == '+' || (url && ch == '-'))
		return 62;
	if (ch == '/' || (url && ch == '_'))
		return 63;
	return -1;
}

size_t base64_decode_lenient(const char *s, size_t len, char *out)
{
	uint32_t acc = 0;
	int bits = 0;
	size_t n = 0;
	for (size_t i = 0; i < len && s[i] != '='; i++) {
		int v = b64_value((unsigned char)s[i], 1);
		if (v < 0)
			continue;
		acc = (acc << 6) | (uint32_t)v;
		bits += 6;
		if (bits >= 8) {
			bits -= 8;
			out[n++] = (char)((acc >> bits) & 0xFF);
		}
	}
	return n;
}

static int b64_space(unsigned char c)
{
	return c == ' ' || (c >= '\t' && c <= '\r');
}

int base64_strict_size(const char *s, size_t len, size_t *size)
{
	size_t count = 0;
	for (size_t i = 0; i < len; i++)
		count += !b64_space((unsigned char)s[i]);
	if (count % 4 != 0)
		return BASE64_BAD_LENGTH;
	*size = count / 4 * 3;
	return BASE64_OK;
}

/* Decodes the quad q (4 characters, '=' padding only when last) into out;
 * returns the bytes written, or -1. */
static int b64_quad(const unsigned char *q, int last, char *out)
{
	int a = b64_value(q[0], 0), b = b64_value(q[1], 0);
	int c = q[2] == '=' ? 0 : b64_value(q[2], 0), d = q[3] == '=' ? 0 : b64_value(q[3], 0);
	int pad = (q[2] == '=') + (q[3] == '=');
	if (a < 0 || b < 0 || c < 0 || d < 0 || (q[2] == '=' && q[3] != '=') || (pad && !last))
		return -1;
	unsigned long n = (unsigned long)a << 18 | (unsigned long)b << 12 | (unsigned long)c << 6 |
			  (unsigned long)d;
	out[0] = (char)(n >> 16);
	out[1] = (char)(n >> 8 & 255);
	out[2] = (char)(n & 255);
	return 3 - pad;
}

int base64_decode_strict(const char *s, size_t len, char *out, size_t *outlen, size_t *where)
{
	size_t count, k = 0, done = 0;
	unsigned char q[4];
	if (base64_strict_size(s, len, &count) != BASE64_OK)
		return BASE64_BAD_LENGTH;
	count = count / 3 * 4; /* characters but whitespace */
	for (size_t i = 0; i < len; i++) {
		if (b64_space((unsigned char)s[i]))
			continue;
		q[k++ % 4] = (unsigned char)s[i];
		if (k % 4 != 0)
			continue;
		int n = b64_quad(q, k == count, out + done);
		if (n < 0) {
			*where = k - 3;
			return BASE64_BAD_CHAR;
		}
		done += (size_t)n;
	}
	*outlen = done;
	return BASE64_OK;
}
