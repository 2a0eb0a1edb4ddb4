/* op_names — lookups in the generated operation names. See op_names.h. */
#include "op_names.h"

#include <stdlib.h>
#include <string.h>

const op_names_service *op_names_service_find(const char *service)
{
	for (size_t i = 0; i < op_names_nservices; i++)
		if (strcmp(op_names_services[i].service, service) == 0)
			return &op_names_services[i];
	return NULL;
}

static int cmp_name(const void *key, const void *elem)
{
	return strcmp(key, *(const char *const *)elem);
}

int op_names_known(const char *service, const char *snake)
{
	const op_names_service *s = op_names_service_find(service);
	return s && bsearch(snake, s->names, s->n, sizeof(s->names[0]), cmp_name) != NULL;
}
