/* ca_bundle — where the trusted CA certificates are on this machine.
 * http.c calls it for CURLOPT_CAINFO.
 *
 * The deadbolt binary is built on Debian, whose libcurl looks for
 * /etc/ssl/certs/ca-certificates.crt; Amazon Linux 2023 (the Lambda
 * provided.al2023 runtime) keeps the bundle at /etc/pki/tls/certs/ca-bundle.crt.
 * Order: DEADBOLT_CA_BUNDLE, then SSL_CERT_FILE (an explicit setting is
 * returned even when the file is missing, so the TLS error names it), then
 * the first readable file of: /etc/pki/tls/certs/ca-bundle.crt (Amazon Linux,
 * RHEL), /etc/ssl/certs/ca-certificates.crt (Debian, Ubuntu, Alpine),
 * /etc/pki/ca-trust/extracted/pem/tls-ca-bundle.pem, /etc/ssl/ca-bundle.pem
 * (SUSE), /etc/ssl/cert.pem (macOS, BSD), then the copy shipped in the
 * deployment zip, $LAMBDA_TASK_ROOT/certs/ca-bundle.crt.
 *
 * Ownership: the path is copied into the caller's buffer; nothing is kept. */
#ifndef DEADBOLT_CA_BUNDLE_H
#define DEADBOLT_CA_BUNDLE_H

#include <stddef.h>

/* Copies the CA bundle path into out and returns 0, or returns -1 when none
 * was found (then leave CURLOPT_CAINFO to libcurl's built-in default) or the
 * path does not fit. */
int ca_bundle_find(char *out, size_t outlen);

/* ca_bundle_find over a given list of system paths (for tests): the explicit
 * settings, then the first readable of paths, then task_root/certs/ca-bundle.crt
 * (task_root may be NULL). */
/* The bundle a client will use, checked before any call: copies its path into
 * out ("" when none: libcurl's built-in default) and sets *from to where it
 * came from ("DEADBOLT_CA_BUNDLE", "SSL_CERT_FILE", "system", "package",
 * "none"). Returns -1 with a one-line reason in err when an explicit setting
 * names a file that cannot be read (docs/lambda.md: an init error), else 0. */
int ca_bundle_resolve(char *out, size_t outlen, const char **from, char *err, size_t errlen);

int ca_bundle_pick(const char *const *paths, size_t npaths, const char *task_root,
		   char *out, size_t outlen);

#endif
