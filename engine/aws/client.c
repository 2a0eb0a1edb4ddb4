/* client — one AWS call: validate and serialize (codec), find the endpoint,
 * sign (sigv4), send (http), retry (retry), decode (codec).
 *
 * Lua is touched only inside lua_pcall'd helpers (build, decode), so a memory
 * error in a capped sandbox state never leaks what this file allocated. */
#include "client.h"

#include "clock.h"

#include <lauxlib.h>
#include <openssl/crypto.h>
#include <stddef.h>
#include <openssl/rand.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "codec.h"
#include "config.h"
#include "creds.h"
#include "endpoint.h"
#include "http.h"
#include "model_types.h"
#include "multi.h"
#include "retry.h"
#include "s3_redirect.h"
#include "sigv4.h"
#include "wipe_alloc.h"

#define SKEW_THRESHOLD_S 240 /* a Date this far from ours means our clock is off */
#define CREDS_REFRESH_MARGIN_S 300
#define USER_AGENT "deadbolt/0.1"
#define ENDPOINT_CACHE_SLOTS 16 /* (service, region) pairs a client talks to */
/* Requests in flight to one service. EC2 throttles per API, per account and
 * region, with token buckets of tens to hundreds of requests (AWS, "Request
 * throttling for the Amazon EC2 API"): eight at once cannot drain one, and
 * the isolation path's widest round trip (the group lookup, the screenshot,
 * three attribute reads and two look-ahead reads) fits without the chain
 * waiting for a slot. */
#define DEFAULT_MAX_CONCURRENT 8

/* A resolved endpoint: resolving reads the environment and the shared config
 * files, so it is done once per (service, region) for the client's life (the
 * profile and --endpoint-url are fixed at aws_client_new). */
typedef struct endpoint_slot {
	const char *service; /* the model's service name (static) */
	char region[64];
	aws_endpoint ep;
} endpoint_slot;

struct aws_client {
	aws_client_config cfg;
	char region[64];
	char profile[128];
	char endpoint_url[512];
	http_client *http;
	aws_credentials creds;
	int have_creds;
	aws_credentials override; /* a run's credentials (a member account's role) */
	int have_override;
	char caller_account[16]; /* the own credentials' account, once asked */
	long skew_s; /* server time minus ours, learned from a skew error */
	double deadline;
	aws_call_observer observer;
	void *observer_ud;
	endpoint_slot endpoints[ENDPOINT_CACHE_SLOTS];
	size_t endpoints_next; /* the slot to replace next (round robin) */
	s3_region_cache s3_regions; /* buckets S3 said are in another region */
	http_multi *multi;     /* calls that overlap; its share serves http too */
	aws_pending *pending;  /* started, not yet returned: newest first */
};

double aws_monotonic_now(void)
{
	return clock_mono();
}

static void copy_str(char *dst, size_t n, const char *src)
{
	snprintf(dst, n, "%s", src ? src : "");
}

static int assume_role_cb(void *ud, const aws_credentials *source,
			  const creds_assume_role_params *p, aws_credentials *out, aws_error *err);

aws_client *aws_client_new(const aws_client_config *cfg, aws_error *err)
{
	aws_client *c = calloc(1, sizeof(*c));
	if (!c || !(c->http = http_client_new())) {
		free(c);
		aws_error_set(err, "InternalError", "cannot create the HTTP client");
		return NULL;
	}
	c->cfg = *cfg;
	copy_str(c->profile, sizeof(c->profile), config_profile_name(cfg->profile));
	copy_str(c->endpoint_url, sizeof(c->endpoint_url), cfg->endpoint_url);
	c->cfg.profile = c->profile;
	c->cfg.endpoint_url = c->endpoint_url[0] ? c->endpoint_url : NULL;
	if (config_region(cfg->region, c->profile, c->region, sizeof(c->region)) != 0)
		c->region[0] = '\0'; /* a finding's region may still set it */
	c->cfg.region = NULL;
	if (c->cfg.max_attempts <= 0) {
		const char *env = getenv("AWS_MAX_ATTEMPTS");
		long n = env ? strtol(env, NULL, 10) : 0;
		c->cfg.max_attempts = n > 0 && n <= 20 ? (int)n : 3;
	}
	if (c->cfg.max_total_s <= 0)
		c->cfg.max_total_s = 30;
	if (c->cfg.max_concurrent <= 0) {
		const char *env = getenv("DEADBOLT_MAX_CONCURRENT");
		long n = env ? strtol(env, NULL, 10) : 0;
		c->cfg.max_concurrent = n > 0 && n <= 64 ? (int)n : DEFAULT_MAX_CONCURRENT;
	}
	/* The cap that matters is per service (start_ready). In AWS every
	 * service has a host of its own, so the cap per host (curl's) is only a
	 * safety net; with one endpoint serving every service (endpoint_url:
	 * moto, a proxy) it must never bind before the caps per service, or
	 * EC2's calls would wait in curl's queue behind S3's while EC2 has free
	 * slots: so it is every service's cap together. (As built, curl does
	 * not apply it at all: the connection pool is the share's, multi.h.) */
	if (!(c->multi = http_multi_new((long)c->cfg.max_concurrent * (long)model_nservices))) {
		aws_client_free(c);
		aws_error_set(err, "InternalError", "cannot create the HTTP client");
		return NULL;
	}
	/* one connection cache for the calls sent one at a time and those that overlap */
	http_client_set_share(c->http, http_multi_share(c->multi));
	return c;
}

void aws_client_free(aws_client *c)
{
	if (!c)
		return;
	while (c->pending)
		aws_pending_free(c->pending);
	http_client_free(c->http); /* before the share it borrows */
	http_multi_free(c->multi);
	creds_wipe(&c->creds);
	creds_wipe(&c->override);
	free(c);
}

