/* sandbox_int — what the sandbox's own modules share; not for the host.
 *
 *   sandbox.c      the state: hook, budgets, pcall/xpcall
 *   alloc.c        the capped allocator, with a pool of small blocks
 *   sandbox_lib.c  the allow-listed libraries and deadbolt's globals
 *   pattern.c      string.find/match/gmatch/gsub with a step budget
 *   readonly.c     read-only proxies, plain copies for json and primitives
 *   prims.c        the service tables of AWS primitives
 *   chunks.c       playbooks and modules compiled once, loaded as bytecode
 *   rules.c        the allow-list's argument rules; rules_view.c reads their
 *                  parameters and the groups deadbolt made, rules_restore.c
 *                  holds restore mode's variants (rules_int.h)
 *
 * The sandbox struct is owned by sandbox_new/free;
 * everything else here borrows it. */
#ifndef DEADBOLT_SANDBOX_INT_H
#define DEADBOLT_SANDBOX_INT_H

#include <stddef.h>
#include <stdint.h>

#include "sandbox.h"

#define SANDBOX_POOL_CLASSES 32 /* small blocks: 8, 16, ... 256 bytes */

/* alloc.c's slabs of small blocks; free lists linked through a block's
 * first word, slabs through their first word. */
typedef struct sandbox_pool {
	void *free[SANDBOX_POOL_CLASSES];
	char *next, *end; /* the rest of the newest slab */
	void *slabs;
} sandbox_pool;

#define RULES_GROUPS_MAX 128 /* groups known as deadbolt's in one run */
#define RULES_GROUP_ID_MAX 32

#define RULES_ENIS_MAX 32       /* ENIs whose first-seen groups one run keeps */
#define RULES_ENI_GROUPS_MAX 16 /* EC2's most security groups per ENI */

/* An ENI's security groups as AWS first showed them in this run: the one
 * other place rules.c lets an ENI be moved (back where it was). */
typedef struct rules_eni {
	char id[RULES_GROUP_ID_MAX];
	char groups[RULES_ENI_GROUPS_MAX][RULES_GROUP_ID_MAX];
	int ngroups;
	int in_untrack; /* moved into deadbolt's allow-all group and not out yet */
} rules_eni;

/* A security group an AWS answer showed with deadbolt's group tag. */
typedef struct rules_group {
	char id[RULES_GROUP_ID_MAX];
	int role; /* rules.c: GROUP_ISOLATION or GROUP_UNTRACK */
} rules_group;

struct sandbox {
	lua_State *L;
	sandbox_limits lim;
	sandbox_host host;
	sandbox_async async;   /* zeroed: none */
	sandbox_dry dry;       /* zeroed: a live run */
	int dry_waiting;       /* aws.wait's check running in a dry run */
	int dry_try;           /* and which try (sandbox_dry_waiting) */
	char *playbook_dir;    /* NULL: require and sandbox_load_playbook refuse */
	size_t mem_used;       /* bytes held through the allocator (slabs whole) */
	sandbox_pool pool;
	uint64_t instructions; /* charged so far: VM instructions, calls, C loop steps */
	uint64_t since_clock;  /* charged since the wall clock was last read */
	double sync_wall, sync_cpu; /* the CPU floor's last reading (sandbox.c) */
	double last_tick;      /* the coarse clock at the last charge */
	uint64_t sync_units;   /* instructions at that reading */
	double deadline;       /* CLOCK_MONOTONIC seconds */
	int calls;             /* AWS primitive calls made */
	int cached;            /* the call being handed to the host came through aws.cached */
	int closing;           /* coroutine closes in progress (sandbox_lib.c) */
	const char *budget_hit; /* static string, or NULL */
	sandbox_chunks *chunks; /* borrowed; NULL: every load compiles the text */
	struct sched_run *sched; /* the aws.all running now (sched.c), or NULL */
	sandbox_run run;        /* for the rules; strings borrowed from the host */
	rules_group groups[RULES_GROUPS_MAX];
	size_t ngroups;
	rules_eni enis[RULES_ENIS_MAX];
	size_t nenis;
};

#define SANDBOX_NAME_MAX 96 /* longest operation or module name we handle */

/* ---- sandbox.c ---- */
extern const char sandbox_aws_error_key[]; /* registry: the AWS errors' metatable */
sandbox *sandbox_of(lua_State *L);
double sandbox_now(void); /* CLOCK_MONOTONIC seconds */
/* Adds n to the instruction count and checks the instruction and
 * wall-clock budgets; raises the budget error when one ran out (including
 * when the allocator's charges used it up). For C loops whose length a
 * script controls. */
void sandbox_charge(lua_State *L, uint64_t n);
/* Marks the budget as hit (keeps the first one) and raises the budget
 * sentinel, which the pcall wrappers never catch. Does not return. */
int sandbox_raise_budget(lua_State *L, const char *which);
/* Raises the budget sentinel when a budget was hit already. */
void sandbox_check_budget(lua_State *L);
/* After a protected call or a resume ended with status: records an out of
 * memory as the "memory" budget and re-raises any budget error. */
