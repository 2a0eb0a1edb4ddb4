/* test_creds — engine/aws/creds*.c without the network: the environment,
 * profiles (static keys, credential_process, role_arn chains through a fake
 * AssumeRole), time parsing and expiry. Each test runs in its own process
 * with a temporary HOME, no AWS_* variables and IMDS disabled (container and
 * IMDS are in test_creds_http). */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "creds.h"
#include "creds_internal.h"
#include "testutil.h"

static char home[256];

static void setup(void)
{
	tu_clear_aws_env();
	setenv("AWS_EC2_METADATA_DISABLED", "true", 1); /* never leave the machine */
	tu_home_create(home, sizeof(home), "/tmp/deadbolt-creds-XXXXXX");
	tu_home_mkdir(home, ".aws");
}

static void teardown(void)
{
	tu_home_remove(home);
}

static void put_config(const char *text)
{
	tu_put_text(home, ".aws/config", text, 0600);
}

static void put_credentials(const char *text)
{
	tu_put_text(home, ".aws/credentials", text, 0600);
}

/* A shell script in HOME; returns its path (static buffer). */
static const char *put_script(const char *name, const char *body)
{
	static char path[512];
	char text[8192];
	snprintf(text, sizeof(text), "#!/bin/sh\n%s", body);
	tu_put_text(home, name, text, 0755);
	snprintf(path, sizeof(path), "%s/%s", home, name);
	return path;
}

/* A profile whose credential_process is the script. */
static void process_profile(const char *script_body)
{
	char cfg[1024];
	snprintf(cfg, sizeof(cfg), "[default]\ncredential_process = %s\n", put_script("helper.sh", script_body));
	put_config(cfg);
}

static int resolve(const creds_options *o, aws_credentials *c, aws_error *e)
{
	memset(c, 0x5a, sizeof(*c)); /* garbage in: creds_resolve must clear it */
	aws_error_clear(e);
	return creds_resolve(o, c, e);
}

/* Nothing in err may contain any of the secret strings. */
static void assert_no_secret(const aws_error *e, const char *const *secrets)
{
	for (; *secrets; secrets++) {
		ck_assert_msg(!strstr(e->message, *secrets), "secret in message: %s", e->message);
		ck_assert_msg(!strstr(e->code, *secrets), "secret in code");
	}
}

/* ---- the environment ---- */

START_TEST(test_env_keys)
{
	aws_credentials c;
	aws_error e;
	setenv("AWS_ACCESS_KEY_ID", "AKIDENV", 1);
	setenv("AWS_SECRET_ACCESS_KEY", "envsecret", 1);
	ck_assert_int_eq(resolve(NULL, &c, &e), 0);
	ck_assert_str_eq(c.access_key_id, "AKIDENV");
	ck_assert_str_eq(c.secret_access_key, "envsecret");
	ck_assert_str_eq(c.session_token, "");
	ck_assert_str_eq(c.source, "env");
	ck_assert(c.expiration == 0);
	ck_assert_int_eq(creds_expiring(&c, time(NULL) + 100000000, 300), 0);
}
END_TEST

START_TEST(test_env_token_order_matches_botocore)
{
	aws_credentials c;
	aws_error e;
	setenv("AWS_ACCESS_KEY_ID", "ASIAENV", 1);
	setenv("AWS_SECRET_ACCESS_KEY", "envsecret", 1);
	setenv("AWS_SESSION_TOKEN", "session-token", 1);
	ck_assert_int_eq(resolve(NULL, &c, &e), 0);
	ck_assert_str_eq(c.session_token, "session-token");
	setenv("AWS_SECURITY_TOKEN", "security-token", 1); /* botocore reads it first */
	ck_assert_int_eq(resolve(NULL, &c, &e), 0);
	ck_assert_str_eq(c.session_token, "security-token");
}
END_TEST

/* botocore's EnvProvider: the key without the secret is an error, not a
 * fall-through to the next provider. */
START_TEST(test_env_key_without_secret_is_an_error)
{
	aws_credentials c;
	aws_error e;
	static const char *const secrets[] = {"AKIDLONELY", NULL};
	put_credentials("[default]\naws_access_key_id = AKIDFILE\naws_secret_access_key = filesecret\n");
	setenv("AWS_ACCESS_KEY_ID", "AKIDLONELY", 1);
	ck_assert_int_eq(resolve(NULL, &c, &e), -1);
	ck_assert_str_eq(e.code, "PartialCredentials");
	ck_assert_ptr_nonnull(strstr(e.message, "AWS_SECRET_ACCESS_KEY"));
	assert_no_secret(&e, secrets);
	ck_assert_str_eq(c.access_key_id, ""); /* wiped on failure */
}
END_TEST

/* ... while the secret without the key means "no env credentials". */
START_TEST(test_env_secret_without_key_falls_through)
{
	aws_credentials c;
	aws_error e;
	setenv("AWS_SECRET_ACCESS_KEY", "orphan", 1);
	put_credentials("[default]\naws_access_key_id = AKIDFILE\naws_secret_access_key = filesecret\n");
	ck_assert_int_eq(resolve(NULL, &c, &e), 0);
	ck_assert_str_eq(c.access_key_id, "AKIDFILE");
	ck_assert_str_eq(c.source, "profile");
}
END_TEST

