/* bench_sandbox — how long building a fresh sandbox and loading the three
 * playbooks takes, against the bare cost of the same work in plain Lua
 * (luaL_newstate + luaL_openlibs + dofile of the same files), for `make
 * bench` (bench/run.sh). Not part of deadbolt.
 *
 *   bench_sandbox PLAYBOOK_DIR ITERATIONS
 *
 * Prints one line of medians in milliseconds:
 *   sandbox_ms   sandbox_new + the three playbooks + sandbox_free, the
 *                playbooks (and the modules they require) from the
 *                process's compiled chunks, as the runner has them for every
 *                finding after the catalog load (sandbox_chunks)
 *   one_ms       the same with ec2.lua only: what the runner does for one
 *                EC2 finding (it loads only the playbook the finding routes to)
 *   cold_ms      the three playbooks compiled from their text (new, empty
 *                chunks each time): the first load in a process
 *   bare_ms      the peer; -1 when the playbooks cannot be loaded outside the
 *                sandbox
 * and sandbox_p90_ms. The four are measured in turn, so a noisy neighbour
 * hits them alike. */
#include <errno.h>
#include <lauxlib.h>
#include <lualib.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "sandbox.h"

static const char *const PLAYBOOKS[] = {"ec2.lua", "s3.lua", "iam.lua"};
#define NPLAYBOOKS (sizeof(PLAYBOOKS) / sizeof(PLAYBOOKS[0]))
#define MAX_ITER 100000

static double now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Loading a playbook sends nothing; a call here means the bench is wrong. */
static int no_call(void *ud, lua_State *L, const allow_entry *e, int params, aws_error *err)
{
	aws_error_set(err, "BenchError", "no AWS call is expected while loading");
	return -1;
}

static void no_log(void *ud, const char *level, const char *msg)
{
}

/* One sandbox with the first n playbooks loaded through chunks, then
 * freed. 0 or -1. */
static int sandbox_once(const char *dir, sandbox_chunks *chunks, size_t n, char *err,
			size_t errlen)
{
	sandbox_limits lim;
	sandbox_default_limits(&lim);
	sandbox_host host = {no_call, no_log, NULL};
	sandbox *sb = sandbox_new(&lim, &host, dir, err, errlen);
	int rc = -1;
	if (!sb)
		goto out;
	sandbox_set_chunks(sb, chunks);
	for (size_t i = 0; i < n; i++) {
		if (sandbox_load_playbook(sb, PLAYBOOKS[i], err, errlen) != SANDBOX_OK)
			goto out;
		lua_pop(sandbox_lua(sb), 1);
	}
	rc = 0;
out:
	sandbox_free(sb);
	return rc;
}

/* The three playbooks compiled from their text: fresh chunks. 0 or -1. */
static int cold_once(const char *dir, char *err, size_t errlen)
{
	sandbox_chunks *fresh = sandbox_chunks_new();
	int rc = fresh ? sandbox_once(dir, fresh, NPLAYBOOKS, err, errlen) : -1;
	sandbox_chunks_free(fresh);
	return rc;
}

/* The same files in an unrestricted state: the floor. require() finds the
 * playbooks' helper modules through package.path. 0 or -1. */
static int bare_once(const char *dir)
{
	lua_State *L = luaL_newstate();
	char path[4096];
	int rc = -1;
	if (!L)
		return -1;
	luaL_openlibs(L);
	lua_getglobal(L, "package");
	snprintf(path, sizeof(path), "%s/?.lua", dir);
	lua_pushstring(L, path);
	lua_setfield(L, -2, "path");
	lua_pop(L, 1);
	/* lib/aws.lua reads the sandbox's aws table (aws.all, aws.each) when it
	 * is loaded: an empty one stands in, so the same files load. */
	lua_newtable(L);
	lua_setglobal(L, "aws");
	for (size_t i = 0; i < NPLAYBOOKS; i++) {
		snprintf(path, sizeof(path), "%s/%s", dir, PLAYBOOKS[i]);
		if (luaL_dofile(L, path) != LUA_OK)
			goto out;
		lua_settop(L, 0);
	}
	rc = 0;
out:
	lua_close(L);
	return rc;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return (x > y) - (x < y);
}