void aws_client_set_region(aws_client *c, const char *region)
{
	if (region && *region)
		copy_str(c->region, sizeof(c->region), region);
}

const char *aws_client_region(const aws_client *c)
{
	return c->region;
}

void aws_client_set_deadline(aws_client *c, double monotonic_deadline)
{
	c->deadline = monotonic_deadline;
}

void aws_client_set_observer(aws_client *c, aws_call_observer fn, void *ud)
{
	c->observer = fn;
	c->observer_ud = ud;
}

static int ensure_creds(aws_client *c, int force, aws_error *err)
{
	if (c->have_creds && !force && !creds_expiring(&c->creds, time(NULL), CREDS_REFRESH_MARGIN_S))
		return 0;
	creds_options o = {
		.profile = c->profile,
		.region = c->region[0] ? c->region : NULL,
		.assume_role_ex = assume_role_cb, /* passes duration_seconds on */
		.assume_role_ud = c,
	};
	aws_credentials fresh;
	memset(&fresh, 0, sizeof(fresh));
	if (creds_resolve(&o, &fresh, err) != 0) {
		creds_wipe(&fresh);
		return -1;
	}
	creds_wipe(&c->creds);
	c->creds = fresh;
	creds_wipe(&fresh);
	c->have_creds = 1;
	return 0;
}

/* ---- one call's state, owned here and freed on every path ---- */

typedef struct call_ctx {
	aws_client *c;
	const aws_operation *op;
	const aws_credentials *creds;
	int params; /* absolute index */
	aws_request req;
	http_response resp;
	aws_endpoint ep;
	buf url;
	buf host;
	buf wire_path;
	aws_error *err;
	int rc;
	void *ud;  /* aws_call_start's, for the observer */
	double t0; /* when the call was asked for */
	double sent; /* when its first attempt was handed to the transport; 0 until then */
	int max_attempts; /* this call's attempts: the client's, or fewer (__attempts) */
	double max_total_s; /* this call's time: the client's, or less (__deadline) */
} call_ctx;

/* The per-call options a caller may put in the parameter table, taken out
 * before the model sees it: __deadline (seconds, > 0) bounds this call's
 * attempts and backoff as max_total_s does for every call, __attempts (an
 * integer >= 1) caps its attempts (1: no retry at all, not even the skew or
 * credential fix). Both can only lower the client's settings. Protected. */
static int take_call_options(lua_State *L, call_ctx *x, int params)
{
	static const char *const names[] = {"__deadline", "__attempts"};
	for (int i = 0; i < 2; i++) {
		if (lua_getfield(L, params, names[i]) == LUA_TNIL) {
			lua_pop(L, 1);
			continue;
		}
		int isnum = 0;
		lua_Number v = lua_tonumberx(L, -1, &isnum);
		lua_pop(L, 1);
		if (!isnum || !(v > 0) || (i == 1 && (v != (lua_Number)(int)v || v > 100))) {
			aws_error_set(x->err, "ValidationError", "%s: %s must be %s", model_op_name(x->op),
				      names[i], i == 0 ? "a number of seconds above 0" : "an integer from 1 to 100");
			return -1;
		}
		if (i == 0 && v < x->max_total_s)
			x->max_total_s = v;
		if (i == 1 && (int)v < x->max_attempts)
			x->max_attempts = (int)v;
		lua_pushnil(L);
		lua_setfield(L, params, names[i]);
	}
	return 0;
}

/* stack: ctx, params (a copy of the caller's value: a C function sees only
 * its own frame) */
static int build_protected(lua_State *L)
{
	call_ctx *x = lua_touserdata(L, 1);
	if (lua_type(L, 2) == LUA_TTABLE && take_call_options(L, x, 2) != 0) {
		x->rc = -1;
		return 0;
	}
	x->rc = codec_build_request(L, x->op, 2, &x->req, x->err);
	return 0;
}

static int decode_protected(lua_State *L)
{
	call_ctx *x = lua_touserdata(L, 1);
	lua_settop(L, 0);
	x->rc = codec_parse_response(L, x->op, &x->resp, x->err);
	if (x->rc != 0)
		lua_pushnil(L);
	return 1;
}

/* Runs fn(x) protected. A memory error is re-raised after the caller's
 * cleanup (*raise set); any other error becomes an InternalError. */
static int run_protected(lua_State *L, lua_CFunction fn, call_ctx *x, int nresults, int *raise)
{
	lua_pushcfunction(L, fn);
	lua_pushlightuserdata(L, x);
	lua_pushvalue(L, x->params);
	int st = lua_pcall(L, 2, nresults, 0);
	if (st == LUA_OK) {
		if (x->rc != 0)
			lua_pop(L, nresults); /* the failed decode's nil */
		return x->rc;
	}
	if (st == LUA_ERRMEM) {
		*raise = 1; /* leave the error object on the stack for lua_error */
		return -1;
	}
	const char *msg = lua_type(L, -1) == LUA_TSTRING ? lua_tostring(L, -1) : "non-string error";
	aws_error_set(x->err, "InternalError", "%s: %s", model_op_name(x->op), msg);
	lua_pop(L, 1);
	return -1;
}

static const aws_endpoint *cached_endpoint(const aws_client *c, const char *service, const char *region)
{
	for (size_t i = 0; i < ENDPOINT_CACHE_SLOTS; i++) {
		const endpoint_slot *e = &c->endpoints[i];
		if (e->service && strcmp(e->service, service) == 0 && strcmp(e->region, region) == 0)
			return &e->ep;
	}
	return NULL;
}

static void cache_endpoint(aws_client *c, const char *service, const char *region, const aws_endpoint *ep)
{
	endpoint_slot *e = &c->endpoints[c->endpoints_next];
	c->endpoints_next = (c->endpoints_next + 1) % ENDPOINT_CACHE_SLOTS;
	e->service = service;
	copy_str(e->region, sizeof(e->region), region);
	e->ep = *ep;
}

