/* config — the shared AWS config and credentials files (owned by the creds
 * and endpoint work; see config.h).
 *
 * The files are parsed the way botocore's configloader reads them (Python's
 * RawConfigParser, then _parse_nested): "[section]" headers, "key = value" or
 * "key: value" with the key lower-cased, full-line '#' / ';' comments, and
 * lines indented deeper than a key continuing it. A key whose value is empty
 * and continued ("s3 =" then indented "addressing_style = path") is a nested
 * sub-section, reachable as "s3.addressing_style"; its lines are never read as
 * keys of the profile. Each lookup re-reads the file (bounded: 1 MiB, 16 KiB a
 * line) and wipes the copy, since the credentials file holds secrets. */
#include "config.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <pwd.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/crypto.h>

#include "buf.h"

#define CONFIG_MAX_FILE ((size_t)1 << 20)
#define CONFIG_MAX_LINE 16384
#define CONFIG_MAX_PATH 4096
#define CONFIG_MAX_SECTION 512

/* One lookup: which section(s), which key, where the value goes. */
typedef struct ini_query {
	const char *section;  /* normalized header to match */
	const char *section2; /* a second accepted header, or NULL */
	const char *key;      /* lower-case top-level key; NULL: only test the section */
	const char *subkey;   /* nested key under key, or NULL */
	char *out;
	size_t outlen;
	int found;        /* the value was seen (last one wins) */
	int overflow;     /* the value did not fit in out */
	int section_seen; /* a matching header was seen */
} ini_query;

/* Parser state between lines. */
typedef struct ini_state {
	int in_section;   /* the current section matches the query */
	int have_key;     /* a key line was seen in the current section */
	size_t key_indent;
	int key_matches;  /* the current key is query->key */
	int key_empty;    /* its first-line value was empty: nested block */
} ini_state;

static int home_dir(char *out, size_t outlen)
{
	const char *home = getenv("HOME");
	if (home && *home) {
		size_t n = strlen(home);
		if (n >= outlen)
			return -1;
		memcpy(out, home, n + 1);
		return 0;
	}
	struct passwd pw, *res = NULL;
	char tmp[4096];
	if (getpwuid_r(getuid(), &pw, tmp, sizeof(tmp), &res) != 0 || !res || !res->pw_dir)
		return -1;
	size_t n = strlen(res->pw_dir);
	if (n >= outlen)
		return -1;
	memcpy(out, res->pw_dir, n + 1);
	return 0;
}

/* "~" and "~/..." become $HOME and $HOME/...; "~user" is left as it is. */
static int expand_home(const char *path, char *out, size_t outlen)
{
	char home[CONFIG_MAX_PATH];
	size_t n = strlen(path);
	if (path[0] != '~' || (path[1] != '\0' && path[1] != '/')) {
		if (n >= outlen)
			return -1;
		memcpy(out, path, n + 1);
		return 0;
	}
	if (home_dir(home, sizeof(home)) != 0)
		return -1;
	size_t h = strlen(home);
	if (h + n >= outlen) /* n counts the '~' that the home replaces */
		return -1;
	memcpy(out, home, h);
	memcpy(out + h, path + 1, n); /* includes the NUL */
	return 0;
}

static int config_path(const char *which, char *out, size_t outlen)
{
	int creds = strcmp(which, "credentials") == 0;
	if (!creds && strcmp(which, "config") != 0)
		return -1;
	const char *env = getenv(creds ? "AWS_SHARED_CREDENTIALS_FILE" : "AWS_CONFIG_FILE");
	if (!env || !*env)
		env = creds ? "~/.aws/credentials" : "~/.aws/config";
	return expand_home(env, out, outlen);
}

static int read_fd(int fd, buf *b)
{
	char chunk[4096];
	int rc = -1;
	for (;;) {
		ssize_t n = read(fd, chunk, sizeof(chunk));
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 || (n > 0 && buf_append(b, chunk, (size_t)n) != 0))
			goto out;
		if (n == 0)
			break;
	}
	rc = 0;
out:
	OPENSSL_cleanse(chunk, sizeof(chunk));
	return rc;
}

/* Reads a regular file of at most CONFIG_MAX_FILE bytes into b, as a C
 * string (b->data is set even for an empty file). */
static int read_small_file(const char *path, buf *b)
{
	int rc = -1;
	struct stat st;
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
	if (fd < 0)
		return -1;
	if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode) || (size_t)st.st_size > CONFIG_MAX_FILE)
		goto out;
	buf_init(b, CONFIG_MAX_FILE + 1);
	if (read_fd(fd, b) != 0 || buf_putc(b, '\0') != 0)
		goto out;
	b->len--;
	rc = 0;
out:
	close(fd);
	return rc;
}

static char *trim(char *s)
{
	while (*s == ' ' || *s == '\t')
		s++;
	size_t n = strlen(s);
	while (n && (s[n - 1] == ' ' || s[n - 1] == '\t' || s[n - 1] == '\r'))
		s[--n] = '\0';
	return s;
}

