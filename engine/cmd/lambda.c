/* lambda — the Lambda custom runtime loop. See lambda.h.
 *
 * The Runtime API is plain HTTP on AWS_LAMBDA_RUNTIME_API (host:port):
 *   GET  /2018-06-01/runtime/invocation/next         long poll, no timeout
 *   POST /2018-06-01/runtime/invocation/{id}/response
 *   POST /2018-06-01/runtime/invocation/{id}/error   + Lambda-Runtime-Function-Error-Type
 *   POST /2018-06-01/runtime/init/error              + Lambda-Runtime-Function-Error-Type
 * It is spoken here with one reused libcurl handle of its own (not http.c:
 * the long poll must have no timeout, and no proxy may be used).
 *
 * Every line this file prints is one JSON object on stdout (CloudWatch), like
 * the runner's journal. Neither prints the event body, credentials or any
 * environment value other than the settings it names. */
#include "lambda.h"

#include <curl/curl.h>
#include <errno.h>
#include <limits.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <time.h>

#include "buf.h"
#include "ca_bundle.h"
#include "client.h"
#include "clock.h"
#include "journal_archive.h"
#include "json_tree.h"
#include "restore.h"
#include "json_escape.h"
#include "runner.h"

#define RT_VERSION "2018-06-01"
#define RT_MAX_PAYLOAD ((size_t)6 << 20)   /* Lambda's invoke request/response limit */
#define RT_ERROR_DETAIL 2048               /* bytes of the result quoted in an error */
#define RT_NEXT_MAX_FAILURES 8             /* ~ 6 s of backoff, then exit */
#define RT_POST_ATTEMPTS 3
#define RT_JOURNAL_COPY_MAX ((size_t)4 << 20) /* journal kept for the bucket */
#define RT_MIN_RUN_SECONDS 0.5             /* less left than this: not worth starting */

typedef struct rt_invocation {
	char request_id[160];
	char trace_id[512];
	char function_arn[256];
	long long deadline_ms;  /* 0 when absent or unparseable */
	int bad_header;         /* a header too long for its field */
	int too_large;          /* the event passed RT_MAX_PAYLOAD */
	buf body;
} rt_invocation;

typedef struct lambda_rt {
	CURL *curl;
	char base[320];         /* http://host:port/2018-06-01/runtime */
	char playbooks[PATH_MAX];
	char chunks[PATH_MAX]; /* the package's playbooks.chunks, when its playbooks are used */
	aws_client *client;
	runner_options opts;
	runner *runner;         /* one for the process: playbooks compiled once */
	int partial_is_error;
} lambda_rt;

/* ---- small helpers --------------------------------------------------- */

static void sleep_ms(long ms)
{
	struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };

	while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
		;
}

/* Messages may quote hostile input: JSON_ESC_UTF8 keeps the line valid
 * UTF-8 whatever they hold. */
static int json_str(buf *b, const char *s)
{
	return json_escape(b, s, strlen(s), JSON_ESC_UTF8);
}

/* One runtime journal line: {"event":"lambda.<what>","request_id":..} and
 * then string pairs key, value, ..., ending with NULL. */
__attribute__((sentinel)) static void rt_log(const char *what, const char *request_id, ...);

static void rt_log(const char *what, const char *request_id, ...)
{
	buf line = BUF_INIT;
	const char *k, *v;
	va_list ap;
	int rc;

	rc = buf_printf(&line, "{\"event\":\"lambda.%s\"", what);
	if (rc == 0 && request_id != NULL)
		rc = buf_puts(&line, ",\"request_id\":") || json_str(&line, request_id);
	va_start(ap, request_id);
	while (rc == 0 && (k = va_arg(ap, const char *)) != NULL) {
		v = va_arg(ap, const char *);
		rc = buf_printf(&line, ",\"%s\":", k) || json_str(&line, v ? v : "");
	}
	va_end(ap);
	if (rc == 0 && buf_puts(&line, "}\n") == 0) {
		fputs(buf_cstr(&line), stdout);
		fflush(stdout);
	}
	buf_free(&line);
}

double lambda_run_deadline(long long deadline_ms, double now_real, double now_mono)
{
	double left = (double)deadline_ms / 1000.0 - now_real;
	double margin = left * 0.10;

	if (margin < 0.5)
		margin = 0.5;
	if (margin > 2.0)
		margin = 2.0;
	return now_mono + left - margin;
}

