/* cmd_restore — `deadbolt restore JOURNAL`: reads the "undo" lines a live
 * run journaled and undoes them in reverse order through the AWS client, in
 * a host Lua state of its own (engine/run/undo.lua's M.restore), never in a
 * playbook's sandbox: it sends only the undo calls the journal holds, built
 * from the states it recorded. Writes its own journal and one notification.
 *
 * Ownership: everything is owned by cmd_restore's frame and freed at out. */
#include "cmd_restore.h"

#include <errno.h>
#include <lauxlib.h>
#include <lua-cjson.h>
#include <lualib.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "cli.h"
#include "client.h"
#include "model.h"
#include "undo.h"

#define RESTORE_USAGE \
	"usage: deadbolt restore JOURNAL|- [--finding ID] [--dry-run] [--force]\n" \
	"                        [--journal FILE] [--endpoint-url URL] [--region R] [--profile P]\n"

static const char RESTORE_HELP[] =
	RESTORE_USAGE
	"\n"
	"Undoes what a live `deadbolt run` changed, from the journal it wrote (JOURNAL, or '-'\n"
	"for standard input): each \"undo\" line names a change, the call that undoes it and\n"
	"the state before. Changes are undone newest first; two changes of one thing (an\n"
	"ENI moved twice) go back to the state before the first. Before each undo the thing\n"
	"is read: still as the containment left it, it is undone; already as before, it is\n"
	"left alone (restoring twice is harmless); anything else was changed since and is\n"
	"refused, named, unless --force. Evidence (snapshots, objects) is kept.\n"
	"\n"
	"  --finding ID       only the runs of that finding in JOURNAL\n"
	"  --dry-run          print the restore plan; send no write\n"
	"  --force            undo changes made since the containment too\n"
	"  --journal FILE     the restore's own journal (default: JOURNAL.restore.jsonl beside\n"
	"                     JOURNAL; none for '-')\n"
	"  --endpoint-url URL, --region R, --profile P   as for `deadbolt run`\n"
	"\n"
	"NOTIFICATION_TOPIC_ARN, when set, gets one message with the outcome.\n"
	"Exit status: 0 everything restored (or already), 1 something refused or failed,\n"
	"2 usage or an unreadable journal.\n";

typedef struct restore_args {
	const char *journal, *finding, *own_journal;
	int dry_run, force, help;
	aws_client_config cfg;
	char why[160];
} restore_args;

static int parse_args(int argc, char **argv, restore_args *a)
{
	for (int i = 1; i < argc; i++) {
		int r;
		if (cli_is_help(argv[i])) {
			a->help = 1;
			return 0;
		}
		const char *opt = argv[i];
		if ((r = cli_opt(argc, argv, &i, "--finding", &a->finding)) ||
		    (r = cli_opt(argc, argv, &i, "--journal", &a->own_journal)) ||
		    (r = cli_opt(argc, argv, &i, "--endpoint-url", &a->cfg.endpoint_url)) ||
		    (r = cli_opt(argc, argv, &i, "--region", &a->cfg.region)) ||
		    (r = cli_opt(argc, argv, &i, "--profile", &a->cfg.profile))) {
			if (r < 0) {
				snprintf(a->why, sizeof(a->why), "%s needs a value", opt);
				return -1;
			}
			continue;
		}
		if (strcmp(argv[i], "--dry-run") == 0)
			a->dry_run = 1;
		else if (strcmp(argv[i], "--force") == 0)
			a->force = 1;
		else if (argv[i][0] == '-' && argv[i][1]) {
			snprintf(a->why, sizeof(a->why), "unknown option %s", argv[i]);
			return -1;
		} else if (a->journal) {
			snprintf(a->why, sizeof(a->why), "unexpected argument %s", argv[i]);
			return -1;
		} else
			a->journal = argv[i];
	}
	if (!a->journal)
		snprintf(a->why, sizeof(a->why), "a journal is needed (a file, or '-')");
	return a->journal ? 0 : -1;
}

static int read_all(FILE *f, buf *out)
{
	char chunk[8192];
	size_t n;
	while ((n = fread(chunk, 1, sizeof(chunk), f)) > 0)
		if (buf_append(out, chunk, n) != 0)
			return -1;
	return ferror(f) ? -1 : 0;
}

/* call(op, params): the result, or nil, message, code. Upvalue: the client. */
static int l_call(lua_State *L)
{
	aws_client *c = lua_touserdata(L, lua_upvalueindex(1));
	const char *name = luaL_checkstring(L, 1);
	const char *dot = strchr(name, '.');
	char service[64];
	aws_error err;
	luaL_checktype(L, 2, LUA_TTABLE);
	if (!dot || (size_t)(dot - name) >= sizeof(service))
		return luaL_error(L, "bad operation %s", name);
	memcpy(service, name, (size_t)(dot - name));
	service[dot - name] = '\0';
	const aws_operation *op = model_find_operation(service, dot + 1);
	if (!op)
		return luaL_error(L, "%s is not in the service model", name);
	aws_error_clear(&err);
	lua_settop(L, 2);
	if (aws_call(c, L, op, 2, &err) != 0) {
		lua_pushnil(L);
		lua_pushstring(L, err.message);
		lua_pushstring(L, err.code);
		return 3;
	}
	return 1;
}

