/* cmd_primitives — `deadbolt primitives [--json]`: what a playbook may call,
 * from the allow-list (sandbox/allowlist.c): each primitive's boto3 name,
 * read or write, the operation that undoes it, and its rule (or why). */
#ifndef DEADBOLT_CMD_PRIMITIVES_H
#define DEADBOLT_CMD_PRIMITIVES_H

/* argv[0] is "primitives". Exit code: 0, or 2 for a usage error. */
int cmd_primitives(int argc, char **argv);

#endif