int lambda_trace_id_ok(const char *s)
{
	size_t i;

	if (s == NULL || s[0] == '\0')
		return 0;
	for (i = 0; s[i] != '\0'; i++)
		if (i >= 511 || (unsigned char)s[i] < 0x20 || (unsigned char)s[i] > 0x7e)
			return 0;
	return 1;
}

const char *lambda_error_type(runner_outcome worst, int partial_is_error, int failures_final)
{
	switch (worst) {
	case OUTCOME_INVALID:
		return "Deadbolt.InvalidEvent";
	case OUTCOME_FAILED:
		return failures_final ? NULL : "Deadbolt.ContainmentFailed";
	case OUTCOME_PARTIAL:
		return partial_is_error ? "Deadbolt.ContainmentPartial" : NULL;
	default:
		return NULL;
	}
}

int lambda_arn_account(const char *arn, char *out, size_t n)
{
	const char *f[7];
	const char *p = arn;
	size_t k = 0, len;
	if (!arn || n < 13 || strncmp(arn, "arn:", 4) != 0)
		return -1;
	/* f[i]: the start of field i (0 "arn", 1 partition, 2 service, 3
	 * region, 4 account, 5 "function", 6 name) */
	f[k++] = p;
	while (k < 7 && (p = strchr(p, ':')) != NULL)
		f[k++] = ++p;
	if (k < 7 || strncmp(f[2], "lambda:", 7) != 0 || strncmp(f[5], "function:", 9) != 0)
		return -1;
	len = (size_t)(f[5] - f[4]) - 1;
	if (len != 12 || strspn(f[4], "0123456789") != 12)
		return -1;
	memcpy(out, f[4], 12);
	out[12] = '\0';
	return 0;
}

int lambda_parse_bool(const char *s)
{
	static const char *const no[] = { "", "0", "false", "no", "off" };
	static const char *const yes[] = { "1", "true", "yes", "on" };
	size_t i;

	if (s == NULL)
		return 0;
	for (i = 0; i < sizeof no / sizeof no[0]; i++)
		if (strcasecmp(s, no[i]) == 0)
			return 0;
	for (i = 0; i < sizeof yes / sizeof yes[0]; i++)
		if (strcasecmp(s, yes[i]) == 0)
			return 1;
	return -1;
}

/* ---- HTTP to the Runtime API ----------------------------------------- */

static size_t on_body(char *p, size_t size, size_t n, void *ud)
{
	rt_invocation *inv = ud;

	if (buf_append(&inv->body, p, size * n) != 0) {
		inv->too_large = 1;
		return 0; /* aborts the transfer: CURLE_WRITE_ERROR */
	}
	return size * n;
}

static size_t discard_body(char *p, size_t size, size_t n, void *ud)
{
	(void)p;
	(void)ud;
	return size * n;
}

/* Copies a header value if name matches; trims spaces and CR/LF. */
static void take_header(rt_invocation *inv, const char *line, size_t len, const char *name,
			char *out, size_t outlen)
{
	size_t nl = strlen(name);

	if (len <= nl || line[nl] != ':' || strncasecmp(line, name, nl) != 0)
		return;
	line += nl + 1;
	len -= nl + 1;
	while (len > 0 && (*line == ' ' || *line == '\t'))
		line++, len--;
	while (len > 0 && (line[len - 1] == '\r' || line[len - 1] == '\n' || line[len - 1] == ' '))
		len--;
	if (len >= outlen) {
		inv->bad_header = 1;
		return;
	}
	memcpy(out, line, len);
	out[len] = '\0';
}

static size_t on_header(char *p, size_t size, size_t n, void *ud)
{
	rt_invocation *inv = ud;
	char deadline[32] = "";
	char *end = NULL;

	take_header(inv, p, size * n, "Lambda-Runtime-Aws-Request-Id", inv->request_id,
		    sizeof inv->request_id);
	take_header(inv, p, size * n, "Lambda-Runtime-Trace-Id", inv->trace_id, sizeof inv->trace_id);
	take_header(inv, p, size * n, "Lambda-Runtime-Invoked-Function-Arn", inv->function_arn,
		    sizeof inv->function_arn);
	take_header(inv, p, size * n, "Lambda-Runtime-Deadline-Ms", deadline, sizeof deadline);
	if (deadline[0] != '\0') {
		errno = 0;
		inv->deadline_ms = strtoll(deadline, &end, 10);
		if (errno != 0 || *end != '\0' || inv->deadline_ms <= 0)
			inv->deadline_ms = 0;
	}
	return size * n;
}

