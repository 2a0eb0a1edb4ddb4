/* aws_error — what went wrong with an AWS call, as a caller reports it.
 *
 * Plain fixed-size fields, no ownership: an aws_error can be copied, zeroed
 * and reused freely. It never holds a secret. */
#ifndef DEADBOLT_AWS_ERROR_H
#define DEADBOLT_AWS_ERROR_H

typedef struct aws_error {
	char code[96];       /* AWS error code ("Throttling"), or ours ("ValidationError",
			      * "TransportError", "Timeout", "InvalidResponse", ...) */
	char message[512];
	char op[96];         /* "ec2.DescribeInstances" */
	char request_id[128];
	long status;         /* HTTP status; 0 when no response arrived */
	int attempts;        /* how many times the request was sent */
} aws_error;

/* Fills code and a formatted message; leaves the other fields as they are. */
void aws_error_set(aws_error *e, const char *code, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
void aws_error_clear(aws_error *e);

#endif
