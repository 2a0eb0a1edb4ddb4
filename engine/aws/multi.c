/* multi — requests in flight together on one libcurl multi handle. See
 * multi.h. Every easy handle is set up by http.c (http_easy_prepare), so a
 * transfer here sends what http_do would send. */
#include "multi.h"

#include <stdlib.h>
#include <string.h>

#include "http_easy.h"

#define DEFAULT_HOST_CONNECTIONS 4L
#define CONNECTION_CACHE 32L /* idle connections kept open, all hosts together */
#define SPARE_EASIES 16      /* easy handles kept for the next transfers */

struct http_xfer {
	CURL *easy;
	struct curl_slist *hdrs;
	http_response *resp;
	void *ud;
	int done, rc;
	http_xfer *prev, *next;
};

struct http_multi {
	CURLM *multi;
	CURLSH *share;
	http_xfer *head; /* started, not yet returned: the done ones first are found by a scan */
	int count;
	CURL *spare[SPARE_EASIES];
	int nspare;
};

static int setup_share(http_multi *m)
{
	m->share = curl_share_init();
	if (!m->share)
		return -1;
	static const curl_lock_data what[] = {CURL_LOCK_DATA_SSL_SESSION, CURL_LOCK_DATA_DNS,
					      CURL_LOCK_DATA_CONNECT};
	for (size_t i = 0; i < sizeof(what) / sizeof(what[0]); i++)
		if (curl_share_setopt(m->share, CURLSHOPT_SHARE, what[i]) != CURLSHE_OK)
			return -1;
	return 0;
}

http_multi *http_multi_new(long max_host_connections)
{
	if (http_global_init() != 0)
		return NULL;
	http_multi *m = calloc(1, sizeof(*m));
	if (!m)
		return NULL;
	long per_host = max_host_connections > 0 ? max_host_connections : DEFAULT_HOST_CONNECTIONS;
	m->multi = curl_multi_init();
	if (!m->multi || setup_share(m) != 0 ||
	    curl_multi_setopt(m->multi, CURLMOPT_MAX_HOST_CONNECTIONS, per_host) != CURLM_OK ||
	    curl_multi_setopt(m->multi, CURLMOPT_MAXCONNECTS, CONNECTION_CACHE) != CURLM_OK) {
		http_multi_free(m);
		return NULL;
	}
	return m;
}

static void unlink_xfer(http_multi *m, http_xfer *x)
{
	if (x->prev)
		x->prev->next = x->next;
	else
		m->head = x->next;
	if (x->next)
		x->next->prev = x->prev;
	m->count--;
}

/* Takes the transfer off the multi handle and frees it; its easy handle is
 * kept for the next transfer when there is room. */
static void release(http_multi *m, http_xfer *x)
{
	curl_multi_remove_handle(m->multi, x->easy);
	curl_slist_free_all(x->hdrs); /* the signed headers and the token */
	if (m->nspare < SPARE_EASIES)
		m->spare[m->nspare++] = x->easy;
	else
		curl_easy_cleanup(x->easy);
	free(x);
}

void http_multi_free(http_multi *m)
{
	if (!m)
		return;
	while (m->head) {
		http_xfer *x = m->head;
		unlink_xfer(m, x);
		release(m, x);
	}
	for (int i = 0; i < m->nspare; i++)
		curl_easy_cleanup(m->spare[i]);
	if (m->multi)
		curl_multi_cleanup(m->multi); /* closes the cached connections */
	if (m->share)
		curl_share_cleanup(m->share); /* after every easy handle using it */
	free(m);
}

static CURL *take_easy(http_multi *m)
{
	return m->nspare ? m->spare[--m->nspare] : curl_easy_init();
}

static void fail_start(http_response *resp, const char *why)
{
	if (resp->failure == HTTP_OK)
		resp->failure = HTTP_FAIL_INTERNAL;
	if (!resp->error[0])
		snprintf(resp->error, sizeof(resp->error), "%s", why);
}

http_xfer *http_multi_start(http_multi *m, const http_request *req, http_response *resp, void *ud)
{
	http_xfer *x = calloc(1, sizeof(*x));
	memset(resp, 0, sizeof(*resp));
	if (!x || !(x->easy = take_easy(m))) {
		free(x);
		fail_start(resp, "out of memory");
		return NULL;
	}
	x->resp = resp;
	x->ud = ud;
	if (http_easy_prepare(x->easy, req, resp, &x->hdrs) != 0 ||
	    curl_easy_setopt(x->easy, CURLOPT_SHARE, m->share) != CURLE_OK ||
	    curl_easy_setopt(x->easy, CURLOPT_PRIVATE, x) != CURLE_OK ||
	    curl_multi_add_handle(m->multi, x->easy) != CURLM_OK) {
		fail_start(resp, "cannot start the transfer");
		curl_slist_free_all(x->hdrs);
		curl_easy_cleanup(x->easy);
		free(x);
		return NULL;
	}
	x->next = m->head;
	if (m->head)
		m->head->prev = x;
	m->head = x;
	m->count++;
	return x;
}

/* Marks the transfers curl reports finished. */
static void collect(http_multi *m)
{
	CURLMsg *msg;
	int left;
	while ((msg = curl_multi_info_read(m->multi, &left))) {
		http_xfer *x = NULL;
		if (msg->msg != CURLMSG_DONE ||
		    curl_easy_getinfo(msg->easy_handle, CURLINFO_PRIVATE, (char **)&x) != CURLE_OK || !x)
			continue;
		x->done = 1;
		x->rc = http_easy_finish(x->easy, msg->data.result, x->resp);
	}
}

/* The oldest finished transfer (the list is newest first), or NULL. */
static http_xfer *first_done(http_multi *m)
{
	http_xfer *found = NULL;
	for (http_xfer *x = m->head; x; x = x->next)
		if (x->done)
			found = x;
	return found;
}

static void *give_back(http_multi *m, http_xfer *x, int *rc)
{
	void *ud = x->ud;
	*rc = x->rc;
	unlink_xfer(m, x);
	release(m, x);
	return ud;
}

void *http_multi_run(http_multi *m, long timeout_ms, int *rc)
{
	int running = 0;
	http_xfer *x = first_done(m);
	if (x)
		return give_back(m, x, rc);
	/* With nothing in flight this only waits (a backoff timer). */
	curl_multi_perform(m->multi, &running);
	collect(m);
	if (!(x = first_done(m)) && timeout_ms > 0) {
		curl_multi_poll(m->multi, NULL, 0, (int)(timeout_ms > 60000 ? 60000 : timeout_ms), NULL);
		curl_multi_perform(m->multi, &running);
		collect(m);
		x = first_done(m);
	}
	return x ? give_back(m, x, rc) : NULL;
}

void http_multi_cancel(http_multi *m, http_xfer *x)
{
	if (!x)
		return;
	unlink_xfer(m, x);
	release(m, x);
}

void *http_multi_share(http_multi *m)
{
	return m->share;
}

int http_multi_running(const http_multi *m)
{
	return m->count;
}