/* Options every request to the Runtime API shares. */
static int rt_setup(lambda_rt *rt, const char *url)
{
	CURL *c = rt->curl;

	curl_easy_reset(c);
	return curl_easy_setopt(c, CURLOPT_URL, url) != CURLE_OK ||
	       curl_easy_setopt(c, CURLOPT_NOPROXY, "*") != CURLE_OK ||
	       curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L) != CURLE_OK ||
	       curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS, 2000L) != CURLE_OK ||
	       curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http") != CURLE_OK
		       ? -1 : 0;
}

/* GET next. 0 with inv filled (status 200 and a request id), 1 when worth
 * retrying (transport failure, 429, 502-504), -1 when the API says stop. */
static int rt_next_once(lambda_rt *rt, rt_invocation *inv)
{
	char url[400], st[64];
	long status = 0;
	CURLcode cc;

	snprintf(url, sizeof url, "%s/invocation/next", rt->base);
	if (rt_setup(rt, url) != 0 ||
	    curl_easy_setopt(rt->curl, CURLOPT_WRITEFUNCTION, on_body) != CURLE_OK ||
	    curl_easy_setopt(rt->curl, CURLOPT_WRITEDATA, inv) != CURLE_OK ||
	    curl_easy_setopt(rt->curl, CURLOPT_HEADERFUNCTION, on_header) != CURLE_OK ||
	    curl_easy_setopt(rt->curl, CURLOPT_HEADERDATA, inv) != CURLE_OK)
		return -1;
	/* No CURLOPT_TIMEOUT: the call blocks until Lambda has an event. */
	cc = curl_easy_perform(rt->curl);
	curl_easy_getinfo(rt->curl, CURLINFO_RESPONSE_CODE, &status);
	if (cc != CURLE_OK && !(inv->too_large && inv->request_id[0] != '\0')) {
		rt_log("next_failed", NULL, "error", curl_easy_strerror(cc), NULL);
		return 1;
	}
	if (status == 200 && inv->request_id[0] != '\0')
		return 0;
	if (status == 429 || status == 502 || status == 503 || status == 504)
		return 1;
	/* 500 is "non-recoverable state, runtime should exit promptly"; 403 and
	 * the rest will not get better by asking again either. */
	snprintf(st, sizeof st, "%ld%s", status, status == 200 ? " without a request id" : "");
	rt_log("next_refused", NULL, "status", st, NULL);
	return -1;
}

static void rt_invocation_reset(rt_invocation *inv)
{
	buf_free(&inv->body);
	memset(inv, 0, sizeof *inv);
	buf_init(&inv->body, RT_MAX_PAYLOAD);
}

/* GET next with bounded backoff. 0, or -1 when the loop should end. */
static int rt_next(lambda_rt *rt, rt_invocation *inv)
{
	long delay = 100;
	int failures, rc;

	for (failures = 1;; failures++) {
		rt_invocation_reset(inv);
		rc = rt_next_once(rt, inv);
		if (rc <= 0)
			return rc;
		if (failures == RT_NEXT_MAX_FAILURES)
			break;
		sleep_ms(delay);
		delay = delay * 2 > 1600 ? 1600 : delay * 2;
	}
	rt_log("next_gave_up", NULL, "error", "the Runtime API stayed unreachable", NULL);
	return -1;
}

/* The request headers of a POST: JSON, no "Expect: 100-continue" round trip,
 * and the error type when there is one. NULL when out of memory. */
static struct curl_slist *post_headers(const char *error_type)
{
	char typehdr[160];
	struct curl_slist *hdrs = NULL, *h;

	snprintf(typehdr, sizeof typehdr, "Lambda-Runtime-Function-Error-Type: %s",
		 error_type ? error_type : "");
	if ((h = curl_slist_append(hdrs, "Content-Type: application/json")) == NULL)
		goto fail;
	hdrs = h;
	if ((h = curl_slist_append(hdrs, "Expect:")) == NULL)
		goto fail;
	hdrs = h;
	if (error_type != NULL && (h = curl_slist_append(hdrs, typehdr)) == NULL)
		goto fail;
	return h;
fail:
	curl_slist_free_all(hdrs);
	return NULL;
}

/* POSTs body to path (under base). *status gets the HTTP status (0 when none
 * arrived). Retries transport failures; 0 when a status arrived, else -1. */
