/* test_endpoint — engine/aws/endpoint.c: override precedence, partitions,
 * global IAM, URL and region validation. Tables, one row a case. Each test
 * runs in its own process with a temporary HOME and no AWS_* variables. */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "endpoint.h"
#include "testutil.h"

static char home[256];

static void setup(void)
{
	tu_clear_aws_env();
	tu_home_create(home, sizeof(home), "/tmp/deadbolt-endpoint-XXXXXX");
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

/* ---- precedence ---- */

/* Where an override can come from; NULL: not set. The expected URL names the
 * winner. */
typedef struct precedence_case {
	const char *flag, *env_svc, *env_global, *services, *profile_url, *ignore_env, *ignore_profile;
	const char *want;
	int custom;
} precedence_case;

static const precedence_case PRECEDENCE[] = {
	{"http://flag", "http://svc", "http://global", "http://section", "http://profile", NULL, NULL, "http://flag", 1},
	{NULL, "http://svc", "http://global", "http://section", "http://profile", NULL, NULL, "http://svc", 1},
	{NULL, NULL, "http://global", "http://section", "http://profile", NULL, NULL, "http://global", 1},
	{NULL, NULL, NULL, "http://section", "http://profile", NULL, NULL, "http://section", 1},
	{NULL, NULL, NULL, NULL, "http://profile", NULL, NULL, "http://profile", 1},
	{NULL, NULL, NULL, NULL, NULL, NULL, NULL, "https://ec2.eu-west-1.amazonaws.com", 0},
	/* AWS_IGNORE_CONFIGURED_ENDPOINT_URLS: everything but the flag. */
	{NULL, "http://svc", "http://global", "http://section", "http://profile", "true", NULL,
	 "https://ec2.eu-west-1.amazonaws.com", 0},
	{"http://flag", "http://svc", NULL, NULL, NULL, "TRUE", NULL, "http://flag", 1},
	{NULL, "http://svc", NULL, NULL, NULL, "false", "true", "http://svc", 1}, /* env says no */
	{NULL, "http://svc", NULL, NULL, "http://profile", NULL, "true", "https://ec2.eu-west-1.amazonaws.com", 0},
	/* An empty variable counts as unset. */
	{NULL, "", "http://global", NULL, NULL, NULL, NULL, "http://global", 1},
	{"", NULL, NULL, NULL, NULL, NULL, NULL, "https://ec2.eu-west-1.amazonaws.com", 0},
};

static void set_or_unset(const char *name, const char *v)
{
	if (v)
		setenv(name, v, 1);
	else
		unsetenv(name);
}

START_TEST(test_override_precedence)
{
	const precedence_case *c = &PRECEDENCE[_i];
	char cfg[1024];
	int n = snprintf(cfg, sizeof(cfg), "[default]\nservices = local\n%s%s%s%s%s%s[services local]\n",
			 c->profile_url ? "endpoint_url = " : "", c->profile_url ? c->profile_url : "",
			 c->profile_url ? "\n" : "",
			 c->ignore_profile ? "ignore_configured_endpoint_urls = " : "",
			 c->ignore_profile ? c->ignore_profile : "", c->ignore_profile ? "\n" : "");
	if (c->services)
		snprintf(cfg + n, sizeof(cfg) - (size_t)n, "ec2 =\n  endpoint_url = %s\n", c->services);
	put_config(cfg);
	set_or_unset("AWS_ENDPOINT_URL_EC2", c->env_svc);
	set_or_unset("AWS_ENDPOINT_URL", c->env_global);
	set_or_unset("AWS_IGNORE_CONFIGURED_ENDPOINT_URLS", c->ignore_env);
	setenv("AWS_ENDPOINT_URL_S3", "http://other-service", 1); /* never for ec2 */
	aws_endpoint ep;
	aws_error err;
	aws_error_clear(&err);
	ck_assert_msg(endpoint_resolve("ec2", "eu-west-1", NULL, c->flag, &ep, &err) == 0,
		      "row %d: %s", _i, err.message);
	ck_assert_str_eq(ep.url, c->want);
	ck_assert_int_eq(ep.custom, c->custom);
	ck_assert_str_eq(ep.signing_region, "eu-west-1");
	ck_assert_str_eq(ep.partition, "aws");
}
END_TEST

/* Every service has its own AWS_ENDPOINT_URL_<ID>. */
static const struct {
	const char *service, *env;
} SERVICE_IDS[] = {
	{"ec2", "AWS_ENDPOINT_URL_EC2"},
	{"autoscaling", "AWS_ENDPOINT_URL_AUTO_SCALING"},
	{"elb", "AWS_ENDPOINT_URL_ELASTIC_LOAD_BALANCING"},
	{"elbv2", "AWS_ENDPOINT_URL_ELASTIC_LOAD_BALANCING_V2"},
	{"ssm", "AWS_ENDPOINT_URL_SSM"},
	{"s3", "AWS_ENDPOINT_URL_S3"},
	{"iam", "AWS_ENDPOINT_URL_IAM"},
	{"sns", "AWS_ENDPOINT_URL_SNS"},
	{"sts", "AWS_ENDPOINT_URL_STS"},
};

START_TEST(test_service_specific_variable)
{
	aws_endpoint ep;
	aws_error err;
	setenv("AWS_ENDPOINT_URL", "http://global:1", 1);
	setenv(SERVICE_IDS[_i].env, "http://127.0.0.1:4566/", 1);
	for (size_t j = 0; j < sizeof(SERVICE_IDS) / sizeof(SERVICE_IDS[0]); j++) {
		ck_assert_int_eq(endpoint_resolve(SERVICE_IDS[j].service, "us-east-2", NULL, NULL, &ep, &err), 0);
		ck_assert_str_eq(ep.url, (int)j == _i ? "http://127.0.0.1:4566" : "http://global:1");
		ck_assert_int_eq(ep.custom, 1);
	}
}
END_TEST

START_TEST(test_services_section_per_service_key)
{
	aws_endpoint ep;
	aws_error err;
	put_config("[profile p]\nservices = s\nendpoint_url = http://profile-wide\n"
		   "[services s]\n"
		   "elastic_load_balancing_v2 =\n  endpoint_url = http://elbv2-only\n");
	ck_assert_int_eq(endpoint_resolve("elbv2", "us-east-1", "p", NULL, &ep, &err), 0);
	ck_assert_str_eq(ep.url, "http://elbv2-only");
	ck_assert_int_eq(endpoint_resolve("elb", "us-east-1", "p", NULL, &ep, &err), 0);
	ck_assert_str_eq(ep.url, "http://profile-wide");
}
END_TEST

START_TEST(test_missing_services_section_is_an_error)
{
	aws_endpoint ep;
	aws_error err;
	aws_error_clear(&err);
	put_config("[default]\nservices = nowhere\n");
	ck_assert_int_eq(endpoint_resolve("ec2", "us-east-1", NULL, NULL, &ep, &err), -1);
	ck_assert_str_eq(err.code, "InvalidConfig");
	ck_assert_ptr_nonnull(strstr(err.message, "nowhere"));
}
END_TEST

START_TEST(test_profile_from_aws_profile)
{
	aws_endpoint ep;
	aws_error err;
	put_config("[profile local]\nendpoint_url = http://localhost:5000\n");
	ck_assert_int_eq(endpoint_resolve("sns", "us-east-1", NULL, NULL, &ep, &err), 0);
	ck_assert_str_eq(ep.url, "https://sns.us-east-1.amazonaws.com");
	setenv("AWS_PROFILE", "local", 1);
	ck_assert_int_eq(endpoint_resolve("sns", "us-east-1", NULL, NULL, &ep, &err), 0);
	ck_assert_str_eq(ep.url, "http://localhost:5000");
	unsetenv("AWS_PROFILE");
	ck_assert_int_eq(endpoint_resolve("sns", "us-east-1", "local", NULL, &ep, &err), 0);
	ck_assert_str_eq(ep.url, "http://localhost:5000");
}
END_TEST

/* ---- default hosts ---- */

typedef struct host_case {
	const char *service, *region, *url, *signing_region, *partition;
} host_case;

static const host_case HOSTS[] = {
	{"ec2", "us-east-1", "https://ec2.us-east-1.amazonaws.com", "us-east-1", "aws"},
	{"autoscaling", "eu-central-1", "https://autoscaling.eu-central-1.amazonaws.com", "eu-central-1", "aws"},
	{"elb", "ap-southeast-2", "https://elasticloadbalancing.ap-southeast-2.amazonaws.com", "ap-southeast-2", "aws"},
	{"elbv2", "sa-east-1", "https://elasticloadbalancing.sa-east-1.amazonaws.com", "sa-east-1", "aws"},
	{"ssm", "il-central-1", "https://ssm.il-central-1.amazonaws.com", "il-central-1", "aws"},
	{"s3", "us-east-1", "https://s3.us-east-1.amazonaws.com", "us-east-1", "aws"},
	{"s3", "mx-central-1", "https://s3.mx-central-1.amazonaws.com", "mx-central-1", "aws"},
	{"sns", "me-south-1", "https://sns.me-south-1.amazonaws.com", "me-south-1", "aws"},
	{"sts", "us-east-1", "https://sts.us-east-1.amazonaws.com", "us-east-1", "aws"},
	{"sts", "eu-west-3", "https://sts.eu-west-3.amazonaws.com", "eu-west-3", "aws"},
	{"ec2", "cn-north-1", "https://ec2.cn-north-1.amazonaws.com.cn", "cn-north-1", "aws-cn"},
	{"s3", "cn-northwest-1", "https://s3.cn-northwest-1.amazonaws.com.cn", "cn-northwest-1", "aws-cn"},
	{"ec2", "us-gov-west-1", "https://ec2.us-gov-west-1.amazonaws.com", "us-gov-west-1", "aws-us-gov"},
	{"sts", "us-gov-east-1", "https://sts.us-gov-east-1.amazonaws.com", "us-gov-east-1", "aws-us-gov"},
	{"ec2", "us-iso-east-1", "https://ec2.us-iso-east-1.c2s.ic.gov", "us-iso-east-1", "aws-iso"},
	{"ssm", "us-isob-east-1", "https://ssm.us-isob-east-1.sc2s.sgov.gov", "us-isob-east-1", "aws-iso-b"},
	{"ec2", "us-isof-south-1", "https://ec2.us-isof-south-1.csp.hci.ic.gov", "us-isof-south-1", "aws-iso-f"},
	{"ec2", "eu-isoe-west-1", "https://ec2.eu-isoe-west-1.cloud.adc-e.uk", "eu-isoe-west-1", "aws-iso-e"},
	{"ec2", "eusc-de-east-1", "https://ec2.eusc-de-east-1.amazonaws.eu", "eusc-de-east-1", "aws-eusc"},
	/* Unknown names fall into the aws partition, as in botocore. */
	{"ec2", "xx-future-9", "https://ec2.xx-future-9.amazonaws.com", "xx-future-9", "aws"},
	/* IAM: one global endpoint per partition. */
	{"iam", "us-east-1", "https://iam.amazonaws.com", "us-east-1", "aws"},
	{"iam", "eu-west-1", "https://iam.amazonaws.com", "us-east-1", "aws"},
	{"iam", "cn-northwest-1", "https://iam.cn-north-1.amazonaws.com.cn", "cn-north-1", "aws-cn"},
	{"iam", "us-gov-east-1", "https://iam.us-gov.amazonaws.com", "us-gov-west-1", "aws-us-gov"},
	{"iam", "us-iso-west-1", "https://iam.us-iso-east-1.c2s.ic.gov", "us-iso-east-1", "aws-iso"},
	{"iam", "us-isob-east-1", "https://iam.us-isob-east-1.sc2s.sgov.gov", "us-isob-east-1", "aws-iso-b"},
};

START_TEST(test_default_hosts)
{
	const host_case *c = &HOSTS[_i];
	aws_endpoint ep;
	aws_error err;
	aws_error_clear(&err);
	ck_assert_msg(endpoint_resolve(c->service, c->region, NULL, NULL, &ep, &err) == 0, "%s", err.message);
	ck_assert_str_eq(ep.url, c->url);
	ck_assert_str_eq(ep.signing_region, c->signing_region);
	ck_assert_str_eq(ep.partition, c->partition);
	ck_assert_int_eq(ep.custom, 0);
	ck_assert_str_eq(endpoint_partition(c->region), c->partition);
}
END_TEST

START_TEST(test_partition_edges)
{
	ck_assert_str_eq(endpoint_partition(NULL), "aws");
	ck_assert_str_eq(endpoint_partition("cn-north-1"), "aws-cn");
	ck_assert_str_eq(endpoint_partition("us-isob-east-1"), "aws-iso-b");
	ck_assert_str_eq(endpoint_partition("us-iso-east-1"), "aws-iso");
	ck_assert_str_eq(endpoint_partition("us-gov-west-1"), "aws-us-gov");
	ck_assert_str_eq(endpoint_partition("cn-north"), "aws"); /* no number: not aws-cn */
	ck_assert_str_eq(endpoint_partition("us-gov-west-1-fips"), "aws");
}
END_TEST

START_TEST(test_iam_without_region_and_custom_iam_signing)
{
	aws_endpoint ep;
	aws_error err;
	ck_assert_int_eq(endpoint_resolve("iam", NULL, NULL, NULL, &ep, &err), 0);
	ck_assert_str_eq(ep.url, "https://iam.amazonaws.com");
	ck_assert_str_eq(ep.signing_region, "us-east-1");
	ck_assert_int_eq(endpoint_resolve("iam", "cn-north-1", NULL, "http://127.0.0.1:5000", &ep, &err), 0);
	ck_assert_str_eq(ep.url, "http://127.0.0.1:5000");
	ck_assert_str_eq(ep.signing_region, "cn-north-1");
	ck_assert_int_eq(ep.custom, 1);
}
END_TEST

START_TEST(test_region_from_config_when_not_given)
{
	aws_endpoint ep;
	aws_error err;
	aws_error_clear(&err);
	ck_assert_int_eq(endpoint_resolve("ec2", NULL, NULL, NULL, &ep, &err), -1);
	ck_assert_str_eq(err.code, "NoRegion");
	put_config("[default]\nregion = ca-central-1\n");
	ck_assert_int_eq(endpoint_resolve("ec2", NULL, NULL, NULL, &ep, &err), 0);
	ck_assert_str_eq(ep.url, "https://ec2.ca-central-1.amazonaws.com");
	setenv("AWS_REGION", "af-south-1", 1);
	ck_assert_int_eq(endpoint_resolve("ec2", "", NULL, NULL, &ep, &err), 0);
	ck_assert_str_eq(ep.url, "https://ec2.af-south-1.amazonaws.com");
}
END_TEST

/* ---- validation ---- */

typedef struct url_case {
	const char *in, *want; /* want NULL: rejected */
} url_case;

static const url_case URLS[] = {
	{"http://localhost:5000/", "http://localhost:5000"},
	{"http://localhost:5000///", "http://localhost:5000"},
	{"https://vpce-1.ec2.us-east-1.vpce.amazonaws.com", "https://vpce-1.ec2.us-east-1.vpce.amazonaws.com"},
	{"HTTP://127.0.0.1:4566", "http://127.0.0.1:4566"},
	{"http://[::1]:5000/", "http://[::1]:5000"},
	{"https://proxy.internal/aws/base/", "https://proxy.internal/aws/base"},
	{"http://h:65535", "http://h:65535"},
	{"ftp://localhost", NULL},
	{"localhost:5000", NULL},
	{"http://", NULL},
	{"http:///path", NULL},
	{"http://local host", NULL},
	{"http://localhost\n", NULL},
	{"http://localhost\r\nX-Injected: 1", NULL},
	{"http://\tlocalhost", NULL},
	{"http://user:pw@localhost", NULL},
	{"http://localhost/?q=1", NULL},
	{"http://localhost/#frag", NULL},
	{"http://localhost:0", NULL},
	{"http://localhost:65536", NULL},
	{"http://localhost:12ab", NULL},
	{"http://localhost:", NULL},
	{"http://[::1", NULL},
	{"http://[]:80", NULL},
	{"http://h\x7f", NULL},
	{"http://h\xc3\xa9", NULL},
	{"http://h\\x", NULL},
};

START_TEST(test_override_url_validation)
{
	const url_case *c = &URLS[_i];
	aws_endpoint ep;
	aws_error err;
	aws_error_clear(&err);
	int rc = endpoint_resolve("ec2", "us-east-1", NULL, c->in, &ep, &err);
	if (c->want) {
		ck_assert_msg(rc == 0, "row %d rejected: %s", _i, err.message);
		ck_assert_str_eq(ep.url, c->want);
		return;
	}
	ck_assert_msg(rc == -1, "row %d accepted as %s", _i, ep.url);
	ck_assert_str_eq(err.code, "InvalidEndpoint");
	ck_assert_ptr_nonnull(strstr(err.message, "--endpoint-url"));
	/* The same URL from the environment is refused and named too. */
	setenv("AWS_ENDPOINT_URL_EC2", c->in, 1);
	ck_assert_int_eq(endpoint_resolve("ec2", "us-east-1", NULL, NULL, &ep, &err), -1);
	ck_assert_ptr_nonnull(strstr(err.message, "AWS_ENDPOINT_URL_EC2"));
}
END_TEST

START_TEST(test_overlong_override_is_refused)
{
	char url[700];
	aws_endpoint ep;
	aws_error err;
	memcpy(url, "http://h/", 9);
	memset(url + 9, 'a', sizeof(url) - 10);
	url[sizeof(url) - 1] = '\0';
	ck_assert_int_eq(endpoint_resolve("ec2", "us-east-1", NULL, url, &ep, &err), -1);
	ck_assert_str_eq(err.code, "InvalidEndpoint");
}
END_TEST

static const char *const BAD_REGIONS[] = {
	"US-EAST-1", "us east 1", "us-east-1\n", "-us-east-1", "us-east-1-", "us_east_1",
	"us-east-1/../x", "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa",
};

START_TEST(test_region_validation)
{
	aws_endpoint ep;
	aws_error err;
	aws_error_clear(&err);
	ck_assert_int_eq(endpoint_resolve("ec2", BAD_REGIONS[_i], NULL, NULL, &ep, &err), -1);
	ck_assert_str_eq(err.code, "InvalidRegion");
	/* Even with an override: the region still signs. */
	ck_assert_int_eq(endpoint_resolve("ec2", BAD_REGIONS[_i], NULL, "http://localhost", &ep, &err), -1);
}
END_TEST

START_TEST(test_unknown_service)
{
	aws_endpoint ep;
	aws_error err;
	aws_error_clear(&err);
	ck_assert_int_eq(endpoint_resolve("lambda", "us-east-1", NULL, NULL, &ep, &err), -1);
	ck_assert_str_eq(err.code, "UnknownService");
	ck_assert_int_eq(endpoint_resolve(NULL, "us-east-1", NULL, NULL, &ep, &err), -1);
}
END_TEST

static Suite *endpoint_suite(void)
{
	Suite *s = suite_create("endpoint");
	TCase *tc = tcase_create("resolve");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_loop_test(tc, test_override_precedence, 0, NROWS(PRECEDENCE));
	tcase_add_loop_test(tc, test_service_specific_variable, 0, NROWS(SERVICE_IDS));
	tcase_add_test(tc, test_services_section_per_service_key);
	tcase_add_test(tc, test_missing_services_section_is_an_error);
	tcase_add_test(tc, test_profile_from_aws_profile);
	tcase_add_loop_test(tc, test_default_hosts, 0, NROWS(HOSTS));
	tcase_add_test(tc, test_partition_edges);
	tcase_add_test(tc, test_iam_without_region_and_custom_iam_signing);
	tcase_add_test(tc, test_region_from_config_when_not_given);
	tcase_add_loop_test(tc, test_override_url_validation, 0, NROWS(URLS));
	tcase_add_test(tc, test_overlong_override_is_refused);
	tcase_add_loop_test(tc, test_region_validation, 0, NROWS(BAD_REGIONS));
	tcase_add_test(tc, test_unknown_service);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return tu_run(endpoint_suite());
}
