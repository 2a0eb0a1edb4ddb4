/* allowlist — the AWS operations a playbook may call. The table itself is in
 * allowlist.c, one line an operation: service, operation, read or write, the
 * operation that undoes it, and for a write the rule its arguments must
 * follow (checked in rules.c before the call leaves the sandbox). An
 * operation not on it does not exist for a playbook. Static data; nothing
 * here allocates. */
#ifndef DEADBOLT_ALLOWLIST_H
#define DEADBOLT_ALLOWLIST_H

#include <lua.h>
#include <stddef.h>

typedef enum allow_access { ALLOW_READ, ALLOW_WRITE } allow_access;

/* The argument rules (sandbox/rules.c says what each one checks). */
typedef enum allow_rule {
	RULE_NONE = 0,           /* a read: no rule */
	RULE_ANY,                /* a write any arguments of which contain and destroy nothing */
	RULE_PROTECT_ONLY,       /* ModifyInstanceAttribute: protections switched on, nothing else */
	RULE_NO_GROUP_TAG,       /* CreateTags, CreateSnapshot: never deadbolt's group tag */
	RULE_NEW_GROUP,          /* CreateSecurityGroup: the group tag, with a known role, on the group only */
	RULE_INGRESS_OWN_GROUP,  /* ingress only on deadbolt's allow-all group */
	RULE_EGRESS_OWN_GROUP,   /* egress on deadbolt's groups; the isolation group: tcp/443 to endpoints only */
	RULE_REVOKE_OWN_GROUP,   /* revoke only on deadbolt's groups */
	RULE_ENI_OWN_GROUPS,     /* ENIs moved only into deadbolt's groups */
	RULE_QUARANTINE_PROFILE, /* the profile attached is QUARANTINE_PROFILE_ARN */
	RULE_KEEP_CAPACITY,      /* detached without decrementing the desired capacity */
	RULE_CONFIG_COMMANDS,    /* SSM document and commands from config.lua, output to the run's prefix */
	RULE_BLOCK_ALL,          /* public access blocks only tightened: all four flags true */
	RULE_ACCOUNT_BLOCK_ALL,  /* the run's account's block only, all four flags true */
	RULE_EVIDENCE_OBJECT,    /* objects only new, only in the artifact bucket under the run's prefix */
	RULE_DENY_ONLY,          /* inline policies only deny, under the configured name */
	RULE_DEACTIVATE_ONLY,    /* access keys only made Inactive */
	RULE_OWN_TOPIC,          /* notifications only to NOTIFICATION_TOPIC_ARN */
	/* The undo-only writes (allowlist_undo_find): restore mode only. */
	RULE_UNDO_TAG,           /* DeleteTags: only a tag journaled as absent before */
	RULE_UNDO_MEMBER,        /* back into an ASG / load balancer / target group it was in */
	RULE_UNDO_NO_BLOCK,      /* DeletePublicAccessBlock: only where there was none before */
	RULE_UNDO_POLICY,        /* Delete*Policy: the revoke policy, absent before */
	RULE_DELETE_OWN_GROUP,   /* DeleteSecurityGroup: a group deadbolt created (--remove-groups) */
} allow_rule;

typedef struct allow_entry {
	const char *service;   /* boto3 client name: "ec2" */
	const char *operation; /* model name: "CreateSnapshot" */
	allow_access access;
	const char *undo;      /* operation that reverses it, or NULL with the reason in why */
	const char *why;       /* one line: why a playbook needs it / why no undo */
	allow_rule rule;       /* writes: what their arguments may be (RULE_NONE for reads) */
	const char *rule_why;  /* writes: one line, what the rule allows and why */
} allow_entry;

/* By model name ("CreateSnapshot") or boto3 name ("create_snapshot"). */
const allow_entry *allowlist_find(const char *service, const char *operation);
size_t allowlist_count(void);
const allow_entry *allowlist_at(size_t i);

/* The undo-only writes: operations no playbook may call, that restore
 * mode (sandbox_run.restore, sandbox_host_call) sends to put back a state
 * the journal recorded (DeleteTags, AttachInstances, Register...,
 * DeletePublicAccessBlock, Delete*Policy, RevokeSecurityGroupIngress,
 * DeleteSecurityGroup). By model name only; NULL when not one of them. */
const allow_entry *allowlist_undo_find(const char *service, const char *operation);
size_t allowlist_undo_count(void);
const allow_entry *allowlist_undo_at(size_t i);

/* The rule's short name, as refusals quote it: "deny-only". */
const char *allow_rule_name(allow_rule r);

/* For static analysis (`deadbolt check`): judges the literal parameters of
 * one call, the plain table at idx of any lua_State (only the members
 * written as literals; nested tables likewise), against e's rule, without a
 * run. What depends on the run (the artifact bucket, the run's prefix, the
 * groups deadbolt created, the configured commands) and members that are
 * absent are not judged. Reads only raw fields and runs no Lua; raises only
 * out of memory (call it protected).
 * Returns 0 when nothing is wrong as far as it can see, -1 with
 * "rule <name>: <why>" in err. */
int allow_rule_check_static(const allow_entry *e, lua_State *L, int idx, char *err, size_t errlen);

/* One line on what the entry's arguments must be, for people (`deadbolt
 * primitives`): the entry's argument rule where it has one, else its why.
 * Static text; never NULL for an entry of the list. */
const char *allowlist_rule_text(const allow_entry *e);

#endif
