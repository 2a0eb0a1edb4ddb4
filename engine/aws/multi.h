/* multi — many HTTP requests in flight at once on one libcurl multi handle,
 * in one thread: the transport of calls that overlap (client.c's
 * aws_call_start / aws_client_wait).
 *
 * Connections: a share handle gives every transfer, and the client's
 * one-at-a-time handle (http_client_set_share), the same connection cache
 * (keep-alive, reused per host), TLS session cache (a second connection to a
 * host resumes the session) and DNS cache. CURLMOPT_MAX_HOST_CONNECTIONS is
 * set (transfers beyond it would wait in curl's queue), but libcurl (8.21)
 * takes the limits of a pool a share handle holds from the share, which
 * has none: as built, no cap per host applies, and the caller's caps (the
 * client's per service) are the ones that bind.
 *
 * Ownership: http_multi owns its handles and every transfer's easy handle
 * and header list. A transfer borrows its http_request's URL and body, and
 * its http_response, until it is returned by http_multi_run or cancelled;
 * the headers are copied (and freed) by the transfer. */
#ifndef DEADBOLT_MULTI_H
#define DEADBOLT_MULTI_H

#include "http.h"

typedef struct http_multi http_multi;
typedef struct http_xfer http_xfer;

/* max_host_connections: at most this many connections to one host (0: 4). */
http_multi *http_multi_new(long max_host_connections);
void http_multi_free(http_multi *m); /* cancels what is still in flight */

/* Starts req. resp is filled as http_do fills it. Returns the transfer, or
 * NULL when it could not start (resp->failure and resp->error set). ud is
 * given back by http_multi_run. */
http_xfer *http_multi_start(http_multi *m, const http_request *req, http_response *resp, void *ud);

/* Drives the transfers, waiting at most timeout_ms for the network.
 * Returns the ud of one finished transfer (*rc as http_do returns: 0, a
 * response arrived; -1, resp->failure set), which is then gone; or NULL
 * when none finished in that time. */
void *http_multi_run(http_multi *m, long timeout_ms, int *rc);

/* Stops a transfer that has not been returned yet, and frees it. */
void http_multi_cancel(http_multi *m, http_xfer *x);

/* The share handle (a CURLSH *) every transfer uses: connection cache, TLS
 * sessions, DNS. Lend it to an http_client (http_client_set_share) so that
 * calls sent one at a time reuse the same connections; free that client
 * before m. */
void *http_multi_share(http_multi *m);

/* Transfers started and not yet returned or cancelled. */
int http_multi_running(const http_multi *m);

#endif
