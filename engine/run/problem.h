/* problem — one problem found in a playbook directory, as `deadbolt check`
 * prints it: the file (relative to the directory), the line (0: none) and
 * what is wrong. The loader (playbooks.c), the table inspector (playbook.c)
 * and the source lint (lint.c) all report through a problem_fn. */
#ifndef DEADBOLT_PROBLEM_H
#define DEADBOLT_PROBLEM_H

typedef void (*problem_fn)(void *ud, const char *file, int line, const char *problem);

/* Formats the problem and hands it to rep (nothing when rep is NULL). */
void problem_report(problem_fn rep, void *ud, const char *file, int line, const char *fmt, ...)
	__attribute__((format(printf, 5, 6)));

#endif
