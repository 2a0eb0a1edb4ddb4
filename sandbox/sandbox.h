/* sandbox — the only thing a playbook can see: a fresh restricted lua_State
 * per finding, with budgets, and the allow-listed AWS primitives.
 *
 * Ownership: sandbox_new returns a sandbox that owns its lua_State; free it
 * with sandbox_free. The host (runner) owns everything the sandbox_host
 * points at, and must outlive the sandbox. */
#ifndef DEADBOLT_SANDBOX_H
#define DEADBOLT_SANDBOX_H

#include <lua.h>
#include <stddef.h>
#include <stdio.h>
#include <stdint.h>

#include "allowlist.h"
#include "error.h"

typedef struct sandbox_limits {
	size_t memory_bytes;   /* capped allocator; default 64 MiB */
	uint64_t instructions; /* VM instructions, counted by a hook; default 200 million */
	double wall_seconds;   /* from sandbox_new; default 120 */
	int aws_calls;         /* primitive calls; default 500 */
} sandbox_limits;

void sandbox_default_limits(sandbox_limits *l);

typedef enum sandbox_status {
	SANDBOX_OK = 0,
	SANDBOX_ERROR,  /* the Lua code raised an ordinary error */
	SANDBOX_BUDGET, /* a budget ran out: memory, instructions, wall clock or aws calls */
} sandbox_status;

typedef struct sandbox_host {
	/* One call to an allow-listed operation, params at index params of L.
	 * On success pushes the result and returns 0; on an AWS failure fills
	 * err and returns -1, pushing nothing. May raise only out of memory. */
	int (*call)(void *ud, lua_State *L, const allow_entry *entry, int params, aws_error *err);
	/* A line from the playbook's log(level, msg). */
	void (*log)(void *ud, const char *level, const char *msg);
	void *ud;
} sandbox_host;

/* Calls that overlap, inside aws.all and aws.each (sandbox/sched.c): the
 * host's side, with sandbox_host.ud. Optional: without it every call goes
 * through sandbox_host.call, one at a time, and aws.all runs its functions
 * one after the other, depth first, exactly as a sequential run. */
typedef struct sandbox_async {
	/* start: as call, but need not wait for the answer. order is the
	 * call's place in a sequential run (sandbox_order_key). Returns 0 with
	 * *pending set (in flight), 0 with *pending NULL (finished now, result
	 * pushed), or -1 with err filled. May raise only out of memory. */
	int (*start)(void *ud, lua_State *L, const allow_entry *entry, int params, const char *order,
		     aws_error *err, void **pending);
	/* Waits for one started call until the CLOCK_MONOTONIC time until.
	 * Returns 0 with *done set and its result pushed on L, -1 with *done
	 * and err set, or 1 when until passed first. May raise only out of
	 * memory (the call is then lost; the sandbox stops on its budget). */
	int (*wait)(void *ud, lua_State *L, double until, void **done, aws_error *err);
	/* Abandons a started call that wait has not returned (the run stops). */
	void (*cancel)(void *ud, void *pending);
	/* The outermost aws.all begins (1) and ends (0, on every path). What
	 * the host keeps in between by order key it writes out at the end. */
	void (*concurrent)(void *ud, int begin);
} sandbox_async;

/* A dry run's waits: nothing waits. sleep(s) and aws.wait (sandbox_lib.c)
 * tell the host what they would have waited, and are charged nothing on
 * the wall clock. Optional: without it (a live run) sleep sleeps and
 * aws.wait polls. */
typedef struct sandbox_dry {
	/* sleep(seconds) (every 0), or aws.wait(seconds, every, check): not
	 * waited; the host plans it, with sandbox_host.ud. */
	void (*wait)(void *ud, double seconds, double every);
} sandbox_dry;

typedef struct sandbox sandbox;

/* Builds the restricted state. playbook_dir is where sandbox_load_playbook
 * and the playbooks' require() look. NULL with a reason in err on failure. */