START_TEST(test_env_expiration)
{
	aws_credentials c;
	aws_error e;
	setenv("AWS_ACCESS_KEY_ID", "ASIAENV", 1);
	setenv("AWS_SECRET_ACCESS_KEY", "envsecret", 1);
	setenv("AWS_CREDENTIAL_EXPIRATION", "2030-01-02T03:04:05Z", 1);
	ck_assert_int_eq(resolve(NULL, &c, &e), 0);
	ck_assert(c.expiration == (time_t)1893553445);
	setenv("AWS_CREDENTIAL_EXPIRATION", "soon", 1);
	ck_assert_int_eq(resolve(NULL, &c, &e), -1);
	ck_assert_str_eq(e.code, "InvalidCredentials");
}
END_TEST

START_TEST(test_env_value_with_control_character_is_refused)
{
	aws_credentials c;
	aws_error e;
	setenv("AWS_ACCESS_KEY_ID", "AKID\r\nX-Evil: 1", 1);
	setenv("AWS_SECRET_ACCESS_KEY", "envsecret", 1);
	ck_assert_int_eq(resolve(NULL, &c, &e), -1);
	ck_assert_str_eq(e.code, "InvalidCredentials");
	ck_assert_str_eq(c.access_key_id, "");
}
END_TEST

START_TEST(test_nothing_anywhere)
{
	aws_credentials c;
	aws_error e;
	ck_assert_int_eq(resolve(NULL, &c, &e), -1);
	ck_assert_str_eq(e.code, "NoCredentials");
	ck_assert_ptr_nonnull(strstr(e.message, "tried env, profile default, container, IMDS"));
	ck_assert_ptr_nonnull(strstr(e.message, "disabled"));
}
END_TEST

/* ---- profiles: selection and static keys ---- */

static const char TWO_PROFILES[] =
	"[default]\naws_access_key_id = AKIDDEFAULT\naws_secret_access_key = s-default\n"
	"[dev]\naws_access_key_id = AKIDDEV\naws_secret_access_key = s-dev\naws_session_token = tok-dev\n"
	"[prod]\naws_access_key_id = AKIDPROD\naws_secret_access_key = s-prod\n";

START_TEST(test_profile_selection)
{
	aws_credentials c;
	aws_error e;
	creds_options o = {0};
	put_credentials(TWO_PROFILES);
	ck_assert_int_eq(resolve(NULL, &c, &e), 0);
	ck_assert_str_eq(c.access_key_id, "AKIDDEFAULT");
	setenv("AWS_PROFILE", "dev", 1);
	ck_assert_int_eq(resolve(NULL, &c, &e), 0);
	ck_assert_str_eq(c.access_key_id, "AKIDDEV");
	ck_assert_str_eq(c.session_token, "tok-dev");
	o.profile = "prod"; /* explicit beats AWS_PROFILE */
	ck_assert_int_eq(resolve(&o, &c, &e), 0);
	ck_assert_str_eq(c.access_key_id, "AKIDPROD");
	ck_assert_str_eq(c.source, "profile");
}
END_TEST

START_TEST(test_missing_named_profile_is_an_error)
{
	aws_credentials c;
	aws_error e;
	creds_options o = {.profile = "typo"};
	put_credentials(TWO_PROFILES);
	ck_assert_int_eq(resolve(&o, &c, &e), -1);
	ck_assert_str_eq(e.code, "ProfileNotFound");
	ck_assert_ptr_nonnull(strstr(e.message, "typo"));
}
END_TEST

/* The AWS CLI's --profile wins over keys in the environment; AWS_PROFILE
 * does not. */
START_TEST(test_explicit_profile_skips_env_but_aws_profile_does_not)
{
	aws_credentials c;
	aws_error e;
	creds_options o = {.profile = "dev"};
	put_credentials(TWO_PROFILES);
	setenv("AWS_ACCESS_KEY_ID", "AKIDENV", 1);
	setenv("AWS_SECRET_ACCESS_KEY", "envsecret", 1);
	ck_assert_int_eq(resolve(&o, &c, &e), 0);
	ck_assert_str_eq(c.access_key_id, "AKIDDEV");
	setenv("AWS_PROFILE", "dev", 1);
	ck_assert_int_eq(resolve(NULL, &c, &e), 0);
	ck_assert_str_eq(c.access_key_id, "AKIDENV");
	ck_assert_int_eq(resolve(&o, &c, &e), 0); /* the resolved name: not explicit */
	ck_assert_str_eq(c.access_key_id, "AKIDENV");
}
END_TEST

START_TEST(test_credentials_file_beats_config_file)
{
	aws_credentials c;
	aws_error e;
	put_config("[profile dev]\naws_access_key_id = AKIDCONFIG\naws_secret_access_key = s-config\n"
		   "[profile cfgonly]\naws_access_key_id = AKIDCFGONLY\naws_secret_access_key = s-cfgonly\n");
	put_credentials("[dev]\naws_access_key_id = AKIDCREDS\naws_secret_access_key = s-creds\n");
	setenv("AWS_PROFILE", "dev", 1);
	ck_assert_int_eq(resolve(NULL, &c, &e), 0);
	ck_assert_str_eq(c.access_key_id, "AKIDCREDS");
	ck_assert_str_eq(c.secret_access_key, "s-creds");
	setenv("AWS_PROFILE", "cfgonly", 1);
	ck_assert_int_eq(resolve(NULL, &c, &e), 0);
	ck_assert_str_eq(c.access_key_id, "AKIDCFGONLY");
}
END_TEST

