/* test_s3_redirect — which S3 answers mean "the bucket is in another region"
 * and where they point (engine/aws/s3_redirect.c), as botocore's
 * S3RegionRedirectorv2 reads them; and the bucket-region cache. */
#include <check.h>
#include <string.h>

#include "s3_redirect.h"
#include "testutil.h"

#define MALFORMED "<Error><Code>AuthorizationHeaderMalformed</Code><Message>the region " \
		  "'us-east-1' is wrong; expecting 'eu-west-1'</Message><Region>eu-west-1</Region></Error>"

static const struct redirect_case {
	const char *op, *method;
	long status;
	const char *code;   /* as the decoder read the answer */
	const char *header; /* x-amz-bucket-region, or NULL */
	const char *body;
	s3_redirect want;
	const char *region;
} cases[] = {
	/* 301 PermanentRedirect: the header names the region */
	{"PutObject", "PUT", 301, "PermanentRedirect", "eu-west-1",
	 "<Error><Code>PermanentRedirect</Code></Error>", S3_REDIRECT_TO, "eu-west-1"},
	/* any 301/302/307, whatever the code */
	{"PutObject", "PUT", 307, "TemporaryRedirect", "ap-south-1", "", S3_REDIRECT_TO, "ap-south-1"},
	/* the body's <Region> when there is no header */
	{"PutObject", "PUT", 400, "AuthorizationHeaderMalformed", NULL, MALFORMED, S3_REDIRECT_TO,
	 "eu-west-1"},
	/* AuthorizationHeaderMalformed without a Region: another problem */
	{"PutObject", "PUT", 400, "AuthorizationHeaderMalformed", "eu-west-1",
	 "<Error><Code>AuthorizationHeaderMalformed</Code></Error>", S3_REDIRECT_NO, NULL},
	{"PutObject", "PUT", 400, "IllegalLocationConstraintException", "me-south-1",
	 "<Error><Code>IllegalLocationConstraintException</Code></Error>", S3_REDIRECT_TO,
	 "me-south-1"},
	{"CreateBucket", "PUT", 400, "IllegalLocationConstraintException", "me-south-1", "",
	 S3_REDIRECT_NO, NULL},
	/* HEAD: the status and the header only */
	{"HeadObject", "HEAD", 301, "PermanentRedirect", "eu-west-1", "", S3_REDIRECT_TO, "eu-west-1"},
	{"HeadObject", "HEAD", 400, "BadRequest", "eu-west-1", "", S3_REDIRECT_TO, "eu-west-1"},
	{"HeadObject", "HEAD", 400, "BadRequest", NULL, "", S3_REDIRECT_ASK, NULL},
	/* a redirect naming no region: ask the bucket */
	{"PutObject", "PUT", 301, "PermanentRedirect", NULL,
	 "<Error><Code>PermanentRedirect</Code></Error>", S3_REDIRECT_ASK, NULL},
	/* a region that is not a region name is followed nowhere */
	{"PutObject", "PUT", 301, "PermanentRedirect", "evil.example.com", "", S3_REDIRECT_NO, NULL},
	{"PutObject", "PUT", 301, "PermanentRedirect", "eu-west-1/../x", "", S3_REDIRECT_NO, NULL},
	{"PutObject", "PUT", 301, "PermanentRedirect", "-eu", "", S3_REDIRECT_NO, NULL},
	{"PutObject", "PUT", 301, "PermanentRedirect", "a-region-name-far-longer-than-any", "",
	 S3_REDIRECT_NO, NULL},
	/* the region the request was signed for: nowhere else to go */
	{"PutObject", "PUT", 301, "PermanentRedirect", "us-east-1", "", S3_REDIRECT_NO, NULL},
	/* other errors are not redirects */
	{"PutObject", "PUT", 400, "BadRequest", "eu-west-1", "<Error><Code>BadRequest</Code></Error>",
	 S3_REDIRECT_NO, NULL},
	{"PutObject", "PUT", 403, "AccessDenied", "eu-west-1", "", S3_REDIRECT_NO, NULL},
	{"HeadObject", "HEAD", 404, "NotFound", "eu-west-1", "", S3_REDIRECT_NO, NULL},
};

START_TEST(test_wrong_region_answers_are_read_as_botocore_reads_them)
{
	const struct redirect_case *c = &cases[_i];
	char name[] = "x-amz-bucket-region";
	char *names[1] = {name}, *values[1] = {(char *)c->header};
	http_response r;
	memset(&r, 0, sizeof(r));
	r.status = c->status;
	r.body.data = (char *)c->body;
	r.body.len = strlen(c->body);
	r.header_names = names;
	r.header_values = values;
	r.nheaders = c->header ? 1 : 0;
	aws_error err;
	memset(&err, 0, sizeof(err));
	snprintf(err.code, sizeof(err.code), "%s", c->code);
	char region[S3_REGION_MAX] = "";
	s3_redirect got = s3_redirect_read(c->op, c->method, &r, &err, "us-east-1", region,
					   sizeof(region));
	ck_assert_msg(got == c->want, "case %d: got %d want %d", _i, got, c->want);
	if (c->want == S3_REDIRECT_TO)
		ck_assert_str_eq(region, c->region);
}
END_TEST

START_TEST(test_the_cache_keeps_each_buckets_latest_region)
{
	static s3_region_cache cache;
	memset(&cache, 0, sizeof(cache));
	ck_assert_ptr_null(s3_region_cache_get(&cache, "b"));
	s3_region_cache_put(&cache, "b", "eu-west-1");
	s3_region_cache_put(&cache, "b", "eu-west-2"); /* updated, not added */
	ck_assert_str_eq(s3_region_cache_get(&cache, "b"), "eu-west-2");
	char bucket[32];
	for (int i = 0; i < S3_REGION_SLOTS - 1; i++) {
		snprintf(bucket, sizeof(bucket), "bucket-%d", i);
		s3_region_cache_put(&cache, bucket, "ap-south-1");
	}
	ck_assert_str_eq(s3_region_cache_get(&cache, "b"), "eu-west-2"); /* still there: full now */
	s3_region_cache_put(&cache, "one-more", "sa-east-1");               /* replaces the oldest */
	ck_assert_ptr_null(s3_region_cache_get(&cache, "b"));
	ck_assert_str_eq(s3_region_cache_get(&cache, "one-more"), "sa-east-1");
	ck_assert_str_eq(s3_region_cache_get(&cache, "bucket-0"), "ap-south-1");
}
END_TEST

int main(void)
{
	Suite *s = suite_create("s3_redirect");
	TCase *t = tcase_create("s3_redirect");
	tcase_add_loop_test(t, test_wrong_region_answers_are_read_as_botocore_reads_them, 0, NROWS(cases));
	tcase_add_test(t, test_the_cache_keeps_each_buckets_latest_region);
	suite_add_tcase(s, t);
	return tu_run(s);
}
