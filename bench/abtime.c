/* abtime — times two commands as whole processes, in turn (A B A B ...), and
 * prints the medians and the median of the pairwise wall-time ratios, for
 * `make bench` (bench/startup.py). Pairing run by run keeps a noisy
 * neighbour's share alike on both sides, where timing all of A and then all
 * of B would not. Not part of deadbolt.
 *
 *   abtime RUNS CMD_A [ARG...] -- CMD_B [ARG...]
 *
 * prints one line: pairs=N a_ms=.. b_ms=.. ratio=.. a_cpu_ms=.. b_cpu_ms=..
 * (wall medians, median of a/b per pair, CPU = user + system from wait4).
 * The commands' standard output goes to /dev/null. Exit 2 on bad usage or a
 * command that cannot be started or exits non-zero. */
#define _GNU_SOURCE
#include <fcntl.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>

#define WARMUP 10

extern char **environ;

static double now(void)
{
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

static int cmp(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return (x > y) - (x < y);
}

static double median(double *v, int n)
{
	qsort(v, (size_t)n, sizeof(*v), cmp);
	return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

/* Runs argv once; returns 0 and its wall and CPU seconds, or -1. */
static int run(char **argv, double *wall, double *cpu)
{
	posix_spawn_file_actions_t fa;
	struct rusage ru;
	pid_t pid;
	int st, rc = -1;
	double t0;

	if (posix_spawn_file_actions_init(&fa) != 0)
		return -1;
	if (posix_spawn_file_actions_addopen(&fa, 1, "/dev/null", O_WRONLY, 0) != 0)
		goto out;
	t0 = now();
	if (posix_spawn(&pid, argv[0], &fa, NULL, argv, environ) != 0)
		goto out;
	if (wait4(pid, &st, 0, &ru) != pid || !WIFEXITED(st) || WEXITSTATUS(st) != 0)
		goto out;
	*wall = now() - t0;
	*cpu = (double)ru.ru_utime.tv_sec + (double)ru.ru_utime.tv_usec / 1e6 +
	       (double)ru.ru_stime.tv_sec + (double)ru.ru_stime.tv_usec / 1e6;
	rc = 0;
out:
	posix_spawn_file_actions_destroy(&fa);
	return rc;
}

int main(int argc, char **argv)
{
	int n = argc > 1 ? atoi(argv[1]) : 0, sep = 0, rc = 2;
	double *wa = NULL, *wb = NULL, *ca = NULL, *cb = NULL, *r = NULL, x, y;
	char **a, **b;

	for (int i = 2; i < argc; i++)
		if (strcmp(argv[i], "--") == 0)
			sep = i;
	if (n < 1 || sep < 3 || sep + 1 >= argc) {
		fprintf(stderr, "usage: abtime RUNS CMD_A [ARG...] -- CMD_B [ARG...]\n");
		return 2;
	}
	argv[sep] = NULL;
	a = argv + 2;
	b = argv + sep + 1;
	wa = calloc((size_t)n, sizeof(double));
	wb = calloc((size_t)n, sizeof(double));
	ca = calloc((size_t)n, sizeof(double));
	cb = calloc((size_t)n, sizeof(double));
	r = calloc((size_t)n, sizeof(double));
	if (!wa || !wb || !ca || !cb || !r)
		goto out;
	for (int i = 0; i < WARMUP; i++)
		if (run(a, &x, &y) != 0 || run(b, &x, &y) != 0) {
			fprintf(stderr, "abtime: a command failed to start or exited non-zero\n");
			goto out;
		}
	for (int i = 0; i < n; i++) {
		if (run(a, &wa[i], &ca[i]) != 0 || run(b, &wb[i], &cb[i]) != 0) {
			fprintf(stderr, "abtime: a command failed in run %d\n", i + 1);
			goto out;
		}
		r[i] = wa[i] / wb[i];
	}
	printf("pairs=%d a_ms=%.4f b_ms=%.4f ratio=%.4f a_cpu_ms=%.4f b_cpu_ms=%.4f\n", n,
	       median(wa, n) * 1e3, median(wb, n) * 1e3, median(r, n), median(ca, n) * 1e3,
	       median(cb, n) * 1e3);
	rc = 0;
out:
	free(wa);
	free(wb);
	free(ca);
	free(cb);
	free(r);
	return rc;
}
