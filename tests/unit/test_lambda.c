/* Check suite for engine/lambda.c's helpers and engine/aws/ca_bundle.c.
 * The Runtime API loop itself is tested end to
 * end by tests/integration/test_lambda.py against tests/lambda/runtime_api.py. */
#include <check.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "ca_bundle.h"
#include "lambda.h"

/* ---- deadline ---------------------------------------------------------- */

static const struct {
	double left;    /* seconds from now to Lambda-Runtime-Deadline-Ms */
	double budget;  /* seconds the run gets */
} deadline_cases[] = {
	{ 120.0, 118.0 }, /* margin capped at 2 s */
	{ 30.0, 28.0 },
	{ 10.0, 9.0 },    /* 10% */
	{ 3.0, 2.5 },     /* margin floored at 0.5 s */
	{ 0.3, -0.2 },    /* nothing left: the caller refuses to run */
	{ -5.0, -5.5 },   /* already past */
};

START_TEST(test_run_deadline_keeps_a_margin_for_posting)
{
	double now_real = 1700000000.25, now_mono = 5000.0;
	long long ms = (long long)llround((now_real + deadline_cases[_i].left) * 1000.0);
	double got = lambda_run_deadline(ms, now_real, now_mono) - now_mono;

	ck_assert_msg(fabs(got - deadline_cases[_i].budget) < 0.002,
		      "left %.1f s: budget %.3f, want %.3f", deadline_cases[_i].left, got,
		      deadline_cases[_i].budget);
}
END_TEST

/* ---- trace id ---------------------------------------------------------- */

START_TEST(test_trace_id_accepts_xray_headers)
{
	char longest[512];

	ck_assert_int_eq(lambda_trace_id_ok("Root=1-5759e988-bd862e3fe1be46a994272793;"
					    "Parent=53995c3f42cd8ad8;Sampled=1"), 1);
	memset(longest, 'a', 511);
	longest[511] = '\0';
	ck_assert_int_eq(lambda_trace_id_ok(longest), 1);
}
END_TEST

START_TEST(test_trace_id_rejects_what_could_split_a_header)
{
	char too_long[513];

	memset(too_long, 'a', 512);
	too_long[512] = '\0';
	ck_assert_int_eq(lambda_trace_id_ok(NULL), 0);
	ck_assert_int_eq(lambda_trace_id_ok(""), 0);
	ck_assert_int_eq(lambda_trace_id_ok("Root=1\r\nX-Evil: 1"), 0);
	ck_assert_int_eq(lambda_trace_id_ok("Root=1\n"), 0);
	ck_assert_int_eq(lambda_trace_id_ok("Root=\x7f"), 0);
	ck_assert_int_eq(lambda_trace_id_ok("Root=\xc3\xa9"), 0);
	ck_assert_int_eq(lambda_trace_id_ok(too_long), 0);
}
END_TEST

START_TEST(test_arn_account_reads_the_function_arn)
{
	char acct[16];

	ck_assert_int_eq(lambda_arn_account("arn:aws:lambda:us-east-1:123456789012:function:deadbolt",
					    acct, sizeof acct), 0);
	ck_assert_str_eq(acct, "123456789012");
	ck_assert_int_eq(lambda_arn_account("arn:aws-us-gov:lambda:us-gov-west-1:210987654321:function:d:prod",
					    acct, sizeof acct), 0);
	ck_assert_str_eq(acct, "210987654321");
}
END_TEST

START_TEST(test_arn_account_refuses_what_is_not_a_function_arn)
{
	char acct[16], small[12];

	ck_assert_int_eq(lambda_arn_account(NULL, acct, sizeof acct), -1);
	ck_assert_int_eq(lambda_arn_account("", acct, sizeof acct), -1);
	ck_assert_int_eq(lambda_arn_account("arn:aws:lambda:us-east-1:12345678901:function:d", acct, sizeof acct), -1);
	ck_assert_int_eq(lambda_arn_account("arn:aws:lambda:us-east-1:1234567890123:function:d", acct, sizeof acct), -1);
	ck_assert_int_eq(lambda_arn_account("arn:aws:lambda:us-east-1:12345678901x:function:d", acct, sizeof acct), -1);
	ck_assert_int_eq(lambda_arn_account("arn:aws:iam::123456789012:role/r", acct, sizeof acct), -1);
	ck_assert_int_eq(lambda_arn_account("arn:aws:lambda:us-east-1:123456789012:layer:l", acct, sizeof acct), -1);
	ck_assert_int_eq(lambda_arn_account("arn:aws:lambda:us-east-1:123456789012", acct, sizeof acct), -1);
	ck_assert_int_eq(lambda_arn_account("arn:aws:lambda:us-east-1:123456789012:function:d", small, sizeof small), -1);
}
END_TEST

/* ---- outcome -> Lambda error ------------------------------------------- */

