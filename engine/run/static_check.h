/* static_check — what `deadbolt check` finds in a playbook directory beyond
 * each playbook's structure (which catalog/playbook_inspect checks), without
 * any AWS call:
 *   - every primitive call of every *.lua of dir and dir/lib (lint_calls.h);
 *   - config.lua against the schema of its settings (config_schema.h);
 *   - each playbook's handles: resource types and finding-type patterns that
 *     GuardDuty actually sends (gd_types.h).
 * Each problem names the file, the line where it can be told, what is wrong
 * and the fix.
 *
 * The sandbox given loads the files (it must refuse AWS calls); H is a
 * finding_state_new state for compiling patterns. Nothing is owned across
 * calls. */
#ifndef DEADBOLT_STATIC_CHECK_H
#define DEADBOLT_STATIC_CHECK_H

#include <lua.h>

#include "lint_calls.h"
#include "sandbox.h"

/* Returns how many problems were reported, or -1 with err when dir cannot
 * be listed. Files are reported relative to dir ("lib/aws.lua"). */
int static_check_dir(const char *dir, sandbox *sb, lua_State *H, lint_report rep, void *ud,
		     char *err, size_t errlen);

/* The line of the field a structural problem of file names ("steps[3] has
 * no name", "steps[5]: unknown field 'critcal'", "handles[2]: ..."), read
 * from the source; 0 when it cannot be told. */
int static_check_line(const char *dir, const char *file, const char *problem);

#endif
