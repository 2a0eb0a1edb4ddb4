/* test_creds_http — the container and IMDSv2 providers of engine/aws/creds*.c
 * against tests/integration/fake_metadata.py on 127.0.0.1 (FAKE_METADATA
 * overrides the script's path; run from the repository root).
 *
 * The server is started once per test case (unchecked fixture, in the runner
 * process) and stopped in its teardown; it also dies with the runner
 * (PR_SET_PDEATHSIG) and on its own after a few minutes, so a failing or
 * crashing test cannot leave it behind. Every test has a temporary HOME, no
 * AWS_* variables and IMDS disabled unless it points IMDS at the fake. */
#include <check.h>
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "creds.h"
#include "testutil.h"
#include "testutil_pyserver.h"

static char home[256];

#define AUTH_TOKEN "fake-container-auth-token"

/* ---- the server (testutil_pyserver.h) ---- */

static const char *script_path(void)
{
	const char *env = getenv("FAKE_METADATA");
	return env && *env ? env : "tests/integration/fake_metadata.py";
}

static void server_start(void)
{
	static const char *const args[] = {"--auth-token", AUTH_TOKEN, "--max-seconds", "300", NULL};
	tu_server_start(script_path(), "imds", args);
}

/* How many logged requests contain needle. */
static int log_count(const char *needle)
{
	char line[1024];
	int n = 0;
	FILE *f = fopen(log_path, "r");
	if (!f)
		return 0;
	while (fgets(line, sizeof(line), f))
		n += strstr(line, needle) != NULL;
	fclose(f);
	return n;
}

static int log_lines(void)
{
	return log_count("");
}

/* ---- per test ---- */

static void setup(void)
{
	tu_clear_aws_env();
	setenv("AWS_EC2_METADATA_DISABLED", "true", 1);
	tu_home_create(home, sizeof(home), "/tmp/deadbolt-credshttp-XXXXXX");
	FILE *f = fopen(log_path, "w"); /* a fresh request log */
	ck_assert_ptr_nonnull(f);
	fclose(f);
}

static void teardown(void)
{
	tu_home_remove(home);
}

static void set_url(const char *var, const char *host, const char *path)
{
	char url[256];
	snprintf(url, sizeof(url), "http://%s:%d%s", host, server_port, path);
	setenv(var, url, 1);
}

static void use_imds(const char *path)
{
	unsetenv("AWS_EC2_METADATA_DISABLED");
	set_url("AWS_EC2_METADATA_SERVICE_ENDPOINT", "127.0.0.1", path);
}

static int resolve(const creds_options *o, aws_credentials *c, aws_error *e)
{
	memset(c, 0x5a, sizeof(*c));
	aws_error_clear(e);
	return creds_resolve(o, c, e);
}

static void assert_no_secret(const aws_error *e)
{
	static const char *const secrets[] = {AUTH_TOKEN, "container-secret", "imds-secret",
					      "session-token", NULL};
	for (const char *const *s = secrets; *s; s++)
		ck_assert_msg(!strstr(e->message, *s), "secret in message: %s", e->message);
}

/* ---- container ---- */

START_TEST(test_container_with_token)
{
	aws_credentials c;
	aws_error e;
	set_url("AWS_CONTAINER_CREDENTIALS_FULL_URI", "127.0.0.1", "/container/creds");
	setenv("AWS_CONTAINER_AUTHORIZATION_TOKEN", AUTH_TOKEN, 1);
	ck_assert_msg(resolve(NULL, &c, &e) == 0, "%s: %s", e.code, e.message);
	ck_assert_str_eq(c.access_key_id, "ASIACONTAINER");
	ck_assert_str_eq(c.secret_access_key, "container-secret-key");
	ck_assert_str_eq(c.session_token, "container-session-token");
	ck_assert_str_eq(c.source, "container");
	ck_assert(c.expiration == (time_t)1924992000); /* 2031-01-01T00:00:00Z */
	ck_assert_int_eq(log_count("GET /container/creds token=no auth=yes"), 1);
}
END_TEST

START_TEST(test_container_token_file_wins)
{
	aws_credentials c;
	aws_error e;
	char path[320];
	snprintf(path, sizeof(path), "%s/token", home);
	FILE *f = fopen(path, "w");
	ck_assert_ptr_nonnull(f);
	fputs(AUTH_TOKEN "\n", f); /* a trailing newline, as editors leave */
	fclose(f);
	set_url("AWS_CONTAINER_CREDENTIALS_FULL_URI", "localhost", "/container/creds");
	setenv("AWS_CONTAINER_AUTHORIZATION_TOKEN", "wrong-token", 1);
	setenv("AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE", path, 1);
	ck_assert_msg(resolve(NULL, &c, &e) == 0, "%s: %s", e.code, e.message);
	ck_assert_str_eq(c.access_key_id, "ASIACONTAINER");
}
END_TEST

