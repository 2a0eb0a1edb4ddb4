#include "request.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

static int find_header(const aws_request *r, const char *name)
{
	for (size_t i = 0; i < r->nheaders; i++)
		if (strcasecmp(r->header_names[i], name) == 0)
			return (int)i;
	return -1;
}

int aws_request_set_header(aws_request *r, const char *name, const char *value)
{
	char *v = strdup(value);
	if (!v)
		return -1;
	int i = find_header(r, name);
	if (i >= 0) {
		free(r->header_values[i]);
		r->header_values[i] = v;
		return 0;
	}
	char *n = strdup(name);
	if (!n || r->nheaders >= AWS_REQUEST_MAX_HEADERS) {
		free(n);
		free(v);
		return -1;
	}
	r->header_names[r->nheaders] = n;
	r->header_values[r->nheaders] = v;
	r->nheaders++;
	return 0;
}

const char *aws_request_header(const aws_request *r, const char *name)
{
	int i = find_header(r, name);
	return i >= 0 ? r->header_values[i] : NULL;
}

void aws_request_free(aws_request *r)
{
	buf_free(&r->path);
	buf_free(&r->query);
	buf_free(&r->body);
	for (size_t i = 0; i < r->nheaders; i++) {
		free(r->header_names[i]);
		free(r->header_values[i]);
	}
	r->nheaders = 0;
}
