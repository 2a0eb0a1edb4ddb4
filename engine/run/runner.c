/* runner — a runner and one finding's run, from routing to outcome. See
 * runner.h, run_int.h (which file does what) and docs/playbook-api.md.
 *
 * Per runner: the playbooks are loaded, inspected and hashed once
 * (playbooks.c), and every file they load is compiled once (sandbox_chunks).
 * Per finding: a fresh sandbox, only the routed playbook (and the modules it
 * requires) loaded in it from the compiled chunks, a ctx (ctx.c), and the
 * steps run one by one through sandbox_pcall (steps.c). Every change to the
 * sandbox's lua_State happens inside a protected call (a C trampoline run by
 * sandbox_pcall), so a memory budget hit is an error, never a panic. */
#include "runner.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "clock.h"
#include "run_int.h"

const char *const RUN_ENV_NAMES[RUN_NENV] = {"ARTIFACT_BUCKET", "QUARANTINE_PROFILE_ARN",
					     "NOTIFICATION_TOPIC_ARN"};

const char *runner_outcome_name(runner_outcome o)
{
	static const char *const names[] = {"contained", "planned", "skipped",
					    "partial",   "failed",  "invalid"};
	return (unsigned)o < sizeof(names) / sizeof(names[0]) ? names[o] : "invalid";
}

int runner_exit_code(runner_outcome o)
{
	switch (o) {
	case OUTCOME_CONTAINED:
	case OUTCOME_PLANNED:
	case OUTCOME_SKIPPED: return 0;
	case OUTCOME_PARTIAL:
	case OUTCOME_FAILED: return 1;
	default: return 2;
	}
}

static int outcome_rank(runner_outcome o)
{
	static const int rank[] = {1, 1, 0, 3, 4, 5};
	return (unsigned)o < sizeof(rank) / sizeof(rank[0]) ? rank[o] : 5;
}

/* ---- one finding ---- */

static void fail_run(run *rn, const char *what, const char *err)
{
	char msg[1024];
	snprintf(msg, sizeof(msg), "%s", err);
	char *nl = strchr(msg, '\n');
	if (nl)
		*nl = '\0';
	rn->outcome = OUTCOME_FAILED;
	snprintf(rn->reason, sizeof(rn->reason), "%s: %.480s", what, msg);
}

static void resolve_limits(const runner *r, sandbox_limits *lim)
{
	sandbox_default_limits(lim);
	if (r->o.limits.memory_bytes)
		lim->memory_bytes = r->o.limits.memory_bytes;
	if (r->o.limits.instructions)
		lim->instructions = r->o.limits.instructions;
	if (r->o.limits.wall_seconds > 0)
		lim->wall_seconds = r->o.limits.wall_seconds;
	if (r->o.limits.aws_calls)
		lim->aws_calls = r->o.limits.aws_calls;
}

/* Loads the routed playbook in the run's sandbox and runs its steps. */
static void load_and_run(run *rn)
{
	lua_State *L = sandbox_lua(rn->sb);
	step_frame f;
	char err[1024];
	int top = lua_gettop(L);
	memset(&f, 0, sizeof(f));
	if (sandbox_load_playbook(rn->sb, rn->pb->file, err, sizeof(err)) != SANDBOX_OK) {
		fail_run(rn, "the playbook does not load", err);
		goto out;
	}
	if (lua_gettop(L) <= top) {
		fail_run(rn, "the playbook", "returned nothing");
		goto out;
	}
	if (playbook_inspect(L, top + 1, rn->pb->file, NULL, &f.def, NULL, NULL) != 1) {
		fail_run(rn, "the playbook", "is no longer a valid playbook");
		goto out;
	}
	lua_pushcfunction(L, ctx_build);
	lua_pushlightuserdata(L, rn);
	lua_pushvalue(L, top + 1);
	if (sandbox_pcall(rn->sb, 2, 2, err, sizeof(err)) != SANDBOX_OK) {
		fail_run(rn, "building ctx", err);
		goto out;
	}
	f.ctx = lua_gettop(L) - 1;
	f.steps = lua_gettop(L);
	steps_run(rn, &f);
out:
	playbook_def_free(&f.def);
	lua_settop(L, top);
}

