/* ca_bundle — see ca_bundle.h. */
#include "ca_bundle.h"

#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

static const char *const system_bundles[] = {
	"/etc/pki/tls/certs/ca-bundle.crt",                   /* Amazon Linux, RHEL, Fedora */
	"/etc/ssl/certs/ca-certificates.crt",                 /* Debian, Ubuntu, Alpine */
	"/etc/pki/ca-trust/extracted/pem/tls-ca-bundle.pem",  /* RHEL's extracted copy */
	"/etc/ssl/ca-bundle.pem",                             /* SUSE */
	"/etc/ssl/cert.pem",                                  /* macOS, BSD, Alpine */
};

static int copy_path(char *out, size_t outlen, const char *path)
{
	int n = snprintf(out, outlen, "%s", path);

	return (n < 0 || (size_t)n >= outlen) ? -1 : 0;
}

static const char *explicit_setting(void)
{
	const char *v = getenv("DEADBOLT_CA_BUNDLE");

	if (v == NULL || *v == '\0')
		v = getenv("SSL_CERT_FILE");
	return (v != NULL && *v != '\0') ? v : NULL;
}

int ca_bundle_pick(const char *const *paths, size_t npaths, const char *task_root,
		   char *out, size_t outlen)
{
	const char *v = explicit_setting();
	char shipped[4096];
	size_t i;
	int n;

	if (outlen > 0)
		out[0] = '\0';
	if (v != NULL)
		return copy_path(out, outlen, v);
	for (i = 0; i < npaths; i++)
		if (access(paths[i], R_OK) == 0)
			return copy_path(out, outlen, paths[i]);
	if (task_root == NULL || *task_root == '\0')
		return -1;
	n = snprintf(shipped, sizeof shipped, "%s/certs/ca-bundle.crt", task_root);
	if (n < 0 || (size_t)n >= sizeof shipped || access(shipped, R_OK) != 0)
		return -1;
	return copy_path(out, outlen, shipped);
}

int ca_bundle_find(char *out, size_t outlen)
{
	return ca_bundle_pick(system_bundles, sizeof system_bundles / sizeof system_bundles[0],
			      getenv("LAMBDA_TASK_ROOT"), out, outlen);
}
