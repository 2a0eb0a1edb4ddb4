/* test_config — engine/aws/config.c: the shared config and credentials files
 * read the way botocore reads them. Each test runs in its own process (Check
 * forks) with a fresh temporary HOME and no AWS_* variables. */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "config.h"
#include "testutil.h"

static char home[256];

static void setup(void)
{
	tu_clear_aws_env();
	tu_home_create(home, sizeof(home), "/tmp/deadbolt-config-XXXXXX");
	tu_home_mkdir(home, ".aws");
}

static void teardown(void)
{
	tu_home_remove(home);
}

/* Writes content to HOME/rel. */
static void put_file(const char *rel, const char *content, size_t len)
{
	tu_put_file(home, rel, content, len, 0600);
}

static void put_config(const char *text)
{
	put_file(".aws/config", text, strlen(text));
}

static void put_credentials(const char *text)
{
	put_file(".aws/credentials", text, strlen(text));
}

/* config_get into a local buffer; returns the value or NULL. */
static const char *get(const char *which, const char *profile, const char *key)
{
	static char out[1024];
	return config_get(which, profile, key, out, sizeof(out)) == 0 ? out : NULL;
}

#define ck_assert_val(which, profile, key, want) \
	do { \
		const char *got_ = get(which, profile, key); \
		ck_assert_msg(got_ != NULL, "%s/%s/%s absent", which, profile, key); \
		ck_assert_str_eq(got_, want); \
	} while (0)

#define ck_assert_absent(which, profile, key) \
	ck_assert_msg(get(which, profile, key) == NULL, "%s/%s/%s should be absent", which, profile, key)

START_TEST(test_sections_and_keys_like_botocore)
{
	put_config("# a comment\n"
		   "; another\n"
		   "[default]\n"
		   "region = eu-west-1\n"
		   "Output=json\n"
		   "[profile dev]\n"
		   "  region   =   us-west-2   \n"
		   "credential_process = /bin/helper --flag=1 --x \"a b\"\n"
		   "endpoint_url: http://localhost:5000\n"
		   "[dev]\n"
		   "region = wrong\n");
	ck_assert_val("config", "default", "region", "eu-west-1");
	ck_assert_val("config", "default", "output", "json"); /* keys are lower-cased */
	ck_assert_val("config", "default", "OUTPUT", "json");
	ck_assert_val("config", "dev", "region", "us-west-2");
	ck_assert_val("config", "dev", "credential_process", "/bin/helper --flag=1 --x \"a b\"");
	ck_assert_val("config", "dev", "endpoint_url", "http://localhost:5000");
	ck_assert_absent("config", "dev", "output");
	ck_assert_absent("config", "nope", "region");
	ck_assert_absent("config", "default", "nope");
}
END_TEST

START_TEST(test_comment_lines_are_not_keys)
{
	put_config("[default]\n"
		   "#region = us-east-1\n"
		   "   ; region = us-east-2\n"
		   "output = text # not a comment in botocore\n");
	ck_assert_absent("config", "default", "region");
	ck_assert_val("config", "default", "output", "text # not a comment in botocore");
}
END_TEST

START_TEST(test_nested_subsection_is_never_read_as_profile_keys)
{
	put_config("[profile p]\n"
		   "s3 =\n"
		   "    addressing_style = path\n"
		   "    endpoint_url = http://nested.example\n"
		   "    region = nested-1\n"
		   "region = us-east-1\n"
		   "[profile q]\n"
		   "ec2 =\n"
		   "  endpoint_url = http://q-nested\n");
	ck_assert_val("config", "p", "region", "us-east-1");
	ck_assert_absent("config", "p", "endpoint_url");
	ck_assert_val("config", "p", "s3.addressing_style", "path");
	ck_assert_val("config", "p", "s3.endpoint_url", "http://nested.example");
	ck_assert_val("config", "p", "s3", "");
	ck_assert_absent("config", "p", "s3.nope");
	ck_assert_absent("config", "q", "endpoint_url");
	ck_assert_val("config", "q", "ec2.endpoint_url", "http://q-nested");
	ck_assert_absent("config", "p", "ec2.endpoint_url");
}
END_TEST

/* configparser: a line indented deeper than the key continues it, even when
 * it looks like a section header. */
START_TEST(test_indented_header_is_a_continuation)
{
	put_config("[profile a]\n"
		   "s3 =\n"
		   "  [profile b]\n"
		   "  region = from-a\n"
		   "[profile b]\n"
		   "region = real-b\n");
	ck_assert_val("config", "b", "region", "real-b");
	ck_assert_absent("config", "a", "region");
}
END_TEST

START_TEST(test_continued_value_keeps_its_lines)
{
	put_config("[default]\n"
		   "region = us-east-1\n"
		   "  injected = yes\n"
		   "output = json\n");
	/* botocore joins the lines: the value is not a valid region any more,
	 * and "injected" is not a key. */
	ck_assert_val("config", "default", "region", "us-east-1\ninjected = yes");
	ck_assert_absent("config", "default", "injected");
	ck_assert_val("config", "default", "output", "json");
}
END_TEST