sandbox *sandbox_new(const sandbox_limits *lim, const sandbox_host *host,
		     const char *playbook_dir, char *err, size_t errlen);
void sandbox_free(sandbox *sb);
/* Copies the async host (NULL: none) into sb; ud is sandbox_host.ud. */
void sandbox_set_async(sandbox *sb, const sandbox_async *a);
/* Copies the dry run's waits (NULL: a live run's) into sb. */
void sandbox_set_dry(sandbox *sb, const sandbox_dry *d);
/* While aws.wait's check runs in a dry run: which try this is (0, 1, ...
 * SANDBOX_DRY_TRIES - 1); -1 otherwise. The host answers the check's reads
 * as planned (not sent), each enum member of the answer taking its value
 * number try (modulo their count). Try 0's calls are journaled (a write
 * planned) as any other; a later try's are not calls at all. The wait
 * answers the first try whose check says the condition is met. */
#define SANDBOX_DRY_TRIES 16
int sandbox_dry_waiting(const sandbox *sb);
lua_State *sandbox_lua(sandbox *sb);

/* Loads playbook_dir/name ("ec2.lua") as a text chunk with the sandbox's
 * globals, runs it under the budgets and pushes what it returned. */
sandbox_status sandbox_load_playbook(sandbox *sb, const char *name, char *err, size_t errlen);

/* Compiled playbooks and modules, shared by the sandboxes of one process
 * (added for issue 3's speed target; backward-compatible: a sandbox without
 * one compiles every file it loads). A file is compiled from its text the
 * first time a sandbox given the chunks loads it (sandbox_load_playbook,
 * require); every later load, in any sandbox given the same chunks, takes
 * the compiled form, made by this process and never by a playbook (see
 * sandbox/chunks.c). The chunks keep what they compiled first: make new
 * chunks to see edited files.
 * Ownership: the host owns the chunks (new/free); sandbox_set_chunks lends
 * them to sb, so they must outlive it. */
typedef struct sandbox_chunks sandbox_chunks;
sandbox_chunks *sandbox_chunks_new(void); /* NULL: out of memory */
void sandbox_chunks_free(sandbox_chunks *c);
void sandbox_set_chunks(sandbox *sb, sandbox_chunks *c);

/* Shipped chunks: the Lambda package's playbooks.chunks (`deadbolt
 * chunks`), bytecode made when the package was built, so that a process
 * does not compile the playbooks at start-up. A load of playbook_dir/NAME
 * takes NAME's shipped bytecode only while the file's text still has the
 * SHA-256 recorded beside it: an edited playbook is compiled from its
 * text, never shadowed by a stale chunk. Lua does not verify bytecode, so
 * the file is trusted as the binary is: it must come from where the binary
 * comes from (the package), never from where playbook authors write; a
 * playbook still loads only text.
 *
 * sandbox_chunks_read adds file's chunks to c, for playbook_dir (the
 * directory the sandboxes are given); a file that does not parse, or was
 * written for another Lua, is refused whole. 0, or -1 with err. */
int sandbox_chunks_read(sandbox_chunks *c, const char *file, const char *playbook_dir, char *err,
			size_t errlen);
/* Compiles playbook_dir/names[i] (relative names: "ec2.lua", "lib/aws.lua")
 * and writes them, with their texts' SHA-256, to out; each compiled as
 * runtime_dir/name (the directory the package's playbooks will be read
 * from), so that error messages name the file where it will be. 0, or -1
 * with err. */
int sandbox_chunks_write(FILE *out, const char *playbook_dir, const char *runtime_dir,
			 const char *const *names, size_t n, char *err, size_t errlen);
/* The SHA-256 (hex) of playbook_dir/name's text as the host just read it
 * (the catalog hashes every playbook): its shipped chunk, if any, is
 * checked against it instead of reading and hashing the file again. */
