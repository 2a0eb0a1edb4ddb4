/* ca_bundle — see ca_bundle.h. */
#include "ca_bundle.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
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

/* Which explicit variable is in force, or NULL. */
static const char *explicit_name(void)
{
	const char *v = getenv("DEADBOLT_CA_BUNDLE");

	if (v != NULL && *v != '\0')
		return "DEADBOLT_CA_BUNDLE";
	v = getenv("SSL_CERT_FILE");
	return (v != NULL && *v != '\0') ? "SSL_CERT_FILE" : NULL;
}

static const char *found_where(const char *path)
{
	const char *root = getenv("LAMBDA_TASK_ROOT");
	size_t n = root != NULL ? strlen(root) : 0;

	if (*path == '\0')
		return "none";
	return (n > 0 && strncmp(path, root, n) == 0 && path[n] == '/') ? "package" : "system";
}

int ca_bundle_resolve(char *out, size_t outlen, const char **from, char *err, size_t errlen)
{
	const char *name = explicit_name();

	*from = "none";
	if (ca_bundle_find(out, outlen) != 0) {
		if (name == NULL) {
			if (outlen > 0)
				out[0] = '\0';
			return 0; /* libcurl's built-in default */
		}
		snprintf(err, errlen, "%s is too long", name);
		return -1;
	}
	if (name == NULL) {
		*from = found_where(out);
		return 0;
	}
	*from = name;
	if (access(out, R_OK) != 0) {
		snprintf(err, errlen, "%s names %.400s, which cannot be read: %s", name, out,
			 strerror(errno));
		return -1;
	}
	return 0;
}
