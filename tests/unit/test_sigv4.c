/* test_sigv4 — engine/aws/sigv4.c against vectors from botocore and libcurl.
 *
 * The vectors (tests/vectors/sigv4_vectors.txt, made by
 * tools/gen_sigv4_vectors.py) are loaded before the suite runs; each one is a
 * loop test. SIGV4_VECTORS overrides the file's path. */
#include <check.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "sigv4.h"

#define MAX_VECTORS 256
#define MAX_VEC_HEADERS 32

typedef struct vec {
	char *name, *source, *method, *path, *query, *body;
	size_t body_len;
	sigv4_header headers[MAX_VEC_HEADERS];
	size_t nheaders;
	char *access_key, *secret_key, *token, *region, *service, *time, *s3;
	char *canonical, *string_to_sign, *authorization;
} vec;

static vec vectors[MAX_VECTORS];
static size_t nvectors;
static char load_error[256];

/* ---- the vectors file ---- */

static int hexdigit(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* Parses one "..." string at *p (C escapes \\ \" \n \t \xHH) into a new
 * NUL-terminated allocation; *len gets its length. Advances *p past it. */
static char *unquote(const char **p, size_t *len)
{
	const char *s = *p;
	while (*s == ' ')
		s++;
	if (*s++ != '"')
		return NULL;
	char *out = malloc(strlen(s) + 1);
	size_t n = 0;
	for (; out && *s && *s != '"'; s++) {
		char c = *s;
		if (c == '\\') {
			c = *++s;
			if (c == 'n')
				c = '\n';
			else if (c == 't')
				c = '\t';
			else if (c == 'x' && hexdigit(s[1]) >= 0 && hexdigit(s[2]) >= 0) {
				c = (char)(hexdigit(s[1]) << 4 | hexdigit(s[2]));
				s += 2;
			}
		}
		out[n++] = c;
	}
	if (!out || *s != '"') {
		free(out);
		return NULL;
	}
	out[n] = '\0';
	*p = s + 1;
	if (len)
		*len = n;
	return out;
}

static char **field(vec *v, const char *key)
{
	struct {
		const char *key;
		char **slot;
	} map[] = {
		{"case", &v->name},          {"source", &v->source},
		{"method", &v->method},      {"path", &v->path},
		{"query", &v->query},        {"access_key", &v->access_key},
		{"secret_key", &v->secret_key}, {"token", &v->token},
		{"region", &v->region},      {"service", &v->service},
		{"time", &v->time},          {"s3", &v->s3},
		{"canonical", &v->canonical}, {"string_to_sign", &v->string_to_sign},
		{"authorization", &v->authorization},
	};
	for (size_t i = 0; i < sizeof(map) / sizeof(map[0]); i++)
		if (strcmp(map[i].key, key) == 0)
			return map[i].slot;
	return NULL;
}

/* Applies one "key value..." line to v. 0 on success. */
static int parse_line(vec *v, const char *line)
{
	char key[32];
	size_t klen = strcspn(line, " ");
	const char *p = line + klen;
	char **slot;

	if (klen == 0 || klen >= sizeof(key))
		return -1;
	memcpy(key, line, klen);
	key[klen] = '\0';
	if (strcmp(key, "header") == 0) {
		if (v->nheaders == MAX_VEC_HEADERS)
			return -1;
		sigv4_header *h = &v->headers[v->nheaders++];
		h->name = unquote(&p, NULL);
		h->value = unquote(&p, NULL);
		return h->name && h->value ? 0 : -1;
	}
	if (strcmp(key, "body") == 0)
		return (v->body = unquote(&p, &v->body_len)) ? 0 : -1;
	if (!(slot = field(v, key)) || *slot)
		return -1;
	return (*slot = unquote(&p, NULL)) ? 0 : -1;
}

static int load_vectors(const char *path)
{
	FILE *f = fopen(path, "r");
	char *line = NULL;
	size_t cap = 0, lineno = 0;
	ssize_t n;
	int in_case = 0;

	if (!f) {
		snprintf(load_error, sizeof(load_error), "cannot open %s", path);
		return -1;
	}
	while ((n = getline(&line, &cap, f)) >= 0) {
		lineno++;
		while (n > 0 && (line[n - 1] == '\n' || line[n - 1] == '\r'))
			line[--n] = '\0';
		if (n == 0 || line[0] == '#')
			continue;
		if (strcmp(line, "end") == 0) {
			in_case = 0;
			nvectors++;
			continue;
		}
		if ((!in_case && nvectors == MAX_VECTORS) || parse_line(&vectors[nvectors], line) != 0) {
			snprintf(load_error, sizeof(load_error), "%s:%zu: bad line", path, lineno);
			break;
		}
		in_case = 1;
	}
	free(line);
	fclose(f);
	return load_error[0] ? -1 : 0;
}

/* SIGV4_VECTORS, else the file relative to the working directory (the
 * repository root), else relative to build/tests/ or build/asan/tests/. */
static const char *vectors_path(void)
{
	static const char rel[] = "tests/vectors/sigv4_vectors.txt";
	static char path[4096];
	const char *env = getenv("SIGV4_VECTORS");
	char exe[2048];

	if (env && *env)
		return env;
	ssize_t n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
	if (access(rel, R_OK) == 0 || n <= 0)
		return rel;
	exe[n] = '\0';
	char *slash = strrchr(exe, '/');
	if (slash)
		*slash = '\0';
	for (const char *up = "/../../"; ; up = "/../../../") {
		snprintf(path, sizeof(path), "%s%s%s", exe, up, rel);
		if (access(path, R_OK) == 0 || strlen(up) > 7)
			return path;
	}
}

/* ---- helpers ---- */

static sigv4_params doc_params(void)
{
	sigv4_params p = {
		.access_key_id = "AKIDEXAMPLE",
		.secret_access_key = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY",
		.region = "us-east-1",
		.service = "iam",
		.now = 1440938160, /* 20150830T123600Z */
	};
	return p;
}

static const sigv4_header doc_headers[] = {
	{"Host", "iam.amazonaws.com"},
	{"Content-Type", "application/x-www-form-urlencoded; charset=utf-8"},
};

static sigv4_request doc_request(void)
{
	sigv4_request r = {
		.method = "GET",
		.path = "/",
		.query = "Action=ListUsers&Version=2010-05-08",
		.headers = doc_headers,
		.nheaders = 2,
	};
	return r;
}

/* The AWS documentation's ListUsers example ("Create a canonical request for
 * Signature Version 4"), written out here independently of the vectors. */
static const char doc_canonical[] =
	"GET\n"
	"/\n"
	"Action=ListUsers&Version=2010-05-08\n"
	"content-type:application/x-www-form-urlencoded; charset=utf-8\n"
	"host:iam.amazonaws.com\n"
	"x-amz-date:20150830T123600Z\n"
	"\n"
	"content-type;host;x-amz-date\n"
	"e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";

static const char doc_sts[] = "AWS4-HMAC-SHA256\n"
			      "20150830T123600Z\n"
			      "20150830/us-east-1/iam/aws4_request\n"
			      "f536975d06c0309214f805bb90ccff089219ecd68b2577efef23edd43b7e1a59";

static const char doc_authorization[] =
	"AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/iam/aws4_request, "
	"SignedHeaders=content-type;host;x-amz-date, "
	"Signature=5d672d79c15b13162d9279b0855cfba6789a8edb4c82c400e06b5924a6f2b5d7";

/* Signs r with p; asserts failure and that the reason is given. */
static void expect_failure(const sigv4_request *r, const sigv4_params *p, const char *why)
{
	sigv4_output out;
	char err[256] = "";
	int rc = sigv4_sign(r, p, &out, NULL, 0, NULL, 0, err, sizeof(err));
	ck_assert_msg(rc == -1, "%s: expected failure", why);
	ck_assert_msg(err[0] != '\0', "%s: no reason in errbuf", why);
	ck_assert_msg(out.authorization[0] == '\0', "%s: an Authorization was produced", why);
}

/* ---- data-driven: every vector ---- */

START_TEST(test_vector_matches_independent_signer)
{
	ck_assert_msg((size_t)_i < nvectors, "vector %d missing", _i);
	const vec *v = &vectors[_i];
	sigv4_request r = {v->method, v->path, v->query, v->headers, v->nheaders, v->body, v->body_len};
	sigv4_params p = {v->access_key, v->secret_key, v->token, v->region, v->service,
			  (time_t)strtoll(v->time, NULL, 10), strcmp(v->s3, "1") == 0};
	sigv4_output out;
	static char canonical[65536], sts[1024];
	char err[256] = "", hash[65];

	int rc = sigv4_sign(&r, &p, &out, canonical, sizeof(canonical), sts, sizeof(sts), err, sizeof(err));
	ck_assert_msg(rc == 0, "%s: sigv4_sign failed: %s", v->name, err);
	if (v->canonical)
		ck_assert_msg(strcmp(canonical, v->canonical) == 0, "%s: canonical request\n%s\nexpected\n%s",
			      v->name, canonical, v->canonical);
	if (v->string_to_sign)
		ck_assert_msg(strcmp(sts, v->string_to_sign) == 0, "%s: string to sign\n%s\nexpected\n%s",
			      v->name, sts, v->string_to_sign);
	ck_assert_msg(strcmp(out.authorization, v->authorization) == 0, "%s: Authorization\n%s\nexpected\n%s",
		      v->name, out.authorization, v->authorization);
	sigv4_sha256_hex(v->body, v->body_len, hash);
	ck_assert_str_eq(out.content_sha256, hash);
	ck_assert_msg(strstr(v->authorization, "Credential=AKIDEXAMPLE/") &&
			      strncmp(strstr(v->authorization, "/") + 1, out.amz_date, 8) == 0,
		      "%s: amz_date %s does not match the scope", v->name, out.amz_date);
}
END_TEST

START_TEST(test_vectors_file_has_both_signers)
{
	size_t boto = 0, curl = 0;
	ck_assert_msg(load_error[0] == '\0', "vectors: %s", load_error);
	for (size_t i = 0; i < nvectors; i++) {
		ck_assert_msg(vectors[i].name && vectors[i].method && vectors[i].path && vectors[i].s3 &&
				      vectors[i].time && vectors[i].authorization && vectors[i].body,
			      "vector %zu is incomplete", i);
		boto += strcmp(vectors[i].source, "botocore") == 0;
		curl += strcmp(vectors[i].source, "curl") == 0;
	}
	ck_assert_msg(boto >= 25, "only %zu botocore vectors", boto);
	ck_assert_msg(curl >= 10, "only %zu curl vectors", curl);
}
END_TEST

/* ---- the known case, by hand ---- */

START_TEST(test_doc_example_canonical_request_and_signature)
{
	sigv4_request r = doc_request();
	sigv4_params p = doc_params();
	sigv4_output out;
	char canonical[1024], sts[512], err[128];

	ck_assert_int_eq(sigv4_sign(&r, &p, &out, canonical, sizeof(canonical), sts, sizeof(sts), err, sizeof(err)), 0);
	ck_assert_str_eq(canonical, doc_canonical);
	ck_assert_str_eq(sts, doc_sts);
	ck_assert_str_eq(out.authorization, doc_authorization);
	ck_assert_str_eq(out.amz_date, "20150830T123600Z");
	ck_assert_str_eq(out.content_sha256, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
}
END_TEST

/* The signature over sts for p, computed here with OpenSSL's one-shot HMAC()
 * from scratch: not through the signer's own HMAC nor its signing-key cache. */
static void reference_signature(const sigv4_params *p, const char *sts, char out[65])
{
	unsigned char k[64], m[32];
	unsigned int n = 0;
	char date[9], k0[300];
	snprintf(date, sizeof(date), "%.8s", strstr(sts, "\n") + 1);
	snprintf(k0, sizeof(k0), "AWS4%s", p->secret_access_key);
	HMAC(EVP_sha256(), k0, (int)strlen(k0), (const unsigned char *)date, 8, k, &n);
	HMAC(EVP_sha256(), k, 32, (const unsigned char *)p->region, strlen(p->region), m, &n);
	HMAC(EVP_sha256(), m, 32, (const unsigned char *)p->service, strlen(p->service), k, &n);
	HMAC(EVP_sha256(), k, 32, (const unsigned char *)"aws4_request", 12, m, &n);
	HMAC(EVP_sha256(), m, 32, (const unsigned char *)sts, strlen(sts), k, &n);
	for (int i = 0; i < 32; i++)
		snprintf(out + 2 * i, 3, "%02x", k[i]);
}

/* The signer caches derived signing keys by (secret, date, region, service):
 * a change in any of them, more keys than the cache holds, and coming back to
 * an earlier one must each give the signature computed from scratch. */
START_TEST(test_signing_key_cache_keys_on_every_input)
{
	static const char *const secrets[] = {"wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY", "other", "x",
					      "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEZ"};
	static const char *const regions[] = {"us-east-1", "eu-west-1"};
	static const char *const services[] = {"iam", "sts"};
	sigv4_request r = doc_request();
	for (int round = 0; round < 2; round++) {
		for (int i = 0; i < 4 * 2 * 2 * 2; i++) {
			sigv4_params p = doc_params();
			p.secret_access_key = secrets[i % 4];
			p.region = regions[i / 4 % 2];
			p.service = services[i / 8 % 2];
			p.now += (time_t)(i / 16) * 86400; /* the next day */
			sigv4_output out;
			char sts[512], want[65];
			ck_assert_int_eq(sigv4_sign(&r, &p, &out, NULL, 0, sts, sizeof(sts), NULL, 0), 0);
			reference_signature(&p, sts, want);
			const char *got = strstr(out.authorization, "Signature=");
			ck_assert_msg(got && strcmp(got + 10, want) == 0, "round %d, case %d: %s, want %s",
				      round, i, out.authorization, want);
		}
	}
}
END_TEST

START_TEST(test_canonical_output_truncated_and_terminated)
{
	sigv4_request r = doc_request();
	sigv4_params p = doc_params();
	sigv4_output out;
	char canonical[8];

	memset(canonical, 'X', sizeof(canonical));
	ck_assert_int_eq(sigv4_sign(&r, &p, &out, canonical, sizeof(canonical), NULL, 0, NULL, 0), 0);
	ck_assert_str_eq(canonical, "GET\n/\nA");
	ck_assert_str_eq(out.authorization, doc_authorization);
}
END_TEST

/* A retried request still carries the previous attempt's X-Amz-Date and
 * Authorization: they must not leak into the new signature. */
START_TEST(test_stale_date_and_authorization_headers_are_replaced)
{
	sigv4_header h[] = {
		{"Host", "iam.amazonaws.com"},
		{"X-Amz-Date", "20010101T000000Z"},
		{"Content-Type", "application/x-www-form-urlencoded; charset=utf-8"},
		{"Authorization", "AWS4-HMAC-SHA256 Credential=old"},
	};
	sigv4_request r = doc_request();
	sigv4_params p = doc_params();
	sigv4_output out;

	r.headers = h;
	r.nheaders = 4;
	ck_assert_int_eq(sigv4_sign(&r, &p, &out, NULL, 0, NULL, 0, NULL, 0), 0);
	ck_assert_str_eq(out.authorization, doc_authorization);
}
END_TEST

START_TEST(test_session_token_signed_only_when_given)
{
	sigv4_request r = doc_request();
	sigv4_params p = doc_params();
	sigv4_output out;
	char canonical[2048];

	p.session_token = "";
	ck_assert_int_eq(sigv4_sign(&r, &p, &out, NULL, 0, NULL, 0, NULL, 0), 0);
	ck_assert_str_eq(out.authorization, doc_authorization);
	p.session_token = "tok/en+==";
	ck_assert_int_eq(sigv4_sign(&r, &p, &out, canonical, sizeof(canonical), NULL, 0, NULL, 0), 0);
	ck_assert_ptr_nonnull(strstr(canonical, "\nx-amz-security-token:tok/en+==\n"));
	ck_assert_ptr_nonnull(strstr(out.authorization, "SignedHeaders=content-type;host;x-amz-date;x-amz-security-token,"));
}
END_TEST

/* ---- SHA-256 helper ---- */

START_TEST(test_sha256_hex_known_digests)
{
	char out[65];
	sigv4_sha256_hex("", 0, out);
	ck_assert_str_eq(out, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
	sigv4_sha256_hex(NULL, 0, out);
	ck_assert_str_eq(out, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
	sigv4_sha256_hex("abc", 3, out);
	ck_assert_str_eq(out, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
	sigv4_sha256_hex("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq", 56, out);
	ck_assert_str_eq(out, "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");
	sigv4_sha256_hex("a\0b", 3, out); /* length, not strlen */
	ck_assert_str_ne(out, "ca978112ca1bbdcafac231b39a23dc4da786eff8147c4e72b9807785afee48bb");
}
END_TEST

/* ---- errors ---- */

START_TEST(test_overlong_path_fails)
{
	sigv4_request r = doc_request();
	sigv4_params p = doc_params();
	size_t n = 300 << 10;
	char *path = malloc(n + 1);

	ck_assert_ptr_nonnull(path);
	memset(path, 'a', n);
	path[0] = '/';
	path[n] = '\0';
	r.path = path;
	expect_failure(&r, &p, "300 KiB path");
	p.s3 = 1;
	expect_failure(&r, &p, "300 KiB S3 path");
	free(path);
}
END_TEST

START_TEST(test_overlong_query_and_too_many_params_fail)
{
	sigv4_request r = doc_request();
	sigv4_params p = doc_params();
	size_t n = 1025;
	char *q = malloc(n * 4 + 1);

	ck_assert_ptr_nonnull(q);
	for (size_t i = 0; i < n; i++)
		memcpy(q + 4 * i, "a=1&", 4);
	q[n * 4 - 1] = '\0';
	r.query = q;
	expect_failure(&r, &p, "1025 query parameters");
	q[1024 * 4 - 1] = '\0'; /* 1024 parameters are allowed */
	sigv4_output out;
	ck_assert_int_eq(sigv4_sign(&r, &p, &out, NULL, 0, NULL, 0, NULL, 0), 0);
	free(q);
}
END_TEST

START_TEST(test_too_many_headers_and_long_authorization_fail)
{
	static sigv4_header h[70];
	static char names[70][48];
	sigv4_request r = doc_request();
	sigv4_params p = doc_params();

	for (int i = 0; i < 70; i++) {
		snprintf(names[i], sizeof(names[i]), "X-Long-Header-Name-Number-%02d", i);
		h[i] = (sigv4_header){i ? names[i] : "Host", "v"};
	}
	r.headers = h;
	r.nheaders = 65;
	expect_failure(&r, &p, "65 headers");
	r.nheaders = 40; /* allowed, but the SignedHeaders list passes 1024 bytes */
	expect_failure(&r, &p, "Authorization longer than 1023 bytes");
	r.nheaders = 10;
	sigv4_output out;
	ck_assert_int_eq(sigv4_sign(&r, &p, &out, NULL, 0, NULL, 0, NULL, 0), 0);
}
END_TEST

START_TEST(test_bad_inputs_fail)
{
	sigv4_request r = doc_request();
	sigv4_params p = doc_params();
	char secret[300];

	memset(secret, 'k', sizeof(secret) - 1);
	secret[sizeof(secret) - 1] = '\0';
	p.secret_access_key = secret;
	expect_failure(&r, &p, "300-byte secret");
	p = doc_params();
	p.region = "us-east-1-with-a-region-name-that-goes-on-and-on-for-more-than-64-bytes";
	expect_failure(&r, &p, "overlong region");
	p = doc_params();
	p.service = NULL;
	expect_failure(&r, &p, "no service");
	p = doc_params();
	p.now = (time_t)400000000000LL; /* year 12000 */
	expect_failure(&r, &p, "time beyond year 9999");
	p = doc_params();
	r.nheaders = 1;
	r.headers = doc_headers + 1; /* Content-Type only */
	expect_failure(&r, &p, "no Host header");
	sigv4_header inj[] = {{"Host", "iam.amazonaws.com"}, {"X-Evil", "a\r\nX-Injected: 1"}};
	r.headers = inj;
	r.nheaders = 2;
	expect_failure(&r, &p, "CR/LF in a header value");
	inj[1] = (sigv4_header){"Bad Name", "v"};
	expect_failure(&r, &p, "space in a header name");
}
END_TEST

static Suite *sigv4_suite(void)
{
	Suite *s = suite_create("sigv4");
	TCase *tc = tcase_create("vectors");
	tcase_add_test(tc, test_vectors_file_has_both_signers);
	tcase_add_loop_test(tc, test_vector_matches_independent_signer, 0, (int)nvectors);
	suite_add_tcase(s, tc);
	tc = tcase_create("known");
	tcase_add_test(tc, test_doc_example_canonical_request_and_signature);
	tcase_add_test(tc, test_signing_key_cache_keys_on_every_input);
	tcase_add_test(tc, test_canonical_output_truncated_and_terminated);
	tcase_add_test(tc, test_stale_date_and_authorization_headers_are_replaced);
	tcase_add_test(tc, test_session_token_signed_only_when_given);
	tcase_add_test(tc, test_sha256_hex_known_digests);
	suite_add_tcase(s, tc);
	tc = tcase_create("errors");
	tcase_add_test(tc, test_overlong_path_fails);
	tcase_add_test(tc, test_overlong_query_and_too_many_params_fail);
	tcase_add_test(tc, test_too_many_headers_and_long_authorization_fail);
	tcase_add_test(tc, test_bad_inputs_fail);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	load_vectors(vectors_path()); /* a failure is reported by the first test */
	SRunner *sr = srunner_create(sigv4_suite());
	srunner_run_all(sr, CK_NORMAL);
	int failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
