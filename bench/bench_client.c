/* bench_client — N sequential DescribeInstances calls through one aws_client,
 * for `make bench` (bench/run.sh). Not part of deadbolt.
 *
 *   bench_client ENDPOINT_URL N [REGION]
 *
 * Prints one line of key=value pairs: calls, seconds (the N calls, after one
 * warm-up call that opens the connection and resolves credentials), calls_s,
 * hwm_kb (this process's peak RSS, VmHWM, at the end), anon_kb and file_kb
 * (how much of the RSS at the end is private memory and how much mapped files,
 * the shared libraries mostly) and errors.
 * Credentials come from the environment or the shared files, as for deadbolt. */
#include <errno.h>
#include <lauxlib.h>
#include <lualib.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "client.h"
#include "model.h"

/* A field of /proc/self/status in KiB ("VmHWM:", the peak resident set;
 * "RssAnon:", private memory now; "RssFile:", mapped files now); -1 if unknown. */
static long status_kb(const char *field)
{
	FILE *f = fopen("/proc/self/status", "r");
	char line[256];
	long kb = -1;
	size_t n = strlen(field);
	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f)) {
		if (strncmp(line, field, n) == 0) {
			kb = strtol(line + n, NULL, 10);
			break;
		}
	}
	fclose(f);
	return kb;
}

/* One call with an empty parameter table; the result is dropped. */
static int one_call(aws_client *c, lua_State *L, const aws_operation *op, aws_error *err)
{
	int top = lua_gettop(L);
	lua_newtable(L);
	int rc = aws_call(c, L, op, -1, err);
	lua_settop(L, top);
	return rc;
}

static long parse_count(const char *s)
{
	char *end = NULL;
	errno = 0;
	long n = strtol(s, &end, 10);
	if (errno || !end || *end || n < 1)
		return -1;
	return n;
}

/* n timed calls after one warm-up; prints the result line. 0, 1 or -1. */
static int run_calls(aws_client *c, lua_State *L, const aws_operation *op, long n)
{
	aws_error err;
	long errors = 0;
	aws_error_clear(&err);
	if (one_call(c, L, op, &err) != 0) {
		fprintf(stderr, "bench_client: warm-up call failed: %s: %s\n", err.code, err.message);
		return -1;
	}
	double t0 = aws_monotonic_now();
	for (long i = 0; i < n; i++)
		errors += one_call(c, L, op, &err) != 0;
	double dt = aws_monotonic_now() - t0;
	printf("calls=%ld seconds=%.6f calls_s=%.1f hwm_kb=%ld anon_kb=%ld file_kb=%ld errors=%ld\n",
	       n, dt, dt > 0 ? (double)n / dt : 0.0, status_kb("VmHWM:"), status_kb("RssAnon:"),
	       status_kb("RssFile:"), errors);
	return errors ? 1 : 0;
}

int main(int argc, char **argv)
{
	if (argc < 3 || parse_count(argv[2]) < 0) {
		fputs("usage: bench_client ENDPOINT_URL N [REGION]\n", stderr);
		return 2;
	}
	aws_client_config cfg;
	memset(&cfg, 0, sizeof(cfg));
	cfg.endpoint_url = argv[1];
	cfg.region = argc > 3 ? argv[3] : "us-east-1";
	cfg.max_attempts = 1;
	aws_error err;
	aws_error_clear(&err);
	const aws_operation *op = model_find_operation("ec2", "DescribeInstances");
	lua_State *L = luaL_newstate();
	aws_client *c = (L && op) ? aws_client_new(&cfg, &err) : NULL;
	int rc = 1;
	if (!c) {
		fprintf(stderr, "bench_client: cannot start: %s\n", op ? err.message : "no operation");
		goto out;
	}
	rc = run_calls(c, L, op, parse_count(argv[2])) == 0 ? 0 : 1;
out:
	aws_client_free(c);
	if (L)
		lua_close(L);
	return rc;
}