START_TEST(test_static_key_without_secret_is_an_error)
{
	aws_credentials c;
	aws_error e;
	static const char *const secrets[] = {"AKIDHALF", NULL};
	put_credentials("[default]\naws_access_key_id = AKIDHALF\n");
	ck_assert_int_eq(resolve(NULL, &c, &e), -1);
	ck_assert_str_eq(e.code, "PartialCredentials");
	assert_no_secret(&e, secrets);
}
END_TEST

/* A continuation line would put a newline in the key: refused, since the
 * key goes into an HTTP header. */
START_TEST(test_multiline_key_is_refused)
{
	aws_credentials c;
	aws_error e;
	put_credentials("[default]\naws_access_key_id = AKID\n  X-Injected: yes\naws_secret_access_key = s\n");
	ck_assert_int_eq(resolve(NULL, &c, &e), -1);
	ck_assert_str_eq(e.code, "InvalidCredentials");
}
END_TEST

START_TEST(test_unsupported_profile_settings_are_errors)
{
	aws_credentials c;
	aws_error e;
	put_config("[default]\nsso_session = corp\n");
	ck_assert_int_eq(resolve(NULL, &c, &e), -1);
	ck_assert_str_eq(e.code, "InvalidConfig");
	ck_assert_ptr_nonnull(strstr(e.message, "sso_session"));
}
END_TEST

/* ---- credential_process ---- */

START_TEST(test_process_json)
{
	aws_credentials c;
	aws_error e;
	process_profile("printf '%s' '{\"Version\": 1, \"AccessKeyId\": \"ASIAPROC\", "
			"\"SecretAccessKey\": \"proc-secret\", \"SessionToken\": \"proc-token\"}'\n");
	ck_assert_int_eq(resolve(NULL, &c, &e), 0);
	ck_assert_str_eq(c.access_key_id, "ASIAPROC");
	ck_assert_str_eq(c.secret_access_key, "proc-secret");
	ck_assert_str_eq(c.session_token, "proc-token");
	ck_assert_str_eq(c.source, "process");
	ck_assert(c.expiration == 0);
}
END_TEST

START_TEST(test_process_expiration)
{
	aws_credentials c;
	aws_error e;
	process_profile("echo '{\"Version\":1,\"AccessKeyId\":\"ASIAPROC\",\"SecretAccessKey\":\"x\","
			"\"SessionToken\":\"t\",\"Expiration\":\"2031-06-01T12:00:00.123Z\"}'\n");
	ck_assert_int_eq(resolve(NULL, &c, &e), 0);
	ck_assert(c.expiration == (time_t)1938081600);
	ck_assert_int_eq(creds_expiring(&c, (time_t)1938081600 - 301, 300), 0);
	ck_assert_int_eq(creds_expiring(&c, (time_t)1938081600 - 299, 300), 1);
}
END_TEST

/* Arguments reach the program as shlex would split them: no shell. */
START_TEST(test_process_arguments_without_shell)
{
	aws_credentials c;
	aws_error e;
	char cfg[1024];
	const char *script = put_script("args.sh",
		"[ \"$#\" = 3 ] || exit 3\n"
		"[ \"$1\" = 'two words' ] || exit 4\n"
		"[ \"$2\" = '$HOME;echo' ] || exit 5\n"
		"[ \"$3\" = 'it'\"'\"'s' ] || exit 6\n"
		"read line && exit 7\n" /* stdin is /dev/null */
		"echo '{\"Version\":1,\"AccessKeyId\":\"ASIAARGS\",\"SecretAccessKey\":\"x\"}'\n");
	snprintf(cfg, sizeof(cfg), "[default]\ncredential_process = %s \"two words\" '$HOME;echo' it\\'s\n",
		 script);
	put_config(cfg);
	ck_assert_msg(resolve(NULL, &c, &e) == 0, "%s", e.message);
	ck_assert_str_eq(c.access_key_id, "ASIAARGS");
}
END_TEST

START_TEST(test_process_timeout_kills_the_group)
{
	aws_credentials c;
	aws_error e;
	creds_options o = {.timeout_ms = 300};
	char pidfile[300], line[64], stat[128];
	snprintf(pidfile, sizeof(pidfile), "%s/sleeper.pid", home);
	char body[600];
	snprintf(body, sizeof(body), "sleep 30 &\necho $! > %s\nwait\n", pidfile);
	process_profile(body);
	struct timespec t0, t1;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	ck_assert_int_eq(resolve(&o, &c, &e), -1);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	ck_assert_str_eq(e.code, "CredentialProcessError");
	ck_assert_ptr_nonnull(strstr(e.message, "did not finish within 300 ms"));
	ck_assert_int_lt(t1.tv_sec - t0.tv_sec, 3);
	/* The script's own child (sleep) is gone too, or a zombie. */
	usleep(100 * 1000);
	FILE *f = fopen(pidfile, "r");
	ck_assert_ptr_nonnull(f);
	ck_assert_ptr_nonnull(fgets(line, sizeof(line), f));
	fclose(f);
	snprintf(stat, sizeof(stat), "/proc/%ld/stat", strtol(line, NULL, 10));
	f = fopen(stat, "r");
	if (f) {
		char buf[512] = "";
		ck_assert_ptr_nonnull(fgets(buf, sizeof(buf), f));
		fclose(f);
		ck_assert_msg(strstr(buf, ") Z ") != NULL, "sleep still running: %s", buf);
	}
}
END_TEST