static const struct {
	runner_outcome o;
	int partial_is_error, failures_final;
	const char *type; /* NULL: a success response */
} outcome_cases[] = {
	{ OUTCOME_CONTAINED, 0, 0, NULL },
	{ OUTCOME_PLANNED, 0, 0, NULL },
	{ OUTCOME_SKIPPED, 0, 0, NULL },
	{ OUTCOME_PARTIAL, 0, 0, NULL },
	{ OUTCOME_PARTIAL, 1, 0, "Deadbolt.ContainmentPartial" },
	{ OUTCOME_FAILED, 0, 0, "Deadbolt.ContainmentFailed" },
	{ OUTCOME_FAILED, 1, 0, "Deadbolt.ContainmentFailed" },
	{ OUTCOME_INVALID, 0, 0, "Deadbolt.InvalidEvent" },
	{ OUTCOME_CONTAINED, 1, 0, NULL },
	/* refused member-account runs: a retry would refuse and notify again */
	{ OUTCOME_FAILED, 0, 1, NULL },
	{ OUTCOME_FAILED, 1, 1, NULL },
	{ OUTCOME_INVALID, 0, 1, "Deadbolt.InvalidEvent" },
	{ OUTCOME_PARTIAL, 1, 1, "Deadbolt.ContainmentPartial" },
};

START_TEST(test_failed_is_an_error_partial_only_on_request)
{
	const char *got = lambda_error_type(outcome_cases[_i].o, outcome_cases[_i].partial_is_error,
					    outcome_cases[_i].failures_final);

	if (outcome_cases[_i].type == NULL)
		ck_assert_msg(got == NULL, "case %d: got %s", _i, got);
	else
		ck_assert_str_eq(got ? got : "(null)", outcome_cases[_i].type);
}
END_TEST

/* ---- settings ---------------------------------------------------------- */

static const struct {
	const char *in;
	int want;
} bool_cases[] = {
	{ NULL, 0 }, { "", 0 }, { "0", 0 }, { "false", 0 }, { "FALSE", 0 }, { "no", 0 },
	{ "off", 0 }, { "1", 1 }, { "true", 1 }, { "True", 1 }, { "yes", 1 }, { "on", 1 },
	{ "2", -1 }, { "tru", -1 }, { " true", -1 }, { "truex", -1 },
};

START_TEST(test_parse_bool_refuses_what_it_does_not_know)
{
	ck_assert_int_eq(lambda_parse_bool(bool_cases[_i].in), bool_cases[_i].want);
}
END_TEST

/* ---- CA bundle --------------------------------------------------------- */

static char tmpdir[] = "/tmp/deadbolt-ca-XXXXXX";

static void touch(const char *path)
{
	FILE *f = fopen(path, "w");

	ck_assert_ptr_nonnull(f);
	fputs("-----BEGIN CERTIFICATE-----\n", f);
	fclose(f);
}

static void ca_setup(void)
{
	char p[256];

	ck_assert_ptr_nonnull(mkdtemp(tmpdir));
	snprintf(p, sizeof p, "%s/certs", tmpdir);
	ck_assert_int_eq(mkdir(p, 0700), 0);
	unsetenv("DEADBOLT_CA_BUNDLE");
	unsetenv("SSL_CERT_FILE");
}

static void ca_teardown(void)
{
	char p[256];

	snprintf(p, sizeof p, "rm -rf '%s'", tmpdir);
	ck_assert_int_eq(system(p), 0);
	memcpy(tmpdir + strlen(tmpdir) - 6, "XXXXXX", 6);
	unsetenv("DEADBOLT_CA_BUNDLE");
	unsetenv("SSL_CERT_FILE");
}

START_TEST(test_ca_first_readable_system_path_wins)
{
	char missing[256], present[256], later[256], out[256];
	const char *paths[3];

	snprintf(missing, sizeof missing, "%s/pki-ca-bundle.crt", tmpdir);
	snprintf(present, sizeof present, "%s/ca-certificates.crt", tmpdir);
	snprintf(later, sizeof later, "%s/cert.pem", tmpdir);
	touch(present);
	touch(later);
	paths[0] = missing;
	paths[1] = present;
	paths[2] = later;
	ck_assert_int_eq(ca_bundle_pick(paths, 3, NULL, out, sizeof out), 0);
	ck_assert_str_eq(out, present);
}
END_TEST

START_TEST(test_ca_explicit_settings_win_even_when_missing)
{
	char present[256], out[256];
	const char *paths[1];

	snprintf(present, sizeof present, "%s/ca-certificates.crt", tmpdir);
	touch(present);
	paths[0] = present;
	setenv("SSL_CERT_FILE", "/nonexistent/ssl.pem", 1);
	ck_assert_int_eq(ca_bundle_pick(paths, 1, NULL, out, sizeof out), 0);
	ck_assert_str_eq(out, "/nonexistent/ssl.pem");
	setenv("DEADBOLT_CA_BUNDLE", "/nonexistent/deadbolt.pem", 1);
	ck_assert_int_eq(ca_bundle_pick(paths, 1, NULL, out, sizeof out), 0);
	ck_assert_str_eq(out, "/nonexistent/deadbolt.pem");
}
END_TEST

