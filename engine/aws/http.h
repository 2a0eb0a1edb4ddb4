/* http — one reusable libcurl handle (connections persist between calls).
 *
 * Ownership: http_client owns its CURL handle. An http_response owns its body
 * and headers until http_response_free. Requests borrow everything they point
 * at for the duration of http_do. */
#ifndef DEADBOLT_HTTP_H
#define DEADBOLT_HTTP_H

#include <stddef.h>

#include "buf.h"

typedef struct http_header {
	const char *name;
	const char *value;
} http_header;

typedef struct http_request {
	const char *method; /* "GET", "POST", "PUT", "HEAD", ... */
	const char *url;    /* full URL, already percent-encoded */
	const http_header *headers;
	size_t nheaders;
	const void *body;
	size_t body_len;
	long connect_timeout_ms; /* 0: 3000 */
	long timeout_ms;         /* whole request; 0: 30000 */
	size_t max_response;     /* body cap; 0: 16 MiB */
} http_request;

typedef enum http_failure {
	HTTP_OK = 0,          /* a response arrived (any status) */
	HTTP_FAIL_CONNECT,    /* could not connect / resolve */
	HTTP_FAIL_TIMEOUT,    /* connect or request timed out */
	HTTP_FAIL_TOO_LARGE,  /* response passed max_response */
	HTTP_FAIL_TRANSPORT,  /* connection dropped, TLS error, ... */
	HTTP_FAIL_INTERNAL,   /* out of memory, bad URL, curl setup */
} http_failure;

typedef struct http_response {
	long status;
	buf body;
	char **header_names;  /* lower-cased */
	char **header_values; /* trimmed */
	size_t nheaders;
	http_failure failure;
	char error[256]; /* transport error text when failure != HTTP_OK */
} http_response;

typedef struct http_client http_client;

http_client *http_client_new(void);
void http_client_free(http_client *h);
/* Sends through a curl share handle (multi.h's http_multi_share): the same
 * connections, TLS sessions and DNS answers as the calls that overlap. The
 * share is borrowed: free h before it. NULL: h's own. */
void http_client_set_share(http_client *h, void *share);

/* Sends req. Returns 0 when a response arrived (resp->status set, any value),
 * or -1 with resp->failure and resp->error set. resp must be zeroed or freed
 * before reuse. */
int http_do(http_client *h, const http_request *req, http_response *resp);

/* The value of a response header (case-insensitive name), or NULL. */
const char *http_response_header(const http_response *r, const char *name);
void http_response_free(http_response *r);

#endif