START_TEST(test_process_garbage_output)
{
	aws_credentials c;
	aws_error e;
	static const char *const secrets[] = {"garbage-secret", NULL};
	process_profile("echo 'AccessKeyId=ASIA garbage-secret'\n");
	ck_assert_int_eq(resolve(NULL, &c, &e), -1);
	ck_assert_str_eq(e.code, "InvalidCredentials");
	ck_assert_ptr_nonnull(strstr(e.message, "not a JSON object"));
	assert_no_secret(&e, secrets);
}
END_TEST

/* Each row: the process's output and the words the error must contain. */
static const struct {
	const char *json, *why;
} BAD_PROCESS_JSON[] = {
	{"{\"Version\":2,\"AccessKeyId\":\"A\",\"SecretAccessKey\":\"S\"}", "Version"},
	{"{\"AccessKeyId\":\"A\",\"SecretAccessKey\":\"S\"}", "Version"},
	{"{\"Version\":1,\"SecretAccessKey\":\"S\"}", "AccessKeyId"},
	{"{\"Version\":1,\"AccessKeyId\":\"A\"}", "SecretAccessKey"},
	{"{\"Version\":1,\"AccessKeyId\":\"A\",\"SecretAccessKey\":\"S\",\"Expiration\":\"tomorrow\"}", "Expiration"},
	{"{\"Version\":1,\"AccessKeyId\":42,\"SecretAccessKey\":\"S\"}", "not a string"},
	{"{\"Version\":1,\"AccessKeyId\":\"A\",\"SecretAccessKey\":\"S\"} trailing", "not a JSON object"},
	{"{\"Version\":1,\"AccessKeyId\":\"A\",\"SecretAccessKey\":\"S\",}", "not a JSON object"},
	{"[1]", "not a JSON object"},
	{"{\"Version\":1,\"AccessKeyId\":\"A\\u0000B\",\"SecretAccessKey\":\"S\"}", "malformed"},
	{"{\"Version\":1,\"AccessKeyId\":\"A\",\"SecretAccessKey\":\"S\",\"x\":[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[1]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]}",
	 "not a JSON object"},
};

START_TEST(test_process_bad_json)
{
	aws_credentials c;
	aws_error e;
	char body[1024];
	snprintf(body, sizeof(body), "cat <<'EOF'\n%s\nEOF\n", BAD_PROCESS_JSON[_i].json);
	process_profile(body);
	ck_assert_int_eq(resolve(NULL, &c, &e), -1);
	ck_assert_str_eq(e.code, "InvalidCredentials");
	ck_assert_msg(strstr(e.message, BAD_PROCESS_JSON[_i].why) != NULL, "row %d: %s", _i, e.message);
}
END_TEST

START_TEST(test_process_json_escapes_and_nesting)
{
	aws_credentials c;
	aws_error e;
	process_profile("cat <<'EOF'\n"
			"{ \"Extra\": {\"a\": [1, 2.5e3, true, null, \"}\"]}, \"Version\" : 1,\n"
			"  \"AccessKeyId\": \"ASIA\\u0041\\/B\", \"SecretAccessKey\": \"s\\\\t\",\n"
			"  \"SessionToken\": null }\n"
			"EOF\n");
	ck_assert_msg(resolve(NULL, &c, &e) == 0, "%s", e.message);
	ck_assert_str_eq(c.access_key_id, "ASIAA/B");
	ck_assert_str_eq(c.secret_access_key, "s\\t");
	ck_assert_str_eq(c.session_token, "");
}
END_TEST

START_TEST(test_process_failures)
{
	aws_credentials c;
	aws_error e;
	process_profile("echo '{\"Version\":1,\"AccessKeyId\":\"A\",\"SecretAccessKey\":\"S\"}'\nexit 3\n");
	ck_assert_int_eq(resolve(NULL, &c, &e), -1);
	ck_assert_str_eq(e.code, "CredentialProcessError");
	ck_assert_ptr_nonnull(strstr(e.message, "status 3"));
	process_profile("head -c 100000 /dev/zero | tr '\\0' 'a'\n");
	ck_assert_int_eq(resolve(NULL, &c, &e), -1);
	ck_assert_ptr_nonnull(strstr(e.message, "more than 65536 bytes"));
	put_config("[default]\ncredential_process = /nonexistent/helper --x\n");
	ck_assert_int_eq(resolve(NULL, &c, &e), -1);
	ck_assert_ptr_nonnull(strstr(e.message, "status 127"));
	put_config("[default]\ncredential_process = helper \"unterminated\n");
	ck_assert_int_eq(resolve(NULL, &c, &e), -1);
	ck_assert_str_eq(e.code, "InvalidConfig");
}
END_TEST

/* Rows: a command line and the words shlex.split gives ("|" between words);
 * want NULL: shlex raises. Expected values come from Python's shlex.split. */
