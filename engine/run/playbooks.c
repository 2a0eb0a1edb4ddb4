/* playbooks — the playbooks of a directory. See playbooks.h. */
#include "playbooks.h"

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "digest.h"
#include "finding.h"

static int name_cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static int is_lua_file(const char *dir, const char *name)
{
	char path[4096];
	struct stat st;
	size_t n = strlen(name);
	if (n < 5 || strcmp(name + n - 4, ".lua") != 0 || name[0] == '.')
		return 0;
	if (snprintf(path, sizeof(path), "%s/%s", dir, name) >= (int)sizeof(path))
		return 0;
	return stat(path, &st) == 0 && S_ISREG(st.st_mode);
}

/* The *.lua files of dir, sorted; *out is a malloc'd array of malloc'd
 * names. Returns how many, or -1 with err. */
int playbooks_list(const char *dir, char ***out, char *err, size_t errlen)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	char **names = NULL;
	int n = 0;
	*out = NULL;
	if (!d) {
		snprintf(err, errlen, "%s: cannot list the directory", dir);
		return -1;
	}
	names = calloc(PLAYBOOKS_MAX_FILES, sizeof(*names));
	while (names && (e = readdir(d)) != NULL && n < PLAYBOOKS_MAX_FILES)
		if (is_lua_file(dir, e->d_name) && (names[n] = strdup(e->d_name)) != NULL)
			n++;
	closedir(d);
	if (!names) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	qsort(names, (size_t)n, sizeof(*names), name_cmp);
	*out = names;
	return n;
}

void playbooks_free_names(char **names, int n)
{
	for (int i = 0; i < n && names; i++)
		free(names[i]);
	free(names);
}

int playbooks_read_source(const char *dir, const char *file, buf *src, char *err,
			  size_t errlen)
{
	char path[4096];
	if (snprintf(path, sizeof(path), "%s/%s", dir, file) >= (int)sizeof(path)) {
		snprintf(err, errlen, "path too long");
		return -1;
	}
	return finding_read_file(path, PLAYBOOKS_MAX_SOURCE, src, err, errlen);
}

/* First line of a message: load errors come with a traceback. */
static void first_line(char *s)
{
	char *nl = strchr(s, '\n');
	if (nl)
		*nl = '\0';
}

static int add_playbook(playbook_set *c, playbook_def *def, problem_fn rep, void *ud)
{
	for (size_t i = 0; i < c->n; i++)
		if (strcmp(c->pbs[i].name, def->name) == 0) {
			problem_report(rep, ud, def->file, 0, "playbook name '%s' is also used by %s", def->name,
				c->pbs[i].file);
			playbook_def_free(def);
			return 1;
		}
	playbook_def *p = realloc(c->pbs, (c->n + 1) * sizeof(*p));
	if (!p) {
		problem_report(rep, ud, def->file, 0, "out of memory");
		playbook_def_free(def);
		return 1;
	}
	c->pbs = p;
	c->pbs[c->n++] = *def;
	return 0;
}

/* Loads one file; returns the number of problems. */
static int load_one(playbook_set *c, sandbox *sb, sandbox_chunks *chunks, lua_State *H, const char *dir,
		    const char *file, problem_fn rep, void *ud, buf *src)
{
	char err[1024], sha[65];
	playbook_def def;
	lua_State *L = sandbox_lua(sb);
	int top = lua_gettop(L);
	if (playbooks_read_source(dir, file, src, err, sizeof(err)) != 0) {
		problem_report(rep, ud, file, 0, "%s", err);
		return 1;
	}
	digest_sha256_hex(src->data ? src->data : "", src->len, sha);
	if (chunks) /* a shipped chunk of it is checked against this hash: not hashed twice */
		sandbox_chunks_text_hash(chunks, dir, file, sha);
	if (sandbox_load_playbook(sb, file, err, sizeof(err)) != SANDBOX_OK) {
		first_line(err);
		problem_report(rep, ud, file, 0, "does not load: %s", err);
		lua_settop(L, top);
		return 1;
	}
	int r = lua_gettop(L) > top ? playbook_inspect(L, top + 1, file, H, &def, rep, ud) : -1;
	if (lua_gettop(L) == top)
		problem_report(rep, ud, file, 0, "returned nothing");
	lua_settop(L, top);
	if (r < 0)
		return 1;
	if (r == 0) {
		c->modules++;
		return 0;
	}
	memcpy(def.sha256, sha, sizeof(sha));
	return add_playbook(c, &def, rep, ud);
}

/* Counts every problem on its way to the caller's report function, and
 * keeps the first one of the file being loaded. */
typedef struct counter {
	problem_fn rep;
	void *ud;
	int n;
	char first[400];
} counter;

static void count_report(void *ud, const char *file, int line, const char *problem)
{
	counter *c = ud;
	c->n++;
	if (!c->first[0])
		snprintf(c->first, sizeof(c->first), "%s: %s", file, problem);
	if (c->rep)
		c->rep(c->ud, file, line, problem);
}

static void add_broken(playbook_set *c, const char *what)
{
	char **b = realloc(c->broken, (c->nbroken + 1) * sizeof(*b));
	if (!b)
		return;
	c->broken = b;
	if ((b[c->nbroken] = strdup(what)) != NULL)
		c->nbroken++;
}

/* One file in a sandbox of its own, freed before the next file. */
static void load_alone(playbook_set *c, const sandbox_limits *lim, const sandbox_host *host,
		       sandbox_chunks *chunks, lua_State *H, const char *dir, const char *file,
		       counter *cnt, buf *src)
{
	char err[512];
	int before = cnt->n;
	sandbox *sb = sandbox_new(lim, host, dir, err, sizeof(err));
	cnt->first[0] = '\0';
	if (!sb) {
		problem_report(count_report, cnt, file, 0, "no sandbox to load it in: %s", err);
	} else {
		sandbox_set_chunks(sb, chunks);
		load_one(c, sb, chunks, H, dir, file, count_report, cnt, src);
		sandbox_free(sb);
	}
	if (cnt->n > before)
		add_broken(c, cnt->first);
}

int playbooks_load(playbook_set *c, const sandbox_limits *lim, const sandbox_host *host,
		   sandbox_chunks *chunks, lua_State *H, const char *dir, problem_fn rep, void *ud,
		   char *err, size_t errlen)
{
	char **names = NULL;
	buf src = BUF_INIT;
	counter cnt = {rep, ud, 0, ""};
	memset(c, 0, sizeof(*c));
	int n = playbooks_list(dir, &names, err, errlen);
	if (n < 0)
		return -1;
	for (int i = 0; i < n; i++)
		load_alone(c, lim, host, chunks, H, dir, names[i], &cnt, &src);
	if (cnt.n == 0 && c->n == 0)
		problem_report(count_report, &cnt, dir, 0, "no playbook in the directory");
	buf_free(&src);
	playbooks_free_names(names, n);
	return cnt.n;
}

void playbooks_free(playbook_set *c)
{
	for (size_t i = 0; i < c->n; i++)
		playbook_def_free(&c->pbs[i]);
	free(c->pbs);
	for (size_t i = 0; i < c->nbroken; i++)
		free(c->broken[i]);
	free(c->broken);
	memset(c, 0, sizeof(*c));
}
