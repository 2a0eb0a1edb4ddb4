/* config_schema — what playbooks/config.lua may say, as data, and the check
 * of a loaded config table against it (`deadbolt check`).
 *
 * The schema (config_schema.c, one table per section) names every setting
 * the shipped playbooks read, its type and whether the playbook fails
 * without it. A section is required when a playbook that reads it is in the
 * directory; a top-level key that is no section of the schema belongs to a
 * team's own playbook and is not checked, unless it is a near miss of a
 * section's name ("forensic" for "forensics"). Inside a section an unknown
 * key is an error, with the nearest known key.
 *
 * Reads the table with raw access only and never raises; the caller's H (a
 * finding_state_new state) compiles the Lua patterns of rules. Nothing is
 * owned across calls. */
#ifndef DEADBOLT_CONFIG_SCHEMA_H
#define DEADBOLT_CONFIG_SCHEMA_H

#include <lua.h>

#include "problem.h"
#include "lua_lex.h"

/* Checks the config table at idx of L. file names it in the reports, map
 * gives the lines (lua_srcmap_build of its source), playbooks is the
 * NULL-terminated list of the playbook files in the directory ("ec2.lua").
 * Returns how many problems were reported. */
int config_schema_check(lua_State *L, int idx, const char *file, const lua_srcmap *map,
			lua_State *H, const char *const *playbooks, problem_fn rep, void *ud);

/* The settings a playbook's source reads: `config.ec2.snapshots`,
 * `cfg.snapshots` after `local cfg = config.ec2`, `cfg.tags.finding_id`,
 * `policy.setting("ec2", "snapshots")`. A key that the schema does not have
 * but has a near neighbour of is reported with it: a misspelt read is nil,
 * which turns the setting off without a word. Returns how many problems. */
int config_schema_lint_reads(const char *file, const char *text, size_t n, problem_fn rep,
			     void *ud);

#endif