static const aws_endpoint *endpoint_in(aws_client *c, const aws_service *svc, const char *region,
				       aws_endpoint *out, aws_error *err);

static const aws_endpoint *find_endpoint(aws_client *c, const aws_service *svc, aws_endpoint *out,
					 aws_error *err)
{
	const char *region = c->region[0] ? c->region : NULL;
	if (!region && !svc->global_endpoint && !c->cfg.endpoint_url) {
		aws_error_set(err, "NoRegion", "no region: set --region, AWS_REGION or the profile's region");
		return NULL;
	}
	return endpoint_in(c, svc, region ? region : "us-east-1", out, err);
}

static const aws_endpoint *endpoint_in(aws_client *c, const aws_service *svc, const char *region,
				       aws_endpoint *out, aws_error *err)
{
	const aws_endpoint *hit = cached_endpoint(c, svc->name, region);
	if (hit) {
		*out = *hit;
		return out;
	}
	if (endpoint_resolve(svc->name, region, c->profile, c->cfg.endpoint_url, out, err) != 0)
		return NULL;
	cache_endpoint(c, svc->name, region, out);
	return out;
}

/* S3 puts the bucket in the host (virtual-hosted) unless the endpoint is an
 * override or the name would break TLS host matching: then path-style. */
static int s3_path_style(const call_ctx *x)
{
	const char *b = x->req.bucket;
	if (x->ep.custom || strchr(b, '.') || strlen(b) > 63)
		return 1;
	for (const char *p = b; *p; p++)
		if (!((*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9') || *p == '-'))
			return 1;
	return 0;
}

/* Whether an operation's host prefix goes in front of this authority: not
 * when the authority is an IP address or localhost (an override such as a
 * local test server), where a prefixed name cannot resolve. botocore
 * prefixes those too and cannot reach them; the prefix's value still
 * travels in the request (s3control: the x-amz-account-id header). */
static int host_prefix_applies(const char *auth, size_t n)
{
	size_t host_n = n;
	if (n && auth[0] == '[')
		return 0; /* [IPv6] */
	for (size_t i = 0; i < n; i++)
		if (auth[i] == ':')
			host_n = i;
	if (host_n == 9 && strncasecmp(auth, "localhost", 9) == 0)
		return 0;
	for (size_t i = 0; i < host_n; i++)
		if (!((auth[i] >= '0' && auth[i] <= '9') || auth[i] == '.'))
			return 1;
	return 0; /* dotted IPv4 */
}

/* host = [host prefix][bucket.]authority; wire_path = [base][/bucket]path;
 * url = scheme://host wire_path[?query]. */
static int compose_url(call_ctx *x)
{
	const char *u = x->ep.url, *sep = strstr(u, "://");
	if (!sep)
		return -1;
	const char *auth = sep + 3, *base = strchr(auth, '/');
	size_t auth_len = base ? (size_t)(base - auth) : strlen(auth);
	int virt = x->req.bucket[0] && !s3_path_style(x);
	int prefix = x->req.host_prefix[0] && host_prefix_applies(auth, auth_len);
	const char *path = x->req.path.len ? x->req.path.data : "/";
	buf_reset(&x->host);
	buf_reset(&x->wire_path);
	buf_reset(&x->url);
	if ((prefix && buf_puts(&x->host, x->req.host_prefix) != 0) ||
	    (virt && buf_printf(&x->host, "%s.", x->req.bucket) != 0) ||
	    buf_append(&x->host, auth, auth_len) != 0 || (base && buf_puts(&x->wire_path, base) != 0))
		return -1;
	if (x->req.bucket[0] && !virt) {
		if (buf_putc(&x->wire_path, '/') != 0 ||
		    buf_put_uri_encoded(&x->wire_path, x->req.bucket, strlen(x->req.bucket), 0) != 0)
			return -1;
		if (strcmp(path, "/") == 0)
			path = "";
	}
	if (buf_puts(&x->wire_path, path) != 0)
		return -1;
	if (buf_append(&x->url, u, (size_t)(auth - u)) != 0 || buf_puts(&x->url, x->host.data) != 0 ||
	    buf_puts(&x->url, buf_cstr(&x->wire_path)) != 0)
		return -1;
	if (x->req.query.len && (buf_putc(&x->url, '?') != 0 || buf_puts(&x->url, x->req.query.data) != 0))
		return -1;
	return 0;
}

/* ---- one attempt ---- */

#define MAX_SEND_HEADERS (AWS_REQUEST_MAX_HEADERS + 8)

/* The signer and the HTTP layer each declare a {name, value} pair so that
 * neither depends on the other; the one array serves both. */
_Static_assert(sizeof(sigv4_header) == sizeof(http_header) &&
		       offsetof(sigv4_header, value) == offsetof(http_header, value),
	       "sigv4_header and http_header must share a layout");

typedef struct signed_headers {
	sigv4_header h[MAX_SEND_HEADERS]; /* borrowed strings */
	size_t n;
	sigv4_output sig;
} signed_headers;

static void add_sh(signed_headers *s, const char *name, const char *value)
{
	if (s->n < MAX_SEND_HEADERS) {
		s->h[s->n].name = name;
		s->h[s->n].value = value;
		s->n++;
	}
}

static int sign_request(call_ctx *x, signed_headers *s, time_t now)
{
	const aws_service *svc = x->op->service;
	int s3 = svc->protocol == AWS_PROTO_REST_XML;
	add_sh(s, "Host", x->host.data);
	if (x->creds->session_token[0])
		add_sh(s, "X-Amz-Security-Token", x->creds->session_token);
	for (size_t i = 0; i < x->req.nheaders; i++)
		add_sh(s, x->req.header_names[i], x->req.header_values[i]);
	sigv4_request sr = {
		.method = x->req.method,
		.path = buf_cstr(&x->wire_path),
		.query = buf_cstr(&x->req.query),
		.headers = s->h,
		.nheaders = s->n,
		.payload = x->req.body.data,
		.payload_len = x->req.body.len,
	};
	sigv4_params sp = {
		.access_key_id = x->creds->access_key_id,
		.secret_access_key = x->creds->secret_access_key,
		.session_token = x->creds->session_token,
		.region = x->ep.signing_region,
		.service = svc->signing_name,
		.now = now,
		.s3 = s3,
	};
	char why[128];
	if (sigv4_sign(&sr, &sp, &s->sig, NULL, 0, NULL, 0, why, sizeof(why)) != 0) {
		aws_error_set(x->err, "SigningError", "%s", why);
		return -1;
	}
	/* The values the signature covers, from the signer (see sigv4.h). */
	add_sh(s, "X-Amz-Date", s->sig.amz_date);
	if (s3)
		add_sh(s, "X-Amz-Content-Sha256", s->sig.content_sha256);
	return 0;
}

static long attempt_timeout_ms(const call_ctx *x, double call_end)
{
	double end = call_end;
	if (x->c->deadline > 0 && x->c->deadline < end)
		end = x->c->deadline;
	double left_ms = (end - aws_monotonic_now()) * 1000.0;
	long per = x->c->cfg.timeout_ms > 0 ? x->c->cfg.timeout_ms : 10000;
	if (left_ms < per)
		per = left_ms < 1 ? 1 : (long)left_ms;
	return per;
}

static void set_transport_error(call_ctx *x)
{
	const char *code = x->resp.failure == HTTP_FAIL_TIMEOUT ? "Timeout" : "TransportError";
	aws_error_set(x->err, code, "%s: %s", model_op_name(x->op), x->resp.error);
	x->err->status = 0;
}

/* Sends one attempt. 0: a response arrived (x->resp); -1: error in x->err.
 * With m, the attempt is only started on the multi handle: *xfer is the
 * transfer, and 0 means it started. */
static int send_attempt(call_ctx *x, double call_end, http_multi *m, http_xfer **xfer)
{
	signed_headers s;
	memset(&s, 0, sizeof(s));
	time_t now = time(NULL) + x->c->skew_s;
	int rc = -1;
	if (sign_request(x, &s, now) != 0)
		goto out;
	add_sh(&s, "Authorization", s.sig.authorization);
	add_sh(&s, "User-Agent", USER_AGENT);
	const char *trace = getenv("_X_AMZN_TRACE_ID"); /* Lambda: pass the trace on */
	if (trace && *trace && !strchr(trace, '\n'))
		add_sh(&s, "X-Amzn-Trace-Id", trace);
	http_request hr = {
		.method = x->req.method,
		.url = x->url.data,
		.headers = (const http_header *)s.h,
		.nheaders = s.n,
		.body = x->req.body.data,
		.body_len = x->req.body.len,
		.connect_timeout_ms = x->c->cfg.connect_timeout_ms,
		.timeout_ms = attempt_timeout_ms(x, call_end),
	};
	http_response_free(&x->resp);
	if (x->sent == 0)
		x->sent = aws_monotonic_now();
	if (m)
		*xfer = http_multi_start(m, &hr, &x->resp, x);
	if (m ? !*xfer : http_do(x->c->http, &hr, &x->resp) != 0)
		set_transport_error(x);
	else
		rc = 0;
out:
	OPENSSL_cleanse(s.sig.authorization, sizeof(s.sig.authorization));
	return rc;
}

static int send_once(call_ctx *x, double call_end)
{
	return send_attempt(x, call_end, NULL, NULL);
}

/* ---- the retry loop ---- */

static double random01(void)
{
	unsigned int r;
	if (RAND_bytes((unsigned char *)&r, sizeof(r)) != 1)
		r = (unsigned int)rand();
	return (double)(r >> 8) / (double)(1u << 24);
}

static void sleep_s(double s)
{
	if (s <= 0)
		return;
	struct timespec ts = {(time_t)s, (long)((s - (double)(time_t)s) * 1e9)};
	while (nanosleep(&ts, &ts) != 0)
		;
}

/* The server's clock from its Date header, or 0. */
static time_t server_time(const http_response *r)
{
	const char *d = http_response_header(r, "date");
	struct tm tm;
	memset(&tm, 0, sizeof(tm));
	if (!d || !strptime(d, "%a, %d %b %Y %H:%M:%S GMT", &tm))
		return 0;
	return timegm(&tm);
}

/* A skew error with a Date far from ours: learn the offset. 1 when learned. */
static int learn_skew(call_ctx *x)
{
	time_t server = server_time(&x->resp);
	long skew = server ? (long)(server - time(NULL)) : 0;
	if (!server || labs(skew - x->c->skew_s) < SKEW_THRESHOLD_S)
		return 0;
	x->c->skew_s = skew;
	return 1;
}

/* Fresh credentials for the client's own (not AssumeRole's source ones). */
static int refresh_own_creds(call_ctx *x)
{
	aws_error e2;
	aws_error_clear(&e2);
	return x->creds == &x->c->creds && ensure_creds(x->c, 1, &e2) == 0;
}

/* Decides whether to go again after a failed attempt; *wait is how long
 * to wait first (the backoff), 0 for a fix (skew, credentials). */
static int retry_decision(call_ctx *x, int attempt, int *fixed_once, double call_end, double *wait_s)
{
	*wait_s = 0;
	retry_kind k = retry_classify(x->err);
	if (attempt >= x->max_attempts && x->max_attempts < x->c->cfg.max_attempts)
		return 0; /* __attempts: not even the skew or credential fix */
	if ((k == RETRY_SKEW || k == RETRY_EXPIRED) && *fixed_once)
		return 0;
	if (k == RETRY_SKEW) {
		*fixed_once = 1;
		if (learn_skew(x))
			return 1;
		/* EC2 answers RequestExpired for expired temporary credentials
		 * too: with our clock right, try fresh credentials once. */
		if (strcmp(x->err->code, "RequestExpired") != 0 || !x->creds->session_token[0])
			return 0;
		k = RETRY_EXPIRED;
	}
	if (k == RETRY_EXPIRED) {
		*fixed_once = 1;
		return refresh_own_creds(x);
	}
	if (k == RETRY_NO || attempt >= x->max_attempts)
		return 0;
	double wait = retry_backoff(attempt, random01()), end = call_end;
	if (x->c->deadline > 0 && x->c->deadline < end)
		end = x->c->deadline;
	if (aws_monotonic_now() + wait >= end)
		return 0; /* no time left for another attempt: fail now, cleanly */
	*wait_s = wait;
	return 1;
}

/* Decides whether to go again after a failed attempt, and waits if so. */
static int should_retry(call_ctx *x, int attempt, int *fixed_once, double call_end)
{
	double wait;
	if (!retry_decision(x, attempt, fixed_once, call_end, &wait))
		return 0;
	sleep_s(wait);
	return 1;
}

/* ---- S3 in another region (s3_redirect.h) ---- */

/* A bucket whose region an earlier answer told: straight there. */
static int s3_learnt_region(call_ctx *x)
{
	const char *b = x->req.bucket, *r = b[0] ? s3_region_cache_get(&x->c->s3_regions, b) : NULL;
	if (!r || strcmp(r, x->ep.signing_region) == 0)
		return 0;
	return endpoint_in(x->c, x->op->service, r, &x->ep, x->err) ? 0 : -1;
}

/* botocore's last resort: HEAD the bucket, whose answer (an error too)
 * carries x-amz-bucket-region. The call's request is set aside meanwhile. */
static int ask_bucket_region(call_ctx *x, double call_end, char *region, size_t n)
{
	aws_request call = x->req;
	aws_error saved = *x->err;
	int rc = -1;
	memset(&x->req, 0, sizeof(x->req));
	x->req.method = "HEAD";
	copy_str(x->req.bucket, sizeof(x->req.bucket), call.bucket);
	if (buf_putc(&x->req.path, '/') == 0 && compose_url(x) == 0 && send_once(x, call_end) == 0 &&
	    s3_region_from_header(&x->resp, region, n))
		rc = 0;
	aws_request_free(&x->req);
	x->req = call;
	*x->err = saved;
	return rc;
}

/* After an S3 error answer: when it says the bucket is in another region,
 * the call goes there (signed for it) and the bucket's region is kept for
 * later calls. 1 when the request should be sent again. */
static int s3_follow_redirect(call_ctx *x, double call_end)
{
	char region[S3_REGION_MAX];
	aws_endpoint ep;
	aws_error e2;
	if (!x->req.bucket[0])
		return 0;
	s3_redirect k = s3_redirect_read(x->op->name, x->req.method, &x->resp, x->err,
					 x->ep.signing_region, region, sizeof(region));
	if (k == S3_REDIRECT_NO)
		return 0;
	if (k == S3_REDIRECT_ASK && ask_bucket_region(x, call_end, region, sizeof(region)) != 0)
		return 0;
	aws_error_clear(&e2);
	if (strcmp(region, x->ep.signing_region) == 0 ||
	    !endpoint_in(x->c, x->op->service, region, &ep, &e2))
		return 0;
	x->ep = ep;
	s3_region_cache_put(&x->c->s3_regions, x->req.bucket, region);
	return 1;
}

/* Sends with retries; on success leaves the decoded result on L's stack. */
static int send_with_retries(call_ctx *x, lua_State *L, int *raise)
{
	double call_end = aws_monotonic_now() + x->max_total_s;
	int fixed_once = 0, redirected = 0;
	for (int attempt = 1;; attempt++) {
		if (x->c->deadline > 0 && aws_monotonic_now() >= x->c->deadline) {
			aws_error_set(x->err, "Timeout", "%s: the run's deadline passed", model_op_name(x->op));
			return -1;
		}
		x->err->attempts = attempt;
		if (compose_url(x) != 0) {
			aws_error_set(x->err, "InternalError", "%s: cannot build the URL", model_op_name(x->op));
			return -1;
		}
		if (send_once(x, call_end) == 0) {
			if (run_protected(L, decode_protected, x, 1, raise) == 0)
				return 0;
			if (*raise)
				return -1;
			if (!redirected && s3_follow_redirect(x, call_end)) {
				redirected = 1; /* once, as botocore */
				continue;
			}
		}
		if (!should_retry(x, attempt, &fixed_once, call_end))
			return -1;
	}
}

/* ---- the call ---- */

static void notify(aws_client *c, const call_ctx *x, int ok, double t0)
{
	if (!c->observer)
		return;
	aws_call_record rec = {
		.start = t0,
		.sent = x->sent,
		.call_ud = x->ud,
		.op = x->op,
		.status = ok ? x->resp.status : x->err->status,
		.request_id = x->err->request_id,
		.error_code = ok ? NULL : x->err->code,
		.attempts = x->err->attempts,
		.ms = (aws_monotonic_now() - t0) * 1000.0,
	};
	if (ok) {
		const char *rid = http_response_header(&x->resp, "x-amzn-requestid");
		if (!rid)
			rid = http_response_header(&x->resp, "x-amz-request-id");
		rec.request_id = rid ? rid : "";
	}
	c->observer(c->observer_ud, &rec);
}

/* The call with the given credentials (NULL: the client's own). */
static int call_with(aws_client *c, lua_State *L, const aws_operation *op, int params,
		     const aws_credentials *creds, aws_error *err)
{
	call_ctx x;
	memset(&x, 0, sizeof(x));
	x.c = c;
	x.op = op;
	x.err = err;
	x.params = lua_absindex(L, params);
	x.max_attempts = c->cfg.max_attempts;
	x.max_total_s = c->cfg.max_total_s;
	int raise = 0, rc = -1;
	double t0 = aws_monotonic_now();
	aws_error_clear(err);
	snprintf(err->op, sizeof(err->op), "%s.%s", op->service->name, op->name);
	if (run_protected(L, build_protected, &x, 0, &raise) != 0)
		goto out;
	if (!find_endpoint(c, op->service, &x.ep, err) || s3_learnt_region(&x) != 0)
		goto out;
	if (!creds && ensure_creds(c, 0, err) != 0)
		goto out;
	x.creds = creds ? creds : &c->creds;
	rc = send_with_retries(&x, L, &raise);
out:
	if (!raise)
		notify(c, &x, rc == 0, t0);
	aws_request_free(&x.req);
	buf_wipe(&x.resp.body); /* an answer may hold secrets (AssumeRole's) */
	http_response_free(&x.resp);
	buf_free(&x.url);
	buf_free(&x.host);
	buf_free(&x.wire_path);
	if (raise)
		lua_error(L); /* out of memory in L: after our cleanup */
	return rc;
}

int aws_call(aws_client *c, lua_State *L, const aws_operation *op, int params, aws_error *err)
{
	return call_with(c, L, op, params, c->have_override ? &c->override : NULL, err);
}

void aws_client_use_credentials(aws_client *c, const aws_credentials *creds)
{
	creds_wipe(&c->override);
	c->have_override = creds != NULL;
	if (creds)
		c->override = *creds;
}

/* ---- STS AssumeRole for the credential chain (role_arn profiles) ---- */

static int copy_field(lua_State *L, int t, const char *k, char *out, size_t n)
{
	lua_getfield(L, t, k);
	int ok = lua_type(L, -1) == LUA_TSTRING;
	if (ok)
		copy_str(out, n, lua_tostring(L, -1));
	lua_pop(L, 1);
	return ok ? 0 : -1;
}

static int read_assumed(lua_State *L, aws_credentials *out, aws_error *err)
{
	char exp[64] = "";
	/* stack: result */
	if (lua_getfield(L, -1, "Credentials") != LUA_TTABLE ||
	    copy_field(L, -1, "AccessKeyId", out->access_key_id, sizeof(out->access_key_id)) ||
	    copy_field(L, -1, "SecretAccessKey", out->secret_access_key, sizeof(out->secret_access_key)) ||
	    copy_field(L, -1, "SessionToken", out->session_token, sizeof(out->session_token)) ||
	    copy_field(L, -1, "Expiration", exp, sizeof(exp)) || creds_parse_time(exp, &out->expiration)) {
		aws_error_set(err, "InvalidResponse", "sts.AssumeRole: no usable Credentials in the answer");
		return -1;
	}
	copy_str(out->source, sizeof(out->source), "assume-role");
	return 0;
}

typedef struct assume_job {
	aws_client *c;
	const aws_operation *op;
	const aws_credentials *source;
	const creds_assume_role_params *p;
	aws_credentials *out;
	aws_error *err;
	int rc;
} assume_job;

/* stack: job. Protected, so that running out of the state's memory is an
 * error here, not a panic. */
static int assume_protected(lua_State *L)
{
	assume_job *j = lua_touserdata(L, 1);
	const creds_assume_role_params *p = j->p;
	lua_createtable(L, 0, 4);
	lua_pushstring(L, p->role_arn);
	lua_setfield(L, -2, "RoleArn");
	lua_pushstring(L, p->session_name);
	lua_setfield(L, -2, "RoleSessionName");
	if (p->external_id && *p->external_id) {
		lua_pushstring(L, p->external_id);
		lua_setfield(L, -2, "ExternalId");
	}
	if (p->duration_seconds > 0) {
		lua_pushinteger(L, p->duration_seconds);
		lua_setfield(L, -2, "DurationSeconds");
	}
	if (call_with(j->c, L, j->op, lua_gettop(L), j->source, j->err) == 0)
		j->rc = read_assumed(L, j->out, j->err);
	return 0;
}

/* The answer's strings live in a throwaway state whose every block is
 * cleansed when freed (wipe_alloc), so lua_close leaves no secret behind. */
static int assume_role_cb(void *ud, const aws_credentials *source,
			  const creds_assume_role_params *p, aws_credentials *out, aws_error *err)
{
	aws_client *c = ud;
	assume_job job = {c, model_find_operation("sts", "AssumeRole"), source, p, out, err, -1};
	wipe_heap heap = {.cap = (size_t)32 << 20};
	lua_State *L = wipe_state_new(&heap);
	char saved_region[64];
	copy_str(saved_region, sizeof(saved_region), c->region);
	if (!L || !job.op) {
		aws_error_set(err, "InternalError", "sts.AssumeRole unavailable");
		goto out;
	}
	if (p->region && *p->region)
		copy_str(c->region, sizeof(c->region), p->region);
	lua_pushcfunction(L, assume_protected);
	lua_pushlightuserdata(L, &job);
	if (lua_pcall(L, 1, 0, 0) != LUA_OK) {
		aws_error_set(err, "InternalError", "sts.AssumeRole: the answer does not fit in memory");
		job.rc = -1;
	}
out:
	copy_str(c->region, sizeof(c->region), saved_region);
	if (L)
		lua_close(L); /* every block cleansed on its way out */
	return job.rc;
}

int aws_client_assume_role(aws_client *c, const creds_assume_role_params *p, aws_credentials *out,
			   aws_error *err)
{
	return assume_role_cb(c, NULL, p, out, err); /* NULL: the client's own credentials */
}

void aws_client_set_caller_account(aws_client *c, const char *account)
{
	size_t i;
	if (!account || !account[0]) {
		c->caller_account[0] = '\0';
		return;
	}
	for (i = 0; account[i]; i++)
		if (account[i] < '0' || account[i] > '9')
			return;
	if (i == 12)
		copy_str(c->caller_account, sizeof(c->caller_account), account);
}

int aws_client_credentials_source(aws_client *c, char *out, size_t n, aws_error *err)
{
	if (ensure_creds(c, 0, err) != 0)
		return -1;
	copy_str(out, n, c->creds.source);
	return 0;
}

int aws_client_caller_account(aws_client *c, char *out, size_t n, aws_error *err)
{
	const aws_operation *op = model_find_operation("sts", "GetCallerIdentity");
	lua_State *L = NULL;
	int rc = -1;
	if (c->caller_account[0])
		goto done;
	if (!op || !(L = luaL_newstate())) {
		aws_error_set(err, "InternalError", "sts.GetCallerIdentity unavailable");
		return -1;
	}
	lua_newtable(L);
	if (call_with(c, L, op, 1, NULL, err) != 0)
		goto out;
	if (copy_field(L, -1, "Account", c->caller_account, sizeof(c->caller_account)) != 0) {
		aws_error_set(err, "InvalidResponse", "sts.GetCallerIdentity: no Account in the answer");
		goto out;
	}
done:
	copy_str(out, n, c->caller_account);
	rc = 0;
out:
	if (L)
		lua_close(L);
	return rc;
}

/* ---- calls that overlap: the same call as a state machine ----
 *
 * A pending call is QUEUED (waiting for a slot of its service, or for its
 * next attempt after a fix), SENDING (a transfer on the multi handle),
 * BACKOFF (its next attempt is due at wake_at: a timer, not a sleep) or
 * DONE (failed, waiting to be returned; a success is returned the moment it
 * is decoded, so its result is the top of the waiter's stack). */

typedef enum pending_state { P_QUEUED, P_SENDING, P_BACKOFF, P_DONE } pending_state;

struct aws_pending {
	call_ctx x;
	aws_error err;
	pending_state state;
	int first; /* queued, it starts before every call without it */
	int attempt, fixed_once, rc;
	int redirected; /* S3 sent it to the bucket's region once already */
	double call_end, wake_at;
	http_xfer *xfer;
	aws_pending *prev, *next; /* the client's list while it owns the call */
};

void *aws_pending_ud(const aws_pending *p)
{
	return p->x.ud;
}

int aws_client_in_flight(const aws_client *c)
{
	int n = 0;
	for (const aws_pending *p = c->pending; p; p = p->next)
		n++;
	return n;
}

static void pending_link(aws_client *c, aws_pending *p)
{
	p->prev = NULL;
	p->next = c->pending;
	if (c->pending)
		c->pending->prev = p;
	c->pending = p;
}

static void pending_unlink(aws_client *c, aws_pending *p)
{
	if (p->prev)
		p->prev->next = p->next;
	else if (c->pending == p)
		c->pending = p->next;
	if (p->next)
		p->next->prev = p->prev;
	p->prev = p->next = NULL;
}

static void call_ctx_free(call_ctx *x)
{
	aws_request_free(&x->req);
	buf_wipe(&x->resp.body); /* an answer may hold secrets */
	http_response_free(&x->resp);
	buf_free(&x->url);
	buf_free(&x->host);
	buf_free(&x->wire_path);
}

void aws_pending_free(aws_pending *p)
{
	if (!p)
		return;
	aws_client *c = p->x.c;
	if (p->xfer)
		http_multi_cancel(c->multi, p->xfer);
	pending_unlink(c, p);
	call_ctx_free(&p->x);
	free(p);
}

static int in_flight_to(const aws_client *c, const aws_service *svc)
{
	int n = 0;
	for (const aws_pending *p = c->pending; p; p = p->next)
		n += p->state == P_SENDING && p->x.op->service == svc;
	return n;
}

static void finish_failed(aws_pending *p)
{
	p->state = P_DONE;
	p->rc = -1;
}

/* Starts the next attempt of p, or marks it failed. */
static void start_attempt(aws_pending *p)
{
	call_ctx *x = &p->x;
	aws_client *c = x->c;
	if (c->deadline > 0 && aws_monotonic_now() >= c->deadline) {
		aws_error_set(x->err, "Timeout", "%s: the run's deadline passed", model_op_name(x->op));
		finish_failed(p);
		return;
	}
	x->err->attempts = ++p->attempt;
	if (compose_url(x) != 0) {
		aws_error_set(x->err, "InternalError", "%s: cannot build the URL", model_op_name(x->op));
		finish_failed(p);
		return;
	}
	p->xfer = NULL;
	if (send_attempt(x, p->call_end, c->multi, &p->xfer) == 0)
		p->state = P_SENDING;
	else
		p->state = P_DONE; /* a transfer that cannot start: decided by after_failure */
}

/* After a failed attempt: again now, again after the backoff, or done. */
static void after_failure(aws_pending *p)
{
	double wait = 0;
	if (!retry_decision(&p->x, p->attempt, &p->fixed_once, p->call_end, &wait)) {
		finish_failed(p);
		return;
	}
	p->state = wait > 0 ? P_BACKOFF : P_QUEUED;
	p->wake_at = aws_monotonic_now() + wait;
}

/* Starts the queued calls of one class (first or not), oldest first,
 * while their service has a free slot. last: the oldest call. */
static void start_class(aws_client *c, aws_pending *last, int first)
{
	for (aws_pending *p = last; p; p = p->prev) {
		if (p->state != P_QUEUED || p->first != first ||
		    in_flight_to(c, p->x.op->service) >= c->cfg.max_concurrent)
			continue;
		start_attempt(p);
		if (p->state == P_DONE && p->rc == 0)
			after_failure(p); /* the transfer did not start: as a transport failure */
	}
}

/* Moves due timers to the queue and starts queued calls while their
 * service has a free slot: the calls marked first (aws_call_start), oldest
 * first, then the others, oldest first. */
static void start_ready(aws_client *c)
{
	double now = aws_monotonic_now();
	aws_pending *last = c->pending;
	while (last && last->next)
		last = last->next;
	for (aws_pending *p = last; p; p = p->prev)
		if (p->state == P_BACKOFF && p->wake_at <= now)
			p->state = P_QUEUED;
	start_class(c, last, 1);
	start_class(c, last, 0);
}

/* stack: ctx, nil */
static int decode_pending(lua_State *L, call_ctx *x, int *raise)
{
	lua_pushcfunction(L, decode_protected);
	lua_pushlightuserdata(L, x);
	lua_pushnil(L);
	int st = lua_pcall(L, 2, 1, 0);
	if (st == LUA_OK) {
		if (x->rc != 0)
			lua_pop(L, 1);
		return x->rc;
	}
	if (st == LUA_ERRMEM) {
		*raise = 1;
		return -1;
	}
	aws_error_set(x->err, "InternalError", "%s: %s", model_op_name(x->op),
		      lua_type(L, -1) == LUA_TSTRING ? lua_tostring(L, -1) : "non-string error");
	lua_pop(L, 1);
	return -1;
}

/* A transfer of p ended (hrc as http_do's). 1 when p succeeded and its
 * result is on L; 0 otherwise. */
static int on_transfer_end(aws_pending *p, lua_State *L, int hrc, int *raise)
{
	p->xfer = NULL;
	if (hrc != 0) {
		set_transport_error(&p->x);
		after_failure(p);
		return 0;
	}
	if (decode_pending(L, &p->x, raise) == 0) {
		p->state = P_DONE;
		p->rc = 0;
		return 1;
	}
	if (!*raise && !p->redirected && s3_follow_redirect(&p->x, p->call_end)) {
		p->redirected = 1; /* once, as botocore; sent again at once */
		p->state = P_QUEUED;
		return 0;
	}
	if (*raise) {
		aws_error_set(p->x.err, "InternalError", "%s: out of memory decoding the answer",
			      model_op_name(p->x.op));
		finish_failed(p);
	} else {
		after_failure(p);
	}
	return 0;
}

static aws_pending *oldest_done(aws_client *c)
{
	aws_pending *found = NULL;
	for (aws_pending *p = c->pending; p; p = p->next)
		if (p->state == P_DONE)
			found = p;
	return found;
}

/* How long the network may be waited for: up to the next timer or until. */
static long wait_ms(const aws_client *c, double until)
{
	double end = until > 0 ? until : aws_monotonic_now() + 60;
	for (const aws_pending *p = c->pending; p; p = p->next)
		if (p->state == P_BACKOFF && p->wake_at < end)
			end = p->wake_at;
	double ms = (end - aws_monotonic_now()) * 1000.0;
	return ms < 1 ? 1 : (long)ms;
}

/* Hands p to the caller: told to the observer, off the client's list. */
static aws_pending *give(aws_client *c, aws_pending *p, int *rc, aws_error *err)
{
	pending_unlink(c, p);
	notify(c, &p->x, p->rc == 0, p->x.t0);
	*rc = p->rc;
	*err = p->err;
	return p;
}

aws_pending *aws_client_wait(aws_client *c, lua_State *L, double until, int *rc, aws_error *err)
{
	for (;;) {
		start_ready(c);
		aws_pending *p = oldest_done(c);
		if (p)
			return give(c, p, rc, err);
		if (!c->pending || (until > 0 && aws_monotonic_now() >= until))
			return NULL;
		int hrc = 0, raise = 0;
		/* the transfer's ud is the call_ctx, the first member of its pending */
		p = http_multi_run(c->multi, wait_ms(c, until), &hrc);
		if (p && on_transfer_end(p, L, hrc, &raise))
			return give(c, p, rc, err);
		if (raise) /* out of memory in L: the error object is on top; p stays
			    * listed, failed, for its owner to free */
			lua_error(L);
	}
}

/* Fails p at its start: told to the observer, freed. Returns NULL. */
static aws_pending *start_failed(aws_pending *p, lua_State *L, int raise, aws_error *err)
{
	if (!raise)
		notify(p->x.c, &p->x, 0, p->x.t0);
	*err = p->err;
	call_ctx_free(&p->x);
	free(p);
	if (raise)
		lua_error(L);
	return NULL;
}

aws_pending *aws_call_start(aws_client *c, lua_State *L, const aws_operation *op, int params, void *ud,
			    int first, aws_error *err)
{
	aws_pending *p = calloc(1, sizeof(*p));
	if (!p) {
		free(p);
		aws_error_set(err, "InternalError", "cannot start %s: out of memory", model_op_name(op));
		return NULL;
	}
	call_ctx *x = &p->x;
	int raise = 0;
	x->c = c;
	x->op = op;
	x->err = &p->err;
	x->ud = ud;
	p->first = first != 0;
	x->t0 = aws_monotonic_now();
	x->params = lua_absindex(L, params);
	x->max_attempts = c->cfg.max_attempts;
	x->max_total_s = c->cfg.max_total_s;
	aws_error_clear(&p->err);
	snprintf(p->err.op, sizeof(p->err.op), "%s.%s", op->service->name, op->name);
	if (run_protected(L, build_protected, x, 0, &raise) != 0 || !find_endpoint(c, op->service, &x->ep, x->err) ||
	    s3_learnt_region(x) != 0 || (!c->have_override && ensure_creds(c, 0, x->err) != 0))
		return start_failed(p, L, raise, err);
	x->creds = c->have_override ? &c->override : &c->creds; /* a run's, or the client's own */
	p->call_end = x->t0 + x->max_total_s;
	p->state = P_QUEUED;
	pending_link(c, p);
	start_ready(c);
	return p;
}