static const struct {
	const char *cmd, *want;
} SPLITS[] = {
	{"a b  c", "a|b|c"},
	{"  lead trail  ", "lead|trail"},
	{"'a b' \"c d\"", "a b|c d"},
	{"x'y'\"z\"", "xyz"},
	{"\"a\\\"b\" 'a\\b'", "a\"b|a\\b"},
	{"\"a\\nb\"", "a\\nb"},
	{"a\\ b", "a b"},
	{"\"\" x", "|x"},
	{"a#b #c", "a#b|#c"},
	{"tab\tsep\nnl", "tab|sep|nl"},
	{"'unterminated", NULL},
	{"\"unterminated", NULL},
	{"trailing\\", NULL},
	{"", ""},
};

START_TEST(test_split_like_shlex)
{
	char storage[256], *argv[16], joined[256] = "";
	int argc = creds_split_command(SPLITS[_i].cmd, storage, sizeof(storage), argv, 16);
	if (!SPLITS[_i].want) {
		ck_assert_int_eq(argc, -1);
		return;
	}
	ck_assert_int_ge(argc, 0);
	ck_assert_ptr_null(argv[argc]);
	for (int i = 0; i < argc; i++) {
		size_t n = strlen(joined);
		snprintf(joined + n, sizeof(joined) - n, "%s%s", i ? "|" : "", argv[i]);
	}
	ck_assert_str_eq(joined, SPLITS[_i].want);
}
END_TEST

START_TEST(test_split_limits)
{
	char storage[8], *argv[3];
	ck_assert_int_eq(creds_split_command("a b", storage, sizeof(storage), argv, 3), 2);
	ck_assert_int_eq(creds_split_command("a b c", storage, sizeof(storage), argv, 3), -1);
	ck_assert_int_eq(creds_split_command("abcdefgh", storage, sizeof(storage), argv, 3), -1);
}
END_TEST

/* ---- role_arn ---- */

typedef struct sts_call {
	char source_key[128], source_secret[128], role_arn[256], session[128], external_id[128],
		region[32];
	int has_external_id, duration;
} sts_call;

static sts_call calls[8];
static int ncalls;

static void record(const aws_credentials *src, const char *arn, const char *session,
		   const char *ext, const char *region, int duration)
{
	sts_call *k = &calls[ncalls++];
	memset(k, 0, sizeof(*k));
	snprintf(k->source_key, sizeof(k->source_key), "%s", src->access_key_id);
	snprintf(k->source_secret, sizeof(k->source_secret), "%s", src->secret_access_key);
	snprintf(k->role_arn, sizeof(k->role_arn), "%s", arn);
	snprintf(k->session, sizeof(k->session), "%s", session);
	k->has_external_id = ext != NULL;
	snprintf(k->external_id, sizeof(k->external_id), "%s", ext ? ext : "");
	snprintf(k->region, sizeof(k->region), "%s", region);
	k->duration = duration;
}

/* Returns "ASIAROLE<n>" so that a chain's second call can be checked. */
static void assumed(aws_credentials *out)
{
	memset(out, 0, sizeof(*out));
	snprintf(out->access_key_id, sizeof(out->access_key_id), "ASIAROLE%d", ncalls);
	snprintf(out->secret_access_key, sizeof(out->secret_access_key), "role-secret-%d", ncalls);
	snprintf(out->session_token, sizeof(out->session_token), "role-token-%d", ncalls);
	out->expiration = 2000000000;
}

static int fake_assume_role(void *ud, const aws_credentials *source, const char *role_arn,
			    const char *session_name, const char *external_id, const char *region,
			    aws_credentials *out, aws_error *err)
{
	ck_assert_ptr_eq(ud, &calls);
	if (ncalls >= 8 || strstr(role_arn, "deny")) {
		aws_error_set(err, "AccessDenied", "not authorized to assume %s", role_arn);
		return -1;
	}
	record(source, role_arn, session_name, external_id, region, -1);
	assumed(out);
	return 0;
}

static int fake_assume_role_ex(void *ud, const aws_credentials *source,
			       const creds_assume_role_params *p, aws_credentials *out, aws_error *err)
{
	(void)err;
	ck_assert_ptr_eq(ud, &calls);
	record(source, p->role_arn, p->session_name, p->external_id, p->region, p->duration_seconds);
	assumed(out);
	return 0;
}

START_TEST(test_role_with_source_profile)
{
	aws_credentials c;
	aws_error e;
	creds_options o = {.assume_role = fake_assume_role, .assume_role_ud = &calls};
	put_config("[default]\nrole_arn = arn:aws:iam::123456789012:role/responder\n"
		   "source_profile = base\nexternal_id = ext-42\nregion = eu-west-2\n");
	put_credentials("[base]\naws_access_key_id = AKIDBASE\naws_secret_access_key = s-base\n");
	time_t before = time(NULL);
	ck_assert_msg(resolve(&o, &c, &e) == 0, "%s", e.message);
	ck_assert_int_eq(ncalls, 1);
	ck_assert_str_eq(calls[0].source_key, "AKIDBASE");
	ck_assert_str_eq(calls[0].source_secret, "s-base");
	ck_assert_str_eq(calls[0].role_arn, "arn:aws:iam::123456789012:role/responder");
	ck_assert_int_eq(calls[0].has_external_id, 1);
	ck_assert_str_eq(calls[0].external_id, "ext-42");
	ck_assert_str_eq(calls[0].region, "eu-west-2");
	ck_assert_int_eq(strncmp(calls[0].session, "deadbolt-", 9), 0);
	long epoch = strtol(calls[0].session + 9, NULL, 10);
	ck_assert(epoch >= (long)before && epoch <= (long)time(NULL));
	ck_assert_str_eq(c.access_key_id, "ASIAROLE1");
	ck_assert_str_eq(c.session_token, "role-token-1");
	ck_assert_str_eq(c.source, "assume-role");
	ck_assert(c.expiration == 2000000000);
}
END_TEST