START_TEST(test_default_and_profile_default_both_count)
{
	put_config("[profile default]\nregion = from-profile-default\n");
	ck_assert_val("config", "default", "region", "from-profile-default");
	put_config("[default]\nregion = a\n[profile default]\nregion = b\n");
	ck_assert_val("config", "default", "region", "b"); /* last one wins */
}
END_TEST

START_TEST(test_credentials_file_uses_bare_names)
{
	put_credentials("[dev]\naws_access_key_id = AKIDDEV\n"
			"[profile prod]\naws_access_key_id = AKIDPROD\n");
	put_config("[dev]\nregion = not-a-profile\n");
	ck_assert_val("credentials", "dev", "aws_access_key_id", "AKIDDEV");
	ck_assert_absent("credentials", "prod", "aws_access_key_id");
	ck_assert_val("credentials", "profile prod", "aws_access_key_id", "AKIDPROD");
	ck_assert_absent("config", "dev", "region"); /* config needs "profile " */
}
END_TEST

START_TEST(test_quoted_and_spaced_profile_names)
{
	put_config("[profile   \"my team\"]\nregion = r1\n[ profile x ]\nregion = r2\n");
	ck_assert_val("config", "my team", "region", "r1");
	ck_assert_val("config", "x", "region", "r2");
}
END_TEST

START_TEST(test_crlf_line_endings)
{
	put_config("[default]\r\nregion = eu-north-1\r\n");
	ck_assert_val("config", "default", "region", "eu-north-1");
}
END_TEST

START_TEST(test_value_too_long_for_buffer_is_absent)
{
	char small[8];
	put_config("[default]\nregion = a-very-long-region-name\nshort = abc\n");
	ck_assert_int_eq(config_get("config", "default", "region", small, sizeof(small)), -1);
	ck_assert_str_eq(small, "");
	ck_assert_int_eq(config_get("config", "default", "short", small, sizeof(small)), 0);
	ck_assert_str_eq(small, "abc");
}
END_TEST

START_TEST(test_oversized_file_is_refused)
{
	size_t n = ((size_t)1 << 20) + 16;
	char *big = malloc(n);
	ck_assert_ptr_nonnull(big);
	const char *head = "[default]\nregion = us-east-1\n";
	memset(big, '#', n);
	memcpy(big, head, strlen(head));
	big[n - 1] = '\n';
	put_file(".aws/config", big, n);
	free(big);
	ck_assert_absent("config", "default", "region");
}
END_TEST

START_TEST(test_overlong_line_is_refused)
{
	size_t n = 20000;
	char *text = malloc(n + 64);
	ck_assert_ptr_nonnull(text);
	int h = snprintf(text, 64, "[default]\nregion = us-east-1\nx = ");
	memset(text + h, 'a', n);
	text[h + n] = '\n';
	put_file(".aws/config", text, (size_t)h + n + 1);
	free(text);
	ck_assert_absent("config", "default", "region");
}
END_TEST

START_TEST(test_nul_byte_is_refused)
{
	static const char text[] = "[default]\nregion = us-east-1\n\0x = y\n";
	put_file(".aws/config", text, sizeof(text) - 1);
	ck_assert_absent("config", "default", "region");
}
END_TEST

START_TEST(test_missing_file_and_directory)
{
	ck_assert_absent("config", "default", "region");
	char dir[300];
	snprintf(dir, sizeof(dir), "%s/cfgdir", home);
	ck_assert_int_eq(mkdir(dir, 0700), 0);
	setenv("AWS_CONFIG_FILE", dir, 1);
	ck_assert_absent("config", "default", "region");
}
END_TEST

START_TEST(test_env_paths_and_tilde)
{
	static const char cfg[] = "[profile e]\nregion = ap-south-1\n";
	static const char crd[] = "[e]\naws_access_key_id = AKIDE\n";
	put_file("elsewhere", cfg, strlen(cfg));
	put_file("creds2", crd, strlen(crd));
	setenv("AWS_CONFIG_FILE", "~/elsewhere", 1);
	setenv("AWS_SHARED_CREDENTIALS_FILE", "~/creds2", 1);
	ck_assert_val("config", "e", "region", "ap-south-1");
	ck_assert_val("credentials", "e", "aws_access_key_id", "AKIDE");
	char abs[300];
	snprintf(abs, sizeof(abs), "%s/elsewhere", home);
	setenv("AWS_CONFIG_FILE", abs, 1);
	ck_assert_val("config", "e", "region", "ap-south-1");
}
END_TEST

START_TEST(test_profile_name_order)
{
	ck_assert_str_eq(config_profile_name(NULL), "default");
	ck_assert_str_eq(config_profile_name(""), "default");
	setenv("AWS_PROFILE", "fromenv", 1);
	ck_assert_str_eq(config_profile_name(NULL), "fromenv");
	ck_assert_str_eq(config_profile_name("flag"), "flag");
}
END_TEST