static int rt_post(lambda_rt *rt, const char *path, const char *error_type, const char *body,
		   size_t len, long *status)
{
	char url[512];
	struct curl_slist *hdrs = post_headers(error_type);
	int attempt, rc = -1;
	CURLcode cc = CURLE_OK;

	*status = 0;
	snprintf(url, sizeof url, "%s%s", rt->base, path);
	for (attempt = 0; hdrs != NULL && attempt < RT_POST_ATTEMPTS && rc != 0; attempt++) {
		if (attempt > 0)
			sleep_ms(200L << attempt);
		if (rt_setup(rt, url) != 0 ||
		    curl_easy_setopt(rt->curl, CURLOPT_HTTPHEADER, hdrs) != CURLE_OK ||
		    curl_easy_setopt(rt->curl, CURLOPT_POSTFIELDS, body) != CURLE_OK ||
		    curl_easy_setopt(rt->curl, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)len) != CURLE_OK ||
		    curl_easy_setopt(rt->curl, CURLOPT_WRITEFUNCTION, discard_body) != CURLE_OK ||
		    curl_easy_setopt(rt->curl, CURLOPT_TIMEOUT_MS, 30000L) != CURLE_OK)
			break;
		cc = curl_easy_perform(rt->curl);
		if (cc == CURLE_OK) {
			curl_easy_getinfo(rt->curl, CURLINFO_RESPONSE_CODE, status);
			rc = 0;
		}
	}
	if (rc != 0)
		rt_log("post_failed", NULL, "path", path, "error",
		       hdrs == NULL ? "out of memory" : curl_easy_strerror(cc), NULL);
	curl_slist_free_all(hdrs);
	return rc;
}

/* {"errorMessage":..,"errorType":..,"stackTrace":[]} to path. */
static long rt_post_error(lambda_rt *rt, const char *path, const char *type, const char *msg,
			  size_t msglen)
{
	buf b = BUF_INIT;
	long status = 0;

	if (buf_puts(&b, "{\"errorMessage\":") == 0 &&
	    json_escape(&b, msg, msglen, JSON_ESC_UTF8) == 0 &&
	    buf_puts(&b, ",\"errorType\":") == 0 && json_str(&b, type) == 0 &&
	    buf_puts(&b, ",\"stackTrace\":[]}") == 0)
		rt_post(rt, path, type, b.data, b.len, &status);
	buf_free(&b);
	return status;
}

/* ---- one invocation -------------------------------------------------- */

static void inv_path(char *out, size_t outlen, const rt_invocation *inv, const char *what)
{
	buf id = BUF_INIT;

	buf_put_uri_encoded(&id, inv->request_id, strlen(inv->request_id), 0);
	snprintf(out, outlen, "/invocation/%s/%s", buf_cstr(&id), what);
	buf_free(&id);
}

static void inv_error(lambda_rt *rt, const rt_invocation *inv, const char *type, const char *msg,
		      size_t msglen)
{
	char path[512], st[24];
	long status;

	inv_path(path, sizeof path, inv, "error");
	status = rt_post_error(rt, path, type, msg, msglen);
	snprintf(st, sizeof st, "%ld", status);
	rt_log("error_posted", inv->request_id, "errorType", type, "status", st, NULL);
}

/* {"outcome":..,"result":<runner summary>}, or a short stand-in when the
 * summary would pass Lambda's 6 MB response limit. */
static int build_response(buf *out, runner_outcome worst, const buf *result)
{
	const char *name = runner_outcome_name(worst);

	if (buf_puts(out, "{\"outcome\":") != 0 || json_str(out, name ? name : "unknown") != 0)
		return -1;
	if (result->len == 0)
		return buf_putc(out, '}');
	if (result->len + out->len + 32 > RT_MAX_PAYLOAD)
		return buf_printf(out, ",\"truncated\":true,\"result_bytes\":%zu}", result->len);
	return buf_puts(out, ",\"result\":") || buf_append(out, result->data, result->len) ||
	       buf_putc(out, '}') ? -1 : 0;
}

