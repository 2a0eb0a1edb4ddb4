/* model_types — the C form of the generated AWS service models.
 *
 * model_data.c is generated from botocore's
 * service-2.json models by tools/gen_model.py; it defines the tables below as
 * static const data and never allocates. Everything here is read-only and
 * lives for the whole program: borrow freely, free nothing.
 *
 * Shapes point at each other directly (a member's shape, a list's element).
 * Names of members are the model's ("VolumeId") — the keys of boto3's and of
 * a playbook's tables; the names on the wire are location_name / query_name.
 * Structure members keep the model's order (serializers emit in that order);
 * shapes are sorted by (service, name), operations by (service, name). */
#ifndef DEADBOLT_MODEL_TYPES_H
#define DEADBOLT_MODEL_TYPES_H

#include <stddef.h>
#include <stdint.h>

#include "model.h"

typedef struct aws_service aws_service;
typedef struct aws_shape aws_shape;
typedef struct aws_member aws_member;

/* Wire protocol of a service (metadata.protocol). */
typedef enum aws_protocol {
	AWS_PROTO_EC2 = 0,
	AWS_PROTO_QUERY,
	AWS_PROTO_JSON,
	AWS_PROTO_REST_XML,
} aws_protocol;

/* Shape types (shape.type). FLOAT is serialized like DOUBLE. */
typedef enum aws_shape_type {
	AWS_SHAPE_STRING = 0,
	AWS_SHAPE_INTEGER,
	AWS_SHAPE_LONG,
	AWS_SHAPE_BOOLEAN,
	AWS_SHAPE_DOUBLE,
	AWS_SHAPE_FLOAT,
	AWS_SHAPE_TIMESTAMP,
	AWS_SHAPE_BLOB,
	AWS_SHAPE_LIST,
	AWS_SHAPE_MAP,
	AWS_SHAPE_STRUCTURE,
	AWS_SHAPE_DOCUMENT, /* free-form JSON value (json protocol only) */
} aws_shape_type;

/* Where a member goes in a request / comes from in a response (member.location). */
typedef enum aws_location {
	AWS_LOC_BODY = 0,     /* no "location": the body (or the query form) */
	AWS_LOC_URI,          /* a {Label} or {Label+} of the requestUri */
	AWS_LOC_QUERYSTRING,  /* a ?name=value of the URL (maps: one pair per entry) */
	AWS_LOC_HEADER,       /* one header named location_name */
	AWS_LOC_HEADERS,      /* a map: every header starting with location_name */
	AWS_LOC_STATUS_CODE,  /* output only: the HTTP status */
} aws_location;

/* timestampFormat of a shape or member. DEFAULT means the protocol's default:
 * ec2/query/rest-xml body iso8601, json unixTimestamp, rest headers rfc822,
 * rest querystring iso8601. */
typedef enum aws_timestamp_format {
	AWS_TS_DEFAULT = 0,
	AWS_TS_ISO8601,
	AWS_TS_RFC822,         /* "rfc822" in the model: HTTP-date */
	AWS_TS_UNIX,           /* "unixTimestamp": epoch seconds */
} aws_timestamp_format;

/* aws_member.flags */
#define AWS_MF_REQUIRED          0x0001u /* in the parent structure's "required" list */
#define AWS_MF_XML_ATTRIBUTE     0x0002u /* xmlAttribute: an attribute of the parent element */
#define AWS_MF_FLATTENED         0x0004u /* member-level "flattened" (list/map without wrapper) */
#define AWS_MF_IDEMPOTENCY_TOKEN 0x0008u /* idempotencyToken: auto-filled with a UUIDv4 */
#define AWS_MF_STREAMING         0x0010u /* the member or its shape is "streaming" (raw blob) */
#define AWS_MF_JSON_VALUE        0x0020u /* jsonvalue: a header that carries base64 JSON */
#define AWS_MF_HOST_LABEL        0x0040u /* hostLabel: part of the host, not the path */
#define AWS_MF_EVENT_PAYLOAD     0x0080u /* eventpayload (unused here, kept for completeness) */

/* A member of a structure, or the element of a list, or a map's key/value.
 * For a list element or map key/value, name is NULL and flags is 0. */
struct aws_member {
	const char *name;            /* "VolumeId": the Lua/boto3 key; NULL for list/map parts */
	const aws_shape *shape;      /* the target shape, never NULL */
	const char *location_name;   /* locationName, or NULL (the wire name is then name, or
				      * for a list element "member", for map parts "key"/"value") */
	const char *query_name;      /* ec2 queryName, or NULL */
	const char *xml_namespace;   /* xmlNamespace.uri, or NULL */
	const char *xml_prefix;      /* xmlNamespace.prefix, or NULL */
	uint8_t location;            /* aws_location */
	uint8_t timestamp_format;    /* aws_timestamp_format set on the member, else DEFAULT */
	uint16_t flags;              /* AWS_MF_* */
};

