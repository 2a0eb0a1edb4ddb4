/* creds — the credential provider chain (see creds.h), in botocore's order:
 * env; the profile (role_arn, then static keys from the credentials file,
 * credential_process, static keys from the config file); container; IMDS.
 * A provider that is configured but fails stops the chain with its error, as
 * in botocore; only "nothing configured here" moves on. No message holds a
 * secret; every buffer that held one is wiped. */
#include "creds.h"

#include <openssl/crypto.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "creds_internal.h"
#include "timestamp.h"

#define CREDS_MAX_CHAIN 5 /* profiles in one source_profile chain */
#define PROFILE_NAME_MAX 256

/* One resolution: the options and the profiles visited so far. */
typedef struct creds_ctx {
	const creds_options *o;
	long timeout_ms;
	char region[64]; /* for STS */
	char visited[CREDS_MAX_CHAIN][PROFILE_NAME_MAX];
	int nvisited;
} creds_ctx;

static int resolve_profile(creds_ctx *x, const char *name, int depth, aws_credentials *out,
			   aws_error *err);

void creds_wipe(aws_credentials *c)
{
	if (c)
		OPENSSL_cleanse(c, sizeof(*c));
}

int creds_expiring(const aws_credentials *c, time_t now, int margin_s)
{
	return c && c->expiration != 0 && c->expiration - now <= (time_t)margin_s;
}

int creds_copy(char *dst, size_t dstlen, const char *src, const char *what, aws_error *err)
{
	size_t n = strlen(src);
	if (n >= dstlen) {
		aws_error_set(err, "InvalidCredentials", "%s is longer than %zu bytes", what, dstlen - 1);
		return -1;
	}
	memcpy(dst, src, n + 1);
	return 0;
}

/* ---- time ----
 * Stricter than timestamp_parse_iso8601 on purpose: an expiry must be a full
 * "YYYY-MM-DDThh:mm:ss[.f]" with a zone, so a truncated or naive one is
 * refused rather than guessed at; a leap second (:60) passes. Only the
 * calendar arithmetic is timestamp.h's. */

static int num(const char *s, int n, int *out)
{
	int v = 0;
	for (int i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return -1;
		v = v * 10 + (s[i] - '0');
	}
	*out = v;
	return 0;
}

/* "Z", "+hh:mm", "-hh:mm" or "+hhmm" after the seconds: offset in seconds. */
static int parse_zone(const char *s, long *off)
{
	int hh, mm;
	if ((s[0] == 'Z' || s[0] == 'z') && s[1] == '\0') {
		*off = 0;
		return 0;
	}
	if ((s[0] != '+' && s[0] != '-') || num(s + 1, 2, &hh) != 0)
		return -1;
	const char *m = s + 3 + (s[3] == ':');
	if (num(m, 2, &mm) != 0 || m[2] != '\0' || hh > 23 || mm > 59)
		return -1;
	*off = (s[0] == '-' ? -1 : 1) * (hh * 3600L + mm * 60L);
	return 0;
}

int creds_parse_time(const char *s, time_t *out)
{
	int y, mo, d, h, mi, se;
	long off;
	if (!s || strlen(s) < 20 || num(s, 4, &y) || s[4] != '-' || num(s + 5, 2, &mo) ||
	    s[7] != '-' || num(s + 8, 2, &d) || (s[10] != 'T' && s[10] != 't') ||
	    num(s + 11, 2, &h) || s[13] != ':' || num(s + 14, 2, &mi) || s[16] != ':' ||
	    num(s + 17, 2, &se))
		return -1;
	const char *z = s + 19;
	if (*z == '.') {
		size_t nf = strspn(z + 1, "0123456789");
		if (nf == 0 || nf > 9)
			return -1;
		z += 1 + nf;
	}
	if (parse_zone(z, &off) != 0 || mo < 1 || mo > 12 || d < 1 ||
	    d > timestamp_days_in_month(y, mo) || h > 23 || mi > 59 || se > 60)
		return -1;
	long long t = (long long)timestamp_days_from_civil(y, mo, d) * 86400LL + h * 3600LL +
		      mi * 60LL + se - off;
	*out = (time_t)t;
	return 0;
}

/* ---- checks ---- */

static int printable(const char *s)
{
	for (; *s; s++)
		if ((unsigned char)*s <= 0x20 || (unsigned char)*s >= 0x7f)
			return 0;
	return 1;
}

/* Whatever a provider returned goes into HTTP headers: printable ASCII only. */
static int creds_check(const aws_credentials *c, aws_error *err)
{
	const char *bad = !c->access_key_id[0] || !printable(c->access_key_id) ? "access key id"
		: !c->secret_access_key[0] || !printable(c->secret_access_key) ? "secret access key"
		: !printable(c->session_token) ? "session token" : NULL;
	if (!bad)
		return 0;
	aws_error_set(err, "InvalidCredentials", "the %s credentials have a malformed %s",
		      c->source[0] ? c->source : "resolved", bad);
	return -1;
}

