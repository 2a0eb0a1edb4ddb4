/* account — which account a finding's run answers in, and with which
 * credentials. See account.h. */
#include "account.h"

#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <lauxlib.h>

#include "creds.h"
#include "journal.h"
#include "model.h"
#include "retry.h"
#include "run_int.h"

#define ACCOUNT_SLOTS 16           /* member accounts whose credentials are kept */
#define SESSION_NAME "deadbolt-response"
#define SUBJECT_MAX 100            /* SNS: printable ASCII, one line */

typedef struct account_slot {
	char account[33]; /* finding_info's size; account ids are 12 digits */
	aws_credentials creds;
} account_slot;

struct account_state {
	account_settings set;
	account_slot slots[ACCOUNT_SLOTS];
	size_t next; /* the slot to replace next (round robin) */
};

account_state *account_state_new(void)
{
	account_state *a = calloc(1, sizeof(*a));
	if (a)
		snprintf(a->set.quarantine_profile, sizeof(a->set.quarantine_profile), "%s",
			 ACCOUNT_DEFAULT_QUARANTINE_PROFILE);
	return a;
}

static void slot_wipe(account_slot *s)
{
	creds_wipe(&s->creds);
	s->account[0] = '\0';
}

void account_state_free(account_state *a)
{
	if (!a)
		return;
	for (size_t i = 0; i < ACCOUNT_SLOTS; i++)
		slot_wipe(&a->slots[i]);
	free(a);
}

/* ---- settings ---- */

static int name_char(int c)
{
	return isalnum(c) || strchr("+=,.@_-", c);
}

int account_valid_iam_name(const char *s, size_t max)
{
	size_t n = strlen(s);
	for (size_t i = 0; i < n; i++)
		if (!name_char((unsigned char)s[i]))
			return 0;
	return n >= 1 && n <= max;
}

int account_valid_external_id(const char *s)
{
	size_t n = strlen(s);
	for (size_t i = 0; i < n; i++)
		if (!name_char((unsigned char)s[i]) && s[i] != ':' && s[i] != '/')
			return 0;
	return n >= 2 && n <= 1224;
}

/* stack: ..., accounts. A string setting; 1 when absent, 0 when set, -1 bad. */
static int read_string(lua_State *L, const char *k, char *out, size_t n, char *err, size_t errlen)
{
	lua_pushstring(L, k);
	int t = lua_rawget(L, -2), rc = 1;
	if (t == LUA_TSTRING && lua_rawlen(L, -1) < n) {
		snprintf(out, n, "%s", lua_tostring(L, -1));
		rc = 0;
	} else if (t != LUA_TNIL) {
		snprintf(err, errlen, "config.lua: accounts.%s must be a string of at most %zu characters",
			 k, n - 1);
		rc = -1;
	}
	lua_pop(L, 1);
	return rc;
}

static int read_settings(lua_State *L, account_settings *s, char *err, size_t errlen)
{
	if (read_string(L, "role_name", s->role_name, sizeof(s->role_name), err, errlen) < 0 ||
	    read_string(L, "external_id", s->external_id, sizeof(s->external_id), err, errlen) < 0 ||
	    read_string(L, "quarantine_profile_name", s->quarantine_profile,
			sizeof(s->quarantine_profile), err, errlen) < 0)
		return -1;
	if (s->role_name[0] && !account_valid_iam_name(s->role_name, 64))
		snprintf(err, errlen, "config.lua: accounts.role_name \"%s\" is not an IAM role name",
			 s->role_name);
	else if (s->external_id[0] && !account_valid_external_id(s->external_id))
		snprintf(err, errlen, "config.lua: accounts.external_id is not a valid external id");
	else if (!account_valid_iam_name(s->quarantine_profile, 128))
		snprintf(err, errlen, "config.lua: accounts.quarantine_profile_name is not an IAM name");
	else
		err[0] = '\0';
	lua_pushstring(L, "session_seconds");
	int t = lua_rawget(L, -2);
	lua_Integer secs = lua_isinteger(L, -1) ? lua_tointeger(L, -1) : -1;
	lua_pop(L, 1);
	if (!err[0] && t != LUA_TNIL && (secs < 900 || secs > 43200))
		snprintf(err, errlen, "config.lua: accounts.session_seconds must be a whole number "
				      "from 900 to 43200");
	s->session_seconds = t == LUA_TNIL ? 0 : (int)secs;
	return err[0] ? -1 : 0;
}

