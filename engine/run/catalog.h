/* catalog — the playbooks of a directory: which file is a playbook, what it
 * handles, its steps, its SHA-256, and the structural problems
 * `deadbolt check` reports.
 *
 * Owner: the runner engineer (engine/catalog.c). A top-level *.lua file of
 * the directory is a playbook when it returns a table with `steps` or
 * `handles`; a table with neither is a module (config.lua); helper modules
 * live in lib/. Ownership: a catalog owns every string in it; free it with
 * catalog_free. playbook_inspect reads a Lua table with raw access only and
 * never raises. */
#ifndef DEADBOLT_CATALOG_H
#define DEADBOLT_CATALOG_H

#include <lua.h>
#include <stddef.h>

#include "sandbox.h"

#define CATALOG_MAX_FILES 256
#define CATALOG_MAX_SOURCE ((size_t)1 << 20)

typedef struct pb_handle {
	char *resource_type; /* NULL: any */
	char *finding_type;  /* a Lua pattern on the finding's type; NULL: any */
	char *skip;          /* set: a matching finding is skipped, with this reason */
} pb_handle;

typedef struct pb_step {
	char *name;
	int critical;
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

typedef struct catalog {
	playbook_def *pbs;
	size_t n;
	size_t modules; /* top-level files that are modules, not playbooks */
} catalog;

/* One structural problem: file (relative), line (0: none) and what. */
typedef void (*catalog_report)(void *ud, const char *file, int line, const char *problem);

/* Loads every top-level *.lua of dir (sorted by name) in sb and inspects what
 * it returns; H (a finding_state_new state) checks finding_type patterns.
 * Reports each problem and returns how many there were, or -1 with err when
 * dir cannot be listed. */
int catalog_load(catalog *c, sandbox *sb, lua_State *H, const char *dir, catalog_report rep,
		 void *ud, char *err, size_t errlen);
void catalog_free(catalog *c);

/* Inspects the value at idx of L. Returns 1 for a playbook (def filled; free
 * it with playbook_def_free), 0 for a module, or -1 after reporting what is
 * wrong (def freed). file names the source in the reports; H, when not NULL,
 * checks that finding_type patterns compile. */
int playbook_inspect(lua_State *L, int idx, const char *file, lua_State *H, playbook_def *def,
		     catalog_report rep, void *ud);
void playbook_def_free(playbook_def *def);

/* Scans the Lua source text for `service.method(` / `service.method{` /
 * `service.method"..."` calls (outside comments and strings) and reports
 * each operation that is not on the allow-list. Returns how many. */
int catalog_scan_source(const char *file, const char *text, size_t n, catalog_report rep, void *ud);

/* Scans every *.lua of dir and of dir/lib. Returns how many problems, or -1
 * with err when dir cannot be listed. */
int catalog_scan_dir(const char *dir, catalog_report rep, void *ud, char *err, size_t errlen);

/* Lowercase hex SHA-256 of n bytes; out needs 65 bytes. */
void catalog_sha256_hex(const void *data, size_t n, char *out);

#endif
