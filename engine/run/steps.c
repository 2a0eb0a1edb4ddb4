/* steps — runs a playbook's steps in order: each step's `when`, then its
 * `run`, under the sandbox's budgets; what a failed or critical step means
 * for the run. */
#include <stdio.h>
#include <string.h>

#include "clock.h"
#include "run_int.h"

/* Runs the step's when (which = 0) or run (1) under sandbox_pcall.
 * Returns the status and leaves whether it returned true in *yes; for a
 * when that said no, why in err. */
static sandbox_status call_fn(run *rn, const step_frame *f, size_t i, int which, int *yes,
			      char *err, size_t errlen)
{
	lua_State *L = sandbox_lua(rn->sb);
	if (!lua_checkstack(L, 8)) {
		snprintf(err, errlen, "out of Lua stack");
		return SANDBOX_ERROR;
	}
	lua_pushcfunction(L, ctx_call_step);
	lua_pushvalue(L, f->steps);
	lua_pushvalue(L, f->ctx);
	lua_pushinteger(L, (lua_Integer)i + 1);
	lua_pushboolean(L, which);
	sandbox_status st = sandbox_pcall(rn->sb, 4, 2, err, errlen);
	if (st == SANDBOX_OK) {
		*yes = lua_toboolean(L, -2);
		if (!*yes && lua_type(L, -1) == LUA_TSTRING)
			snprintf(err, errlen, "%.400s", lua_tostring(L, -1));
		lua_pop(L, 2);
	}
	return st;
}

/* Removes "dir/" from msg: a place in a playbook reads "lib/notify.lua:77". */
static void strip_dir(char *msg, const char *dir)
{
	size_t dn = strlen(dir);
	char *p = strstr(msg, dir);
	if (dn && p && p[dn] == '/')
		memmove(p, p + dn + 1, strlen(p + dn + 1) + 1);
}

static const char *exec_step(run *rn, const step_frame *f, size_t i, char *err, size_t errlen)
{
	int yes = 0;
	char msg[2048];
	if (call_fn(rn, f, i, 0, &yes, msg, sizeof(msg)) != SANDBOX_OK) {
		snprintf(err, errlen, "when: %.1900s", msg);
		return "failed";
	}
	if (!yes) {
		snprintf(err, errlen, "%s", msg);
		strip_dir(err, rn->r->dir);
		return "skipped";
	}
	if (call_fn(rn, f, i, 1, &yes, err, errlen) != SANDBOX_OK)
		return "failed";
	err[0] = '\0';
	return "ok";
}

static void note(run *rn, const step_frame *f, const char *name, const char *status,
		 const char *err)
{
	char e[1024], ignored[256];
	step_note n = {name, status, e};
	lua_State *L = sandbox_lua(rn->sb);
	snprintf(e, sizeof(e), "%.1000s", err ? err : "");
	if (!lua_checkstack(L, 4))
		return;
	lua_pushcfunction(L, ctx_note_step);
	lua_pushvalue(L, f->ctx);
	lua_pushlightuserdata(L, &n);
	sandbox_pcall(rn->sb, 2, 0, ignored, sizeof(ignored));
}

/* What a step's end means for the run. */
static void step_outcome(run *rn, const pb_step *st, const char *status, const char *err)
{
	const char *budget = sandbox_budget_hit(rn->sb);
	if (strcmp(status, "ok") == 0)
		rn->ok++;
	else if (strcmp(status, "skipped") == 0)
		rn->skipped++;
	else
		rn->failed++;
	if (rn->skip) {
		rn->stop = 1;
	} else if (budget) {
		rn->stop = 1;
		rn->outcome = OUTCOME_FAILED;
		snprintf(rn->reason, sizeof(rn->reason), "budget exceeded: %s (in step %s)", budget,
			 st->name);
	} else if (strcmp(status, "failed") == 0 && st->critical) {
		rn->stop = 1;
		rn->outcome = OUTCOME_FAILED;
		snprintf(rn->reason, sizeof(rn->reason), "critical step %s failed: %.400s", st->name,
			 err);
	}
}

static void one_step(run *rn, const step_frame *f, size_t i)
{
	const pb_step *st = &f->def.steps[i];
	char err[2048] = "";
	double t = clock_mono();
	rn->step = st->name;
	rn->cur = st;
	buf_reset(&rn->notes);
	ctx_free_saves(rn);
	const char *status = exec_step(rn, f, i, err, sizeof(err));
	if (rn->skip) {
		status = "skipped";
		snprintf(err, sizeof(err), "%s", rn->reason);
	}
	report_step(rn, st, i, status, err, (clock_mono() - t) * 1000);
	char *nl = strchr(err, '\n');
	if (nl)
		*nl = '\0';
	report_line(rn->r, "  %-8s %s%s%s", status, st->name, err[0] ? ": " : "", err);
	report_notes(rn);
	step_outcome(rn, st, status, err);
	note(rn, f, st->name, status, err);
	ctx_free_saves(rn);
	rn->step = NULL;
	rn->cur = NULL;
}

void steps_run(run *rn, step_frame *f)
{
	for (size_t i = 0; i < f->def.nsteps; i++) {
		if (rn->stop) {
			rn->not_run++;
			continue;
		}
		one_step(rn, f, i);
	}
}
