/* creds_http — container credentials and EC2 instance metadata (IMDSv2),
 * owned by the credentials module (see creds_internal.h).
 *
 * Container: AWS_CONTAINER_CREDENTIALS_RELATIVE_URI on 169.254.170.2, or
 * AWS_CONTAINER_CREDENTIALS_FULL_URI when it is https or names a loopback
 * address, 169.254.170.2, 169.254.170.23, fd00:ec2::23 or localhost (as
 * botocore's ContainerMetadataFetcher); Authorization from
 * AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE, else AWS_CONTAINER_AUTHORIZATION_TOKEN.
 * IMDS: token PUT, role name, role credentials; one attempt each with a short
 * timeout. Response bodies, the IMDS token and the authorization token are
 * wiped after use. */
#include "creds_internal.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <openssl/crypto.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include "buf.h"
#include "config.h"
#include "http.h"

#define CONTAINER_BASE "http://169.254.170.2"
#define IMDS_BASE "http://169.254.169.254"
#define IMDS_BASE_V6 "http://[fd00:ec2::254]"
#define IMDS_CREDS_PATH "/latest/meta-data/iam/security-credentials/"
#define AUTH_TOKEN_MAX 8192
#define URL_MAX 2048

/* Printable ASCII without spaces: safe in a URL or header. */
static int url_safe(const char *s)
{
	for (; *s; s++)
		if ((unsigned char)*s <= 0x20 || (unsigned char)*s >= 0x7f)
			return 0;
	return 1;
}

/* One request; 0 when an HTTP 200 arrived, else -1 with why set. The caller
 * wipes and frees resp either way. */
static int fetch(http_client *h, const char *method, const char *url, const http_header *hdrs,
		 size_t nh, long timeout_ms, http_response *resp, char *why, size_t whylen)
{
	http_request req;
	memset(&req, 0, sizeof(req));
	req.method = method;
	req.url = url;
	req.headers = hdrs;
	req.nheaders = nh;
	req.connect_timeout_ms = timeout_ms;
	req.timeout_ms = timeout_ms;
	req.max_response = CREDS_MAX_OUTPUT;
	if (http_do(h, &req, resp) != 0) {
		snprintf(why, whylen, "%s", resp->failure == HTTP_FAIL_TIMEOUT ? "timed out"
					    : resp->failure == HTTP_FAIL_CONNECT ? "could not connect"
					    : resp->failure == HTTP_FAIL_TOO_LARGE ? "response too large"
					    : "transport error");
		return -1;
	}
	if (resp->status != 200) {
		snprintf(why, whylen, "HTTP %ld", resp->status);
		return -1;
	}
	return 0;
}

static void response_wipe(http_response *r)
{
	buf_wipe(&r->body);
	http_response_free(r);
}

/* ---- container ---- */

/* The host of an http(s) URL, brackets removed; -1 when malformed. */
static int url_host(const char *url, char *host, size_t hostlen, int *https)
{
	size_t skip = strncasecmp(url, "https://", 8) == 0 ? 8
		    : strncasecmp(url, "http://", 7) == 0 ? 7 : 0;
	if (!skip)
		return -1;
	*https = skip == 8;
	const char *a = url + skip;
	size_t alen = strcspn(a, "/?#");
	if (memchr(a, '@', alen))
		return -1; /* no userinfo */
	size_t hlen;
	if (alen && a[0] == '[') {
		const char *close = memchr(a, ']', alen);
		if (!close)
			return -1;
		a++;
		hlen = (size_t)(close - a);
	} else {
		const char *colon = memchr(a, ':', alen);
		hlen = colon ? (size_t)(colon - a) : alen;
	}
	if (hlen == 0 || hlen >= hostlen)
		return -1;
	memcpy(host, a, hlen);
	host[hlen] = '\0';
	return 0;
}

static int host_allowed(const char *host)
{
	static const unsigned char v6_loop[16] = {[15] = 1};
	static const unsigned char v6_ecs[16] = {0xfd, 0x00, 0x0e, 0xc2, [15] = 0x23};
	unsigned char a[16];
	if (strcasecmp(host, "localhost") == 0)
		return 1;
	if (inet_pton(AF_INET, host, a) == 1)
		return a[0] == 127 || (a[0] == 169 && a[1] == 254 && a[2] == 170 && (a[3] == 2 || a[3] == 23));
	if (inet_pton(AF_INET6, host, a) == 1)
		return memcmp(a, v6_loop, 16) == 0 || memcmp(a, v6_ecs, 16) == 0;
	return 0;
}