void sandbox_chunks_text_hash(sandbox_chunks *c, const char *playbook_dir, const char *name, const char *sha256);

/* lua_pcall under the budgets, with a traceback on error. The function and
 * its nargs arguments are on the stack. On an error the message is in err
 * and nothing is pushed; a budget error reads "budget exceeded: <which>". */
sandbox_status sandbox_pcall(sandbox *sb, int nargs, int nresults, char *err, size_t errlen);

/* Replaces the table at idx with a read-only view of it, recursively
 * (writes raise, rawset cannot reach the contents, its metatable is protected). */
void sandbox_make_readonly(sandbox *sb, int idx);

/* When the value at idx is one of the sandbox's read-only views, pushes
 * the table behind it and returns 1; else returns 0 and pushes nothing.
 * Never raises: for host code that walks a playbook's values raw (the
 * journal's exact writer). The table pushed must not be written. */
int sandbox_view_data(lua_State *L, int idx);

/* For a host C function a playbook calls (ctx.save): charges units of work
 * (about one per byte the host walks or writes) to the instruction budget
 * of the sandbox that L belongs to; raises the budget error when it runs
 * out. Call it before holding any malloc'd memory. */
void sandbox_charge_work(lua_State *L, uint64_t units);

/* string.find(subject, pattern) ~= nil, for a pattern a playbook declared
 * (routing by finding_type): run by the sandbox's metered matcher in a
 * small state of its own, at most `steps` matcher steps and
 * SANDBOX_PATTERN_MEMORY bytes, so no pattern runs long in the host.
 * Returns 1 (a match), 0 (none), or -1 with err (not a pattern, or the
 * steps ran out: "pattern too costly (more than N steps)"). *used (may be
 * NULL) gets the steps spent. */
#define SANDBOX_PATTERN_STEPS 1000000u
#define SANDBOX_PATTERN_MEMORY ((size_t)1 << 20)
int sandbox_pattern_find(const char *subject, const char *pattern, uint64_t steps,
			 uint64_t *used, char *err, size_t errlen);

/* Which budget was hit ("memory", "instructions", "wall clock", "aws calls"),
 * or NULL. Once hit, every later sandbox_pcall fails at once. */
const char *sandbox_budget_hit(const sandbox *sb);
int sandbox_calls_made(const sandbox *sb);
/* Whether the call the host is being handed now (sandbox_host.call or
 * sandbox_async.start) came through aws.cached: the host may answer it from
 * what it kept of the same call, or keep its answer. */
int sandbox_call_cached(const sandbox *sb);
/* Whether the call the host is being handed now (sandbox_async.start)
 * comes from a function of aws.all marked by aws.first (or from an aws.all
 * such a function nests): the host starts it before the calls waiting for
 * a slot of the same service that are not. 0 outside aws.all. */
int sandbox_call_first(const sandbox *sb);
/* The CLOCK_MONOTONIC second at which the wall-clock budget ends. */
double sandbox_deadline(const sandbox *sb);

/* Inside aws.all: the place of the next event (a call, a log line, a
 * ctx.save) of the function running now in a sequential run, as a string
 * that sorts (strcmp) in that order; each call moves to the next place.
 * NULL outside aws.all. out needs SANDBOX_ORDER_MAX bytes. */
#define SANDBOX_ORDER_MAX 160
const char *sandbox_order_key(sandbox *sb, char *out, size_t outlen);

/* ---- the run, for the argument rules (sandbox/rules.c) ----
 *
 * What the allow-list's rules compare a write's arguments with. Without
 * sandbox_set_run every rule that needs one of these refuses (no bucket: no
 * object; no config: no command). Ownership: the host owns every string and
 * the config; they must outlive the sandbox (sandbox_set_run copies the
 * struct, not the strings). */