/* Normalizes a header's inner text: "profile  x" and 'profile "x"' become
 * "profile x" (likewise "services"); anything else is kept as trimmed. */
static void normalize_section(const char *raw, char *out, size_t outlen)
{
	static const char *const kinds[] = {"profile", "services"};
	for (size_t i = 0; i < sizeof(kinds) / sizeof(kinds[0]); i++) {
		size_t k = strlen(kinds[i]);
		if (strncmp(raw, kinds[i], k) != 0 || (raw[k] != ' ' && raw[k] != '\t'))
			continue;
		const char *name = raw + k;
		while (*name == ' ' || *name == '\t')
			name++;
		size_t n = strlen(name);
		if (n >= 2 && (name[0] == '"' || name[0] == '\'') && name[n - 1] == name[0]) {
			name++;
			n -= 2;
		}
		int w = snprintf(out, outlen, "%s %.*s", kinds[i], (int)n, name);
		if (w < 0 || (size_t)w >= outlen)
			out[0] = '\0';
		return;
	}
	int w = snprintf(out, outlen, "%s", raw);
	if (w < 0 || (size_t)w >= outlen)
		out[0] = '\0';
}

static void on_section(ini_query *q, ini_state *st, char *line)
{
	char norm[CONFIG_MAX_SECTION];
	char *end = strrchr(line, ']');
	memset(st, 0, sizeof(*st));
	if (!end)
		return; /* malformed: ignored, and ends the previous section */
	*end = '\0';
	normalize_section(trim(line + 1), norm, sizeof(norm));
	st->in_section = norm[0] && (strcmp(norm, q->section) == 0 ||
				     (q->section2 && strcmp(norm, q->section2) == 0));
	if (st->in_section)
		q->section_seen = 1;
}

static void set_value(ini_query *q, const char *v)
{
	size_t n = strlen(v);
	q->found = 1;
	q->overflow = n >= q->outlen;
	if (!q->overflow)
		memcpy(q->out, v, n + 1);
}

static void append_value(ini_query *q, const char *v)
{
	size_t have = strlen(q->out), n = strlen(v);
	if (q->overflow || have + 1 + n >= q->outlen) {
		q->overflow = 1;
		return;
	}
	q->out[have] = '\n';
	memcpy(q->out + have + 1, v, n + 1);
}

/* Splits "key = value" (or "key: value", the first delimiter wins); the key
 * is lower-cased when lower is set. Returns -1 for a line with neither. */
static int split_option(char *line, const char *delims, int lower, char **key, char **val)
{
	char *d = strpbrk(line, delims);
	if (!d)
		return -1;
	*d = '\0';
	*key = trim(line);
	*val = trim(d + 1);
	if (!**key)
		return -1;
	for (char *p = *key; lower && *p; p++)
		*p = (char)tolower((unsigned char)*p);
	return 0;
}

/* A line indented deeper than the current key: part of that key. */
static void on_continuation(ini_query *q, ini_state *st, char *content)
{
	char *k, *v;
	if (!st->key_matches)
		return;
	if (!st->key_empty) {
		if (!q->subkey)
			append_value(q, content);
		return;
	}
	/* Nested: botocore splits each line on the first '=' only. */
	if (q->subkey && split_option(content, "=", 0, &k, &v) == 0 && strcmp(k, q->subkey) == 0)
		set_value(q, v);
}

static void on_option(ini_query *q, ini_state *st, char *content, size_t indent)
{
	char *k, *v;
	st->have_key = 0;
	st->key_matches = 0;
	if (split_option(content, "=:", 1, &k, &v) != 0)
		return;
	st->have_key = 1;
	st->key_indent = indent;
	st->key_empty = *v == '\0';
	st->key_matches = st->in_section && q->key && strcmp(k, q->key) == 0;
	if (!st->key_matches)
		return;
	if (q->subkey) {
		q->out[0] = '\0'; /* a later redefinition replaces the block */
		q->found = 0;
	} else {
		set_value(q, v);
	}
}

static void on_line(ini_query *q, ini_state *st, char *line)
{
	size_t indent = strspn(line, " \t");
	char *content = trim(line);
	if (!*content || *content == '#' || *content == ';')
		return;
	if (st->have_key && indent > st->key_indent) {
		on_continuation(q, st, content);
		return;
	}
	if (*content == '[') {
		on_section(q, st, content);
		return;
	}
	on_option(q, st, content, indent); /* tracked in every section, for indents */
}

/* Runs q over the file's text. -1 when a line is too long or holds a NUL. */
static int ini_scan(ini_query *q, char *text, size_t len)
{
	ini_state st;
	memset(&st, 0, sizeof(st));
	if (memchr(text, '\0', len))
		return -1;
	char *p = text, *end = text + len;
	while (p < end) {
		char *nl = memchr(p, '\n', (size_t)(end - p));
		char *stop = nl ? nl : end;
		if ((size_t)(stop - p) > CONFIG_MAX_LINE)
			return -1;
		*stop = '\0';
		on_line(q, &st, p);
		p = stop + 1;
	}
	return 0;
}

