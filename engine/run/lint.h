/* lint — reads the playbooks' Lua source without running it and reports
 * what can be seen there before any AWS call: calls to operations that are
 * not on the allow-list. */
#ifndef DEADBOLT_LINT_H
#define DEADBOLT_LINT_H

#include <stddef.h>

#include "problem.h"

/* Scans the Lua source text for `service.method(` / `service.method{` /
 * `service.method"..."` calls (outside comments and strings) and reports
 * each operation that is not on the allow-list. Returns how many. */
int lint_scan_source(const char *file, const char *text, size_t n, problem_fn rep, void *ud);

/* Scans every *.lua of dir and of dir/lib. Returns how many problems, or -1
 * with err when dir cannot be listed. */
int lint_scan_dir(const char *dir, problem_fn rep, void *ud, char *err, size_t errlen);

#endif
