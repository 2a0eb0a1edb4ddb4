/* cmd_chunks — see cmd_chunks.h. */
#include "cmd_chunks.h"

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "cli.h"
#include "sandbox.h"

#define NAMES_MAX 256 /* files in one playbook directory */
#define DEPTH_MAX 4   /* lib/a/b/c.lua */

static const char USAGE[] =
	"usage: deadbolt chunks [--playbooks DIR] [--as DIR] -o FILE\n"
	"\n"
	"Compiles every .lua file under the playbook directory (default: $DEADBOLT_PLAYBOOKS,\n"
	"else playbooks) into FILE: Lua bytecode, each with its text's SHA-256. `deadbolt run\n"
	"--chunks FILE` and the Lambda (its package's playbooks.chunks) load a playbook from it\n"
	"only while the file's text still has that hash; an edited playbook is compiled from\n"
	"its text. --as names the directory the playbooks will be read from at run time (the\n"
	"package's: /var/task/playbooks), for error messages; default: DIR.\n";

typedef struct names {
	char *v[NAMES_MAX];
	size_t n;
} names;

static int ends_with_lua(const char *s)
{
	size_t n = strlen(s);
	return n > 4 && strcmp(s + n - 4, ".lua") == 0;
}

/* Adds the .lua files under root/rel (rel "" for root) to out. 0, or -1. */
static int scan(const char *root, const char *rel, int depth, names *out)
{
	char dir[4096], sub[4096];
	struct dirent *e;
	struct stat st;
	int rc = 0;
	DIR *d;

	snprintf(dir, sizeof(dir), "%s%s%s", root, *rel ? "/" : "", rel);
	if (depth > DEPTH_MAX || !(d = opendir(dir)))
		return depth > DEPTH_MAX ? 0 : -1;
	while (rc == 0 && (e = readdir(d)) != NULL) {
		if (e->d_name[0] == '.')
			continue;
		int a = snprintf(sub, sizeof(sub), "%s%s%s", rel, *rel ? "/" : "", e->d_name);
		int b = snprintf(dir, sizeof(dir), "%s/%s", root, sub);
		if (a < 0 || (size_t)a >= sizeof(sub) || b < 0 || (size_t)b >= sizeof(dir) || stat(dir, &st) != 0)
			continue;
		if (S_ISDIR(st.st_mode))
			rc = scan(root, sub, depth + 1, out);
		else if (S_ISREG(st.st_mode) && ends_with_lua(e->d_name))
			rc = out->n < NAMES_MAX && (out->v[out->n] = strdup(sub)) != NULL ? (out->n++, 0) : -1;
	}
	closedir(d);
	return rc;
}

static int by_name(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Writes the chunks of dir to path (through path.tmp, renamed). */
static int write_chunks(const char *dir, const char *as, const char *path, const names *list)
{
	char tmp[4096], err[1024] = "";
	FILE *f;
	int rc;

	snprintf(tmp, sizeof(tmp), "%s.tmp", path);
	if (!(f = fopen(tmp, "wb"))) {
		fprintf(stderr, "deadbolt chunks: cannot write %s\n", tmp);
		return 1;
	}
	rc = sandbox_chunks_write(f, dir, as, (const char *const *)list->v, list->n, err, sizeof(err));
	if (fclose(f) != 0 && rc == 0) {
		rc = -1;
		snprintf(err, sizeof(err), "write error");
	}
	if (rc == 0 && rename(tmp, path) != 0) {
		rc = -1;
		snprintf(err, sizeof(err), "cannot rename %.900s", tmp);
	}
	if (rc != 0) {
		remove(tmp);
		fprintf(stderr, "deadbolt chunks: %s\n", err);
		return 1;
	}
	printf("deadbolt chunks: %zu files of %s compiled into %s\n", list->n, dir, path);
	return 0;
}

int cmd_chunks(int argc, char **argv)
{
	const char *env = getenv("DEADBOLT_PLAYBOOKS");
	const char *dir = env && *env ? env : "playbooks", *as = NULL, *out = NULL;
	names list = {0};
	int rc = 2, r;

	for (int i = 1; i < argc; i++) {
		if (cli_is_help(argv[i])) {
			fputs(USAGE, stdout);
			return 0;
		}
		if ((r = cli_opt(argc, argv, &i, "--playbooks", &dir)) || (r = cli_opt(argc, argv, &i, "--as", &as)) ||
		    (r = cli_opt(argc, argv, &i, "-o", &out))) {
			if (r < 0)
				goto usage;
			continue;
		}
		goto usage;
	}
	if (!out)
		goto usage;
	if (scan(dir, "", 0, &list) != 0 || list.n == 0) {
		fprintf(stderr, "deadbolt chunks: no playbooks read from %s\n", dir);
		rc = 1;
		goto out;
	}
	qsort(list.v, list.n, sizeof(list.v[0]), by_name);
	rc = write_chunks(dir, as ? as : dir, out, &list);
	goto out;
usage:
	fputs(USAGE, stderr);
out:
	for (size_t i = 0; i < list.n; i++)
		free(list.v[i]);
	return rc;
}
