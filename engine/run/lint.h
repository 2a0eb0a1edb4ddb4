/* lint — reads the playbooks' Lua source without running it and reports
 * what can be seen there before any AWS call.
 *
 * A primitive is seen where the source names `service.method` (service one
 * of those a playbook can name) as a call, `ec2.create_snapshot{...}` or
 * `(...)` or `"..."`, or as a function value, `aws.try(s3.head_object,
 * {...})`, whose next argument is then taken as its parameters; comments and
 * strings are not calls. Reported:
 *   - a method that is no operation of the service, with the nearest name;
 *   - a real AWS operation that is not on the allow-list;
 *   - for a literal parameter table, checked against the operation's input
 *     shape in the model: unknown members (with the nearest member), a
 *     literal of the wrong type or outside an enum, and, when every key of
 *     the table is literal, a required member that is missing.
 * Parameters computed at run time are not seen here: the codec validates
 * every call before it is sent (and in a dry run before it is planned). */
#ifndef DEADBOLT_LINT_H
#define DEADBOLT_LINT_H

#include <stddef.h>

#include "problem.h"

/* Checks the primitive uses in one file's text; returns how many problems
 * it reported (each with the line, what is wrong and the fix). */
int lint_scan_source(const char *file, const char *text, size_t n, problem_fn rep, void *ud);

/* Scans every *.lua of dir and of dir/lib: the primitives (lint_scan_source)
 * and the settings read from config.lua (config_schema_lint_reads). Returns
 * how many problems, or -1 with err when dir cannot be listed. */
int lint_scan_dir(const char *dir, problem_fn rep, void *ud, char *err, size_t errlen);

#endif
