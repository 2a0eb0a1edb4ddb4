/* check — `deadbolt check`: every playbook of a directory loaded in a sandbox
 * of its own whose AWS calls are refused and inspected, and its source
 * linted. */
#include <stdio.h>
#include <string.h>

#include "finding.h"
#include "lint.h"
#include "playbooks.h"
#include "run_int.h"

typedef struct check_out {
	FILE *out;
	const char *dir;
} check_out;

static void print_problem(void *ud, const char *file, int line, const char *problem)
{
	check_out *c = ud;
	if (strcmp(file, c->dir) == 0)
		fprintf(c->out, "%s: %s\n", file, problem);
	else if (line > 0)
		fprintf(c->out, "%s/%s:%d: %s\n", c->dir, file, line, problem);
	else
		fprintf(c->out, "%s/%s: %s\n", c->dir, file, problem);
}

int runner_check(const char *dir, FILE *out, char *err, size_t errlen)
{
	sandbox_limits lim;
	sandbox_host host = {host_refuse_call, host_quiet_log, NULL};
	check_out co = {out, dir};
	playbook_set pbs;
	int problems = -1;
	lua_State *H = finding_state_new(0);
	if (!H) {
		snprintf(err, errlen, "out of memory");
		goto out;
	}
	sandbox_default_limits(&lim);
	problems = playbooks_load(&pbs, &lim, &host, NULL, H, dir, print_problem, &co, err, errlen);
	if (problems < 0)
		goto out;
	int scanned = lint_scan_dir(dir, print_problem, &co, err, errlen);
	problems = scanned < 0 ? -1 : problems + scanned;
	if (problems == 0)
		fprintf(out, "%s: %zu playbook%s, %zu module%s: no problems\n", dir, pbs.n,
			pbs.n == 1 ? "" : "s", pbs.modules, pbs.modules == 1 ? "" : "s");
	playbooks_free(&pbs);
out:
	finding_state_free(H);
	return problems;
}
