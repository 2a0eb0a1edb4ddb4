#include "error.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

void aws_error_set(aws_error *e, const char *code, const char *fmt, ...)
{
	if (!e)
		return;
	snprintf(e->code, sizeof(e->code), "%s", code);
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(e->message, sizeof(e->message), fmt, ap);
	va_end(ap);
}

void aws_error_clear(aws_error *e)
{
	if (e)
		memset(e, 0, sizeof(*e));
}
