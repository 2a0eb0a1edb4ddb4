/* http — libcurl easy handle reused across requests, so connections persist.
 * Every buffer has a maximum; every setopt and slist append is checked. */
#include "http.h"

#include <ctype.h>
#include <curl/curl.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "ca_bundle.h"
#include "http_easy.h"

#define HTTP_MAX_HEADERS 64
#define HTTP_MAX_HEADER_LINE 8192

struct http_client {
	CURL *curl;
	CURLSH *share; /* borrowed (multi.c): connections, TLS sessions, DNS; or NULL */
};

static int curl_global_ready;

/* The CA bundle, looked up once per process (Lambda and Debian differ). */
static const char *ca_path(void)
{
	static char path[4096];
	static int looked, found;
	if (!looked) {
		looked = 1;
		found = ca_bundle_find(path, sizeof(path)) == 0;
	}
	return found ? path : NULL;
}

http_client *http_client_new(void)
{
	if (!curl_global_ready) {
		if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK)
			return NULL;
		curl_global_ready = 1;
	}
	http_client *h = calloc(1, sizeof(*h));
	if (!h)
		return NULL;
	h->curl = curl_easy_init();
	if (!h->curl) {
		free(h);
		return NULL;
	}
	return h;
}

void http_client_free(http_client *h)
{
	if (!h)
		return;
	curl_easy_cleanup(h->curl);
	free(h);
}

static size_t on_body(char *p, size_t size, size_t n, void *ud)
{
	http_response *r = ud;
	size_t len = size * n;
	if (buf_append(&r->body, p, len) != 0) {
		r->failure = HTTP_FAIL_TOO_LARGE;
		return 0; /* makes curl abort with CURLE_WRITE_ERROR */
	}
	return len;
}

/* Room for n headers: the name and value arrays share one allocation
 * (names, then values), grown by doubling from 16 (a 1 KiB allocation per
 * response would make glibc consolidate its free lists every call). */
static int reserve_headers(http_response *r, size_t n)
{
	size_t cap = r->header_names ? (size_t)(r->header_values - r->header_names) : 0;
	if (n <= cap)
		return 0;
	size_t ncap = cap ? 2 * cap : 16;
	char **a = malloc(2 * ncap * sizeof(char *));
	if (!a)
		return -1;
	if (cap) {
		memcpy(a, r->header_names, r->nheaders * sizeof(char *));
		memcpy(a + ncap, r->header_values, r->nheaders * sizeof(char *));
	}
	free(r->header_names);
	r->header_names = a;
	r->header_values = a + ncap;
	return 0;
}

/* One allocation per header: "name\0value\0"; the value points inside it. */
static int add_header(http_response *r, const char *name, size_t nlen, const char *val, size_t vlen)
{
	if (r->nheaders >= HTTP_MAX_HEADERS)
		return 0; /* ignore the excess; AWS never sends that many */
	if (reserve_headers(r, r->nheaders + 1) != 0)
		return -1;
	char *n = malloc(nlen + vlen + 2);
	if (!n)
		return -1;
	for (size_t i = 0; i < nlen; i++)
		n[i] = (char)tolower((unsigned char)name[i]);
	n[nlen] = '\0';
	memcpy(n + nlen + 1, val, vlen);
	n[nlen + 1 + vlen] = '\0';
	r->header_names[r->nheaders] = n;
	r->header_values[r->nheaders] = n + nlen + 1;
	r->nheaders++;
	return 0;
}

static void free_headers(http_response *r)
{
	for (size_t i = 0; i < r->nheaders; i++)
		free(r->header_names[i]); /* the value is in the same block */
	free(r->header_names);     /* and so is the values array */
	r->header_names = r->header_values = NULL;
	r->nheaders = 0;
}

/* Header lines arrive one at a time; a status line starts a new response
 * (after a redirect or 100-continue), so earlier headers are dropped. */