static void execute(run *rn)
{
	runner *r = rn->r;
	sandbox_limits lim;
	sandbox_host host = {host_call, host_log, rn};
	char err[512];
	resolve_limits(r, &lim);
	if (r->o.deadline > 0) {
		lim.wall_seconds = r->o.deadline - clock_mono();
		if (lim.wall_seconds <= 0.05) {
			fail_run(rn, "deadline", "no time left to run the playbook");
			return;
		}
	}
	rn->sb = sandbox_new(&lim, &host, r->dir, err, sizeof(err));
	if (!rn->sb) {
		fail_run(rn, "sandbox", err);
		return;
	}
	sandbox_set_chunks(rn->sb, r->chunks);
	sandbox_run facts = {.artifact_bucket = r->env[0], .account = rn->fi.account,
			     .region = rn->region, .finding_id = rn->fi.id,
			     .quarantine_profile_arn = r->env[1], .topic_arn = r->env[2],
			     .config = &r->rules_config};
	sandbox_set_run(rn->sb, &facts);
	if (!r->o.dry_run)
		sandbox_set_async(rn->sb, &host_async);
	else
		sandbox_set_dry(rn->sb, &host_dry);
	if (r->o.client) {
		aws_client_set_region(r->o.client, rn->region);
		aws_client_set_deadline(r->o.client, sandbox_deadline(rn->sb));
	}
	if (account_enter(rn, lim.wall_seconds + 60) == 0) {
		r->cur = rn;
		load_and_run(rn);
		r->cur = NULL;
	}
	account_leave(rn);
	if (r->o.client)
		aws_client_set_deadline(r->o.client, 0);
	sandbox_free(rn->sb);
	rn->sb = NULL;
	ordered_free(&rn->held); /* empty unless the run stopped inside aws.all */
	host_free_calls(rn);     /* none left unless out of memory stopped it */
}

static void final_outcome(run *rn)
{
	if (rn->skip)
		rn->outcome = OUTCOME_SKIPPED;
	else if (rn->outcome == OUTCOME_FAILED)
		return;
	else if (rn->failed)
		rn->outcome = OUTCOME_PARTIAL;
	else if (rn->not_contained[0])
		rn->outcome = OUTCOME_SKIPPED;
	else
		rn->outcome = rn->r->o.dry_run ? OUTCOME_PLANNED : OUTCOME_CONTAINED;
	if (rn->outcome == OUTCOME_SKIPPED && !rn->skip)
		snprintf(rn->reason, sizeof(rn->reason), "%s", rn->not_contained);
	if (rn->outcome == OUTCOME_PARTIAL)
		snprintf(rn->reason, sizeof(rn->reason), "%d step%s failed", rn->failed,
			 rn->failed == 1 ? "" : "s");
}

static runner_outcome run_one(runner *r, int fidx, int index, int total, jw *result)
{
	run rn;
	char why[512];
	memset(&rn, 0, sizeof(rn));
	rn.r = r;
	rn.t0 = clock_mono();
	rn.fidx = fidx;
	buf_init(&rn.params, PARAMS_MAX);
	buf_init(&rn.plan, report_output_limit(r));
	buf_init(&rn.notes, NOTES_MAX);
	buf_init(&rn.wait_reads, NOTES_MAX);
	r->seen++;
	r->summary_bytes = 0;
	r->summary_cut = 0;
	finding_info_get(r->H, fidx, index, &rn.fi);
	rn.region = r->region ? r->region : rn.fi.region;
	journal_new_run(r->j);
	rn.pb = route_finding(r, &rn.fi, &rn.entry);
	report_run_start(&rn);
	report_head(&rn, total);
	int guard = route_guard(r, &rn, why, sizeof(why));
	if (guard) {
		rn.outcome = guard == 2 ? OUTCOME_FAILED : OUTCOME_SKIPPED;
		snprintf(rn.reason, sizeof(rn.reason), "%s", why);
	} else {
		execute(&rn);
		final_outcome(&rn);
	}
	report_run_end(&rn);
	report_tail(&rn);
	if (result)
		report_result(result, &rn);
	r->totals[rn.outcome]++;
	if (rn.outcome == OUTCOME_FAILED && rn.final)
		r->doc_failed_final++;
	else if (rn.outcome == OUTCOME_FAILED)
		r->doc_failed_other++;
	ctx_free_saves(&rn);
	buf_free(&rn.params);
	buf_free(&rn.plan);
	buf_free(&rn.notes);
	buf_free(&rn.wait_reads);
	return rn.outcome;
}

/* ---- documents ---- */

int runner_failures_final(const runner *r)
{
	return r->doc_failed_final > 0 && r->doc_failed_other == 0;
}

int runner_run_document(runner *r, const char *json, size_t len, runner_outcome *worst,
			buf *result, char *err, size_t errlen)
{
	int base = lua_gettop(r->H), rc = -1;
	jw w;
	*worst = OUTCOME_INVALID;
	r->doc_failed_final = r->doc_failed_other = 0;
	memo_clear(r->memo); /* a document's lookups are its own (memo.h) */
	int n = finding_decode(r->H, json, len, err, errlen);
	if (n < 0) {
		report_input_error(r, err);
		goto out;
	}
	int list = lua_gettop(r->H);
	if (result) {
		jw_init(&w, result);
		jw_obj(&w);
		jw_key(&w, "findings");
		jw_arr(&w);
	}
	for (int i = 0; i < n; i++) {
		lua_rawgeti(r->H, list, i + 1);
		runner_outcome o = run_one(r, lua_gettop(r->H), i, n, result ? &w : NULL);
		if (i == 0 || outcome_rank(o) > outcome_rank(*worst))
			*worst = o;
		lua_settop(r->H, list);
	}
	if (result) {
		jw_arr_end(&w);
		jw_obj_end(&w);
	}
	rc = 0;
out:
	lua_settop(r->H, base);
	lua_gc(r->H, LUA_GCCOLLECT);
	return rc;
}