static void inv_respond(lambda_rt *rt, const rt_invocation *inv, runner_outcome worst,
			const buf *result)
{
	char path[512], st[24];
	buf body = BUF_INIT;
	long status = 0;
	static const char too_big[] = "the result passed the 6 MB response limit";

	inv_path(path, sizeof path, inv, "response");
	if (build_response(&body, worst, result) == 0)
		rt_post(rt, path, NULL, body.data, body.len, &status);
	snprintf(st, sizeof st, "%ld", status);
	rt_log("response_posted", inv->request_id, "outcome", runner_outcome_name(worst), "status", st,
	       NULL);
	/* 413: Lambda already failed the invoke; the error adds our reason when
	 * the API still accepts one (a 403 here is harmless). */
	if (status == 413)
		inv_error(rt, inv, "Deadbolt.ResponseTooLarge", too_big, sizeof too_big - 1);
	buf_free(&body);
}

/* Why an error: "worst outcome failed: " and the start of the summary. */
static void inv_outcome_error(lambda_rt *rt, const rt_invocation *inv, const char *type,
			      runner_outcome worst, const buf *result)
{
	buf msg = BUF_INIT;
	size_t quote = result->len < RT_ERROR_DETAIL ? result->len : RT_ERROR_DETAIL;

	if (buf_printf(&msg, "worst outcome %s: ", runner_outcome_name(worst)) == 0 &&
	    buf_append(&msg, result->data ? result->data : "", quote) == 0)
		inv_error(rt, inv, type, msg.data, msg.len);
	else
		inv_error(rt, inv, type, type, strlen(type));
	buf_free(&msg);
}

/* failed -> error: the async invoke retries (the playbooks are idempotent)
 * and then goes to the DLQ. partial -> success by default: the critical
 * steps held, a retry would repeat every write, and the journal and the
 * notification say which step did not. failed because a member account's
 * run was refused (no role to assume there) -> success: each retry would
 * be refused alike and notify the same refusal again, two more times. */
static void inv_report(lambda_rt *rt, const rt_invocation *inv, runner_outcome worst,
		       const buf *result)
{
	const char *etype = lambda_error_type(worst, rt->partial_is_error,
					      runner_failures_final(rt->runner));

	if (etype != NULL)
		inv_outcome_error(rt, inv, etype, worst, result);
	else
		inv_respond(rt, inv, worst, result);
}

/* The run's journal, also stored in the artifact bucket: CloudWatch keeps
 * logs only as long as the log group says. Not in a dry run, which changes
 * nothing. A failure is logged, not fatal: the lines are in CloudWatch. */
static void inv_archive_journal(lambda_rt *rt, const rt_invocation *inv, const journal_tee *tee)
{
	const char *bucket = getenv("ARTIFACT_BUCKET");
	aws_error aerr;
	if (rt->opts.dry_run || bucket == NULL || *bucket == '\0' || tee->copy.len == 0)
		return;
	if (tee->truncated)
		rt_log("journal_truncated", inv->request_id, NULL);
	memset(&aerr, 0, sizeof aerr);
	if (journal_archive_put(rt->client, bucket, inv->request_id, &tee->copy, &aerr) != 0) {
		rt_log("journal_archive_failed", inv->request_id, "code", aerr.code, NULL);
		return;
	}
	/* and by finding, for `restore --finding` and the restore event */
	memset(&aerr, 0, sizeof aerr);
	if (restore_index_journal(rt->client, bucket, inv->request_id, &tee->copy, &aerr) != 0)
		rt_log("journal_index_failed", inv->request_id, "code", aerr.code, NULL);
}

/* {"deadbolt": "restore", "finding_id": ID[, "dry_run": true][, "force": true]
 *  [, "remove_groups": true]}:
 * 1 with the id copied when the event is a restore, 0 when it is not. */
static int restore_event(const rt_invocation *inv, char *id, size_t n, int *dry_run, int *force,
			 int *remove_groups)
{
	char why[128];
	jt_doc *doc = json_tree_parse(inv->body.data, inv->body.len, NULL, why, sizeof why);
	const jt_node *root = doc ? json_tree_root(doc) : NULL;
	const jt_node *kind = root ? json_tree_get(root, "deadbolt") : NULL;
	const jt_node *fid = root ? json_tree_get(root, "finding_id") : NULL;
	const jt_node *dr = root ? json_tree_get(root, "dry_run") : NULL;
	const jt_node *fo = root ? json_tree_get(root, "force") : NULL;
	const jt_node *rg = root ? json_tree_get(root, "remove_groups") : NULL;
	int is = kind && kind->type == JT_STRING && strcmp(kind->str, "restore") == 0;
	id[0] = '\0';
	if (is && fid && fid->type == JT_STRING && fid->len < n && strlen(fid->str) == fid->len)
		snprintf(id, n, "%s", fid->str);
	*dry_run = dr && dr->type == JT_TRUE;
	*force = fo && fo->type == JT_TRUE;
	*remove_groups = rg && rg->type == JT_TRUE;
	json_tree_free(doc);
	return is;
}