static void set_source(aws_credentials *c, const char *src)
{
	snprintf(c->source, sizeof(c->source), "%s", src);
}

/* ---- environment ---- */

static const char *env_nonempty(const char *name)
{
	const char *v = getenv(name);
	return v && *v ? v : NULL;
}

/* botocore's EnvProvider: no AWS_ACCESS_KEY_ID means nothing here; the key
 * without the secret is an error. The token is the first set of
 * AWS_SECURITY_TOKEN and AWS_SESSION_TOKEN (botocore's order). */
static int env_provider(aws_credentials *out, aws_error *err)
{
	const char *ak = env_nonempty("AWS_ACCESS_KEY_ID");
	const char *sk = env_nonempty("AWS_SECRET_ACCESS_KEY");
	const char *tok = env_nonempty("AWS_SECURITY_TOKEN");
	const char *exp = env_nonempty("AWS_CREDENTIAL_EXPIRATION");
	if (!ak)
		return 1;
	if (!sk) {
		aws_error_set(err, "PartialCredentials",
			      "AWS_ACCESS_KEY_ID is set but AWS_SECRET_ACCESS_KEY is not");
		return -1;
	}
	if (!tok)
		tok = env_nonempty("AWS_SESSION_TOKEN");
	if (creds_copy(out->access_key_id, sizeof(out->access_key_id), ak, "AWS_ACCESS_KEY_ID", err) ||
	    creds_copy(out->secret_access_key, sizeof(out->secret_access_key), sk,
		       "AWS_SECRET_ACCESS_KEY", err) ||
	    creds_copy(out->session_token, sizeof(out->session_token), tok ? tok : "",
		       "AWS_SESSION_TOKEN", err))
		return -1;
	if (exp && creds_parse_time(exp, &out->expiration) != 0) {
		aws_error_set(err, "InvalidCredentials", "AWS_CREDENTIAL_EXPIRATION is not an ISO-8601 time");
		return -1;
	}
	set_source(out, "env");
	return 0;
}

/* ---- profile: static keys ---- */

/* Static keys of profile in one file. 1 when the file has no access key. */
static int file_keys(const char *which, const char *profile, aws_credentials *out,
		     aws_error *err)
{
	int rc = -1;
	if (config_get(which, profile, "aws_access_key_id", out->access_key_id,
		       sizeof(out->access_key_id)) != 0 || !out->access_key_id[0]) {
		rc = 1;
		goto out;
	}
	if (config_get(which, profile, "aws_secret_access_key", out->secret_access_key,
		       sizeof(out->secret_access_key)) != 0 || !out->secret_access_key[0]) {
		aws_error_set(err, "PartialCredentials",
			      "profile %s in the %s file has aws_access_key_id but no usable "
			      "aws_secret_access_key", profile, which);
		goto out;
	}
	if (config_get(which, profile, "aws_session_token", out->session_token,
		       sizeof(out->session_token)) != 0)
		config_get(which, profile, "aws_security_token", out->session_token,
			   sizeof(out->session_token));
	set_source(out, "profile");
	rc = 0;
out:
	if (rc != 0)
		creds_wipe(out);
	return rc;
}

static int has_key(const char *profile, const char *key)
{
	char v[4096]; /* a longer value reads as absent */
	int rc = config_profile_get(profile, key, v, sizeof(v)) == 0 && v[0];
	OPENSSL_cleanse(v, sizeof(v));
	return rc;
}

/* Keys or credential_process, in botocore's order. 1: none of them. */
static int profile_keys_or_process(creds_ctx *x, const char *name, aws_credentials *out,
				   aws_error *err)
{
	char cmd[8192];
	int rc = file_keys("credentials", name, out, err);
	if (rc != 1)
		return rc;
	if (config_profile_get(name, "credential_process", cmd, sizeof(cmd)) == 0 && cmd[0]) {
		rc = creds_process(name, cmd, x->timeout_ms, out, err);
		OPENSSL_cleanse(cmd, sizeof(cmd));
		return rc;
	}
	return file_keys("config", name, out, err);
}

/* ---- profile: assume role ---- */

/* Settings deadbolt cannot honour; silently skipping them would pick
 * different credentials than the AWS CLI. */
static int unsupported(const char *name, aws_error *err)
{
	static const char *const keys[] = {"web_identity_token_file", "sso_session",
					   "sso_start_url", "mfa_serial"};
	for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++) {
		if (strcmp(keys[i], "mfa_serial") == 0 && !has_key(name, "role_arn"))
			continue; /* mfa_serial only matters for a role */
		if (has_key(name, keys[i])) {
			aws_error_set(err, "InvalidConfig", "profile %s uses %s, which deadbolt does not support",
				      name, keys[i]);
			return -1;
		}
	}
	return 0;
}