START_TEST(test_container_wrong_or_missing_token)
{
	aws_credentials c;
	aws_error e;
	set_url("AWS_CONTAINER_CREDENTIALS_FULL_URI", "127.0.0.1", "/container/creds");
	setenv("AWS_CONTAINER_AUTHORIZATION_TOKEN", "wrong-token", 1);
	ck_assert_int_eq(resolve(NULL, &c, &e), -1);
	ck_assert_str_eq(e.code, "CredentialsError");
	ck_assert_ptr_nonnull(strstr(e.message, "HTTP 403"));
	ck_assert_ptr_null(strstr(e.message, "wrong-token"));
	unsetenv("AWS_CONTAINER_AUTHORIZATION_TOKEN");
	ck_assert_int_eq(resolve(NULL, &c, &e), -1);
	ck_assert_ptr_nonnull(strstr(e.message, "HTTP 403"));
	ck_assert_int_eq(log_count("auth=no"), 1);
	ck_assert_str_eq(c.access_key_id, "");
}
END_TEST

START_TEST(test_container_token_with_newline_inside_is_refused)
{
	aws_credentials c;
	aws_error e;
	set_url("AWS_CONTAINER_CREDENTIALS_FULL_URI", "127.0.0.1", "/container/creds");
	setenv("AWS_CONTAINER_AUTHORIZATION_TOKEN", "abc\r\nX-Injected: 1", 1);
	ck_assert_int_eq(resolve(NULL, &c, &e), -1);
	ck_assert_str_eq(e.code, "InvalidConfig");
	ck_assert_int_eq(log_lines(), 0);
}
END_TEST

START_TEST(test_container_garbage_and_timeout)
{
	aws_credentials c;
	aws_error e;
	creds_options o = {.timeout_ms = 300};
	setenv("AWS_CONTAINER_AUTHORIZATION_TOKEN", AUTH_TOKEN, 1);
	set_url("AWS_CONTAINER_CREDENTIALS_FULL_URI", "127.0.0.1", "/container/garbage");
	ck_assert_int_eq(resolve(NULL, &c, &e), -1);
	ck_assert_str_eq(e.code, "InvalidCredentials");
	set_url("AWS_CONTAINER_CREDENTIALS_FULL_URI", "127.0.0.1", "/container/slow");
	time_t t0 = time(NULL);
	ck_assert_int_eq(resolve(&o, &c, &e), -1);
	ck_assert_str_eq(e.code, "CredentialsError");
	ck_assert_ptr_nonnull(strstr(e.message, "timed out"));
	ck_assert_int_le(time(NULL) - t0, 2);
}
END_TEST

/* Rows: FULL_URI host part, and whether the SDKs allow plain http to it.
 * Allowed hosts that nothing listens on fail to connect instead. */
static const struct {
	const char *host;
	int allowed;
} FULL_URI_HOSTS[] = {
	{"127.0.0.1", 1},
	{"127.0.0.2", 1},
	{"localhost", 1},
	{"[::1]", 1},
	{"0.0.0.0", 0}, /* reaches this machine on Linux, yet not loopback */
	{"user@127.0.0.1", 0},
	{"127.0.0.1.", 0},
	{"127.1", 0},
};

START_TEST(test_container_full_uri_hosts)
{
	aws_credentials c;
	aws_error e;
	setenv("AWS_CONTAINER_AUTHORIZATION_TOKEN", AUTH_TOKEN, 1);
	set_url("AWS_CONTAINER_CREDENTIALS_FULL_URI", FULL_URI_HOSTS[_i].host, "/container/creds");
	int rc = resolve(NULL, &c, &e);
	if (!FULL_URI_HOSTS[_i].allowed) {
		ck_assert_int_eq(rc, -1);
		ck_assert_str_eq(e.code, "InvalidConfig");
		ck_assert_int_eq(log_lines(), 0);
		return;
	}
	ck_assert_msg(rc == 0 || strcmp(e.code, "CredentialsError") == 0, "row %d: %s %s", _i, e.code,
		      e.message);
}
END_TEST

