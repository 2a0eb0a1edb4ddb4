/* cmd_primitives — see cmd_primitives.h. */
#include "cmd_primitives.h"

#include <stdio.h>
#include <string.h>

#include "allowlist.h"
#include "buf.h"
#include "cli.h"
#include "jsonw.h"
#include "model.h"

static const char USAGE[] =
	"usage: deadbolt primitives [--json]\n"
	"\n"
	"Lists the AWS operations a playbook may call (sandbox/allowlist.c), as playbooks\n"
	"call them (ec2.create_snapshot{...}): read or write, the operation that undoes the\n"
	"write (\"-\": nothing to undo, or nothing that may; the why says which), and the rule\n"
	"its arguments follow or, where it has none, why a playbook needs it.\n"
	"  --json   one JSON object per line: primitive, service, operation, access, undo,\n"
	"           why, rule\n";

static const char ABSENT[] =
	"\nNot on the list, on purpose (sandbox/allowlist.c says why): anything that deletes or\n"
	"terminates; the undo-only operations, which belong to a restore; STS.\n";

/* "ec2.create_snapshot": the name a playbook calls. */
static void primitive_name(const allow_entry *e, char *out, size_t outlen)
{
	const aws_operation *op = model_find_operation(e->service, e->operation);
	snprintf(out, outlen, "%s.%s", e->service, op ? model_op_snake_name(op) : e->operation);
}

static const char *access_name(const allow_entry *e)
{
	return e->access == ALLOW_WRITE ? "write" : "read";
}

static void print_table(void)
{
	char name[128];
	int wname = (int)strlen("PRIMITIVE"), wundo = (int)strlen("UNDO");
	size_t n = allowlist_count();

	for (size_t i = 0; i < n; i++) {
		const allow_entry *e = allowlist_at(i);
		primitive_name(e, name, sizeof(name));
		if ((int)strlen(name) > wname)
			wname = (int)strlen(name);
		if (e->undo && (int)strlen(e->undo) > wundo)
			wundo = (int)strlen(e->undo);
	}
	printf("%-*s  %-6s  %-*s  %s\n", wname, "PRIMITIVE", "ACCESS", wundo, "UNDO", "RULE / WHY");
	for (size_t i = 0; i < n; i++) {
		const allow_entry *e = allowlist_at(i);
		primitive_name(e, name, sizeof(name));
		printf("%-*s  %-6s  %-*s  %s\n", wname, name, access_name(e), wundo,
		       e->undo ? e->undo : "-", allowlist_rule_text(e));
	}
	fputs(ABSENT, stdout);
}

static void json_member(buf *b, const char *key, const char *value, int last)
{
	jsonw_string(b, key, strlen(key));
	buf_append(b, ":", 1);
	if (value)
		jsonw_string(b, value, strlen(value));
	else
		buf_append(b, "null", 4);
	buf_append(b, last ? "}" : ",", 1);
}

static int print_json(void)
{
	char name[128];
	buf b = BUF_INIT;
	int rc = 0;

	for (size_t i = 0; i < allowlist_count() && rc == 0; i++) {
		const allow_entry *e = allowlist_at(i);
		primitive_name(e, name, sizeof(name));
		b.len = 0;
		buf_append(&b, "{", 1);
		json_member(&b, "primitive", name, 0);
		json_member(&b, "service", e->service, 0);
		json_member(&b, "operation", e->operation, 0);
		json_member(&b, "access", access_name(e), 0);
		json_member(&b, "undo", e->undo, 0);
		json_member(&b, "why", e->why, 0);
		json_member(&b, "rule", allowlist_rule_text(e), 1);
		if (b.data == NULL || buf_append(&b, "\n", 1) != 0)
			rc = 1;
		else
			fwrite(b.data, 1, b.len, stdout);
	}
	buf_free(&b);
	return rc;
}

int cmd_primitives(int argc, char **argv)
{
	int json = 0;

	for (int i = 1; i < argc; i++) {
		if (cli_is_help(argv[i])) {
			fputs(USAGE, stdout);
			return 0;
		}
		if (strcmp(argv[i], "--json") != 0) {
			fprintf(stderr, "deadbolt primitives: unexpected argument %s\n%s", argv[i], USAGE);
			return 2;
		}
		json = 1;
	}
	if (json)
		return print_json();
	print_table();
	return 0;
}
