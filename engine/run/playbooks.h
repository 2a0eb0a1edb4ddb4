/* playbooks — the playbooks of a directory: which top-level *.lua file is a
 * playbook (playbook.h says how that is told), what each handles, its steps
 * and its SHA-256. Helper modules live in lib/.
 * Ownership: a playbook_set owns every playbook_def in it; free it with
 * playbooks_free. */
#ifndef DEADBOLT_PLAYBOOKS_H
#define DEADBOLT_PLAYBOOKS_H

#include <lua.h>
#include <stddef.h>

#include "buf.h"
#include "playbook.h"
#include "sandbox.h"

#define PLAYBOOKS_MAX_FILES 256
#define PLAYBOOKS_MAX_SOURCE ((size_t)1 << 20)

typedef struct playbook_set {
	playbook_def *pbs;
	size_t n;
	size_t modules; /* top-level files that are modules, not playbooks */
	char **broken;  /* "file: its first problem", one a file that has problems */
	size_t nbroken;
} playbook_set;

/* Loads every top-level *.lua of dir (sorted by name), each in a fresh
 * sandbox of its own (made with lim and host, given chunks when not NULL),
 * and inspects what it returns: a file that replaces globals, spends its
 * budget or fails to load is one broken file, and every other file is
 * judged on its own. H, when not NULL, asks that finding_type patterns be
 * checked. Reports each problem, names each file with problems in
 * c->broken, and returns how many problems there were, or -1 with err when
 * dir cannot be listed. */
int playbooks_load(playbook_set *c, const sandbox_limits *lim, const sandbox_host *host,
		   sandbox_chunks *chunks, lua_State *H, const char *dir, problem_fn rep, void *ud,
		   char *err, size_t errlen);
void playbooks_free(playbook_set *c);

/* The *.lua files of dir, sorted by name: *out gets a malloc'd array of
 * malloc'd names (free with playbooks_free_names). Returns how many, or -1
 * with err. */
int playbooks_list(const char *dir, char ***out, char *err, size_t errlen);
void playbooks_free_names(char **names, int n);

/* Reads dir/file (at most PLAYBOOKS_MAX_SOURCE bytes) into src. */
int playbooks_read_source(const char *dir, const char *file, buf *src, char *err,
			  size_t errlen);

#endif