START_TEST(test_role_chain_in_order)
{
	aws_credentials c;
	aws_error e;
	creds_options o = {.assume_role = fake_assume_role, .assume_role_ud = &calls, .region = "us-west-1"};
	put_config("[profile top]\nrole_arn = arn:top\nsource_profile = middle\nrole_session_name = incident-7\n"
		   "[profile middle]\nrole_arn = arn:middle\nsource_profile = bottom\n");
	put_credentials("[bottom]\naws_access_key_id = AKIDBOTTOM\naws_secret_access_key = s-bottom\n");
	setenv("AWS_PROFILE", "top", 1);
	ck_assert_msg(resolve(&o, &c, &e) == 0, "%s", e.message);
	ck_assert_int_eq(ncalls, 2);
	ck_assert_str_eq(calls[0].role_arn, "arn:middle");
	ck_assert_str_eq(calls[0].source_key, "AKIDBOTTOM");
	ck_assert_str_eq(calls[1].role_arn, "arn:top");
	ck_assert_str_eq(calls[1].source_key, "ASIAROLE1");
	ck_assert_str_eq(calls[1].session, "incident-7");
	ck_assert_int_eq(calls[1].has_external_id, 0);
	ck_assert_str_eq(calls[1].region, "us-west-1");
	ck_assert_str_eq(c.access_key_id, "ASIAROLE2");
}
END_TEST

START_TEST(test_role_cycle_is_an_error)
{
	aws_credentials c;
	aws_error e;
	creds_options o = {.assume_role = fake_assume_role, .assume_role_ud = &calls};
	put_config("[profile a]\nrole_arn = arn:a\nsource_profile = b\n"
		   "[profile b]\nrole_arn = arn:b\nsource_profile = a\n"
		   "[profile self]\nrole_arn = arn:self\nsource_profile = self\n");
	setenv("AWS_PROFILE", "a", 1);
	ck_assert_int_eq(resolve(&o, &c, &e), -1);
	ck_assert_str_eq(e.code, "InvalidConfig");
	ck_assert_ptr_nonnull(strstr(e.message, "cycle"));
	ck_assert_int_eq(ncalls, 0);
	setenv("AWS_PROFILE", "self", 1); /* naming itself without keys */
	ck_assert_int_eq(resolve(&o, &c, &e), -1);
	ck_assert_int_eq(ncalls, 0);
}
END_TEST

START_TEST(test_role_chain_too_long)
{
	aws_credentials c;
	aws_error e;
	creds_options o = {.assume_role = fake_assume_role, .assume_role_ud = &calls};
	put_config("[profile p1]\nrole_arn = arn:1\nsource_profile = p2\n"
		   "[profile p2]\nrole_arn = arn:2\nsource_profile = p3\n"
		   "[profile p3]\nrole_arn = arn:3\nsource_profile = p4\n"
		   "[profile p4]\nrole_arn = arn:4\nsource_profile = p5\n"
		   "[profile p5]\nrole_arn = arn:5\nsource_profile = p6\n"
		   "[profile p6]\naws_access_key_id = AKID6\naws_secret_access_key = s6\n");
	setenv("AWS_PROFILE", "p1", 1);
	ck_assert_int_eq(resolve(&o, &c, &e), -1);
	ck_assert_str_eq(e.code, "InvalidConfig");
	ck_assert_int_eq(ncalls, 0);
}
END_TEST

/* botocore: a profile may be its own source when it has static keys. */
START_TEST(test_role_self_source_with_keys)
{
	aws_credentials c;
	aws_error e;
	creds_options o = {.assume_role = fake_assume_role, .assume_role_ud = &calls};
	put_config("[default]\nrole_arn = arn:self\nsource_profile = default\n");
	put_credentials("[default]\naws_access_key_id = AKIDSELF\naws_secret_access_key = s-self\n");
	ck_assert_msg(resolve(&o, &c, &e) == 0, "%s", e.message);
	ck_assert_int_eq(ncalls, 1);
	ck_assert_str_eq(calls[0].source_key, "AKIDSELF");
}
END_TEST

/* A source profile with static keys is used as is, even with a role. */
START_TEST(test_source_profile_keys_win_over_its_role)
{
	aws_credentials c;
	aws_error e;
	creds_options o = {.assume_role = fake_assume_role, .assume_role_ud = &calls};
	put_config("[default]\nrole_arn = arn:top\nsource_profile = src\n"
		   "[profile src]\nrole_arn = arn:ignored\nsource_profile = nowhere\n"
		   "aws_access_key_id = AKIDSRC\naws_secret_access_key = s-src\n");
	ck_assert_msg(resolve(&o, &c, &e) == 0, "%s", e.message);
	ck_assert_int_eq(ncalls, 1);
	ck_assert_str_eq(calls[0].role_arn, "arn:top");
	ck_assert_str_eq(calls[0].source_key, "AKIDSRC");
}
END_TEST