/* emit(json): one line of the restore's journal. Upvalue: the FILE or nil. */
static int l_emit(lua_State *L)
{
	FILE *f = lua_touserdata(L, lua_upvalueindex(1));
	size_t n;
	const char *s = luaL_checklstring(L, 1, &n);
	if (f) {
		fwrite(s, 1, n, f);
		fputc('\n', f);
		fflush(f);
	}
	return 0;
}

static int l_say(lua_State *L)
{
	puts(luaL_checkstring(L, 1));
	return 0;
}

static void set_fn(lua_State *L, const char *name, lua_CFunction fn, void *up)
{
	lua_pushlightuserdata(L, up);
	lua_pushcclosure(L, fn, 1);
	lua_setfield(L, -2, name);
}

/* Protected: args module, text, args, client, own journal; pushes the
 * counts table. */
static int restore_protected(lua_State *L)
{
	const restore_args *a = lua_touserdata(L, 3);
	lua_getfield(L, 1, "read_records");
	lua_pushvalue(L, 2);
	if (a->finding)
		lua_pushstring(L, a->finding);
	else
		lua_pushnil(L);
	lua_call(L, 2, 1);
	int recs = lua_gettop(L);
	lua_getfield(L, 1, "restore");
	lua_pushvalue(L, recs);
	lua_newtable(L);
	set_fn(L, "call", l_call, lua_touserdata(L, 4));
	set_fn(L, "emit", l_emit, lua_touserdata(L, 5));
	set_fn(L, "say", l_say, NULL);
	lua_pushboolean(L, a->dry_run);
	lua_setfield(L, -2, "dry_run");
	lua_pushboolean(L, a->force);
	lua_setfield(L, -2, "force");
	lua_pushstring(L, getenv("NOTIFICATION_TOPIC_ARN"));
	lua_setfield(L, -2, "topic");
	lua_pushstring(L, a->journal);
	lua_setfield(L, -2, "source");
	lua_call(L, 2, 1);
	return 1;
}

static FILE *open_own_journal(const restore_args *a, char *path, size_t n)
{
	if (a->own_journal)
		snprintf(path, n, "%s", a->own_journal);
	else if (strcmp(a->journal, "-") != 0)
		snprintf(path, n, "%s.restore.jsonl", a->journal);
	else
		return NULL;
	if (strcmp(path, "-") == 0)
		return stdout;
	return fopen(path, "a");
}

static int counts_ok(lua_State *L, int t)
{
	static const char *const bad[] = {"changed", "refused", "failed"};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		lua_getfield(L, t, bad[i]);
		lua_Integer v = lua_tointeger(L, -1);
		lua_pop(L, 1);
		if (v > 0)
			return 0;
	}
	return 1;
}

int cmd_restore(int argc, char **argv)
{
	restore_args a;
	buf text = BUF_INIT;
	FILE *in = NULL, *own = NULL;
	lua_State *L = NULL;
	aws_client *c = NULL;
	aws_error err;
	char path[4096];
	int rc = 2;
	memset(&a, 0, sizeof(a));
	if (parse_args(argc, argv, &a) != 0) {
		fprintf(stderr, "%sdeadbolt restore: %s\n", RESTORE_USAGE, a.why);
		return 2;
	}
	if (a.help) {
		fputs(RESTORE_HELP, stdout);
		return 0;
	}
	in = strcmp(a.journal, "-") == 0 ? stdin : fopen(a.journal, "r");
	if (!in || read_all(in, &text) != 0 || buf_putc(&text, '\0') != 0) {
		fprintf(stderr, "deadbolt restore: %s: %s\n", a.journal, strerror(errno));
		goto out;
	}
	aws_error_clear(&err);
	if ((c = aws_client_new(&a.cfg, &err)) == NULL) {
		fprintf(stderr, "deadbolt restore: AWS client: %s: %s\n", err.code, err.message);
		goto out;
	}
	if (!a.dry_run && (own = open_own_journal(&a, path, sizeof(path))) == NULL &&
	    (a.own_journal || strcmp(a.journal, "-") != 0)) {
		fprintf(stderr, "deadbolt restore: %s: %s\n", path, strerror(errno));
		goto out;
	}
	if ((L = luaL_newstate()) == NULL)
		goto out;
	luaL_openlibs(L);
	luaL_requiref(L, "cjson", luaopen_cjson, 1);
	lua_pop(L, 1);
	lua_pushcfunction(L, restore_protected);
	if (undo_load(L) != 0) {
		fprintf(stderr, "deadbolt restore: %s\n", lua_tostring(L, -1));
		goto out;
	}
	lua_pushlstring(L, text.data, text.len - 1);
	lua_pushlightuserdata(L, &a);
	lua_pushlightuserdata(L, c);
	lua_pushlightuserdata(L, own);
	if (lua_pcall(L, 5, 1, 0) != LUA_OK) {
		fprintf(stderr, "deadbolt restore: %s\n", lua_tostring(L, -1));
		rc = 1;
		goto out;
	}
	rc = counts_ok(L, lua_gettop(L)) ? 0 : 1;
out:
	if (in && in != stdin)
		fclose(in);
	if (own && own != stdout)
		fclose(own);
	if (L)
		lua_close(L);
	aws_client_free(c);
	buf_free(&text);
	return rc;
}