START_TEST(test_container_relative_uri_must_be_a_path)
{
	aws_credentials c;
	aws_error e;
	setenv("AWS_CONTAINER_CREDENTIALS_RELATIVE_URI", "@evil.example/creds", 1);
	ck_assert_int_eq(resolve(NULL, &c, &e), -1);
	ck_assert_str_eq(e.code, "InvalidConfig");
	setenv("AWS_CONTAINER_CREDENTIALS_RELATIVE_URI", "/v2/creds id", 1);
	ck_assert_int_eq(resolve(NULL, &c, &e), -1);
	ck_assert_str_eq(e.code, "InvalidConfig");
}
END_TEST

/* ---- IMDS ---- */

START_TEST(test_imds_v2_flow)
{
	aws_credentials c;
	aws_error e;
	use_imds("/");
	ck_assert_msg(resolve(NULL, &c, &e) == 0, "%s: %s", e.code, e.message);
	ck_assert_str_eq(c.access_key_id, "ASIAIMDS");
	ck_assert_str_eq(c.secret_access_key, "imds-secret-key");
	ck_assert_str_eq(c.session_token, "imds-session-token");
	ck_assert_str_eq(c.source, "imds");
	ck_assert(c.expiration == (time_t)1927857906); /* 2031-02-03T04:05:06Z */
	ck_assert_int_eq(log_lines(), 3);
	ck_assert_int_eq(log_count("PUT /latest/api/token token=no"), 1);
	ck_assert_int_eq(log_count("GET /latest/meta-data/iam/security-credentials/ token=yes"), 1);
	ck_assert_int_eq(log_count("GET /latest/meta-data/iam/security-credentials/fake-role token=yes"), 1);
}
END_TEST

START_TEST(test_imds_option_beats_env)
{
	aws_credentials c;
	aws_error e;
	char url[128];
	creds_options o = {0};
	unsetenv("AWS_EC2_METADATA_DISABLED");
	setenv("AWS_EC2_METADATA_SERVICE_ENDPOINT", "http://127.0.0.1:1", 1);
	snprintf(url, sizeof(url), "http://127.0.0.1:%d", server_port);
	o.imds_endpoint = url;
	ck_assert_msg(resolve(&o, &c, &e) == 0, "%s: %s", e.code, e.message);
	ck_assert_str_eq(c.source, "imds");
}
END_TEST

/* Rows: the scenario prefix and what the NoCredentials message says. */
static const struct {
	const char *path, *why;
	int requests;
} IMDS_FAILURES[] = {
	{"/badtoken", "HTTP 403", 1},
	{"/norole", "HTTP 404", 2},
	{"/failcode", "Code", 3},
};

START_TEST(test_imds_failures_mean_no_credentials)
{
	aws_credentials c;
	aws_error e;
	use_imds(IMDS_FAILURES[_i].path);
	ck_assert_int_eq(resolve(NULL, &c, &e), -1);
	ck_assert_str_eq(e.code, "NoCredentials");
	ck_assert_msg(strstr(e.message, IMDS_FAILURES[_i].why) != NULL, "%s", e.message);
	ck_assert_int_eq(log_lines(), IMDS_FAILURES[_i].requests);
	ck_assert_str_eq(c.access_key_id, "");
	assert_no_secret(&e);
}
END_TEST

START_TEST(test_imds_disabled_sends_nothing)
{
	aws_credentials c;
	aws_error e;
	use_imds("/");
	setenv("AWS_EC2_METADATA_DISABLED", "TRUE", 1);
	ck_assert_int_eq(resolve(NULL, &c, &e), -1);
	ck_assert_str_eq(e.code, "NoCredentials");
	ck_assert_ptr_nonnull(strstr(e.message, "IMDS: disabled"));
	ck_assert_int_eq(log_lines(), 0);
}
END_TEST

START_TEST(test_imds_unreachable)
{
	aws_credentials c;
	aws_error e;
	unsetenv("AWS_EC2_METADATA_DISABLED");
	setenv("AWS_EC2_METADATA_SERVICE_ENDPOINT", "http://127.0.0.1:1", 1);
	ck_assert_int_eq(resolve(NULL, &c, &e), -1);
	ck_assert_str_eq(e.code, "NoCredentials");
	ck_assert_ptr_nonnull(strstr(e.message, "could not connect"));
}
END_TEST

/* ---- the chain's order ---- */