typedef struct sandbox_config {
	char *document;       /* config.forensics.document, or NULL */
	char **commands;      /* config.forensics.commands, ncommands strings */
	size_t ncommands;
	char *policy_name;    /* config.iam.revoke_policy_name, or NULL */
	char **endpoint_groups; /* config.forensics.egress.UserIdGroupPairs[].GroupId */
	size_t nendpoint_groups;
	char **prefix_lists;  /* config.forensics.egress.PrefixListIds[].PrefixListId */
	size_t nprefix_lists;
} sandbox_config;

typedef struct sandbox_run {
	const char *artifact_bucket;   /* ARTIFACT_BUCKET */
	const char *account;           /* the run's prefix is */
	const char *region;            /*   evidence/<account>/<region>/<resource>/<finding_id>/ */
	const char *finding_id;
	const char *quarantine_profile_arn; /* QUARANTINE_PROFILE_ARN */
	const char *topic_arn;         /* NOTIFICATION_TOPIC_ARN */
	const sandbox_config *config;  /* from sandbox_config_load; NULL: none */
	int restore;                   /* restore mode (sandbox_host_call): a write may loosen,
					* only back to the journal's state before (rules.c) */
} sandbox_run;

void sandbox_set_run(sandbox *sb, const sandbox_run *run);

/* One call the host itself makes through the sandbox's gate, as a
 * playbook's call would go (restore: engine/run/restore.c): the allow-list
 * (in restore mode also the undo-only writes, allowlist_undo_find), the
 * aws-calls budget, the argument rules (rules.c; in restore mode with
 * facts, the journal's records of the thing the call puts back), then
 * host.call. params and facts (0: none) are plain tables of another
 * lua_State, from (the host's), copied into the sandbox; the result is
 * copied back onto from. Returns 0 with the result pushed on from; -1 with
 * err filled (the AWS failure, or a budget); -2 when refused, with
 * "<service>.<Op> refused by rule <name>: <why>" (or why it is not on the
 * list) in why. May raise in from only out of memory. */
int sandbox_host_call(sandbox *sb, const char *service, const char *operation, lua_State *from,
		      int params, int facts, aws_error *err, char *why, size_t whylen);
/* The same judgement without sending the call (a dry run's plan): 0 when
 * it would be sent (nothing pushed), -2 refused, -1 a budget. A rule that
 * must learn whether a group is deadbolt's still reads it from AWS. */
int sandbox_host_judge(sandbox *sb, const char *service, const char *operation, lua_State *from,
		       int params, int facts, aws_error *err, char *why, size_t whylen);

/* Restore mode: a step's own undo (steps[i].undo = function(ctx, saved)),
 * for what one recorded call cannot put back. Loads playbook_dir/file (as
 * sandbox_load_playbook), finds the step named step and calls its undo with
 * ctx (read-only: { step = step }) and saved (the step's ctx.save data, a
 * plain table at index saved of from, copied in, read-only), under the
 * budgets, with facts (index of from: the journal's records of what the
 * step changed, { [key] = { before, after } }) handed to the rules for
 * every call it makes: its writes may loosen only back to those. Returns 0,
 * or -1 with why in err (no such step or undo, a refused call, an error). */
int sandbox_run_undo(sandbox *sb, const char *file, const char *step, lua_State *from, int saved,
		     int facts, char *err, size_t errlen);

/* Reads playbook_dir/config.lua in a fresh sandbox of its own (under lim;
 * chunks may be NULL), so no playbook can have touched the table it returns,
 * and copies what the rules need into out, which the caller frees with
 * sandbox_config_free. A missing config.lua leaves out empty and returns 0;
 * a config that does not load, or whose forensics.document,
 * forensics.commands, forensics.egress or iam.revoke_policy_name has the
 * wrong type, returns
 * -1 with why in err (out empty). */
int sandbox_config_read(const sandbox_limits *lim, const char *playbook_dir, sandbox_chunks *chunks,
			sandbox_config *out, char *err, size_t errlen);
void sandbox_config_free(sandbox_config *c);

#endif