/* A restore event: the finding's journals read from the artifact bucket and
 * undone; the restore's journal lines go to CloudWatch (and beside the
 * finding's journals), the outcome is the answer. */
static void inv_restore(lambda_rt *rt, const rt_invocation *inv, const char *finding, int dry_run,
			int force, int remove_groups)
{
	restore_opts o;
	char summary[512], why[512];
	buf body = BUF_INIT;
	char path[512];
	long status = 0;
	memset(&o, 0, sizeof o);
	o.bucket = getenv("ARTIFACT_BUCKET");
	o.finding = finding;
	o.source = "the Lambda restore event";
	o.topic = getenv("NOTIFICATION_TOPIC_ARN");
	o.dry_run = dry_run;
	o.force = force;
	o.remove_groups = remove_groups;
	o.journal = stdout;
	o.playbook_dir = rt->playbooks;
	int rc = !finding[0] ? -1 : restore_run(rt->client, &o, summary, sizeof summary, why, sizeof why);
	if (!finding[0])
		snprintf(why, sizeof why, "a restore event needs \"finding_id\": a string");
	if (rc < 0) {
		inv_error(rt, inv, "Deadbolt.RestoreFailed", why, strlen(why));
		return;
	}
	inv_path(path, sizeof path, inv, "response");
	if (buf_puts(&body, "{\"outcome\":") == 0 &&
	    json_str(&body, rc == 0 ? (dry_run ? "planned" : "restored") : "refused") == 0 &&
	    buf_puts(&body, ",\"summary\":") == 0 && json_str(&body, summary) == 0 &&
	    buf_putc(&body, '}') == 0)
		rt_post(rt, path, NULL, body.data, body.len, &status);
	rt_log("restore_posted", inv->request_id, "finding_id", finding, NULL);
	buf_free(&body);
}

/* Runs the event through a runner built for this invocation's deadline. */
static void inv_run(lambda_rt *rt, const rt_invocation *inv, double deadline)
{
	runner_outcome worst = OUTCOME_INVALID;
	buf result = BUF_INIT;
	char err[512] = "";
	journal_tee tee;
	FILE *jf = journal_tee_open(&tee, stdout, RT_JOURNAL_COPY_MAX);

	runner_set_run(rt->runner, deadline, jf ? jf : stdout);
	int rc = runner_run_document(rt->runner, inv->body.data, inv->body.len, &worst, &result,
				     err, sizeof err);
	runner_set_run(rt->runner, 0, stdout);
	/* Stored before answering: Lambda may freeze the process once the
	 * answer is posted. */
	if (jf) {
		fclose(jf);
		inv_archive_journal(rt, inv, &tee);
	}
	if (rc != 0)
		inv_error(rt, inv, "Deadbolt.InvalidEvent", err, strlen(err));
	else
		inv_report(rt, inv, worst, &result);
	journal_tee_free(&tee);
	buf_free(&result);
}

/* The monotonic deadline for this invocation, or 0 with the error posted. */
static double inv_deadline(lambda_rt *rt, const rt_invocation *inv)
{
	double mono = clock_mono();
	double cap = mono + (rt->opts.limits.wall_seconds > 0 ? rt->opts.limits.wall_seconds : 120);
	double d;
	char msg[160];

	if (inv->deadline_ms == 0)
		return cap; /* no header: the sandbox's own budget */
	d = lambda_run_deadline(inv->deadline_ms, clock_wall(), mono);
	if (d - mono >= RT_MIN_RUN_SECONDS)
		return d < cap ? d : cap;
	snprintf(msg, sizeof msg, "%.0f ms left before the Lambda deadline: too little to run",
		 ((double)inv->deadline_ms / 1000.0 - clock_wall()) * 1000.0);
	inv_error(rt, inv, "Deadbolt.DeadlineExceeded", msg, strlen(msg));
	return 0;
}

static void inv_set_trace(const rt_invocation *inv)
{
	/* _X_AMZN_TRACE_ID is what the AWS SDKs read to send X-Amzn-Trace-Id. */
	if (lambda_trace_id_ok(inv->trace_id))
		setenv("_X_AMZN_TRACE_ID", inv->trace_id, 1);
	else
		unsetenv("_X_AMZN_TRACE_ID");
}

