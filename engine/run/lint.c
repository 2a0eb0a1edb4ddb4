/* lint — reads the playbooks' Lua source, without running it, for calls to
 * operations off the allow-list. See lint.h. */
#include "lint.h"

#include <ctype.h>
#include <dirent.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "allowlist.h"
#include "model.h"
#include "playbooks.h"

#define MAX_SERVICES 32

typedef struct services {
	const char *name[MAX_SERVICES];
	size_t n;
} services;

static void add_service(services *s, const char *name)
{
	for (size_t i = 0; i < s->n; i++)
		if (strcmp(s->name[i], name) == 0)
			return;
	if (s->n < MAX_SERVICES)
		s->name[s->n++] = name;
}

static void known_services(services *s)
{
	static const char *const listed[] = {"ec2", "autoscaling", "elb", "elbv2",
					     "ssm", "s3",          "iam", "sns"};
	s->n = 0;
	for (size_t i = 0; i < sizeof(listed) / sizeof(listed[0]); i++)
		add_service(s, listed[i]);
	for (size_t i = 0; i < allowlist_count(); i++)
		add_service(s, allowlist_at(i)->service);
	for (size_t i = 0; i < model_op_count(); i++)
		add_service(s, model_op_service(model_op_at(i)));
}

static int is_service(const services *s, const char *w, size_t n)
{
	for (size_t i = 0; i < s->n; i++)
		if (strlen(s->name[i]) == n && memcmp(s->name[i], w, n) == 0)
			return 1;
	return 0;
}

/* Level of a long bracket [==[ at p, or -1. */
static int long_bracket(const char *p, const char *end)
{
	int level = 0;
	if (p >= end || *p != '[')
		return -1;
	for (p++; p < end && *p == '='; p++)
		level++;
	return p < end && *p == '[' ? level : -1;
}

/* Skips a long string or comment starting at p with the given level. */
static const char *skip_long(const char *p, const char *end, int level, int *line)
{
	p += level + 2;
	for (; p < end; p++) {
		if (*p == '\n')
			(*line)++;
		if (*p != ']')
			continue;
		const char *q = p + 1;
		int l = 0;
		while (q < end && *q == '=')
			q++, l++;
		if (l == level && q < end && *q == ']')
			return q + 1;
	}
	return end;
}

static const char *skip_quoted(const char *p, const char *end, int *line)
{
	char q = *p++;
	for (; p < end && *p != q; p++) {
		if (*p == '\n')
			(*line)++;
		if (*p == '\\' && p + 1 < end) {
			p++;
			if (*p == '\n')
				(*line)++;
		}
	}
	return p < end ? p + 1 : end;
}

static int ident_char(char c)
{
	return isalnum((unsigned char)c) || c == '_';
}

static const char *skip_space(const char *p, const char *end)
{
	while (p < end && (*p == ' ' || *p == '\t'))
		p++;
	return p;
}

typedef struct scan {
	const char *file;
	problem_fn rep;
	void *ud;
	services svc;
	int problems;
	char prev; /* last significant character before the current word */
} scan;

/* At a word: a call service.method followed by ( { " ' or [[ is checked. */
static const char *scan_word(scan *s, const char *p, const char *end, int line)
{
	const char *w = p, *m, *q;
	while (p < end && ident_char(*p))
		p++;
	if (s->prev == '.' || s->prev == ':' || !is_service(&s->svc, w, (size_t)(p - w)))
		return p;
	q = skip_space(p, end);
	if (q >= end || *q != '.')
		return p;
	m = q = skip_space(q + 1, end);
	while (q < end && ident_char(*q))
		q++;
	size_t mn = (size_t)(q - m);
	q = skip_space(q, end);
	if (mn == 0 || mn >= 64 || q >= end ||
	    !(*q == '(' || *q == '{' || *q == '"' || *q == '\'' || long_bracket(q, end) >= 0))
		return p;
	char svc[32], op[64];
	snprintf(svc, sizeof(svc), "%.*s", (int)(p - w), w);
	snprintf(op, sizeof(op), "%.*s", (int)mn, m);
	if (!allowlist_find(svc, op)) {
		problem_report(s->rep, s->ud, s->file, line, "%s.%s is not on the allow-list", svc, op);
		s->problems++;
	}
	return p;
}

int lint_scan_source(const char *file, const char *text, size_t n, problem_fn rep, void *ud)
{
	scan s = {file, rep, ud, {{0}, 0}, 0, 0};
	const char *p = text, *end = text + n;
	int line = 1, level;
	known_services(&s.svc);
	while (p < end) {
		char c = *p;
		if (c == '\n') {
			line++;
			p++;
		} else if (c == '-' && p + 1 < end && p[1] == '-') {
			level = long_bracket(p + 2, end);
			if (level >= 0)
				p = skip_long(p + 2, end, level, &line);
			else
				while (p < end && *p != '\n')
					p++;
		} else if ((level = long_bracket(p, end)) >= 0) {
			p = skip_long(p, end, level, &line);
			s.prev = ']';
		} else if (c == '"' || c == '\'') {
			p = skip_quoted(p, end, &line);
			s.prev = '"';
		} else if (isalpha((unsigned char)c) || c == '_') {
			p = scan_word(&s, p, end, line);
			s.prev = 'a';
		} else {
			if (!isspace((unsigned char)c))
				s.prev = c;
			p++;
		}
	}
	return s.problems;
}

static int scan_files(const char *dir, const char *shown, problem_fn rep, void *ud, buf *src)
{
	char **names = NULL, err[512], file[512];
	int problems = 0;
	int n = playbooks_list(dir, &names, err, sizeof(err));
	for (int i = 0; i < n; i++) {
		snprintf(file, sizeof(file), "%s%s", shown, names[i]);
		if (playbooks_read_source(dir, names[i], src, err, sizeof(err)) != 0) {
			problem_report(rep, ud, file, 0, "%s", err);
			problems++;
			continue;
		}
		problems += lint_scan_source(file, src->data ? src->data : "", src->len, rep, ud);
	}
	playbooks_free_names(names, n);
	return problems;
}

int lint_scan_dir(const char *dir, problem_fn rep, void *ud, char *err, size_t errlen)
{
	char lib[4096];
	struct stat st;
	buf src = BUF_INIT;
	DIR *d = opendir(dir);
	if (!d) {
		snprintf(err, errlen, "%s: cannot list the directory", dir);
		return -1;
	}
	closedir(d);
	int problems = scan_files(dir, "", rep, ud, &src);
	if (snprintf(lib, sizeof(lib), "%s/lib", dir) < (int)sizeof(lib) && stat(lib, &st) == 0 &&
	    S_ISDIR(st.st_mode))
		problems += scan_files(lib, "lib/", rep, ud, &src);
	buf_free(&src);
	return problems;
}
