/* account — which account a finding's run answers in, and with which
 * credentials. The run layer's business: playbooks never see it.
 *
 * A finding names its account (finding.c fills accountId from the arn or
 * the event when it lacks one). Before the run's sandbox is made, the
 * account is compared with the caller's (the client's own credentials, sts
 * GetCallerIdentity, asked once per process):
 *   - the same account: the run goes on with the client's own credentials;
 *   - another account: config.lua's accounts.role_name is assumed in it
 *     (arn:PARTITION:iam::ACCOUNT:role/NAME, with accounts.external_id) and
 *     every call of the run is signed with those credentials; the playbooks
 *     see QUARANTINE_PROFILE_ARN as that account's quarantine profile;
 *   - no role name, a failed AssumeRole, or no caller account: the run is
 *     refused (failed, the reason names the account and the role) before
 *     anything is sent in the finding's account, and the notification goes
 *     out from the caller's account (a dry run only journals it).
 * A runner whose calls go to runner_options.call_override, or that has no
 * client, has no account to compare with: its runs go on as they are.
 *
 * Ownership: an account_state belongs to its runner. It keeps the assumed
 * credentials of each account until shortly before they expire, and wipes
 * them then, when AssumeRole for that account fails, and when freed. */
#ifndef DEADBOLT_ACCOUNT_H
#define DEADBOLT_ACCOUNT_H

#include <stddef.h>

#include "sandbox.h"

typedef struct account_state account_state;
typedef struct run run;

/* config.lua's accounts section (docs/accounts.md). */
typedef struct account_settings {
	char role_name[65];          /* "": member accounts' findings are refused */
	char external_id[1225];      /* "": none */
	int session_seconds;         /* 900..43200; 0: STS's default */
	char quarantine_profile[129]; /* the instance profile's name in a member account */
} account_settings;

#define ACCOUNT_DEFAULT_QUARANTINE_PROFILE "deadbolt-quarantine"

account_state *account_state_new(void);
void account_state_free(account_state *a);

/* Reads the accounts section of dir/config.lua, loaded in sb (a sandbox
 * whose calls are refused). No config.lua, or no section: no role (member
 * accounts refused). 0, or -1 with err naming the bad setting. */
int account_load_settings(account_state *a, sandbox *sb, const char *dir, char *err, size_t errlen);

/* The settings account_load_settings read (restore assumes the journal's
 * role with them). Borrowed from a. */
const account_settings *account_get_settings(const account_state *a);

/* The value rules of the settings, shared with config_schema.c. */
int account_valid_iam_name(const char *s, size_t max); /* [A-Za-z0-9+=,.@_-]{1,max} */
int account_valid_external_id(const char *s);          /* [A-Za-z0-9+=,.@:/_-]{2,1224} */

/* Before the run's sandbox is made, with the client's region set to the
 * run's: picks the run's credentials and journals the decision (an
 * "account" line). 0: the run goes on; -1: refused, rn->outcome failed and
 * rn->reason say why, nothing was sent in the finding's account. Runs
 * needing more than margin_s seconds of the assumed credentials get fresh
 * ones. */
int account_enter(run *rn, double margin_s);

/* After the run (refused or not): the client's own credentials again. */
void account_leave(run *rn);

/* ctx.env's value i (RUN_ENV_NAMES) for this run: the runner's, except
 * QUARANTINE_PROFILE_ARN in a member account. NULL when unset. */
const char *account_env(const run *rn, size_t i);

/* Adds the run's region and account to an authorisation error's message
 * (AccessDenied, UnauthorizedOperation, AuthFailure, UnrecognizedClient,
 * InvalidClientTokenId, OptInRequired ...), which in another region or
 * account usually means the role cannot act there. */
void account_explain_error(const run *rn, aws_error *err);

#endif