/* ---- the runner ---- */

typedef struct first_problem {
	const char *dir;
	char msg[400];
	int count;
} first_problem;

static void keep_first(void *ud, const char *file, int line, const char *problem)
{
	first_problem *fp = ud;
	if (fp->count++ == 0)
		snprintf(fp->msg, sizeof(fp->msg), "%s/%s: %s", fp->dir, file, problem);
}

static int region_ok(const char *s)
{
	size_t n = strlen(s);
	if (n == 0 || n > 32)
		return 0;
	for (size_t i = 0; i < n; i++)
		if (!((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= '0' && s[i] <= '9') || s[i] == '-'))
			return 0;
	return 1;
}

static int copy_options(runner *r, const runner_options *o, char *err, size_t errlen)
{
	r->o = *o;
	r->dir = strdup(o->playbook_dir && *o->playbook_dir ? o->playbook_dir : "playbooks");
	if (o->region && *o->region) {
		if (!region_ok(o->region)) {
			snprintf(err, errlen, "region \"%.64s\" is not a region name", o->region);
			return -1;
		}
		r->region = strdup(o->region);
	}
	for (size_t i = 0; i < RUN_NENV; i++) {
		const char *v = getenv(RUN_ENV_NAMES[i]);
		if (v && *v && !(r->env[i] = strdup(v)))
			goto oom;
	}
	if (!r->dir || (o->region && *o->region && !r->region))
		goto oom;
	r->o.playbook_dir = r->dir;
	r->o.region = r->region;
	return 0;
oom:
	snprintf(err, errlen, "out of memory");
	return -1;
}

/* Loads the playbooks, each in a sandbox of its own whose calls are
 * refused. A file with problems is named in r->pbs.broken and the others
 * are used; the runner fails only when no playbook loads. */
/* config.lua's accounts section (account.c), read in a sandbox of its own. */
static int load_account_settings(runner *r, const sandbox_limits *lim, const sandbox_host *host,
				 char *err, size_t errlen)
{
	sandbox *sb = sandbox_new(lim, host, r->dir, err, errlen);
	if (!sb)
		return -1;
	sandbox_set_chunks(sb, r->chunks);
	int rc = account_load_settings(r->accounts, sb, r->dir, err, errlen);
	sandbox_free(sb);
	return rc;
}

static int load_playbooks(runner *r, char *err, size_t errlen)
{
	sandbox_limits lim;
	sandbox_host host = {host_refuse_call, host_quiet_log, NULL};
	first_problem fp = {r->dir, "", 0};
	resolve_limits(r, &lim);
	int problems = playbooks_load(&r->pbs, &lim, &host, r->chunks, r->H, r->dir, keep_first, &fp,
				      err, errlen);
	if (problems < 0 || load_account_settings(r, &lim, &host, err, errlen) != 0)
		return -1;
	if (r->pbs.n == 0) {
		snprintf(err, errlen, "%s%s", fp.msg,
			 problems > 1 ? " (and more: run deadbolt check)" : "");
		return -1;
	}
	return 0;
}

runner *runner_new(const runner_options *o, char *err, size_t errlen)
{
	runner *r = calloc(1, sizeof(*r));
	if (!r) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	if (copy_options(r, o, err, errlen) != 0)
		goto fail;
	r->H = finding_state_new(0);
	r->j = journal_new(o->journal);
	if (r->j)
		journal_set_limit(r->j, o->output_limit);
	r->chunks = sandbox_chunks_new();
	r->accounts = account_state_new();
	r->memo = memo_new();
	if (!r->H || !r->j || !r->chunks || !r->accounts || !r->memo) {
		snprintf(err, errlen, "out of memory");
		goto fail;
	}
	if (o->chunks_file && sandbox_chunks_read(r->chunks, o->chunks_file, r->dir, err, errlen) != 0)
		goto fail;
	if (load_playbooks(r, err, errlen) != 0)
		goto fail;
	sandbox_limits lim;
	resolve_limits(r, &lim);
	if (sandbox_config_read(&lim, r->dir, r->chunks, &r->rules_config, err, errlen) != 0)
		goto fail;
	if (r->o.client)
		aws_client_set_observer(r->o.client, host_observe, r);
	return r;
fail:
	runner_free(r);
	return NULL;
}

void runner_set_run(runner *r, double deadline, FILE *journal_file)
{
	r->o.deadline = deadline;
	r->o.journal = journal_file;
	journal_set_file(r->j, journal_file);
}

void runner_free(runner *r)
{
	if (!r)
		return;
	if (r->o.client)
		aws_client_set_observer(r->o.client, NULL, NULL);
	playbooks_free(&r->pbs);
	sandbox_config_free(&r->rules_config);
	sandbox_chunks_free(r->chunks);
	finding_state_free(r->H);
	journal_free(r->j);
	account_state_free(r->accounts);
	memo_free(r->memo);
	for (size_t i = 0; i < RUN_NENV; i++)
		free(r->env[i]);
	free(r->dir);
	free(r->region);
	free(r);
}

void runner_report_totals(runner *r)
{
	report_totals(r);
}