/* The caller's account with no sts.GetCallerIdentity (engine/run/account.c
 * asks it before every cold run): Lambda gives a function its execution
 * role's credentials in AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY /
 * AWS_SESSION_TOKEN, reserved variables that the function's configuration
 * cannot set, and the execution role is a role of the function's own
 * account, the account field of Lambda-Runtime-Invoked-Function-Arn. Only
 * when the client's credentials came from those variables (source "env"):
 * from any other source (a profile's role_arn or credential_process, a
 * container endpoint) they may be another account's, and are asked. */
static void inv_caller_account(lambda_rt *rt, const rt_invocation *inv)
{
	char source[32] = "", account[16];
	aws_error aerr;

	memset(&aerr, 0, sizeof aerr);
	if (lambda_arn_account(inv->function_arn, account, sizeof account) != 0)
		return;
	if (aws_client_credentials_source(rt->client, source, sizeof source, &aerr) != 0)
		return; /* the run's own account check says why */
	if (strcmp(source, "env") == 0)
		aws_client_set_caller_account(rt->client, account);
}

static void rt_handle(lambda_rt *rt, const rt_invocation *inv)
{
	static const char big[] = "the event passed the 6 MB payload limit";
	static const char empty[] = "the event is empty";
	double deadline;

	inv_set_trace(inv);
	rt_log("invoke", inv->request_id, "function_arn", inv->function_arn, NULL);
	if (inv->bad_header)
		rt_log("header_too_long", inv->request_id, NULL);
	if (inv->too_large) {
		inv_error(rt, inv, "Deadbolt.InvalidEvent", big, sizeof big - 1);
		return;
	}
	if (inv->body.len == 0) {
		inv_error(rt, inv, "Deadbolt.InvalidEvent", empty, sizeof empty - 1);
		return;
	}
	char finding[256];
	int dry_run, force, remove_groups;
	if (restore_event(inv, finding, sizeof finding, &dry_run, &force, &remove_groups)) {
		inv_restore(rt, inv, finding, dry_run, force, remove_groups);
		return;
	}
	inv_caller_account(rt, inv);
	if ((deadline = inv_deadline(rt, inv)) > 0)
		inv_run(rt, inv, deadline);
}

/* ---- init and the loop ----------------------------------------------- */

static int init_error(lambda_rt *rt, const char *type, const char *msg)
{
	char st[24];
	long status = rt_post_error(rt, "/init/error", type, msg, strlen(msg));

	snprintf(st, sizeof st, "%ld", status);
	rt_log("init_error_posted", NULL, "errorType", type, "error", msg, "status", st, NULL);
	return -1;
}

static int init_playbooks(lambda_rt *rt, char *err, size_t errlen)
{
	const char *dir = getenv("DEADBOLT_PLAYBOOKS");
	const char *root = getenv("LAMBDA_TASK_ROOT");
	struct stat st;
	int n;

	if (dir != NULL && *dir != '\0')
		n = snprintf(rt->playbooks, sizeof rt->playbooks, "%s", dir);
	else if (root != NULL && *root != '\0')
		n = snprintf(rt->playbooks, sizeof rt->playbooks, "%s/playbooks", root);
	else
		n = snprintf(rt->playbooks, sizeof rt->playbooks, "playbooks");
	if (n < 0 || (size_t)n >= sizeof rt->playbooks) {
		snprintf(err, errlen, "the playbook directory path is too long");
		return -1;
	}
	if (stat(rt->playbooks, &st) != 0 || !S_ISDIR(st.st_mode)) {
		snprintf(err, errlen, "no playbook directory at %.400s", rt->playbooks);
		return -1;
	}
	/* The package's compiled playbooks (tools/package-lambda.sh), from the
	 * package itself, with its own playbooks only: each is used while its
	 * file's text is unchanged (sandbox_chunks_read). */
	if ((dir == NULL || *dir == '\0') && root != NULL && *root != '\0') {
		n = snprintf(rt->chunks, sizeof rt->chunks, "%s/playbooks.chunks", root);
		if (n > 0 && (size_t)n < sizeof rt->chunks && stat(rt->chunks, &st) == 0 && S_ISREG(st.st_mode))
			rt->opts.chunks_file = rt->chunks;
	}
	return 0;
}

