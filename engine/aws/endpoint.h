/* endpoint — which URL a service is reached at, and the region it signs for.
 *
 * Order, as the AWS CLI: the --endpoint-url flag; AWS_ENDPOINT_URL_<SERVICE_ID>
 * (EC2, AUTO_SCALING, ELASTIC_LOAD_BALANCING, ELASTIC_LOAD_BALANCING_V2, SSM,
 * S3, S3_CONTROL, IAM, SNS, STS); AWS_ENDPOINT_URL; the profile's endpoint_url; else the
 * partition's host for the region (aws, aws-cn, aws-us-gov, ...). IAM is global
 * (iam.amazonaws.com signed for us-east-1; iam.cn-north-1.amazonaws.com.cn / cn-north-1;
 * iam.us-gov.amazonaws.com / us-gov-west-1). AWS_IGNORE_CONFIGURED_ENDPOINT_URLS
 * =true ignores the environment and profile (not the flag). */
#ifndef DEADBOLT_ENDPOINT_H
#define DEADBOLT_ENDPOINT_H

#include "error.h"

typedef struct aws_endpoint {
	char url[512];           /* scheme://host[:port][/base], no trailing slash */
	char signing_region[32];
	char partition[16];      /* "aws", "aws-cn", "aws-us-gov", "aws-iso", ... */
	int custom;              /* 1 when an override gave the URL (S3 then uses path-style) */
} aws_endpoint;

/* service: boto3 client name ("ec2", "autoscaling", "elb", "elbv2", "ssm",
 * "s3", "s3control", "iam", "sns", "sts"). s3control's host is
 * s3-control.<region>.<suffix>; the account id in front of it is the
 * operation's host prefix, added by the client. 0, or -1 with err set (unknown service, bad
 * override URL, missing region). */
int endpoint_resolve(const char *service, const char *region, const char *profile,
		     const char *endpoint_url_flag, aws_endpoint *out, aws_error *err);

/* The partition of a region ("cn-north-1" -> "aws-cn"). */
const char *endpoint_partition(const char *region);

#endif
