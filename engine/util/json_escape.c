/* json_escape — see json_escape.h. */
#include "json_escape.h"

size_t json_utf8_seq(const unsigned char *s, size_t n)
{
	size_t len = s[0] >= 0xF0 ? 4 : s[0] >= 0xE0 ? 3 : 2;
	if (s[0] < 0xC2 || s[0] > 0xF4 || len > n)
		return 0;
	for (size_t i = 1; i < len; i++)
		if ((s[i] & 0xC0) != 0x80)
			return 0;
	if ((s[0] == 0xE0 && s[1] < 0xA0) || (s[0] == 0xED && s[1] > 0x9F) ||
	    (s[0] == 0xF0 && s[1] < 0x90) || (s[0] == 0xF4 && s[1] > 0x8F))
		return 0; /* overlong, surrogate, or past U+10FFFF */
	return len;
}

/* The escape for the ASCII byte c, or NULL when c stands for itself. */
static const char *escape_of(unsigned char c, int flags, char u[7])
{
	static const char hex[] = "0123456789abcdef";
	switch (c) {
	case '"': return "\\\"";
	case '\\': return "\\\\";
	case '\n': return "\\n";
	case '\r': return "\\r";
	case '\t': return "\\t";
	case '\b': return "\\b";
	case '\f': return "\\f";
	default: break;
	}
	if (c >= 0x20 && (c != 0x7f || !(flags & JSON_ESC_UTF8)))
		return NULL;
	u[0] = '\\', u[1] = 'u', u[2] = '0', u[3] = '0';
	u[4] = hex[c >> 4], u[5] = hex[c & 15], u[6] = '\0';
	return u;
}

int json_escape(buf *b, const char *str, size_t n, int flags)
{
	const unsigned char *s = (const unsigned char *)str;
	char u[7];
	if (buf_putc(b, '"') != 0)
		return -1;
	for (size_t i = 0; i < n;) {
		size_t run = i; /* bytes that stand for themselves, appended at once */
		while (run < n && (s[run] >= 0x80 ? !(flags & JSON_ESC_UTF8) : !escape_of(s[run], flags, u)))
			run++;
		if (buf_append(b, str + i, run - i) != 0)
			return -1;
		if ((i = run) >= n)
			break;
		if (s[i] >= 0x80) { /* only with JSON_ESC_UTF8 */
			size_t len = json_utf8_seq(s + i, n - i);
			if (buf_append(b, len ? str + i : "\\ufffd", len ? len : 6) != 0)
				return -1;
			i += len ? len : 1;
			continue;
		}
		if (buf_puts(b, escape_of(s[i], flags, u)) != 0)
			return -1;
		i++;
	}
	return buf_putc(b, '"');
}
