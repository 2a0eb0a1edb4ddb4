/* codec — model-driven request serialization and response decoding for the
 * four wire protocols (ec2, query, json 1.1, rest-xml), to and from Lua
 * tables in boto3's shapes.
 *
 * Lua side: parameters are read with raw access only (no metamethod of a
 * playbook's table ever runs). Every function here may raise a Lua error
 * (out of memory under a capped allocator): callers run them inside
 * lua_pcall. They hold no malloc'd memory across such a raise except what is
 * inside the caller-owned aws_request, which aws_request_free releases. */
#ifndef DEADBOLT_CODEC_H
#define DEADBOLT_CODEC_H

#include <lua.h>

#include "error.h"
#include "http.h"
#include "model.h"
#include "request.h"

/* Validates the table at index params (nil or none means no parameters)
 * against op's input shape (required members, types, enums, lengths, ranges,
 * unknown members) and serializes it into req: method, path, query, headers,
 * body and, for S3, bucket. Host and signing headers are the client's.
 * Returns 0, or -1 with err->code "ValidationError" and a message naming the
 * operation and the member path ("ec2.CreateSnapshot: VolumeId is required",
 * "...: Filters[2].Values[1] must be a string"); nothing is to be sent then. */
int codec_build_request(lua_State *L, const aws_operation *op, int params,
			aws_request *req, aws_error *err);

/* Validates and serializes the parameters at index params exactly as
 * codec_build_request does, then throws the request away: a dry run checks
 * every write it plans as the live run would before sending it. Returns 0,
 * or -1 with err as codec_build_request sets it. Runs protected: a Lua
 * error inside becomes err "InternalError", except running out of memory,
 * which is raised again once the request is freed. */
int codec_check_request(lua_State *L, const aws_operation *op, int params, aws_error *err);

/* Decodes a response. For a 2xx status pushes the result table (boto3 shape:
 * model member names, lists as arrays, integers and booleans typed,
 * timestamps as ISO-8601 UTC strings, ResponseMetadata.RequestId and
 * HTTPStatusCode) and returns 0. For any other status, or a 2xx body that
 * does not parse, pushes nothing and returns -1 with err's code, message,
 * status and request_id filled from the body or headers; a body that is not
 * an AWS error (HTML, empty) still gives a clear code ("HTTP503") and message.
 *
 * Values as botocore's parsers give them, with Lua types: integer/long ->
 * integer, double/float -> float, boolean -> boolean, blob -> the decoded
 * bytes, absent members absent, an empty list present as {} (json: a JSON
 * value of the "wrong" kind is passed through as botocore does; nulls are
 * left out). Timestamps (datetime in boto3) are always written
 * "YYYY-MM-DDTHH:MM:SS.mmmZ", UTC, milliseconds always present (".000Z"):
 * one fixed-width form for every protocol and source format (ISO 8601 with
 * any offset, RFC 822 headers, epoch seconds), so two equal instants give
 * equal strings and string order is time order; finer digits are cut.
 * ResponseMetadata has RequestId (from the body, else x-amzn-RequestId or
 * x-amz-request-id), HTTPStatusCode and, for S3, HostId.
 * Error codes of ours: "InvalidResponse" (a 2xx body that does not parse or
 * fit the model), "HTTP<status>" (an error body that is not an AWS error),
 * and for an error without a body "NotFound" (404), "Forbidden" (403),
 * "BadRequest" (400), "NotModified" (304), "PreconditionFailed" (412),
 * "PermanentRedirect" (301) where botocore would say "404" etc. */
int codec_parse_response(lua_State *L, const aws_operation *op, const http_response *resp,
			 aws_error *err);

/* Pushes a result of op's output shape with placeholder values (dry run):
 * every string member present in the top-level structure is "dryrun-<Member>"
 * (ids look like ids: "snap-dryrun<seq>", "sg-dryrun<seq>", ...; seq 0: no
 * number), lists empty. Distinct seqs (the planned write's number) give
 * distinct ids, so two planned groups are two groups in the plan. */
void codec_push_placeholder(lua_State *L, const aws_operation *op, int seq);
/* The same with each enum member's value number variant (modulo their
 * count) instead of the first: a dry run's wait tries these in turn for an
 * answer that meets its condition. */
void codec_push_placeholder_variant(lua_State *L, const aws_operation *op, int seq, int variant);

#endif