START_TEST(test_region_order)
{
	char r[64];
	ck_assert_int_eq(config_region(NULL, "default", r, sizeof(r)), -1);
	put_config("[default]\nregion = from-config\n[profile p]\nregion = p-config\n");
	ck_assert_int_eq(config_region(NULL, "default", r, sizeof(r)), 0);
	ck_assert_str_eq(r, "from-config");
	put_credentials("[default]\nregion = from-credentials\n");
	ck_assert_int_eq(config_region(NULL, NULL, r, sizeof(r)), 0);
	ck_assert_str_eq(r, "from-credentials"); /* botocore merges, credentials win */
	setenv("AWS_PROFILE", "p", 1);
	ck_assert_int_eq(config_region(NULL, NULL, r, sizeof(r)), 0);
	ck_assert_str_eq(r, "p-config");
	setenv("AWS_DEFAULT_REGION", "default-env", 1);
	ck_assert_int_eq(config_region(NULL, NULL, r, sizeof(r)), 0);
	ck_assert_str_eq(r, "default-env");
	setenv("AWS_REGION", "region-env", 1);
	ck_assert_int_eq(config_region(NULL, NULL, r, sizeof(r)), 0);
	ck_assert_str_eq(r, "region-env");
	ck_assert_int_eq(config_region("flag-region", NULL, r, sizeof(r)), 0);
	ck_assert_str_eq(r, "flag-region");
}
END_TEST

START_TEST(test_services_section_and_exists)
{
	char out[128];
	put_config("[profile p]\nservices = local\n"
		   "[services local]\n"
		   "ec2 =\n  endpoint_url = http://127.0.0.1:5000\n"
		   "elastic_load_balancing_v2 =\n  endpoint_url = http://127.0.0.1:5001\n");
	ck_assert_int_eq(config_get_section("config", "services local", "ec2.endpoint_url", out, sizeof(out)), 0);
	ck_assert_str_eq(out, "http://127.0.0.1:5000");
	ck_assert_int_eq(config_get_section("config", "services local",
					    "elastic_load_balancing_v2.endpoint_url", out, sizeof(out)), 0);
	ck_assert_str_eq(out, "http://127.0.0.1:5001");
	ck_assert_int_eq(config_get_section("config", "services local", NULL, NULL, 0), 0);
	ck_assert_int_eq(config_get_section("config", "services other", NULL, NULL, 0), -1);
	ck_assert_int_eq(config_profile_exists("p"), 1);
	ck_assert_int_eq(config_profile_exists("local"), 0);
	put_credentials("[onlycreds]\naws_access_key_id = x\n");
	ck_assert_int_eq(config_profile_exists("onlycreds"), 1);
}
END_TEST

START_TEST(test_profile_get_merges_files)
{
	char out[64];
	put_config("[profile m]\nrole_arn = from-config\nregion = cfg-region\n");
	put_credentials("[m]\nrole_arn = from-credentials\n");
	ck_assert_int_eq(config_profile_get("m", "role_arn", out, sizeof(out)), 0);
	ck_assert_str_eq(out, "from-credentials");
	ck_assert_int_eq(config_profile_get("m", "region", out, sizeof(out)), 0);
	ck_assert_str_eq(out, "cfg-region");
	ck_assert_int_eq(config_profile_get("m", "nope", out, sizeof(out)), -1);
}
END_TEST

START_TEST(test_is_true)
{
	ck_assert_int_eq(config_is_true("true"), 1);
	ck_assert_int_eq(config_is_true("TRUE"), 1);
	ck_assert_int_eq(config_is_true("1"), 0);
	ck_assert_int_eq(config_is_true("false"), 0);
	ck_assert_int_eq(config_is_true(NULL), 0);
}
END_TEST

static Suite *config_suite(void)
{
	Suite *s = suite_create("config");
	TCase *tc = tcase_create("files");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, test_sections_and_keys_like_botocore);
	tcase_add_test(tc, test_comment_lines_are_not_keys);
	tcase_add_test(tc, test_nested_subsection_is_never_read_as_profile_keys);
	tcase_add_test(tc, test_indented_header_is_a_continuation);
	tcase_add_test(tc, test_continued_value_keeps_its_lines);
	tcase_add_test(tc, test_default_and_profile_default_both_count);
	tcase_add_test(tc, test_credentials_file_uses_bare_names);
	tcase_add_test(tc, test_quoted_and_spaced_profile_names);
	tcase_add_test(tc, test_crlf_line_endings);
	tcase_add_test(tc, test_value_too_long_for_buffer_is_absent);
	tcase_add_test(tc, test_oversized_file_is_refused);
	tcase_add_test(tc, test_overlong_line_is_refused);
	tcase_add_test(tc, test_nul_byte_is_refused);
	tcase_add_test(tc, test_missing_file_and_directory);
	tcase_add_test(tc, test_env_paths_and_tilde);
	tcase_add_test(tc, test_profile_name_order);
	tcase_add_test(tc, test_region_order);
	tcase_add_test(tc, test_services_section_and_exists);
	tcase_add_test(tc, test_profile_get_merges_files);
	tcase_add_test(tc, test_is_true);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return tu_run(config_suite());
}
