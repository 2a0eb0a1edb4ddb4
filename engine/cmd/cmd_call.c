#include "cmd_call.h"

#include <lauxlib.h>
#include <lua-cjson.h>
#include <lualib.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ca_bundle.h"
#include "cli.h"
#include "cli_text.h"
#include "client.h"
#include "json_tree.h"
#include "jsonw.h"
#include "model_types.h"

#define CALL_USAGE \
	"usage: deadbolt call SERVICE OPERATION [JSON-PARAMS] [--output json|text]\n" \
	"                     [--endpoint-url URL] [--region R] [--profile P]\n" \
	"                     [--cli-connect-timeout S] [--cli-read-timeout S]\n"

static const char CALL_HELP[] =
	CALL_USAGE
	"\n"
	"Sends one AWS call through deadbolt's own client (the one playbooks use) and prints\n"
	"the result. SERVICE is boto3's client name (ec2, s3, iam, sts, ssm, sns, autoscaling,\n"
	"elb, elbv2); OPERATION is the model's name (DescribeInstances), boto3's\n"
	"(describe_instances) or the AWS CLI's (describe-instances), among the operations of\n"
	"tools/operations.list. JSON-PARAMS: the request as boto3 takes it, a JSON object.\n"
	"\n"
	"  --output json      boto3's shape of the result as JSON (the default)\n"
	"  --output text      the AWS CLI's text output (awscli/text.py's layout, without\n"
	"                     ResponseMetadata); values as the JSON output writes them\n"
	"  --endpoint-url URL send the call to URL (a moto server, say)\n"
	"  --region R, --profile P\n"
	"  --cli-connect-timeout S, --cli-read-timeout S   seconds, as the AWS CLI's\n"
	"\n"
	"Exit status: 0 answered, 1 the call failed (the error on stderr), 2 usage.\n";

typedef struct call_args {
	const char *service, *operation, *params;
	int text;      /* --output text */
	int help;      /* --help */
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
	if ((r = cli_opt(argc, argv, i, "--output", &v)) > 0) {
		if (strcmp(v, "json") != 0 && strcmp(v, "text") != 0)
			return -1;
		a->text = strcmp(v, "text") == 0;
		return 1;
	}
	if (r < 0)
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
		if (cli_is_help(argv[i])) {
			a->help = 1;
			return 0;
		}
		const char *opt = argv[i];
		int r = parse_option(argc, argv, &i, a);
		if (r < 0) {
			snprintf(a->why, sizeof(a->why), "%s needs a valid value%s", opt,
				 strncmp(opt, "--output", 8) == 0 ? ": json or text" : "");
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

/* The AWS CLI's text output of the JSON result, without ResponseMetadata
 * (the CLI removes it before formatting). */
static int write_text(lua_State *L, const aws_operation *op, buf *json, buf *out, char *why,
		      size_t whylen)
{
	lua_pushnil(L);
	lua_setfield(L, -2, "ResponseMetadata");
	if (jsonw_value(L, -1, op->output, json, why, whylen) != 0)
		return -1;
	jt_doc *doc = json_tree_parse(json->data, json->len, NULL, why, whylen);
	if (!doc)
		return -1;
	int rc = cli_text_write(json_tree_root(doc), out);
	if (rc != 0)
		snprintf(why, whylen, "out of memory");
	json_tree_free(doc);
	return rc;
}

static int print_result(lua_State *L, const aws_operation *op, int text)
{
	buf json = BUF_INIT, out = BUF_INIT;
	char why[128];
	int rc = text ? write_text(L, op, &json, &out, why, sizeof(why))
		      : jsonw_value(L, -1, op->output, &json, why, sizeof(why));
	if (rc == 0 && text)
		fwrite(out.data ? out.data : "", 1, out.len, stdout);
	else if (rc == 0)
		printf("%s\n", json.data);
	else
		fprintf(stderr, "deadbolt call: cannot print the result: %s\n", why);
	buf_free(&json);
	buf_free(&out);
	return rc == 0 ? 0 : 1;
}

/* The operation by the model's, boto3's or the AWS CLI's name: the CLI's
 * describe-instances is boto3's describe_instances with dashes. */
static const aws_operation *find_operation(const char *service, const char *name)
{
	char snake[128];
	size_t n = strlen(name);
	if (!strchr(name, '-') || n >= sizeof(snake))
		return model_find_operation(service, name);
	for (size_t i = 0; i <= n; i++)
		snake[i] = name[i] == '-' ? '_' : name[i];
	return model_find_operation(service, snake);
}

/* Names the operations SERVICE does have, in the three spellings' CLI form. */
static void print_unknown(const call_args *a)
{
	int any = 0;
	fprintf(stderr, "deadbolt call: unknown operation %s.%s", a->service, a->operation);
	for (size_t i = 0; i < model_op_count(); i++) {
		const aws_operation *op = model_op_at(i);
		if (strcmp(model_op_service(op), a->service) != 0)
			continue;
		fprintf(stderr, "%s%s", any++ ? ", " : "; the operations of tools/operations.list for it: ",
			model_op_name(op));
	}
	if (!any)
		fputs(" (no such service among ec2, s3, iam, sts, ssm, sns, autoscaling, elb, elbv2)",
		      stderr);
	fputc('\n', stderr);
}

int cmd_call(int argc, char **argv)
{
	call_args a;
	memset(&a, 0, sizeof(a));
	if (parse_args(argc, argv, &a) != 0) {
		fprintf(stderr, "usage: deadbolt call SERVICE OPERATION [JSON-PARAMS] [OPTIONS] "
				"(deadbolt call --help)\ndeadbolt call: %s\n", a.why);
		return 2;
	}
	if (a.help) {
		fputs(CALL_HELP, stdout);
		fputs(CLI_AWS_ENVIRONMENT, stdout);
		return 0;
	}
	const aws_operation *op = find_operation(a.service, a.operation);
	if (!op) {
		print_unknown(&a);
		return 2;
	}
	if (cli_check_profile("call", a.cfg.profile) != 0 || cli_check_ca_bundle("call") != 0)
		return 2;
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
	rc = print_result(L, op, a.text);
out:
	aws_client_free(c);
	if (L)
		lua_close(L);
	return rc;
}
