/* gen_sigv4_curl — sends one request signed by libcurl's CURLOPT_AWS_SIGV4.
 *
 * Built and run only by tools/gen_sigv4_vectors.py (not by the Makefile);
 * the script's local server on 127.0.0.1 records what arrives. Usage:
 *   gen_sigv4_curl URL METHOD PROVIDER USER PASSWORD BODYHEX|- [HEADER...]
 * PROVIDER is "aws:amz:REGION:SERVICE"; BODYHEX is the body in hex ("" for
 * an empty body, "-" for none); each HEADER is "Name: value". Exit 0 on a
 * completed transfer. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <curl/curl.h>

static int unhex(const char *hex, char **out, size_t *len)
{
	size_t n = strlen(hex);
	if (n % 2)
		return -1;
	*out = malloc(n / 2 + 1);
	if (!*out)
		return -1;
	for (size_t i = 0; i < n / 2; i++) {
		unsigned int byte;
		if (sscanf(hex + 2 * i, "%2x", &byte) != 1)
			return -1;
		(*out)[i] = (char)byte;
	}
	*len = n / 2;
	return 0;
}

static size_t discard(char *p, size_t size, size_t n, void *ud)
{
	(void)p;
	(void)ud;
	return size * n;
}

int main(int argc, char **argv)
{
	struct curl_slist *hdrs = NULL;
	char *body = NULL;
	size_t body_len = 0;
	int rc = 1;

	if (argc < 7) {
		fprintf(stderr, "usage: %s URL METHOD PROVIDER USER PASSWORD BODYHEX|- [HEADER...]\n", argv[0]);
		return 2;
	}
	if (strcmp(argv[6], "-") != 0 && unhex(argv[6], &body, &body_len) != 0) {
		fprintf(stderr, "bad body hex\n");
		return 2;
	}
	curl_global_init(CURL_GLOBAL_DEFAULT);
	CURL *h = curl_easy_init();
	if (!h)
		goto out;
	for (int i = 7; i < argc; i++) {
		struct curl_slist *n = curl_slist_append(hdrs, argv[i]);
		if (!n)
			goto out;
		hdrs = n;
	}
	if (curl_easy_setopt(h, CURLOPT_URL, argv[1]) || curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, argv[2]) ||
	    curl_easy_setopt(h, CURLOPT_AWS_SIGV4, argv[3]) || curl_easy_setopt(h, CURLOPT_USERNAME, argv[4]) ||
	    curl_easy_setopt(h, CURLOPT_PASSWORD, argv[5]) || curl_easy_setopt(h, CURLOPT_HTTPHEADER, hdrs) ||
	    curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, discard) ||
	    curl_easy_setopt(h, CURLOPT_NOPROXY, "*") || curl_easy_setopt(h, CURLOPT_TIMEOUT, 20L))
		goto out;
	if (body && (curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE, (long)body_len) ||
		     curl_easy_setopt(h, CURLOPT_POSTFIELDS, body)))
		goto out;
	CURLcode res = curl_easy_perform(h);
	if (res != CURLE_OK) {
		fprintf(stderr, "curl: %s\n", curl_easy_strerror(res));
		goto out;
	}
	rc = 0;
out:
	curl_slist_free_all(hdrs);
	if (h)
		curl_easy_cleanup(h);
	curl_global_cleanup();
	free(body);
	return rc;
}
