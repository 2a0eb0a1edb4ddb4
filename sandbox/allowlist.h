/* allowlist — the AWS operations a playbook may call. The table itself is in
 * allowlist.c, one line an operation: service, operation, read or write, and
 * the operation that undoes it. An operation not on it does not exist for a
 * playbook. Static data; nothing here allocates. */
#ifndef DEADBOLT_ALLOWLIST_H
#define DEADBOLT_ALLOWLIST_H

#include <stddef.h>

typedef enum allow_access { ALLOW_READ, ALLOW_WRITE } allow_access;

typedef struct allow_entry {
	const char *service;   /* boto3 client name: "ec2" */
	const char *operation; /* model name: "CreateSnapshot" */
	allow_access access;
	const char *undo;      /* operation that reverses it, or NULL with the reason in why */
	const char *why;       /* one line: why a playbook needs it / why no undo */
} allow_entry;

/* By model name ("CreateSnapshot") or boto3 name ("create_snapshot"). */
const allow_entry *allowlist_find(const char *service, const char *operation);
size_t allowlist_count(void);
const allow_entry *allowlist_at(size_t i);

/* One line on what the entry's arguments must be, for people (`deadbolt
 * primitives`): the entry's argument rule where it has one, else its why.
 * Static text; never NULL for an entry of the list. */
const char *allowlist_rule_text(const allow_entry *e);

#endif
