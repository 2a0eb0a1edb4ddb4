/* s3_redirect — see s3_redirect.h. */
#include "s3_redirect.h"

#include <stdio.h>
#include <string.h>

#include "xml.h"

const char *s3_region_cache_get(const s3_region_cache *c, const char *bucket)
{
	for (size_t i = 0; i < S3_REGION_SLOTS; i++)
		if (c->slot[i].bucket[0] && strcmp(c->slot[i].bucket, bucket) == 0)
			return c->slot[i].region;
	return NULL;
}

void s3_region_cache_put(s3_region_cache *c, const char *bucket, const char *region)
{
	size_t i = 0;
	while (i < S3_REGION_SLOTS && !(c->slot[i].bucket[0] && strcmp(c->slot[i].bucket, bucket) == 0))
		i++;
	if (i == S3_REGION_SLOTS) {
		i = c->next;
		c->next = (c->next + 1) % S3_REGION_SLOTS;
	}
	snprintf(c->slot[i].bucket, sizeof(c->slot[i].bucket), "%s", bucket);
	snprintf(c->slot[i].region, sizeof(c->slot[i].region), "%s", region);
}

int s3_region_valid(const char *r)
{
	size_t n = r ? strlen(r) : 0;
	if (n == 0 || n >= S3_REGION_MAX || r[0] == '-' || r[n - 1] == '-')
		return 0;
	return strspn(r, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-") == n;
}

static int take(const char *v, char *region, size_t n)
{
	if (!s3_region_valid(v) || strlen(v) >= n)
		return 0;
	snprintf(region, n, "%s", v);
	return 1;
}

int s3_region_from_header(const http_response *r, char *region, size_t n)
{
	return take(http_response_header(r, "x-amz-bucket-region"), region, n);
}

/* <Error><Region>eu-west-1</Region></Error> */
static int region_from_body(const http_response *r, char *region, size_t n)
{
	char why[64];
	xml_doc *d = r->body.len ? xml_parse(r->body.data, r->body.len, NULL, why, sizeof(why)) : NULL;
	const xml_node *root = xml_root(d);
	int ok = root && strcmp(root->name, "Error") == 0 &&
		 take(xml_child_text(root, "Region"), region, n);
	xml_free(d);
	return ok;
}

static int body_blank(const http_response *r)
{
	for (size_t i = 0; i < r->body.len; i++)
		if (!strchr(" \t\r\n", r->body.data[i]))
			return 0;
	return 1;
}

/* Whether the answer is one of the wrong-region answers of the header. */
static int wrong_region(const char *op, const char *method, const http_response *r,
			const aws_error *err)
{
	long st = r->status;
	if (strcmp(method, "HEAD") == 0 && (st == 301 || st == 400) && body_blank(r))
		return 1;
	if (st == 301 || st == 302 || st == 307)
		return 1;
	if (strcmp(err->code, "PermanentRedirect") == 0)
		return 1;
	if (strcmp(err->code, "AuthorizationHeaderMalformed") == 0)
		return 2; /* only with a Region in the body */
	return strcmp(err->code, "IllegalLocationConstraintException") == 0 &&
	       strcmp(op, "CreateBucket") != 0;
}

s3_redirect s3_redirect_read(const char *op, const char *method, const http_response *r,
			     const aws_error *err, const char *signed_region, char *region, size_t n)
{
	int kind = wrong_region(op, method, r, err);
	if (!kind)
		return S3_REDIRECT_NO;
	const char *said = http_response_header(r, "x-amz-bucket-region");
	if (kind == 2 && !region_from_body(r, region, n))
		return S3_REDIRECT_NO; /* a malformed header of another kind */
	if (said && !take(said, region, n))
		return S3_REDIRECT_NO; /* not a region name: followed nowhere */
	if (!said && !region_from_body(r, region, n))
		return S3_REDIRECT_ASK;
	if (signed_region && strcmp(region, signed_region) == 0)
		return S3_REDIRECT_NO; /* nowhere else to go */
	return S3_REDIRECT_TO;
}
