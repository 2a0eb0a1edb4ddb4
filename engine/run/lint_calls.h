/* lint_calls — the AWS primitive calls a Lua file makes, checked without
 * running it (`deadbolt check`).
 *
 * A primitive is seen where the source names `service.method` (service one
 * of those a playbook can name) as a call, `ec2.create_snapshot{...}` or
 * `(...)` or `"..."`, or as a function value, `aws.try(s3.head_object,
 * {...})`, whose next argument is then taken as its parameters. Reported:
 *   - a method that is no operation of the service, with the nearest name;
 *   - a real AWS operation that is not on the allow-list;
 *   - for a literal parameter table, checked against the operation's input
 *     shape in the model: unknown members (with the nearest member), a
 *     literal of the wrong type or outside an enum, and, when every key of
 *     the table is literal, a required member that is missing.
 * Parameters computed at run time are not seen here: the codec validates
 * every call before it is sent (and in a dry run before it is planned).
 *
 * Nothing is owned across calls; the report function receives text that
 * lives only during the call. */
#ifndef DEADBOLT_LINT_CALLS_H
#define DEADBOLT_LINT_CALLS_H

#include <stddef.h>

/* Same shape as catalog_report: file as given, line (0: none), what is
 * wrong and how to fix it. */
typedef void (*lint_report)(void *ud, const char *file, int line, const char *problem);

/* Checks the calls in one file's text; returns how many problems it reported. */
int lint_calls_source(const char *file, const char *text, size_t n, lint_report rep, void *ud);

#endif