static int init_settings(lambda_rt *rt, char *err, size_t errlen)
{
	static const char *const names[] = { "DEADBOLT_DRY_RUN", "DEADBOLT_INCLUDE_SAMPLES",
					     "DEADBOLT_PARTIAL_IS_ERROR" };
	int v[3];
	const char *sev = getenv("DEADBOLT_MIN_SEVERITY");
	char *end = NULL;
	size_t i;

	for (i = 0; i < 3; i++)
		if ((v[i] = lambda_parse_bool(getenv(names[i]))) < 0) {
			snprintf(err, errlen, "%s must be true or false", names[i]);
			return -1;
		}
	rt->opts.dry_run = v[0];
	rt->opts.include_samples = v[1];
	rt->partial_is_error = v[2];
	if (sev != NULL && *sev != '\0') {
		errno = 0;
		rt->opts.min_severity = strtod(sev, &end);
		if (errno != 0 || *end != '\0' || rt->opts.min_severity < 0) {
			snprintf(err, errlen, "DEADBOLT_MIN_SEVERITY must be a number >= 0");
			return -1;
		}
	}
	return 0;
}

/* Everything a first invocation needs, checked before asking for one. */
static int rt_init(lambda_rt *rt)
{
	aws_client_config cfg;
	aws_error aerr;
	char err[512] = "", ca[PATH_MAX];
	const char *ca_from = "none";

	if (init_playbooks(rt, err, sizeof err) != 0 || init_settings(rt, err, sizeof err) != 0)
		return init_error(rt, "Deadbolt.InitError", err);
	/* A CA bundle named but missing would fail every HTTPS call: say so now. */
	if (ca_bundle_resolve(ca, sizeof ca, &ca_from, err, sizeof err) != 0)
		return init_error(rt, "Deadbolt.InitError", err);
	memset(&cfg, 0, sizeof cfg);
	memset(&aerr, 0, sizeof aerr);
	if ((rt->client = aws_client_new(&cfg, &aerr)) == NULL) {
		snprintf(err, sizeof err, "AWS client: %.90s: %.400s", aerr.code, aerr.message);
		return init_error(rt, "Deadbolt.InitError", err);
	}
	sandbox_default_limits(&rt->opts.limits);
	rt->opts.playbook_dir = rt->playbooks;
	rt->opts.client = rt->client;
	rt->opts.journal = stdout;
	/* The runner now, so that broken playbooks fail the init, not an invoke. */
	if ((rt->runner = runner_new(&rt->opts, err, sizeof err)) == NULL)
		return init_error(rt, "Deadbolt.InitError", err);
	rt_log("init", NULL, "playbooks", rt->playbooks, "dry_run", rt->opts.dry_run ? "true" : "false",
	       "ca_bundle", ca[0] ? ca : "libcurl's built-in default", "ca_bundle_from", ca_from,
	       "chunks", rt->opts.chunks_file ? rt->opts.chunks_file : "none: compiled at start-up", NULL);
	return 0;
}

static int rt_open(lambda_rt *rt)
{
	const char *api = getenv("AWS_LAMBDA_RUNTIME_API");
	int n;

	memset(rt, 0, sizeof *rt);
	if (api == NULL || *api == '\0' || strpbrk(api, "/?#@ \t\r\n") != NULL) {
		fprintf(stderr, "deadbolt: AWS_LAMBDA_RUNTIME_API is not set to host:port\n");
		return -1;
	}
	n = snprintf(rt->base, sizeof rt->base, "http://%s/" RT_VERSION "/runtime", api);
	if (n < 0 || (size_t)n >= sizeof rt->base) {
		fprintf(stderr, "deadbolt: AWS_LAMBDA_RUNTIME_API is too long\n");
		return -1;
	}
	if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK || (rt->curl = curl_easy_init()) == NULL) {
		fprintf(stderr, "deadbolt: libcurl did not initialise\n");
		return -1;
	}
	return 0;
}

int lambda_main(void)
{
	lambda_rt rt;
	rt_invocation inv;
	int rc = 1;

	setvbuf(stdout, NULL, _IOLBF, 0);
	signal(SIGPIPE, SIG_IGN);
	memset(&inv, 0, sizeof inv);
	if (rt_open(&rt) != 0)
		goto out;
	if (rt_init(&rt) != 0)
		goto out;
	while (rt_next(&rt, &inv) == 0)
		rt_handle(&rt, &inv);
out:
	buf_free(&inv.body);
	runner_free(rt.runner);
	if (rt.client != NULL)
		aws_client_free(rt.client);
	if (rt.curl != NULL)
		curl_easy_cleanup(rt.curl);
	return rc;
}
