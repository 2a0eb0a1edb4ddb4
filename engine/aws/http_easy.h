/* http_easy — http.c's request set-up, shared with the multi transport
 * (multi.c), so that a transfer on the multi handle is the same request
 * http_do would send. Not for other callers.
 *
 * Ownership: http_easy_prepare fills resp (freed by http_response_free) and
 * *hdrs, a header list the caller frees with curl_slist_free_all after the
 * transfer (it holds the signed headers: free it, do not keep it). */
#ifndef DEADBOLT_HTTP_EASY_H
#define DEADBOLT_HTTP_EASY_H

#include <curl/curl.h>

#include "http.h"

/* curl_global_init once per process. 0, or -1 when it failed. */
int http_global_init(void);
/* Resets c and sets every option http_do sets for req. 0, or -1 with
 * resp->failure and resp->error set (*hdrs may still need freeing). */
int http_easy_prepare(CURL *c, const http_request *req, http_response *resp, struct curl_slist **hdrs);
/* After the transfer ended with curl_code: as http_do returns. */
int http_easy_finish(CURL *c, int curl_code, http_response *resp);

#endif