/* Sorts v and returns the value at quantile q (0.5: the median). */
static double quantile(double *v, long n, double q)
{
	qsort(v, (size_t)n, sizeof(*v), cmp_double);
	long i = (long)(q * (double)(n - 1) + 0.5);
	return v[i];
}

static long parse_count(const char *s)
{
	char *end = NULL;
	errno = 0;
	long n = strtol(s, &end, 10);
	if (errno || !end || *end || n < 1 || n > MAX_ITER)
		return -1;
	return n;
}

typedef struct timings {
	double *sb, *one, *cold, *bare;
} timings;

/* Fills t with n rounds of the four timings, in milliseconds. Sets
 * *bare_ok to 0 when the bare load fails. 0, or -1 with err filled. */
static int measure(const char *dir, sandbox_chunks *chunks, long n, timings *t, int *bare_ok,
		   char *err, size_t errlen)
{
	for (long i = 0; i < n; i++) {
		double t0 = now_s();
		if (sandbox_once(dir, chunks, NPLAYBOOKS, err, errlen) != 0)
			return -1;
		double t1 = now_s();
		if (sandbox_once(dir, chunks, 1, err, errlen) != 0)
			return -1;
		double t2 = now_s();
		if (cold_once(dir, err, errlen) != 0)
			return -1;
		double t3 = now_s();
		if (*bare_ok)
			*bare_ok = bare_once(dir) == 0;
		t->sb[i] = (t1 - t0) * 1000.0;
		t->one[i] = (t2 - t1) * 1000.0;
		t->cold[i] = (t3 - t2) * 1000.0;
		t->bare[i] = (now_s() - t3) * 1000.0;
	}
	return 0;
}

int main(int argc, char **argv)
{
	if (argc != 3 || parse_count(argv[2]) < 0) {
		fputs("usage: bench_sandbox PLAYBOOK_DIR ITERATIONS\n", stderr);
		return 2;
	}
	const char *dir = argv[1];
	long n = parse_count(argv[2]);
	timings t = {calloc((size_t)n, sizeof(double)), calloc((size_t)n, sizeof(double)),
		     calloc((size_t)n, sizeof(double)), calloc((size_t)n, sizeof(double))};
	sandbox_chunks *chunks = sandbox_chunks_new();
	char err[1024] = "out of memory";
	int rc = 1, bare_ok = 1;
	if (!t.sb || !t.one || !t.cold || !t.bare || !chunks)
		goto out;
	/* A warm-up that fills the chunks (the runner's catalog load), and a
	 * clear error when the playbooks do not load. */
	if (sandbox_once(dir, chunks, NPLAYBOOKS, err, sizeof(err)) != 0)
		goto out;
	bare_ok = bare_once(dir) == 0;
	if (measure(dir, chunks, n, &t, &bare_ok, err, sizeof(err)) != 0)
		goto out;
	double p90 = quantile(t.sb, n, 0.9);
	printf("iterations=%ld sandbox_ms=%.4f sandbox_p90_ms=%.4f one_ms=%.4f cold_ms=%.4f "
	       "bare_ms=%.4f\n", n, quantile(t.sb, n, 0.5), p90, quantile(t.one, n, 0.5),
	       quantile(t.cold, n, 0.5), bare_ok ? quantile(t.bare, n, 0.5) : -1.0);
	rc = 0;
out:
	if (rc != 0)
		fprintf(stderr, "bench_sandbox: %s\n", err);
	sandbox_chunks_free(chunks);
	free(t.sb);
	free(t.one);
	free(t.cold);
	free(t.bare);
	return rc;
}