static int credential_source(creds_ctx *x, const char *name, const char *src,
			     aws_credentials *out, aws_error *err)
{
	char reason[128] = "";
	int rc;
	if (strcmp(src, "Environment") == 0)
		rc = env_provider(out, err);
	else if (strcmp(src, "EcsContainer") == 0)
		rc = creds_container(x->timeout_ms, out, err);
	else if (strcmp(src, "Ec2InstanceMetadata") == 0)
		rc = creds_imds(x->o->imds_endpoint, x->o->timeout_ms, out, err, reason, sizeof(reason));
	else {
		aws_error_set(err, "InvalidConfig", "profile %s: unknown credential_source \"%.40s\"",
			      name, src);
		return -1;
	}
	if (rc == 1)
		aws_error_set(err, "NoCredentials", "profile %s: credential_source %s has no credentials%s%s",
			      name, src, reason[0] ? ": " : "", reason);
	return rc == 0 ? 0 : -1;
}

static int visited(const creds_ctx *x, const char *name)
{
	for (int i = 0; i < x->nvisited; i++)
		if (strcmp(x->visited[i], name) == 0)
			return 1;
	return 0;
}

/* The credentials a role profile assumes from: its source_profile's. */
static int source_profile(creds_ctx *x, const char *name, const char *src, int depth,
			  aws_credentials *out, aws_error *err)
{
	int rc;
	if (strcmp(src, name) == 0) {
		/* botocore: a profile may name itself when it has static keys. */
		rc = file_keys("credentials", name, out, err);
		if (rc == 1)
			rc = file_keys("config", name, out, err);
	} else if (visited(x, src) || depth + 1 >= CREDS_MAX_CHAIN) {
		aws_error_set(err, "InvalidConfig", "profile %s: source_profile %s %s", name, src,
			      visited(x, src) ? "makes a cycle" : "chain is too long");
		return -1;
	} else {
		rc = resolve_profile(x, src, depth + 1, out, err);
	}
	if (rc == 1)
		aws_error_set(err, "NoCredentials", "profile %s: source_profile %s has no credentials",
			      name, src);
	return rc == 0 ? 0 : -1;
}

/* The role's settings from the profile. */
typedef struct role_config {
	char role_arn[2048];
	char session_name[128];
	char external_id[1300];
	int has_external_id;
	int duration_seconds;
} role_config;

static int read_role_config(const char *name, role_config *rc, aws_error *err)
{
	char dur[32];
	if (config_profile_get(name, "role_session_name", rc->session_name, sizeof(rc->session_name)) != 0 ||
	    !rc->session_name[0])
		snprintf(rc->session_name, sizeof(rc->session_name), "deadbolt-%lld", (long long)time(NULL));
	rc->has_external_id = config_profile_get(name, "external_id", rc->external_id,
						 sizeof(rc->external_id)) == 0 && rc->external_id[0];
	rc->duration_seconds = 0;
	if (config_profile_get(name, "duration_seconds", dur, sizeof(dur)) == 0 && dur[0]) {
		char *end;
		long v = strtol(dur, &end, 10);
		if (*end || v < 900 || v > 43200) {
			aws_error_set(err, "InvalidConfig",
				      "profile %s: duration_seconds must be 900..43200", name);
			return -1;
		}
		rc->duration_seconds = (int)v;
	}
	return 0;
}

static int call_sts(creds_ctx *x, const aws_credentials *src, const role_config *r,
		    aws_credentials *out, aws_error *err)
{
	const creds_options *o = x->o;
	const char *ext = r->has_external_id ? r->external_id : NULL;
	int rc;
	if (o->assume_role_ex) {
		creds_assume_role_params p = {r->role_arn, r->session_name, ext, x->region,
					      r->duration_seconds};
		rc = o->assume_role_ex(o->assume_role_ud, src, &p, out, err);
	} else {
		rc = o->assume_role(o->assume_role_ud, src, r->role_arn, r->session_name, ext,
				    x->region, out, err);
	}
	if (rc != 0 && err && !err->code[0])
		aws_error_set(err, "AssumeRoleFailed", "STS AssumeRole failed");
	if (rc == 0)
		set_source(out, "assume-role");
	return rc == 0 ? 0 : -1;
}

