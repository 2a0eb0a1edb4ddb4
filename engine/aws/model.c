/* model — look-ups over the generated tables of model_data.c.
 * See model.h and model_types.h. */
#include "model.h"

#include <stdlib.h>
#include <string.h>

#include "model_types.h"

/* model_operations is sorted by (service name, operation name): a binary
 * search on the model name, a linear scan for the snake name (few entries). */
static int op_cmp(const char *service, const char *name, const aws_operation *op)
{
	int c = strcmp(service, op->service->name);
	return c ? c : strcmp(name, op->name);
}

static const aws_operation *find_by_model_name(const char *service, const char *name)
{
	size_t lo = 0, hi = model_noperations;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		int c = op_cmp(service, name, &model_operations[mid]);
		if (c == 0)
			return &model_operations[mid];
		if (c < 0)
			hi = mid;
		else
			lo = mid + 1;
	}
	return NULL;
}

const aws_operation *model_find_operation(const char *service, const char *name)
{
	if (!service || !name)
		return NULL;
	const aws_operation *op = find_by_model_name(service, name);
	if (op)
		return op;
	for (size_t i = 0; i < model_noperations; i++) {
		op = &model_operations[i];
		if (strcmp(op->service->name, service) == 0 && strcmp(op->snake_name, name) == 0)
			return op;
	}
	return NULL;
}

const char *model_op_name(const aws_operation *op)
{
	return op->name;
}

const char *model_op_snake_name(const aws_operation *op)
{
	return op->snake_name;
}

const char *model_op_service(const aws_operation *op)
{
	return op->service->name;
}

const char *model_op_signing_name(const aws_operation *op)
{
	return op->service->signing_name;
}

const char *model_op_protocol(const aws_operation *op)
{
	return op->service->protocol_name;
}

size_t model_op_count(void)
{
	return model_noperations;
}

const aws_operation *model_op_at(size_t i)
{
	return i < model_noperations ? &model_operations[i] : NULL;
}

const aws_member *model_member_find(const aws_shape *s, const char *name)
{
	if (!s || !name)
		return NULL;
	for (size_t i = 0; i < s->nmembers; i++)
		if (strcmp(s->members[i].name, name) == 0)
			return &s->members[i];
	return NULL;
}

const char *model_member_wire_name(const aws_member *m)
{
	return m->location_name ? m->location_name : m->name;
}

const aws_member *model_member_find_wire(const aws_shape *s, const char *wire, int location)
{
	if (!s || !wire)
		return NULL;
	for (size_t i = 0; i < s->nmembers; i++) {
		const aws_member *m = &s->members[i];
		if (m->location == location && strcmp(model_member_wire_name(m), wire) == 0)
			return m;
	}
	return NULL;
}