int account_load_settings(account_state *a, sandbox *sb, const char *dir, char *err, size_t errlen)
{
	lua_State *L = sandbox_lua(sb);
	int top = lua_gettop(L), rc = -1;
	char path[4096];
	snprintf(path, sizeof(path), "%s/config.lua", dir);
	if (access(path, R_OK) != 0)
		return 0;
	if (sandbox_load_playbook(sb, "config.lua", err, errlen) != SANDBOX_OK)
		goto out;
	if (lua_gettop(L) > top && lua_istable(L, -1)) {
		lua_pushstring(L, "accounts");
		int t = lua_rawget(L, -2);
		if (t == LUA_TTABLE && read_settings(L, &a->set, err, errlen) != 0)
			goto out;
		if (t != LUA_TTABLE && t != LUA_TNIL) {
			snprintf(err, errlen, "config.lua: accounts must be a table of settings");
			goto out;
		}
	}
	rc = 0;
out:
	lua_settop(L, top);
	return rc;
}

/* ---- credentials per account ---- */

static account_slot *slot_of(account_state *a, const char *account)
{
	for (size_t i = 0; i < ACCOUNT_SLOTS; i++)
		if (strcmp(a->slots[i].account, account) == 0)
			return &a->slots[i];
	return NULL;
}

static account_slot *slot_new(account_state *a, const char *account)
{
	account_slot *s = &a->slots[a->next];
	a->next = (a->next + 1) % ACCOUNT_SLOTS;
	slot_wipe(s);
	snprintf(s->account, sizeof(s->account), "%s", account);
	return s;
}

/* The member account's credentials, assumed unless kept ones last margin_s
 * more seconds. 0, or -1 with err (the slot wiped). */
static int member_creds(run *rn, double margin_s, aws_credentials **out, aws_error *err)
{
	account_state *a = rn->r->accounts;
	account_slot *s = slot_of(a, rn->fi.account);
	if (s && !creds_expiring(&s->creds, time(NULL), (int)margin_s)) {
		*out = &s->creds;
		return 0;
	}
	if (!s)
		s = slot_new(a, rn->fi.account);
	creds_wipe(&s->creds);
	creds_assume_role_params p = {
		.role_arn = rn->role_arn,
		.session_name = SESSION_NAME,
		.external_id = a->set.external_id[0] ? a->set.external_id : NULL,
		.region = NULL, /* the client's, set to the run's */
		.duration_seconds = a->set.session_seconds,
	};
	if (aws_client_assume_role(rn->r->o.client, &p, &s->creds, err) != 0) {
		slot_wipe(s);
		return -1;
	}
	*out = &s->creds;
	return 0;
}

/* ---- the run ---- */

/* Fails the run with the reason. final: a new delivery of the finding would
 * be refused alike (a setting, or an AWS error no retry changes: the role
 * does not exist, its trust policy refuses), so Lambda need not retry it
 * and notify again (runner_failures_final); a throttled or unanswered STS
 * call is not final. */