/* aws_shape.flags */
#define AWS_SF_HAS_MIN    0x0001u /* min is set */
#define AWS_SF_HAS_MAX    0x0002u /* max is set */
#define AWS_SF_FLATTENED  0x0004u /* list/map shape is "flattened" */
#define AWS_SF_STREAMING  0x0008u /* blob/string shape is "streaming" */
#define AWS_SF_SENSITIVE  0x0010u /* "sensitive": never log the value */
#define AWS_SF_EXCEPTION  0x0020u /* an error shape */
#define AWS_SF_UNION      0x0040u /* structure with "union": exactly one member set */

struct aws_shape {
	const char *name;            /* "CreateSnapshotRequest" (unique within a service) */
	const aws_service *service;
	uint8_t type;                /* aws_shape_type */
	uint8_t timestamp_format;    /* aws_timestamp_format of a timestamp shape */
	uint16_t flags;              /* AWS_SF_* */
	/* min/max: length of a string in characters (UTF-8 code points, as
	 * botocore counts them), of a blob in bytes, element count of a list or
	 * map, value range of an integer/long/double/float. */
	int64_t min;
	int64_t max;
	const char *location_name;   /* shape-level locationName (rest-xml root), or NULL */
	const char *xml_namespace;   /* shape-level xmlNamespace.uri, or NULL */

	/* structure */
	const aws_member *members;   /* nmembers entries in the model's order, or NULL */
	uint16_t nmembers;
	int16_t payload;             /* index in members of the "payload" member, or -1 */

	/* list: the element; map: key and value */
	const aws_member *list_member;
	const aws_member *map_key;
	const aws_member *map_value;

	/* string enum values, in the model's order (NULL, 0 when not an enum) */
	const char *const *enums;
	uint16_t nenums;
};

/* aws_operation.flags */
#define AWS_OF_CHECKSUM_REQUIRED 0x0001u /* httpChecksumRequired or
					  * httpChecksum.requestChecksumRequired: send Content-MD5 */
#define AWS_OF_UNSIGNED_BODY     0x0002u /* authtype v4-unsigned-body */
#define AWS_OF_NO_AUTH           0x0004u /* authtype none (unsigned request) */

struct aws_operation {
	const char *name;            /* "CreateSnapshot" */
	const char *snake_name;      /* "create_snapshot" (botocore.xform_name) */
	const aws_service *service;
	const char *http_method;     /* "POST", "GET", "PUT", "DELETE", "HEAD" */
	const char *request_uri;     /* "/", "/{Bucket}/{Key+}", "/{Bucket}?publicAccessBlock" */
	const aws_shape *input;      /* NULL when the operation takes no input */
	const aws_shape *output;     /* NULL when it returns nothing */
	const char *result_wrapper;  /* query/ec2 output: "DescribeTargetGroupsResult", or NULL */
	const char *checksum_algorithm_member; /* httpChecksum.requestAlgorithmMember, or NULL */
	const char *host_prefix;     /* endpoint.hostPrefix: "{AccountId}." put in front of the
				      * host, each {Label} a hostLabel member's value; or NULL */
	uint16_t flags;              /* AWS_OF_* */
};

struct aws_service {
	const char *name;            /* boto3 client name: "ec2", "elbv2" */
	const char *service_id;      /* "EC2", "Elastic Load Balancing v2" */
	const char *endpoint_prefix; /* "ec2", "elasticloadbalancing" */
	const char *signing_name;    /* SigV4 service name: signingName, else endpointPrefix */
	const char *signature_version; /* "v4", "s3" (S3 is signed with SigV4 too) */
	uint8_t protocol;            /* aws_protocol */
	const char *protocol_name;   /* "ec2", "query", "json", "rest-xml" */
	const char *api_version;     /* "2016-11-15": the Version= of ec2/query requests */
	const char *target_prefix;   /* json: "AmazonSSM", else NULL */
	const char *json_version;    /* json: "1.1", else NULL */
	const char *global_endpoint; /* "iam.amazonaws.com", or NULL */
	const char *xml_namespace;   /* metadata.xmlNamespace, or NULL */
};

/* The generated tables (model_data.c). */
extern const aws_service model_services[];
extern const size_t model_nservices;
extern const aws_operation model_operations[]; /* sorted by (service name, op name) */
extern const size_t model_noperations;

/* Helpers (model.c). */
/* The member of structure s named name (model name, exact case), or NULL. */
const aws_member *model_member_find(const aws_shape *s, const char *name);
/* The member of structure s whose wire name (location_name, else name) is
 * wire, among members of the given location (AWS_LOC_BODY for body/XML). */
const aws_member *model_member_find_wire(const aws_shape *s, const char *wire, int location);
/* The name on the wire: location_name, else name ("member" for a list element
 * without locationName, "key"/"value" for map parts is up to the caller). */
const char *model_member_wire_name(const aws_member *m);

#endif