/* 1 when neither variable is set. */
static int container_url(char *url, size_t len, aws_error *err)
{
	const char *rel = getenv("AWS_CONTAINER_CREDENTIALS_RELATIVE_URI");
	const char *full = getenv("AWS_CONTAINER_CREDENTIALS_FULL_URI");
	char host[256];
	int https = 0;
	if (rel && *rel) {
		if (rel[0] != '/' || !url_safe(rel) ||
		    (size_t)snprintf(url, len, CONTAINER_BASE "%s", rel) >= len) {
			aws_error_set(err, "InvalidConfig", "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI is not a valid path");
			return -1;
		}
		return 0;
	}
	if (!full || !*full)
		return 1;
	if (!url_safe(full) || strlen(full) >= len || url_host(full, host, sizeof(host), &https) != 0 ||
	    (!https && !host_allowed(host))) {
		aws_error_set(err, "InvalidConfig",
			      "AWS_CONTAINER_CREDENTIALS_FULL_URI must be https, or http on a loopback "
			      "address, 169.254.170.2, 169.254.170.23 or fd00:ec2::23");
		return -1;
	}
	memcpy(url, full, strlen(full) + 1);
	return 0;
}

static int read_token_file(const char *path, char *tok, size_t len)
{
	int rc = -1;
	size_t n = 0;
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
	if (fd < 0)
		return -1;
	while (n + 1 < len) {
		ssize_t r = read(fd, tok + n, len - 1 - n);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0)
			goto out;
		if (r == 0)
			break;
		n += (size_t)r;
	}
	tok[n] = '\0';
	rc = n + 1 < len ? 0 : -1; /* a full buffer: too long */
out:
	close(fd);
	return rc;
}

/* The Authorization value ("" when none). Trailing whitespace is dropped;
 * any other control character makes it an error (a header injection). */
static int container_auth(char *tok, size_t len, aws_error *err)
{
	const char *file = getenv("AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE");
	const char *env = getenv("AWS_CONTAINER_AUTHORIZATION_TOKEN");
	tok[0] = '\0';
	if (file && *file) {
		if (read_token_file(file, tok, len) != 0) {
			aws_error_set(err, "InvalidConfig", "AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE cannot be read");
			return -1;
		}
	} else if (env && creds_copy(tok, len, env, "AWS_CONTAINER_AUTHORIZATION_TOKEN", err) != 0) {
		return -1;
	}
	size_t n = strlen(tok);
	while (n && (tok[n - 1] == '\n' || tok[n - 1] == '\r' || tok[n - 1] == ' ' || tok[n - 1] == '\t'))
		tok[--n] = '\0';
	for (size_t i = 0; i < n; i++) {
		if ((unsigned char)tok[i] < 0x20 || tok[i] == 0x7f) {
			aws_error_set(err, "InvalidConfig", "the container authorization token is not a legal header value");
			return -1;
		}
	}
	return 0;
}

int creds_container(long timeout_ms, aws_credentials *out, aws_error *err)
{
	static const creds_json_spec spec = {"container credentials", "Token", 0};
	char url[URL_MAX], tok[AUTH_TOKEN_MAX], why[64];
	http_header hdrs[2] = {{"Accept", "application/json"}, {"Authorization", tok}};
	http_response resp;
	http_client *h = NULL;
	int rc = container_url(url, sizeof(url), err);
	memset(&resp, 0, sizeof(resp));
	if (rc != 0 || (rc = container_auth(tok, sizeof(tok), err)) != 0)
		goto out;
	rc = -1;
	if (!(h = http_client_new())) {
		aws_error_set(err, "InternalError", "out of memory");
		goto out;
	}
	if (fetch(h, "GET", url, hdrs, tok[0] ? 2 : 1, timeout_ms, &resp, why, sizeof(why)) != 0) {
		aws_error_set(err, "CredentialsError", "container credentials endpoint: %s", why);
		goto out;
	}
	rc = creds_from_json(resp.body.data ? resp.body.data : "", resp.body.len, &spec, out, err);
	if (rc == 0)
		snprintf(out->source, sizeof(out->source), "container");
out:
	response_wipe(&resp);
	http_client_free(h);
	OPENSSL_cleanse(tok, sizeof(tok));
	return rc;
}

/* ---- IMDS ---- */

static int imds_base(const char *endpoint, char *out, size_t len)
{
	const char *mode = getenv("AWS_EC2_METADATA_SERVICE_ENDPOINT_MODE");
	if (!endpoint || !*endpoint)
		endpoint = getenv("AWS_EC2_METADATA_SERVICE_ENDPOINT");
	if (!endpoint || !*endpoint)
		endpoint = mode && strcasecmp(mode, "IPv6") == 0 ? IMDS_BASE_V6 : IMDS_BASE;
	size_t n = strlen(endpoint);
	while (n > 0 && endpoint[n - 1] == '/')
		n--;
	if (n == 0 || n >= len || !url_safe(endpoint) ||
	    (strncasecmp(endpoint, "http://", 7) != 0 && strncasecmp(endpoint, "https://", 8) != 0))
		return -1;
	memcpy(out, endpoint, n);
	out[n] = '\0';
	return 0;
}

