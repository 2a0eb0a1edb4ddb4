/* text — scalar text (XML character data, header values, timestamps):
 * trimming its blanks, reading it as a number. Borrows; nothing is
 * allocated. */
#ifndef DEADBOLT_TEXT_H
#define DEADBOLT_TEXT_H

#include <errno.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#define TEXT_NUMBER_MAX 64 /* longest number text looked at */

static inline int text_is_space(int c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v';
}

/* Narrows s[0..*len) to exclude leading and trailing blanks. */
static inline void text_trim(const char **s, size_t *len)
{
	while (*len > 0 && text_is_space((unsigned char)**s))
		(*s)++, (*len)--;
	while (*len > 0 && text_is_space((unsigned char)(*s)[*len - 1]))
		(*len)--;
}


/* The trimmed text as a whole strtod number: 0, or -1 when empty, longer
 * than TEXT_NUMBER_MAX or not a number throughout. */
static inline int text_to_double(const char *s, size_t len, double *out)
{
	char tmp[TEXT_NUMBER_MAX + 1], *end;
	text_trim(&s, &len);
	if (len == 0 || len > TEXT_NUMBER_MAX)
		return -1;
	memcpy(tmp, s, len);
	tmp[len] = '\0';
	errno = 0;
	*out = strtod(tmp, &end);
	return (*end == '\0' && end != tmp) ? 0 : -1;
}

#endif