START_TEST(test_ca_falls_back_to_the_packaged_copy)
{
	char missing[256], shipped[256], out[256];
	const char *paths[1];

	snprintf(missing, sizeof missing, "%s/none.crt", tmpdir);
	snprintf(shipped, sizeof shipped, "%s/certs/ca-bundle.crt", tmpdir);
	paths[0] = missing;
	ck_assert_int_eq(ca_bundle_pick(paths, 1, tmpdir, out, sizeof out), -1);
	ck_assert_str_eq(out, "");
	touch(shipped);
	ck_assert_int_eq(ca_bundle_pick(paths, 1, tmpdir, out, sizeof out), 0);
	ck_assert_str_eq(out, shipped);
	ck_assert_int_eq(ca_bundle_pick(paths, 1, NULL, out, sizeof out), -1);
}
END_TEST

START_TEST(test_ca_path_that_does_not_fit_is_refused)
{
	char present[256], out[8];
	const char *paths[1];

	snprintf(present, sizeof present, "%s/ca-certificates.crt", tmpdir);
	touch(present);
	paths[0] = present;
	ck_assert_int_eq(ca_bundle_pick(paths, 1, NULL, out, sizeof out), -1);
}
END_TEST

START_TEST(test_ca_resolve_refuses_an_explicit_file_that_is_missing)
{
	char present[256], out[256], err[512];
	const char *from = NULL;

	snprintf(present, sizeof present, "%s/explicit.pem", tmpdir);
	setenv("DEADBOLT_CA_BUNDLE", "/nonexistent/deadbolt.pem", 1);
	ck_assert_int_eq(ca_bundle_resolve(out, sizeof out, &from, err, sizeof err), -1);
	ck_assert_ptr_nonnull(strstr(err, "DEADBOLT_CA_BUNDLE names /nonexistent/deadbolt.pem"));
	unsetenv("DEADBOLT_CA_BUNDLE");
	setenv("SSL_CERT_FILE", "/nonexistent/ssl.pem", 1);
	ck_assert_int_eq(ca_bundle_resolve(out, sizeof out, &from, err, sizeof err), -1);
	ck_assert_ptr_nonnull(strstr(err, "SSL_CERT_FILE names /nonexistent/ssl.pem"));
	touch(present);
	setenv("DEADBOLT_CA_BUNDLE", present, 1); /* wins over the missing SSL_CERT_FILE */
	ck_assert_int_eq(ca_bundle_resolve(out, sizeof out, &from, err, sizeof err), 0);
	ck_assert_str_eq(out, present);
	ck_assert_str_eq(from, "DEADBOLT_CA_BUNDLE");
}
END_TEST

START_TEST(test_ca_resolve_says_where_the_bundle_came_from)
{
	char out[4096], err[512];
	const char *from = NULL;

	unsetenv("DEADBOLT_CA_BUNDLE");
	unsetenv("SSL_CERT_FILE");
	setenv("LAMBDA_TASK_ROOT", tmpdir, 1);
	ck_assert_int_eq(ca_bundle_resolve(out, sizeof out, &from, err, sizeof err), 0);
	/* This machine's own bundle when it has one, else the package's, else none. */
	if (out[0] == '\0')
		ck_assert_str_eq(from, "none");
	else if (strncmp(out, tmpdir, strlen(tmpdir)) == 0)
		ck_assert_str_eq(from, "package");
	else
		ck_assert_str_eq(from, "system");
	unsetenv("LAMBDA_TASK_ROOT");
}
END_TEST

static Suite *lambda_suite(void)
{
	Suite *s = suite_create("lambda");
	TCase *t = tcase_create("helpers");
	TCase *ca = tcase_create("ca_bundle");

	tcase_add_loop_test(t, test_run_deadline_keeps_a_margin_for_posting, 0,
			    sizeof deadline_cases / sizeof deadline_cases[0]);
	tcase_add_test(t, test_trace_id_accepts_xray_headers);
	tcase_add_test(t, test_trace_id_rejects_what_could_split_a_header);
	tcase_add_test(t, test_arn_account_reads_the_function_arn);
	tcase_add_test(t, test_arn_account_refuses_what_is_not_a_function_arn);
	tcase_add_loop_test(t, test_failed_is_an_error_partial_only_on_request, 0,
			    sizeof outcome_cases / sizeof outcome_cases[0]);
	tcase_add_loop_test(t, test_parse_bool_refuses_what_it_does_not_know, 0,
			    sizeof bool_cases / sizeof bool_cases[0]);
	suite_add_tcase(s, t);
	tcase_add_checked_fixture(ca, ca_setup, ca_teardown);
	tcase_add_test(ca, test_ca_first_readable_system_path_wins);
	tcase_add_test(ca, test_ca_explicit_settings_win_even_when_missing);
	tcase_add_test(ca, test_ca_falls_back_to_the_packaged_copy);
	tcase_add_test(ca, test_ca_path_that_does_not_fit_is_refused);
	tcase_add_test(ca, test_ca_resolve_refuses_an_explicit_file_that_is_missing);
	tcase_add_test(ca, test_ca_resolve_says_where_the_bundle_came_from);
	suite_add_tcase(s, ca);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(lambda_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