static int assume_from_profile(creds_ctx *x, const char *name, int depth, aws_credentials *out,
			       aws_error *err)
{
	char sp[PROFILE_NAME_MAX], cs[64];
	role_config r;
	aws_credentials src;
	int rc = -1;
	memset(&src, 0, sizeof(src));
	memset(&r, 0, sizeof(r));
	int has_sp = config_profile_get(name, "source_profile", sp, sizeof(sp)) == 0 && sp[0];
	int has_cs = config_profile_get(name, "credential_source", cs, sizeof(cs)) == 0 && cs[0];
	if (has_sp == has_cs) {
		aws_error_set(err, "InvalidConfig", "profile %s has role_arn and %s", name,
			      has_sp ? "both source_profile and credential_source"
				     : "neither source_profile nor credential_source");
		goto out;
	}
	if (!x->o->assume_role && !x->o->assume_role_ex) {
		aws_error_set(err, "InvalidConfig", "profile %s needs STS AssumeRole, which is not available here", name);
		goto out;
	}
	if (config_profile_get(name, "role_arn", r.role_arn, sizeof(r.role_arn)) != 0 ||
	    read_role_config(name, &r, err) != 0)
		goto out;
	rc = has_sp ? source_profile(x, name, sp, depth, &src, err)
		    : credential_source(x, name, cs, &src, err);
	if (rc == 0 && (rc = creds_check(&src, err)) == 0)
		rc = call_sts(x, &src, &r, out, err);
out:
	creds_wipe(&src);
	OPENSSL_cleanse(&r, sizeof(r));
	return rc;
}

static int resolve_profile(creds_ctx *x, const char *name, int depth, aws_credentials *out,
			   aws_error *err)
{
	if (strlen(name) >= PROFILE_NAME_MAX || x->nvisited >= CREDS_MAX_CHAIN) {
		aws_error_set(err, "InvalidConfig", "profile name too long or chain too deep");
		return -1;
	}
	snprintf(x->visited[x->nvisited++], PROFILE_NAME_MAX, "%s", name);
	if (unsupported(name, err) != 0)
		return -1;
	/* botocore: a source profile with static keys is used as is, even with a role. */
	int keys_first = depth > 0 && has_key(name, "aws_access_key_id");
	if (has_key(name, "role_arn") && !keys_first)
		return assume_from_profile(x, name, depth, out, err);
	return profile_keys_or_process(x, name, out, err);
}

static int profile_provider(creds_ctx *x, const char *profile, aws_credentials *out,
			    aws_error *err)
{
	if (strcmp(profile, "default") != 0 && !config_profile_exists(profile)) {
		aws_error_set(err, "ProfileNotFound", "the config profile (%s) could not be found", profile);
		return -1;
	}
	return resolve_profile(x, profile, 0, out, err);
}

/* ---- the chain ---- */

static void sts_region(creds_ctx *x, const char *profile)
{
	if (config_region(x->o->region, profile, x->region, sizeof(x->region)) != 0 || !x->region[0])
		snprintf(x->region, sizeof(x->region), "us-east-1");
}

/* botocore drops the environment provider for an explicit profile. Callers
 * may pass the resolved name, so only a name that AWS_PROFILE (or "default")
 * would not give counts as explicit. */
static int profile_is_explicit(const creds_options *o)
{
	return o->profile && *o->profile && strcmp(o->profile, config_profile_name(NULL)) != 0;
}

static int run_chain(creds_ctx *x, const char *profile, aws_credentials *out, aws_error *err)
{
	char reason[160] = "";
	int skip_env = profile_is_explicit(x->o);
	int rc = skip_env ? 1 : env_provider(out, err);
	if (rc == 1)
		rc = profile_provider(x, profile, out, err);
	if (rc == 1)
		rc = creds_container(x->timeout_ms, out, err);
	if (rc == 1)
		rc = creds_imds(x->o->imds_endpoint, x->o->timeout_ms, out, err, reason, sizeof(reason));
	if (rc == 1)
		aws_error_set(err, "NoCredentials",
			      "no AWS credentials found (tried %sprofile %s, container, IMDS%s%s)",
			      skip_env ? "" : "env, ", profile, reason[0] ? ": " : "", reason);
	return rc == 0 ? 0 : -1;
}

int creds_resolve(const creds_options *o, aws_credentials *out, aws_error *err)
{
	static const creds_options none;
	creds_ctx *x = calloc(1, sizeof(*x));
	int rc = -1;
	if (!o)
		o = &none;
	memset(out, 0, sizeof(*out));
	if (!x) {
		aws_error_set(err, "InternalError", "out of memory");
		return -1;
	}
	x->o = o;
	x->timeout_ms = o->timeout_ms > 0 ? o->timeout_ms : CREDS_DEFAULT_TIMEOUT_MS;
	const char *profile = config_profile_name(o->profile);
	sts_region(x, profile);
	rc = run_chain(x, profile, out, err);
	if (rc == 0)
		rc = creds_check(out, err);
	if (rc != 0)
		creds_wipe(out);
	free(x);
	return rc;
}
