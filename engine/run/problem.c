/* problem — see problem.h. */
#include "problem.h"

#include <stdarg.h>
#include <stdio.h>

void problem_report(problem_fn rep, void *ud, const char *file, int line, const char *fmt, ...)
{
	char msg[600];
	va_list ap;
	if (!rep)
		return;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	rep(ud, file, line, msg);
}
