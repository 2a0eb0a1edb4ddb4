/* op_names — every operation name of the services a playbook can name
 * (the services of tools/operations.list), as boto3 names the methods:
 * "terminate_instances". Generated into op_names_data.c by
 * tools/gen_op_names.py; static, read-only, nothing allocates. The codec's
 * model (model.h) knows far fewer operations: only the ones deadbolt sends. */
#ifndef DEADBOLT_OP_NAMES_H
#define DEADBOLT_OP_NAMES_H

#include <stddef.h>

typedef struct op_names_service {
	const char *service;          /* boto3 client name: "ec2" */
	const char *const *names;     /* sorted */
	size_t n;
} op_names_service;

extern const op_names_service op_names_services[];
extern const size_t op_names_nservices;

/* The service's entry, or NULL when the service is not one of them. */
const op_names_service *op_names_service_find(const char *service);

/* 1 when snake (a boto3 method name) is an operation of service. */
int op_names_known(const char *service, const char *snake);

#endif
