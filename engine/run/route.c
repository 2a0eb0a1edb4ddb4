/* route — which playbook answers a finding (the first `handles` entry that
 * matches), and the guards that skip a finding before any playbook runs. */
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <lauxlib.h>

#include "run_int.h"

/* The patterns run in the sandbox's metered matcher, never in the host's
 * string.find: a playbook chose them. One that runs out of steps (or is not
 * a pattern) matches nothing, and all the patterns tried for one finding
 * share ROUTE_STEPS: past them no pattern matches. */
#define ROUTE_STEPS 10000000u

static int type_matches(const char *type, const char *pattern, uint64_t *left)
{
	char err[256];
	uint64_t used = 0;
	if (*left == 0)
		return 0;
	int rc = sandbox_pattern_find(type, pattern,
				      *left < SANDBOX_PATTERN_STEPS ? *left : SANDBOX_PATTERN_STEPS,
				      &used, err, sizeof(err));
	*left -= used < *left ? used : *left;
	return rc == 1;
}

/* The first matching handles entry over all playbooks; entries with a
 * finding_type pattern are tried before those without. *entry gets it. */
const playbook_def *route_finding(runner *r, const finding_info *fi, const pb_handle **entry)
{
	uint64_t left = ROUTE_STEPS;
	for (int pass = 0; pass < 2; pass++)
		for (size_t p = 0; p < r->pbs.n; p++)
			for (size_t h = 0; h < r->pbs.pbs[p].nhandles; h++) {
				const pb_handle *e = &r->pbs.pbs[p].handles[h];
				if ((e->finding_type != NULL) != (pass == 0))
					continue;
				if (e->resource_type && strcmp(e->resource_type, fi->resource_type) != 0)
					continue;
				if (e->finding_type && !type_matches(fi->type, e->finding_type, &left))
					continue;
				*entry = e;
				return &r->pbs.pbs[p];
			}
	return NULL;
}

int route_guard(const runner *r, const run *rn, char *why, size_t n)
{
	const finding_info *fi = &rn->fi;
	if (!rn->pb && r->pbs.nbroken && !fi->archived && !(fi->sample && !r->o.include_samples) &&
	    !(fi->severity < r->o.min_severity)) {
		snprintf(why, n, "no playbook answers resource type %s, and %zu playbook file%s did not "
			 "load (%.300s%s)", fi->resource_type, r->pbs.nbroken,
			 r->pbs.nbroken == 1 ? "" : "s", r->pbs.broken[0],
			 r->pbs.nbroken > 1 ? ", ..." : "");
		return 2;
	}
	if (fi->sample && !r->o.include_samples)
		snprintf(why, n, "sample finding: GuardDuty generated it as an example");
	else if (fi->archived)
		snprintf(why, n, "archived finding");
	else if (fi->severity < r->o.min_severity)
		snprintf(why, n, "severity %g is below the minimum %g", fi->severity, r->o.min_severity);
	else if (!rn->pb)
		snprintf(why, n, "unsupported resource type %s", fi->resource_type);
	else if (rn->entry->skip)
		snprintf(why, n, "unsupported finding type %s: %s", fi->type, rn->entry->skip);
	else
		return 0;
	return 1;
}
