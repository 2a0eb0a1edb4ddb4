/* memo — the answers of reads a playbook made through aws.cached, kept for
 * one document of findings (a `deadbolt run` file, one Lambda invocation)
 * so that a listing every finding needs (load balancers, target groups) is
 * sent once, not once per finding.
 *
 * An answer is kept under its scope ("account region service") and its
 * call (operation and parameters); it is given again only to the same call
 * in the same scope, at most MEMO_MAX_AGE_S seconds after it was read.
 * Any write to the scope's service in that account and region, sent or
 * planned, answered or failed, forgets the scope (and the scopes that
 * write changes: memo_forget_after_write), so a run never reads back what
 * it has just changed. What other principals change meanwhile is seen
 * again after MEMO_MAX_AGE_S at the latest.
 *
 * Ownership: the runner owns the memo (memo_new/memo_free). memo_put
 * copies the answer out of the caller's state, memo_get pushes a fresh copy
 * into it; the memo keeps its copies in a Lua state of its own. */
#ifndef DEADBOLT_MEMO_H
#define DEADBOLT_MEMO_H

#include <lua.h>
#include <stddef.h>

#define MEMO_MAX_AGE_S 60.0 /* an answer is given again for at most this long */
#define MEMO_MAX_ENTRIES 256 /* beyond it, everything kept is dropped */

typedef struct memo memo;

memo *memo_new(void); /* NULL: out of memory */
void memo_free(memo *m);
void memo_clear(memo *m);

/* Pushes onto L a copy of the answer kept for call in scope, read at most
 * MEMO_MAX_AGE_S before now, and returns 1; returns 0 (nothing pushed)
 * when there is none. Raises in L only out of memory. */
int memo_get(memo *m, const char *scope, const char *call, double now, lua_State *L);

/* Keeps a copy of the answer at idx of L (tables of strings, numbers,
 * booleans and tables, as the codec decodes them) for call in scope. An
 * answer that cannot be copied, or memory running out, keeps nothing. */
void memo_put(memo *m, const char *scope, const char *call, double now, lua_State *L, int idx);

/* Forgets what was kept in the scopes a write to service in account and
 * region can change: that service's, and those the write changes as a side
 * effect (Auto Scaling's DetachInstances deregisters the instance from the
 * group's load balancers and target groups). */
void memo_forget_after_write(memo *m, const char *account, const char *region, const char *service);

/* "account region service" into out (n bytes). */
void memo_scope(char *out, size_t n, const char *account, const char *region, const char *service);

size_t memo_count(const memo *m); /* answers kept */

#endif