static size_t on_header(char *p, size_t size, size_t n, void *ud)
{
	http_response *r = ud;
	size_t len = size * n;
	if (len > HTTP_MAX_HEADER_LINE)
		return len;
	if (len >= 5 && strncmp(p, "HTTP/", 5) == 0) {
		free_headers(r);
		return len;
	}
	const char *colon = memchr(p, ':', len);
	if (!colon)
		return len;
	const char *v = colon + 1, *end = p + len;
	while (v < end && (*v == ' ' || *v == '\t'))
		v++;
	while (end > v && (end[-1] == '\r' || end[-1] == '\n' || end[-1] == ' ' || end[-1] == '\t'))
		end--;
	if (add_header(r, p, (size_t)(colon - p), v, (size_t)(end - v)) != 0)
		return 0;
	return len;
}

static http_failure classify(CURLcode rc)
{
	switch (rc) {
	case CURLE_COULDNT_RESOLVE_HOST:
	case CURLE_COULDNT_CONNECT:
		return HTTP_FAIL_CONNECT;
	case CURLE_OPERATION_TIMEDOUT:
		return HTTP_FAIL_TIMEOUT;
	case CURLE_OUT_OF_MEMORY:
	case CURLE_URL_MALFORMAT:
	case CURLE_UNSUPPORTED_PROTOCOL:
		return HTTP_FAIL_INTERNAL;
	default:
		return HTTP_FAIL_TRANSPORT;
	}
}

static int has_header(const http_request *req, const char *name)
{
	for (size_t i = 0; i < req->nheaders; i++)
		if (strcasecmp(req->headers[i].name, name) == 0)
			return 1;
	return 0;
}

/* Whether set_method gives curl a body (POSTFIELDS), hence a Content-Type. */
static int sends_body(const http_request *req)
{
	return req->body_len || strcmp(req->method, "POST") == 0 || strcmp(req->method, "PUT") == 0;
}

static struct curl_slist *build_headers(const http_request *req, int *ok)
{
	struct curl_slist *list = NULL, *next;
	buf line = BUF_INIT;
	*ok = 1;
	/* curl adds "Expect: 100-continue" for large bodies (over 1 MiB in
	 * curl 7.88, over 1 KiB in older ones); AWS does not need it. Every entry
	 * costs curl a scan per header of its own, so only when it can matter. */
	if (req->body_len > 1024) {
		if (!(next = curl_slist_append(list, "Expect:")))
			goto fail;
		list = next;
	}
	/* With a body, curl would add a form Content-Type of its own; S3 would
	 * then store objects with it. Send only what the caller gave. */
	if (sends_body(req) && !has_header(req, "Content-Type")) {
		if (!(next = curl_slist_append(list, "Content-Type:")))
			goto fail;
		list = next;
	}
	for (size_t i = 0; i < req->nheaders; i++) {
		buf_reset(&line);
		if (buf_puts(&line, req->headers[i].name) != 0 || buf_append(&line, ": ", 2) != 0 ||
		    buf_puts(&line, req->headers[i].value) != 0)
			goto fail;
		if (!(next = curl_slist_append(list, line.data)))
			goto fail;
		list = next;
	}
	buf_wipe(&line); /* may have held a token */
	return list;
fail:
	buf_wipe(&line);
	*ok = 0;
	return list;
}

static CURLcode set_method(CURL *c, const http_request *req)
{
	CURLcode rc = curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, req->method);
	if (rc == CURLE_OK && strcmp(req->method, "HEAD") == 0)
		rc = curl_easy_setopt(c, CURLOPT_NOBODY, 1L);
	if (rc != CURLE_OK)
		return rc;
	if (sends_body(req)) {
		rc = curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)req->body_len);
		if (rc == CURLE_OK)
			rc = curl_easy_setopt(c, CURLOPT_POSTFIELDS, req->body_len ? req->body : "");
	}
	return rc;
}

