/* playbook — reads what a playbook file returned: its name, what it handles
 * and its steps, or the structural problems `deadbolt check` reports.
 *
 * A file returns a playbook when its table has `steps` or `handles`; a table
 * with neither is a module (config.lua). playbook_inspect reads the table
 * with raw access only and never raises.
 * Ownership: a playbook_def owns every string in it; free it with
 * playbook_def_free. */
#ifndef DEADBOLT_PLAYBOOK_H
#define DEADBOLT_PLAYBOOK_H

#define PLAYBOOK_MAX_STEPS 256  /* steps of one playbook */
#define PLAYBOOK_MAX_HANDLES 32 /* handles entries of one playbook */

#include <lua.h>
#include <stddef.h>

#include "problem.h"

typedef struct pb_handle {
	char *resource_type; /* NULL: any */
	char *finding_type;  /* a Lua pattern on the finding's type; NULL: any */
	char *skip;          /* set: a matching finding is skipped, with this reason */
} pb_handle;

typedef struct pb_step {
	char *name;
	char *why; /* one line on why the step is there; NULL: none given */
	int critical;
	int undo; /* declares undo = function(ctx, saved): restore runs it (engine/run/restore.c) */
} pb_step;

typedef struct playbook_def {
	char *file; /* "ec2.lua", relative to the directory */
	char *name;
	char sha256[65];
	pb_handle *handles;
	size_t nhandles;
	pb_step *steps;
	size_t nsteps;
} playbook_def;

/* Inspects the value at idx of L. Returns 1 for a playbook (def filled; free
 * it with playbook_def_free), 0 for a module, or -1 after reporting what is
 * wrong (def freed). file names the source in the reports; H, when not NULL,
 * checks that finding_type patterns compile. */
int playbook_inspect(lua_State *L, int idx, const char *file, lua_State *H, playbook_def *def,
		     problem_fn rep, void *ud);
void playbook_def_free(playbook_def *def);

#endif