static void refuse(run *rn, int final, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

static void refuse(run *rn, int final, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	rn->outcome = OUTCOME_FAILED;
	rn->final = final;
	vsnprintf(rn->reason, sizeof(rn->reason), fmt, ap);
	va_end(ap);
}

static void journal_account(run *rn, const char *caller, const char *decision,
			    const aws_error *err)
{
	jw *w = journal_line(rn->r->j, "account");
	jw_field_str(w, "finding_account", rn->fi.account);
	jw_field_str(w, "caller_account", caller[0] ? caller : NULL);
	jw_field_str(w, "region", rn->region);
	jw_field_str(w, "role", rn->role_arn[0] ? rn->role_arn : NULL);
	jw_field_str(w, "decision", decision);
	if (err) {
		jw_field_str(w, "error", err->code);
		jw_field_str(w, "message", err->message);
	}
	journal_emit(rn->r->j);
}

/* ---- the notification of a refused run, from the caller's account ---- */

static void ascii_line(char *s)
{
	for (; *s; s++)
		if ((unsigned char)*s < 0x20 || (unsigned char)*s > 0x7e)
			*s = '?';
}

/* The topic's region: field 3 of arn:aws:sns:REGION:ACCOUNT:NAME. */
static void topic_region(const char *arn, char *out, size_t n)
{
	const char *s = arn;
	out[0] = '\0';
	for (int i = 0; i < 3 && s; i++) {
		s = strchr(s, ':');
		s = s ? s + 1 : NULL;
	}
	const char *end = s ? strchr(s, ':') : NULL;
	if (end && end > s && (size_t)(end - s) < n)
		snprintf(out, n, "%.*s", (int)(end - s), s);
}

/* stack: params. Fills the Publish parameters. */
static void publish_params(lua_State *L, const run *rn, const char *topic)
{
	char subject[256], msg[2048];
	snprintf(subject, sizeof(subject), "deadbolt failed: %s in account %s", rn->fi.type,
		 rn->fi.account);
	subject[SUBJECT_MAX] = '\0'; /* SNS's limit; the message has it whole */
	ascii_line(subject);
	snprintf(msg, sizeof(msg),
		 "deadbolt did not answer GuardDuty finding %s (%s, severity %g) of account %s "
		 "in %s.\n\n%s\n\nNothing was changed in account %s. To answer its findings, deploy "
		 "template-member.yaml there (docs/accounts.md) and name its role in config.lua's "
		 "accounts.role_name.\n",
		 rn->fi.id, rn->fi.type, rn->fi.severity, rn->fi.account, rn->region, rn->reason,
		 rn->fi.account);
	lua_pushstring(L, topic);
	lua_setfield(L, -2, "TopicArn");
	lua_pushstring(L, subject);
	lua_setfield(L, -2, "Subject");
	lua_pushstring(L, msg);
	lua_setfield(L, -2, "Message");
}

static void journal_notify(run *rn, const char *topic, const char *status, const aws_error *err)
{
	jw *w = journal_line(rn->r->j, "account_notify");
	jw_field_str(w, "op", "sns.Publish");
	jw_field_str(w, "topic", topic);
	jw_field_str(w, "status", status);
	if (err) {
		jw_field_str(w, "error", err->code);
		jw_field_str(w, "message", err->message);
	}
	journal_emit(rn->r->j);
}

/* Sends the refusal to NOTIFICATION_TOPIC_ARN with the client's own
 * credentials (no run credentials are set yet), in the topic's region. */
static void notify_refusal(run *rn)
{
	const char *topic = rn->r->env[2]; /* NOTIFICATION_TOPIC_ARN */
	const aws_operation *op = model_find_operation("sns", "Publish");
	aws_error err;
	char region[40];
	aws_error_clear(&err);
	if (!topic || !*topic) {
		journal_notify(rn, NULL, "not sent: no NOTIFICATION_TOPIC_ARN", NULL);
		return;
	}
	if (rn->r->o.dry_run) {
		journal_notify(rn, topic, "not sent: dry run", NULL);
		return;
	}
	lua_State *L = luaL_newstate();
	if (!L || !op) {
		if (L)
			lua_close(L);
		journal_notify(rn, topic, "not sent: out of memory", NULL);
		return;
	}
	topic_region(topic, region, sizeof(region));
	aws_client_set_region(rn->r->o.client, region);
	lua_newtable(L);
	publish_params(L, rn, topic);
	int rc = aws_call(rn->r->o.client, L, op, 1, &err);
	aws_client_set_region(rn->r->o.client, rn->region);
	lua_close(L);
	journal_notify(rn, topic, rc == 0 ? "sent" : "failed", rc == 0 ? NULL : &err);
}

/* ---- entering and leaving a run ---- */

static int has_client(const run *rn)
{
	return rn->r->o.client && !rn->r->o.call_override;
}

static int enter(run *rn, double margin_s, char *caller, size_t n)
{
	account_state *a = rn->r->accounts;
	aws_error err;
	aws_credentials *creds = NULL;
	aws_error_clear(&err);
	if (aws_client_caller_account(rn->r->o.client, caller, n, &err) != 0) {
		journal_account(rn, "", "refused", &err);
		refuse(rn, retry_classify(&err) == RETRY_NO,
		       "account %s: cannot tell the caller's account (sts.GetCallerIdentity: %s: %s), "
		       "so nothing is changed", rn->fi.account, err.code, err.message);
		return -1;
	}
	if (strcmp(caller, rn->fi.account) == 0) {
		journal_account(rn, caller, "own account", NULL);
		return 0;
	}
	if (!a->set.role_name[0]) {
		journal_account(rn, caller, "refused", NULL);
		refuse(rn, 1, "account %s is not this deployment's (%s) and config.lua names no "
			   "accounts.role_name to assume there, so nothing is changed", rn->fi.account,
		       caller);
		return -1;
	}
	snprintf(rn->role_arn, sizeof(rn->role_arn), "arn:%s:iam::%s:role/%s", rn->fi.partition,
		 rn->fi.account, a->set.role_name);
	if (member_creds(rn, margin_s, &creds, &err) != 0) {
		journal_account(rn, caller, "refused", &err);
		refuse(rn, retry_classify(&err) == RETRY_NO,
		       "account %s: cannot assume %s in %s (%s: %.200s), so nothing is changed",
		       rn->fi.account, rn->role_arn, rn->region, err.code, err.message);
		return -1;
	}
	snprintf(rn->profile_arn, sizeof(rn->profile_arn), "arn:%s:iam::%s:instance-profile/%s",
		 rn->fi.partition, rn->fi.account, a->set.quarantine_profile);
	aws_client_use_credentials(rn->r->o.client, creds);
	journal_account(rn, caller, "assumed role", NULL);
	return 0;
}

int account_enter(run *rn, double margin_s)
{
	char caller[16] = "";
	if (!has_client(rn))
		return 0;
	if (enter(rn, margin_s, caller, sizeof(caller)) == 0)
		return 0;
	notify_refusal(rn);
	return -1;
}

void account_leave(run *rn)
{
	if (has_client(rn))
		aws_client_use_credentials(rn->r->o.client, NULL);
}

const char *account_env(const run *rn, size_t i)
{
	if (i == 1 && rn->profile_arn[0] && rn->r->env[i]) /* QUARANTINE_PROFILE_ARN */
		return rn->profile_arn;
	return rn->r->env[i];
}

void account_explain_error(const run *rn, aws_error *err)
{
	static const char *const auth[] = {
		"AccessDenied", "AccessDeniedException", "UnauthorizedOperation", "AuthFailure",
		"UnrecognizedClientException", "UnrecognizedClient", "InvalidClientTokenId",
		"OptInRequired", "InvalidAccessKeyId", "SignatureDoesNotMatch", NULL,
	};
	int hit = 0;
	for (size_t i = 0; auth[i] && !hit; i++)
		hit = strcmp(err->code, auth[i]) == 0;
	if (!hit || strstr(err->message, " [region "))
		return;
	size_t len = strlen(err->message);
	snprintf(err->message + len, sizeof(err->message) - len, " [region %s, account %s%s%s]",
		 rn->region ? rn->region : "?", rn->fi.account, rn->role_arn[0] ? ", as " : "",
		 rn->role_arn);
}

const account_settings *account_get_settings(const account_state *a)
{
	return &a->set;
}