static CURLcode set_options(CURL *c, const http_request *req, http_response *resp,
			    struct curl_slist *hdrs)
{
	CURLcode rc = CURLE_OK;
	const char *ca = ca_path();
#define SET(opt, val) \
	if (rc == CURLE_OK) \
	rc = curl_easy_setopt(c, opt, val)
	SET(CURLOPT_URL, req->url);
	/* The path goes as the caller encoded it: without this, libcurl removes
	 * "." and ".." segments, and an S3 key "../../b2/x" sent path-style
	 * ("/b1/../../b2/x") would name another bucket. */
	SET(CURLOPT_PATH_AS_IS, 1L);
	SET(CURLOPT_HTTPHEADER, hdrs);
	SET(CURLOPT_WRITEFUNCTION, on_body);
	SET(CURLOPT_WRITEDATA, resp);
	SET(CURLOPT_HEADERFUNCTION, on_header);
	SET(CURLOPT_HEADERDATA, resp);
	SET(CURLOPT_CONNECTTIMEOUT_MS, req->connect_timeout_ms > 0 ? req->connect_timeout_ms : 3000L);
	SET(CURLOPT_TIMEOUT_MS, req->timeout_ms > 0 ? req->timeout_ms : 30000L);
	SET(CURLOPT_NOSIGNAL, 1L);
	SET(CURLOPT_FOLLOWLOCATION, 0L);
	SET(CURLOPT_PROTOCOLS_STR, "http,https");
	SET(CURLOPT_ACCEPT_ENCODING, NULL);
	SET(CURLOPT_TCP_KEEPALIVE, 1L);
	if (ca)
		SET(CURLOPT_CAINFO, ca);
#undef SET
	if (rc == CURLE_OK)
		rc = set_method(c, req);
	return rc;
}

int http_do(http_client *h, const http_request *req, http_response *resp)
{
	int ok, result = -1;
	memset(resp, 0, sizeof(*resp));
	buf_init(&resp->body, req->max_response ? req->max_response : (size_t)16 << 20);
	curl_easy_reset(h->curl); /* keeps the connection cache */
	if (h->share && curl_easy_setopt(h->curl, CURLOPT_SHARE, h->share) != CURLE_OK)
		h->share = NULL; /* then its own connections, as without */
	struct curl_slist *hdrs = build_headers(req, &ok);
	CURLcode rc = ok ? set_options(h->curl, req, resp, hdrs) : CURLE_OUT_OF_MEMORY;
	if (rc == CURLE_OK)
		rc = curl_easy_perform(h->curl);
	if (rc != CURLE_OK) {
		if (resp->failure == HTTP_OK)
			resp->failure = classify(rc);
		snprintf(resp->error, sizeof(resp->error), "%s",
			 resp->failure == HTTP_FAIL_TOO_LARGE ? "response too large" : curl_easy_strerror(rc));
		goto out;
	}
	curl_easy_getinfo(h->curl, CURLINFO_RESPONSE_CODE, &resp->status);
	result = 0;
out:
	curl_slist_free_all(hdrs); /* the list held the signed headers and the token */
	return result;
}

const char *http_response_header(const http_response *r, const char *name)
{
	for (size_t i = 0; i < r->nheaders; i++)
		if (strcasecmp(r->header_names[i], name) == 0)
			return r->header_values[i];
	return NULL;
}

void http_response_free(http_response *r)
{
	free_headers(r);
	buf_free(&r->body);
}

void http_client_set_share(http_client *h, void *share)
{
	h->share = share;
}

/* ---- for the multi transport (multi.c): one easy handle per transfer ---- */

int http_easy_prepare(CURL *c, const http_request *req, http_response *resp, struct curl_slist **hdrs)
{
	int ok;
	memset(resp, 0, sizeof(*resp));
	buf_init(&resp->body, req->max_response ? req->max_response : (size_t)16 << 20);
	curl_easy_reset(c);
	*hdrs = build_headers(req, &ok);
	CURLcode rc = ok ? set_options(c, req, resp, *hdrs) : CURLE_OUT_OF_MEMORY;
	if (rc != CURLE_OK) {
		resp->failure = classify(rc);
		snprintf(resp->error, sizeof(resp->error), "%s", curl_easy_strerror(rc));
		return -1;
	}
	return 0;
}

int http_easy_finish(CURL *c, int curl_code, http_response *resp)
{
	CURLcode rc = (CURLcode)curl_code;
	if (rc != CURLE_OK) {
		if (resp->failure == HTTP_OK)
			resp->failure = classify(rc);
		snprintf(resp->error, sizeof(resp->error), "%s",
			 resp->failure == HTTP_FAIL_TOO_LARGE ? "response too large" : curl_easy_strerror(rc));
		return -1;
	}
	curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &resp->status);
	return 0;
}

int http_global_init(void)
{
	if (!curl_global_ready) {
		if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK)
			return -1;
		curl_global_ready = 1;
	}
	return 0;
}