static int imds_token(http_client *h, const char *base, long t, char *tok, size_t len,
		      char *why, size_t wl)
{
	char url[URL_MAX];
	http_header hdr = {"X-aws-ec2-metadata-token-ttl-seconds", "21600"};
	http_response resp;
	int rc = -1;
	snprintf(url, sizeof(url), "%s/latest/api/token", base);
	if (fetch(h, "PUT", url, &hdr, 1, t, &resp, why, wl) != 0)
		goto out;
	if (resp.body.len == 0 || resp.body.len >= len || !url_safe(resp.body.data)) {
		snprintf(why, wl, "malformed token");
		goto out;
	}
	memcpy(tok, resp.body.data, resp.body.len + 1);
	rc = 0;
out:
	response_wipe(&resp);
	return rc;
}

/* The first line of the role listing, checked against IAM's name charset. */
static int imds_role(http_client *h, const char *base, const http_header *hdr, long t,
		     char *role, size_t len, char *why, size_t wl)
{
	char url[URL_MAX];
	http_response resp;
	int rc = -1;
	snprintf(url, sizeof(url), "%s" IMDS_CREDS_PATH, base);
	if (fetch(h, "GET", url, hdr, 1, t, &resp, why, wl) != 0)
		goto out;
	const char *body = resp.body.data ? resp.body.data : "";
	size_t n = strcspn(body, "\r\n");
	if (n == 0 || n >= len || strspn(body, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
					 "0123456789+=,.@_-") < n) {
		snprintf(why, wl, "no usable instance role");
		goto out;
	}
	memcpy(role, body, n);
	role[n] = '\0';
	rc = 0;
out:
	response_wipe(&resp);
	return rc;
}

static int imds_creds(http_client *h, const char *base, const http_header *hdr,
		      const char *role, long t, aws_credentials *out, aws_error *err,
		      char *why, size_t wl)
{
	static const creds_json_spec spec = {"IMDS", "Token", 0};
	char url[URL_MAX];
	http_response resp;
	int rc = -1;
	snprintf(url, sizeof(url), "%s" IMDS_CREDS_PATH "%s", base, role);
	if (fetch(h, "GET", url, hdr, 1, t, &resp, why, wl) != 0)
		goto out;
	rc = creds_from_json(resp.body.data ? resp.body.data : "", resp.body.len, &spec, out, err);
	if (rc != 0 && wl) {
		const char *m = err && err->message[0] ? err->message : "malformed credentials";
		size_t n = strnlen(m, wl - 1);
		memcpy(why, m, n);
		why[n] = '\0';
	}
out:
	response_wipe(&resp);
	return rc;
}

int creds_imds(const char *endpoint, long timeout_ms, aws_credentials *out, aws_error *err,
	       char *reason, size_t reason_len)
{
	char base[URL_MAX / 2], tok[1024], role[256], why[160] = "";
	http_header hdr = {"X-aws-ec2-metadata-token", tok};
	http_client *h = NULL;
	int rc = 1;
	long t = timeout_ms > 0 ? timeout_ms : CREDS_IMDS_TIMEOUT_MS;
	tok[0] = '\0';
	if (config_is_true(getenv("AWS_EC2_METADATA_DISABLED"))) {
		snprintf(why, sizeof(why), "disabled");
		goto out;
	}
	if (imds_base(endpoint, base, sizeof(base)) != 0) {
		snprintf(why, sizeof(why), "invalid endpoint");
		goto out;
	}
	if (!(h = http_client_new())) {
		snprintf(why, sizeof(why), "out of memory");
		goto out;
	}
	if (imds_token(h, base, t, tok, sizeof(tok), why, sizeof(why)) != 0 ||
	    imds_role(h, base, &hdr, t, role, sizeof(role), why, sizeof(why)) != 0 ||
	    imds_creds(h, base, &hdr, role, t, out, err, why, sizeof(why)) != 0)
		goto out;
	snprintf(out->source, sizeof(out->source), "imds");
	rc = 0;
out:
	if (rc != 0) {
		creds_wipe(out);
		snprintf(reason, reason_len, "%s", why);
	}
	http_client_free(h);
	OPENSSL_cleanse(tok, sizeof(tok));
	return rc;
}
