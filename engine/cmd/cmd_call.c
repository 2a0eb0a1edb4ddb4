#include "cmd_call.h"

#include <lauxlib.h>
#include <lua-cjson.h>
#include <lualib.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "client.h"
#include "jsonw.h"
#include "model_types.h"

#define CALL_USAGE \
	"usage: deadbolt call SERVICE OPERATION [JSON-PARAMS] [--endpoint-url URL] [--region R] " \
	"[--profile P] [--cli-connect-timeout S] [--cli-read-timeout S]\n"

typedef struct call_args {
	const char *service, *operation, *params;
	aws_client_config cfg;
	char why[160]; /* what was wrong with the arguments */
} call_args;

/* Seconds as the AWS CLI takes them, to milliseconds; -1 when malformed. */
static long timeout_ms(const char *v)
{
	char *end;
	double s = strtod(v, &end);
	return *v && !*end && s > 0 && s <= 3600 ? (long)(s * 1000.0) : -1;
}

static int parse_option(int argc, char **argv, int *i, call_args *a)
{
	const char *v = NULL;
	int r;
	if ((r = cli_opt(argc, argv, i, "--endpoint-url", &a->cfg.endpoint_url)) ||
	    (r = cli_opt(argc, argv, i, "--region", &a->cfg.region)) ||
	    (r = cli_opt(argc, argv, i, "--profile", &a->cfg.profile)))
		return r;
	if ((r = cli_opt(argc, argv, i, "--cli-connect-timeout", &v)) > 0)
		return (a->cfg.connect_timeout_ms = timeout_ms(v)) > 0 ? 1 : -1;
	if ((r = cli_opt(argc, argv, i, "--cli-read-timeout", &v)) > 0)
		return (a->cfg.timeout_ms = timeout_ms(v)) > 0 ? 1 : -1;
	return r;
}

static int parse_args(int argc, char **argv, call_args *a)
{
	int pos = 0;
	for (int i = 1; i < argc; i++) {
		int r = parse_option(argc, argv, &i, a);
		if (r < 0) {
			snprintf(a->why, sizeof(a->why), "%s needs a valid value", argv[i]);
			return -1;
		}
		if (r > 0)
			continue;
		if (argv[i][0] == '-' && argv[i][1]) {
			snprintf(a->why, sizeof(a->why), "unknown option %s", argv[i]);
			return -1;
		}
		const char **slot[] = {&a->service, &a->operation, &a->params};
		if (pos >= 3) {
			snprintf(a->why, sizeof(a->why), "unexpected argument %s", argv[i]);
			return -1;
		}
		*slot[pos++] = argv[i];
	}
	if (pos < 2)
		snprintf(a->why, sizeof(a->why), "a service and an operation are needed");
	return pos >= 2 ? 0 : -1;
}

/* Decodes the JSON parameters with lua-cjson; leaves the table on the stack.
 * Only an object will do: cjson would make a table of an array too. */
static int push_params(lua_State *L, const char *json)
{
	if (!json) {
		lua_newtable(L);
		return 0;
	}
	json += strspn(json, " \t\r\n");
	if (*json != '{') {
		fprintf(stderr, "deadbolt call: the parameters are not a JSON object\n");
		return -1;
	}
	luaL_requiref(L, "cjson", luaopen_cjson, 0);
	lua_getfield(L, -1, "decode");
	lua_pushstring(L, json);
	if (lua_pcall(L, 1, 1, 0) != LUA_OK || !lua_istable(L, -1)) {
		fprintf(stderr, "deadbolt call: the parameters are not a JSON object: %s\n",
			lua_type(L, -1) == LUA_TSTRING ? lua_tostring(L, -1) : "not an object");
		return -1;
	}
	lua_remove(L, -2); /* the cjson module */
	return 0;
}

static void print_error(const aws_error *e)
{
	const char *msg = e->message, *dot = strchr(e->op, '.');
	/* Messages may start with the operation already: say it once. */
	size_t oplen = strlen(e->op), namelen = dot ? strlen(dot + 1) : 0;
	if (oplen && strncmp(msg, e->op, oplen) == 0 && msg[oplen] == ':')
		msg += oplen + 1 + (msg[oplen + 1] == ' ');
	else if (namelen && strncmp(msg, dot + 1, namelen) == 0 && msg[namelen] == ':')
		msg += namelen + 1 + (msg[namelen + 1] == ' ');
	fprintf(stderr, "deadbolt call: %s: %s: %s", e->op[0] ? e->op : "call", e->code, msg);
	if (e->status)
		fprintf(stderr, " (HTTP %ld)", e->status);
	if (e->request_id[0])
		fprintf(stderr, " [request %s]", e->request_id);
	if (e->attempts > 1)
		fprintf(stderr, " after %d attempts", e->attempts);
	fputc('\n', stderr);
}

static int print_result(lua_State *L, const aws_operation *op)
{
	buf out = BUF_INIT;
	char why[128];
	int rc = jsonw_value(L, -1, op->output, &out, why, sizeof(why));
	if (rc == 0)
		printf("%s\n", out.data);
	else
		fprintf(stderr, "deadbolt call: cannot print the result: %s\n", why);
	buf_free(&out);
	return rc == 0 ? 0 : 1;
}

int cmd_call(int argc, char **argv)
{
	call_args a;
	memset(&a, 0, sizeof(a));
	if (parse_args(argc, argv, &a) != 0) {
		fprintf(stderr, "%sdeadbolt call: %s\n", CALL_USAGE, a.why);
		return 2;
	}
	const aws_operation *op = model_find_operation(a.service, a.operation);
	if (!op) {
		fprintf(stderr, "deadbolt call: unknown operation %s.%s (see tools/operations.list)\n",
			a.service, a.operation);
		return 2;
	}
	aws_error err;
	aws_error_clear(&err);
	lua_State *L = luaL_newstate();
	aws_client *c = L ? aws_client_new(&a.cfg, &err) : NULL;
	int rc = 2;
	if (!c) {
		fprintf(stderr, "deadbolt call: %s\n", L ? err.message : "out of memory");
		goto out;
	}
	if (push_params(L, a.params) != 0)
		goto out;
	if (aws_call(c, L, op, -1, &err) != 0) {
		print_error(&err);
		rc = 1;
		goto out;
	}
	rc = print_result(L, op);
out:
	aws_client_free(c);
	if (L)
		lua_close(L);
	return rc;
}