START_TEST(test_role_from_process_source)
{
	aws_credentials c;
	aws_error e;
	creds_options o = {.assume_role = fake_assume_role, .assume_role_ud = &calls};
	char cfg[1024];
	snprintf(cfg, sizeof(cfg), "[default]\nrole_arn = arn:r\nsource_profile = helper\n"
		 "[profile helper]\ncredential_process = %s\n",
		 put_script("h.sh", "echo '{\"Version\":1,\"AccessKeyId\":\"ASIAHELPER\",\"SecretAccessKey\":\"h\"}'\n"));
	put_config(cfg);
	ck_assert_msg(resolve(&o, &c, &e) == 0, "%s", e.message);
	ck_assert_str_eq(calls[0].source_key, "ASIAHELPER");
}
END_TEST

START_TEST(test_role_ex_gets_duration)
{
	aws_credentials c;
	aws_error e;
	creds_options o = {.assume_role_ex = fake_assume_role_ex, .assume_role_ud = &calls};
	put_config("[default]\nrole_arn = arn:d\nsource_profile = base\nduration_seconds = 1800\n"
		   "role_session_name = s1\n");
	put_credentials("[base]\naws_access_key_id = AKIDBASE\naws_secret_access_key = s-base\n");
	ck_assert_msg(resolve(&o, &c, &e) == 0, "%s", e.message);
	ck_assert_int_eq(calls[0].duration, 1800);
	ck_assert_str_eq(calls[0].session, "s1");
	ck_assert_str_eq(calls[0].region, "us-east-1"); /* no region configured */
	put_config("[default]\nrole_arn = arn:d\nsource_profile = base\nduration_seconds = 60\n");
	ck_assert_int_eq(resolve(&o, &c, &e), -1);
	ck_assert_str_eq(e.code, "InvalidConfig");
}
END_TEST

START_TEST(test_credential_source_environment)
{
	aws_credentials c;
	aws_error e;
	creds_options o = {.assume_role = fake_assume_role, .assume_role_ud = &calls, .profile = "r"};
	put_config("[profile r]\nrole_arn = arn:env-role\ncredential_source = Environment\n");
	setenv("AWS_ACCESS_KEY_ID", "AKIDENV", 1);
	setenv("AWS_SECRET_ACCESS_KEY", "envsecret", 1);
	ck_assert_msg(resolve(&o, &c, &e) == 0, "%s", e.message);
	ck_assert_int_eq(ncalls, 1);
	ck_assert_str_eq(calls[0].source_key, "AKIDENV");
	ck_assert_str_eq(c.access_key_id, "ASIAROLE1");
	unsetenv("AWS_ACCESS_KEY_ID");
	ck_assert_int_eq(resolve(&o, &c, &e), -1);
	ck_assert_str_eq(e.code, "NoCredentials");
}
END_TEST

/* Rows: profile text for [default], and the error code. */
static const struct {
	const char *cfg, *code, *words;
} ROLE_ERRORS[] = {
	{"role_arn = arn:x\n", "InvalidConfig", "neither"},
	{"role_arn = arn:x\nsource_profile = b\ncredential_source = Environment\n", "InvalidConfig", "both"},
	{"role_arn = arn:x\ncredential_source = Magic\n", "InvalidConfig", "Magic"},
	{"role_arn = arn:x\nsource_profile = empty\n", "NoCredentials", "empty"},
	{"role_arn = arn:deny\nsource_profile = b\n", "AccessDenied", "arn:deny"},
	{"role_arn = arn:x\nsource_profile = b\nmfa_serial = arn:mfa\n", "InvalidConfig", "mfa_serial"},
	{"role_arn = arn:x\nweb_identity_token_file = /t\n", "InvalidConfig", "web_identity"},
};

START_TEST(test_role_errors)
{
	aws_credentials c;
	aws_error e;
	creds_options o = {.assume_role = fake_assume_role, .assume_role_ud = &calls};
	char cfg[512];
	snprintf(cfg, sizeof(cfg), "[default]\n%s[profile empty]\nregion = x\n", ROLE_ERRORS[_i].cfg);
	put_config(cfg);
	put_credentials("[b]\naws_access_key_id = AKIDB\naws_secret_access_key = s-b\n");
	ck_assert_int_eq(resolve(&o, &c, &e), -1);
	ck_assert_str_eq(e.code, ROLE_ERRORS[_i].code);
	ck_assert_msg(strstr(e.message, ROLE_ERRORS[_i].words) != NULL, "row %d: %s", _i, e.message);
	ck_assert_str_eq(c.access_key_id, "");
}
END_TEST

START_TEST(test_role_without_callback)
{
	aws_credentials c;
	aws_error e;
	put_config("[default]\nrole_arn = arn:x\nsource_profile = b\n");
	put_credentials("[b]\naws_access_key_id = AKIDB\naws_secret_access_key = s-b\n");
	ck_assert_int_eq(resolve(NULL, &c, &e), -1);
	ck_assert_str_eq(e.code, "InvalidConfig");
}
END_TEST

/* ---- time ---- */