START_TEST(test_chain_order)
{
	aws_credentials c;
	aws_error e;
	char path[320];
	use_imds("/");
	setenv("AWS_CONTAINER_AUTHORIZATION_TOKEN", AUTH_TOKEN, 1);
	set_url("AWS_CONTAINER_CREDENTIALS_FULL_URI", "127.0.0.1", "/container/creds");
	ck_assert_int_eq(resolve(NULL, &c, &e), 0);
	ck_assert_str_eq(c.source, "container"); /* before IMDS */
	ck_assert_int_eq(log_count("latest"), 0);
	snprintf(path, sizeof(path), "%s/credentials", home);
	setenv("AWS_SHARED_CREDENTIALS_FILE", path, 1);
	FILE *f = fopen(path, "w");
	ck_assert_ptr_nonnull(f);
	fputs("[default]\naws_access_key_id = AKIDFILE\naws_secret_access_key = s\n", f);
	fclose(f);
	ck_assert_int_eq(resolve(NULL, &c, &e), 0);
	ck_assert_str_eq(c.source, "profile"); /* before the container */
	setenv("AWS_ACCESS_KEY_ID", "AKIDENV", 1);
	setenv("AWS_SECRET_ACCESS_KEY", "envsecret", 1);
	ck_assert_int_eq(resolve(NULL, &c, &e), 0);
	ck_assert_str_eq(c.source, "env"); /* first of all */
	ck_assert_int_eq(log_lines(), 1);
}
END_TEST

static char seen_source[192];

static int record_assume_role(void *ud, const aws_credentials *source, const char *role_arn,
			      const char *session_name, const char *external_id, const char *region,
			      aws_credentials *out, aws_error *err)
{
	(void)ud;
	(void)role_arn;
	(void)session_name;
	(void)external_id;
	(void)region;
	(void)err;
	snprintf(seen_source, sizeof(seen_source), "%s/%s", source->access_key_id, source->source);
	memset(out, 0, sizeof(*out));
	snprintf(out->access_key_id, sizeof(out->access_key_id), "ASIAASSUMED");
	snprintf(out->secret_access_key, sizeof(out->secret_access_key), "assumed-secret");
	return 0;
}

static const struct {
	const char *source, *want;
} CREDENTIAL_SOURCES[] = {
	{"EcsContainer", "ASIACONTAINER/container"},
	{"Ec2InstanceMetadata", "ASIAIMDS/imds"},
};

START_TEST(test_credential_source_over_http)
{
	aws_credentials c;
	aws_error e;
	char path[320];
	creds_options o = {.assume_role = record_assume_role};
	use_imds("/");
	setenv("AWS_CONTAINER_AUTHORIZATION_TOKEN", AUTH_TOKEN, 1);
	set_url("AWS_CONTAINER_CREDENTIALS_FULL_URI", "127.0.0.1", "/container/creds");
	snprintf(path, sizeof(path), "%s/config", home);
	setenv("AWS_CONFIG_FILE", path, 1);
	FILE *f = fopen(path, "w");
	ck_assert_ptr_nonnull(f);
	fprintf(f, "[default]\nrole_arn = arn:aws:iam::123456789012:role/r\ncredential_source = %s\n",
		CREDENTIAL_SOURCES[_i].source);
	fclose(f);
	ck_assert_msg(resolve(&o, &c, &e) == 0, "%s: %s", e.code, e.message);
	ck_assert_str_eq(seen_source, CREDENTIAL_SOURCES[_i].want);
	ck_assert_str_eq(c.access_key_id, "ASIAASSUMED");
	ck_assert_str_eq(c.source, "assume-role");
}
END_TEST

static Suite *creds_http_suite(void)
{
	Suite *s = suite_create("creds_http");
	TCase *tc = tcase_create("fake_metadata");
	tcase_add_unchecked_fixture(tc, server_start, tu_server_teardown);
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 30);
	tcase_add_test(tc, test_container_with_token);
	tcase_add_test(tc, test_container_token_file_wins);
	tcase_add_test(tc, test_container_wrong_or_missing_token);
	tcase_add_test(tc, test_container_token_with_newline_inside_is_refused);
	tcase_add_test(tc, test_container_garbage_and_timeout);
	tcase_add_loop_test(tc, test_container_full_uri_hosts, 0, NROWS(FULL_URI_HOSTS));
	tcase_add_test(tc, test_container_relative_uri_must_be_a_path);
	tcase_add_test(tc, test_imds_v2_flow);
	tcase_add_test(tc, test_imds_option_beats_env);
	tcase_add_loop_test(tc, test_imds_failures_mean_no_credentials, 0, NROWS(IMDS_FAILURES));
	tcase_add_test(tc, test_imds_disabled_sends_nothing);
	tcase_add_test(tc, test_imds_unreachable);
	tcase_add_test(tc, test_chain_order);
	tcase_add_loop_test(tc, test_credential_source_over_http, 0, NROWS(CREDENTIAL_SOURCES));
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	int status = tu_run(creds_http_suite());
	tu_server_stop();
	return status;
}