/* Runs q over the file "config" or "credentials". -1 when it is unreadable. */
static int config_query(const char *which, ini_query *q)
{
	char path[CONFIG_MAX_PATH];
	buf text = BUF_INIT;
	int rc = -1;
	if (q->outlen)
		q->out[0] = '\0';
	if (config_path(which, path, sizeof(path)) != 0)
		goto out;
	if (read_small_file(path, &text) != 0)
		goto out;
	rc = ini_scan(q, text.data, text.len);
out:
	buf_wipe(&text);
	return rc;
}

/* Splits "s3.addressing_style" into key and subkey (lower-cased key). */
static int split_key(const char *key, char *k, size_t klen, const char **subkey)
{
	const char *dot = strchr(key, '.');
	size_t n = dot ? (size_t)(dot - key) : strlen(key);
	if (n == 0 || n >= klen || (dot && !dot[1]))
		return -1;
	for (size_t i = 0; i < n; i++)
		k[i] = (char)tolower((unsigned char)key[i]);
	k[n] = '\0';
	*subkey = dot ? dot + 1 : NULL;
	return 0;
}

static int run_lookup(const char *which, const char *s1, const char *s2, const char *key,
		      char *out, size_t outlen)
{
	char k[128];
	ini_query q;
	memset(&q, 0, sizeof(q));
	q.section = s1;
	q.section2 = s2;
	q.out = out;
	q.outlen = outlen;
	if (key && split_key(key, k, sizeof(k), &q.subkey) != 0)
		return -1;
	q.key = key ? k : NULL;
	if (config_query(which, &q) != 0)
		return -1;
	if (!key)
		return q.section_seen ? 0 : -1;
	if (!q.found || q.overflow) {
		if (outlen)
			OPENSSL_cleanse(out, outlen); /* may hold part of a secret */
		return -1;
	}
	return 0;
}

const char *config_profile_name(const char *explicit_profile)
{
	if (explicit_profile && *explicit_profile)
		return explicit_profile;
	const char *env = getenv("AWS_PROFILE");
	if (env && *env)
		return env;
	return "default";
}

int config_get(const char *which, const char *profile, const char *key, char *out, size_t outlen)
{
	char sect[CONFIG_MAX_SECTION];
	const char *second = NULL;
	if (!which || !profile || !*profile || !out || !outlen)
		return -1;
	out[0] = '\0';
	int creds = strcmp(which, "credentials") == 0;
	int n = snprintf(sect, sizeof(sect), creds ? "%s" : "profile %s", profile);
	if (n < 0 || (size_t)n >= sizeof(sect))
		return -1;
	if (!creds && strcmp(profile, "default") == 0)
		second = "default";
	return run_lookup(which, sect, second, key, out, outlen);
}

int config_get_section(const char *which, const char *section, const char *key, char *out,
		       size_t outlen)
{
	char norm[CONFIG_MAX_SECTION], copy[CONFIG_MAX_SECTION];
	char dummy[1];
	if (!which || !section || strlen(section) >= sizeof(copy))
		return -1;
	memcpy(copy, section, strlen(section) + 1);
	normalize_section(trim(copy), norm, sizeof(norm));
	if (!norm[0])
		return -1;
	if (!key)
		return run_lookup(which, norm, NULL, NULL, dummy, sizeof(dummy));
	if (!out || !outlen)
		return -1;
	out[0] = '\0';
	return run_lookup(which, norm, NULL, key, out, outlen);
}

int config_profile_get(const char *profile, const char *key, char *out, size_t outlen)
{
	if (config_get("credentials", profile, key, out, outlen) == 0)
		return 0;
	return config_get("config", profile, key, out, outlen);
}

int config_profile_exists(const char *profile)
{
	char sect[CONFIG_MAX_SECTION], dummy[1];
	if (!profile || !*profile)
		return 0;
	int n = snprintf(sect, sizeof(sect), "profile %s", profile);
	if (n < 0 || (size_t)n >= sizeof(sect))
		return 0;
	const char *second = strcmp(profile, "default") == 0 ? "default" : NULL;
	if (run_lookup("config", sect, second, NULL, dummy, sizeof(dummy)) == 0)
		return 1;
	return run_lookup("credentials", profile, NULL, NULL, dummy, sizeof(dummy)) == 0;
}

int config_is_true(const char *v)
{
	return v && strcasecmp(v, "true") == 0;
}

int config_region(const char *explicit_region, const char *profile, char *out, size_t outlen)
{
	static const char *const envs[] = {"AWS_REGION", "AWS_DEFAULT_REGION"};
	const char *v = explicit_region;
	if (!out || !outlen)
		return -1;
	for (size_t i = 0; (!v || !*v) && i < sizeof(envs) / sizeof(envs[0]); i++)
		v = getenv(envs[i]);
	if (v && *v) {
		size_t n = strlen(v);
		if (n >= outlen)
			return -1;
		memcpy(out, v, n + 1);
		return 0;
	}
	return config_profile_get(config_profile_name(profile), "region", out, outlen);
}