static const struct {
	const char *in;
	long long want; /* -1: malformed */
} TIMES[] = {
	{"1970-01-01T00:00:00Z", 0},
	{"2026-11-27T19:04:05Z", 1795806245},
	{"2026-11-27T19:04:05.123456Z", 1795806245},
	{"2026-11-27t19:04:05z", 1795806245},
	{"2026-11-27T21:04:05+02:00", 1795806245},
	{"2026-11-27T14:04:05-0500", 1795806245},
	{"2024-02-29T00:00:00Z", 1709164800},
	{"2000-03-01T00:00:00Z", 951868800},
	{"2023-02-29T00:00:00Z", -1},
	{"2026-13-01T00:00:00Z", -1},
	{"2026-00-01T00:00:00Z", -1},
	{"2026-11-31T00:00:00Z", -1},
	{"2026-11-27T24:00:00Z", -1},
	{"2026-11-27T19:60:00Z", -1},
	{"2026-11-27T19:04:05", -1},
	{"2026-11-27 19:04:05Z", -1},
	{"2026-11-27T19:04:05.Z", -1},
	{"2026-11-27T19:04:05ZZ", -1},
	{"2026-11-27T19:04:05+2:00", -1},
	{"2026-1-27T19:04:05Z", -1},
	{"", -1},
	{"not a time at all!!", -1},
};

START_TEST(test_parse_time)
{
	time_t t = 12345;
	int rc = creds_parse_time(TIMES[_i].in, &t);
	if (TIMES[_i].want < 0) {
		ck_assert_msg(rc == -1, "row %d accepted", _i);
		return;
	}
	ck_assert_msg(rc == 0, "row %d refused", _i);
	ck_assert_msg((long long)t == TIMES[_i].want, "row %d: %lld", _i, (long long)t);
}
END_TEST

START_TEST(test_expiring)
{
	aws_credentials c;
	memset(&c, 0, sizeof(c));
	ck_assert_int_eq(creds_expiring(&c, 0, 300), 0);
	c.expiration = 1000;
	ck_assert_int_eq(creds_expiring(&c, 600, 300), 0);
	ck_assert_int_eq(creds_expiring(&c, 700, 300), 1);
	ck_assert_int_eq(creds_expiring(&c, 2000, 300), 1);
	ck_assert_int_eq(creds_expiring(NULL, 0, 300), 0);
	creds_wipe(&c);
	ck_assert(c.expiration == 0);
}
END_TEST

static Suite *creds_suite(void)
{
	Suite *s = suite_create("creds");
	TCase *env = tcase_create("env");
	TCase *prof = tcase_create("profile");
	TCase *proc = tcase_create("process");
	TCase *role = tcase_create("role");
	TCase *misc = tcase_create("time");
	TCase *all[] = {env, prof, proc, role, misc};
	for (size_t i = 0; i < 5; i++) {
		tcase_add_checked_fixture(all[i], setup, teardown);
		tcase_set_timeout(all[i], 20);
		suite_add_tcase(s, all[i]);
	}
	tcase_add_test(env, test_env_keys);
	tcase_add_test(env, test_env_token_order_matches_botocore);
	tcase_add_test(env, test_env_key_without_secret_is_an_error);
	tcase_add_test(env, test_env_secret_without_key_falls_through);
	tcase_add_test(env, test_env_expiration);
	tcase_add_test(env, test_env_value_with_control_character_is_refused);
	tcase_add_test(env, test_nothing_anywhere);
	tcase_add_test(prof, test_profile_selection);
	tcase_add_test(prof, test_missing_named_profile_is_an_error);
	tcase_add_test(prof, test_explicit_profile_skips_env_but_aws_profile_does_not);
	tcase_add_test(prof, test_credentials_file_beats_config_file);
	tcase_add_test(prof, test_static_key_without_secret_is_an_error);
	tcase_add_test(prof, test_multiline_key_is_refused);
	tcase_add_test(prof, test_unsupported_profile_settings_are_errors);
	tcase_add_test(proc, test_process_json);
	tcase_add_test(proc, test_process_expiration);
	tcase_add_test(proc, test_process_arguments_without_shell);
	tcase_add_test(proc, test_process_timeout_kills_the_group);
	tcase_add_test(proc, test_process_garbage_output);
	tcase_add_loop_test(proc, test_process_bad_json, 0, NROWS(BAD_PROCESS_JSON));
	tcase_add_test(proc, test_process_json_escapes_and_nesting);
	tcase_add_test(proc, test_process_failures);
	tcase_add_loop_test(proc, test_split_like_shlex, 0, NROWS(SPLITS));
	tcase_add_test(proc, test_split_limits);
	tcase_add_test(role, test_role_with_source_profile);
	tcase_add_test(role, test_role_chain_in_order);
	tcase_add_test(role, test_role_cycle_is_an_error);
	tcase_add_test(role, test_role_chain_too_long);
	tcase_add_test(role, test_role_self_source_with_keys);
	tcase_add_test(role, test_source_profile_keys_win_over_its_role);
	tcase_add_test(role, test_role_from_process_source);
	tcase_add_test(role, test_role_ex_gets_duration);
	tcase_add_test(role, test_credential_source_environment);
	tcase_add_loop_test(role, test_role_errors, 0, NROWS(ROLE_ERRORS));
	tcase_add_test(role, test_role_without_callback);
	tcase_add_loop_test(misc, test_parse_time, 0, NROWS(TIMES));
	tcase_add_test(misc, test_expiring);
	return s;
}

int main(void)
{
	return tu_run(creds_suite());
}
