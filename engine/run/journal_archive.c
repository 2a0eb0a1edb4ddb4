#include "journal_archive.h"

#include <lauxlib.h>
#include <string.h>
#include <time.h>

static ssize_t tee_write(void *cookie, const char *p, size_t n)
{
	journal_tee *t = cookie;
	if (fwrite(p, 1, n, t->out) != n)
		return -1;
	fflush(t->out); /* a line reaches CloudWatch when it is written */
	if (!t->truncated && buf_append(&t->copy, p, n) != 0)
		t->truncated = 1;
	return (ssize_t)n;
}

FILE *journal_tee_open(journal_tee *t, FILE *out, size_t max)
{
	memset(t, 0, sizeof(*t));
	t->out = out;
	buf_init(&t->copy, max);
	cookie_io_functions_t io = {.write = tee_write};
	return fopencookie(t, "w", io);
}

void journal_tee_free(journal_tee *t)
{
	buf_free(&t->copy);
}

static int name_ok(const char *s)
{
	size_t n = strspn(s, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789._-");
	return n > 0 && n < 200 && s[n] == '\0';
}

static void push_field(lua_State *L, const char *k, const char *v, size_t n)
{
	lua_pushlstring(L, v, n);
	lua_setfield(L, -2, k);
}

int journal_archive_put(aws_client *c, const char *bucket, const char *name, const buf *data,
			aws_error *err)
{
	const aws_operation *op = model_find_operation("s3", "PutObject");
	char key[256], day[16];
	time_t now = time(NULL);
	struct tm tm;
	if (!op || !name_ok(name)) {
		aws_error_set(err, "InvalidArgument", "journal archive: bad object name");
		return -1;
	}
	gmtime_r(&now, &tm);
	strftime(day, sizeof(day), "%Y-%m-%d", &tm);
	snprintf(key, sizeof(key), "journal/%s/%s.jsonl", day, name);
	lua_State *L = luaL_newstate();
	if (!L) {
		aws_error_set(err, "InternalError", "journal archive: out of memory");
		return -1;
	}
	lua_createtable(L, 0, 4);
	push_field(L, "Bucket", bucket, strlen(bucket));
	push_field(L, "Key", key, strlen(key));
	push_field(L, "Body", buf_cstr(data), data->len);
	push_field(L, "ContentType", "application/x-ndjson", 20);
	int rc = aws_call(c, L, op, 1, err);
	lua_close(L);
	return rc;
}