void sandbox_after_status(lua_State *L, int status);
int sandbox_lua_pcall(lua_State *L);
int sandbox_lua_xpcall(lua_State *L);
/* Writes a printable form of the error value at idx to out without running
 * any Lua code: a string as is, our AWS error table as "code: message (op)",
 * anything else as "(error object is a X value)". */
void sandbox_error_text(lua_State *L, int idx, char *out, size_t len);
int sandbox_is_aws_error(lua_State *L, int idx);

/* ---- alloc.c ---- */
/* The lua_Alloc of every sandbox; ud is the sandbox. */
void *sandbox_alloc(void *ud, void *ptr, size_t osize, size_t nsize);
/* Frees the slabs, after lua_close. */
void sandbox_pool_free(sandbox *sb);

/* ---- sandbox_lib.c ---- */
int sandbox_open_libs(lua_State *L); /* a lua_CFunction: run protected */
/* aws.wait(seconds, every, check), set in the aws table by sched.c. */
int sandbox_aws_wait(lua_State *L);
/* Registry key of the last answer a read made inside a dry aws.wait. */
extern const char sandbox_dry_answer_key[];

/* ---- pattern.c ---- */
/* Sets find, match, gmatch and gsub in the table at the top of the stack. */
void sandbox_open_patterns(lua_State *L);

/* ---- readonly.c ---- */
/* Replaces the table at idx with its read-only proxy (see sandbox.h). */
void sandbox_readonly(lua_State *L, int idx);
int sandbox_is_readonly(lua_State *L, int idx);
/* Pushes a plain copy of the value at idx: read-only proxies are unwrapped,
 * metatables dropped, depth at most max_depth. Every string costs
 * its length times str_factor, every other value 32, from *budget; raises
 * "<what>: value too large" when the budget runs out, so a shared
 * sub-table cannot blow up. Functions, threads and userdata raise. */
void sandbox_push_plain(lua_State *L, int idx, const char *what, int max_depth,
			size_t str_factor, size_t *budget);

/* ---- chunks.c ---- */
/* Pushes the function of the playbook or module file at path, from the
 * sandbox's chunks when it has them, else compiled from the text (and then
 * kept in the chunks). Returns a lua_load status (LUA_ERRFILE: no such
 * file), the error message pushed instead on failure. Host and require
 * only: never reachable with a path or bytes a playbook chose. */
int sandbox_load_file(lua_State *L, const char *path);

/* ---- sched.c ---- */
/* Sets the global aws: all, each. */
void sandbox_open_sched(lua_State *L);
/* When L is a function aws.all runs, and can yield: starts the call through
 * sandbox_async.start and yields until it is done; returns the
 * lua_CFunction's result count, or -1 when the call must go through
 * host.call (outside aws.all, or where a yield cannot cross: a metamethod
 * called from C, a sort comparator, a coroutine of the playbook's own).
 * Every call started ends in finish (prims.c's: raise the failure, or let
 * the rules see the result), with its params index and, on success, the
 * result on top. */
typedef int (*sandbox_finish_fn)(lua_State *L, const allow_entry *e, int params, int rc,
				 const aws_error *err);
int sandbox_sched_call(lua_State *L, const allow_entry *e, int params, sandbox_finish_fn finish);
/* Whether co is the coroutine of a function aws.all runs now: only the
 * scheduler resumes or closes those. */
int sandbox_sched_is_task(lua_State *L, lua_State *co);
/* Whether the error value at idx is aws.all's aggregated error. */
int sandbox_is_all_error(lua_State *L, int idx);

/* ---- prims.c ---- */
/* Sets one read-only global per service, ec2 .. sns. */
void sandbox_open_prims(lua_State *L);
int sandbox_prim_cached(lua_State *L); /* aws.cached */
/* "CreateSnapshot" -> "create_snapshot", as botocore.xform_name. Returns
 * 0, or -1 when out is too small. */
int sandbox_snake_name(const char *op, char *out, size_t outlen);

/* ---- rules.c, rules_view.c (rules_observe, rules_settle), rules_restore.c
 * (rules_set_facts) ---- */
/* Judges the plain parameters at params of a call to e against e's rule.
 * Returns 0 when allowed, -1 with why (one line) when refused. May make one
 * DescribeSecurityGroups through the host to learn a group it does not know;
 * raises only out of memory or a budget. */
int rules_check(lua_State *L, const allow_entry *e, int params, char *why, size_t n);
/* After a call succeeded, its result at result: remembers the groups that
 * CreateSecurityGroup made and DescribeSecurityGroups showed with deadbolt's
 * group tag, and the groups DescribeInstances and DescribeNetworkInterfaces
 * first showed on each ENI. Raises only out of memory. */
void rules_observe(lua_State *L, const allow_entry *e, int params, int result);
/* After every sandbox_pcall: an ENI a playbook left in deadbolt's allow-all
 * group (the first of the two-step move, then an error, a budget, or a
 * hostile playbook that stops there) is moved back to the groups the run
 * first saw on it, through the host, and the move logged. Keeps the stack. */
void rules_settle(sandbox *sb);
/* Restore mode: the journal's records of the undo call about to be judged,
 * the table at idx ({ [key] = { before, after } }), kept in L's registry
 * until the next call; idx 0 forgets them. Never raises. */
void rules_set_facts(lua_State *L, int idx);

#endif
