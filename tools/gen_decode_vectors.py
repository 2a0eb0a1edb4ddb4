#!/usr/bin/env python3
"""Writes the response-decoding vectors of tests/vectors/decode/ (run by
developers, not by the build; the output is committed).

Each vector is a Lua file returning one HTTP response (status, headers,
body) of one operation and what deadbolt's codec must make of it. The
expected result is what botocore's own parser (botocore.parsers) returns for
the same response and the same output shape: the oracle is independent of
deadbolt's C code. The few places where deadbolt deliberately differs from
botocore are applied here explicitly, in `expected_result` and
`expected_error`, and documented in engine/aws/codec_decode.c.

Sources of responses:
  - a moto server (moto_server on 127.0.0.1, a free port, stopped by PID),
    driven with boto3; the raw responses are captured with a before-parse hook;
  - hand-written bodies, as AWS documents them, for what moto lacks
    (GetConsoleScreenshot, DescribeInstanceInformation, GetBucketPolicyStatus),
    for awkward values (timestamps with offsets, epoch floats, namespaces) and
    for errors (AWS errors of each protocol, HTML 500, empty 503, truncated);
  - synthetic operations (SYNTHETIC below) that use every shape the real
    operations do not: flattened lists, XML maps, blobs, doubles, attributes,
    header lists, statusCode. tests/unit/test_codec_decode.c mirrors them in C.

Conversions (deadbolt's representation, codec.h): datetimes become
"YYYY-MM-DDTHH:MM:SS.mmmZ" in UTC; bytes stay bytes (Lua strings); None is
left out; ResponseMetadata keeps RequestId, HostId and HTTPStatusCode.

Usage: python3 tools/gen_decode_vectors.py [--no-moto] [--out DIR]
"""

import argparse
import datetime
import json
import math
import os
import sys
import time

os.environ["TZ"] = "UTC"
time.tzset()

import botocore.model  # noqa: E402
import botocore.parsers  # noqa: E402
import botocore.session  # noqa: E402
from botocore.awsrequest import HeadersDict  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
DEFAULT_OUT = os.path.join(ROOT, "tests", "vectors", "decode")

SESSION = botocore.session.get_session()
_models = {}


def service_model(service):
    if service in SYNTHETIC:
        return botocore.model.ServiceModel(SYNTHETIC[service], service_name=service)
    if service not in _models:
        _models[service] = SESSION.get_service_model(service)
    return _models[service]


# ---- synthetic models: every shape kind, in three protocols -------------

def _synthetic_shapes():
    return {
        "S": {"type": "string"},
        "I": {"type": "integer"},
        "L": {"type": "long"},
        "B": {"type": "boolean"},
        "D": {"type": "double"},
        "F": {"type": "float"},
        "T": {"type": "timestamp"},
        "Blob": {"type": "blob"},
        "SList": {"type": "list", "member": {"shape": "S"}},
        "IList": {"type": "list", "member": {"shape": "I", "locationName": "item"}},
        "FlatList": {"type": "list", "member": {"shape": "S"}, "flattened": True},
        "FlatNamedList": {"type": "list", "member": {"shape": "Inner", "locationName": "Thing"},
                          "flattened": True},
        "SMap": {"type": "map", "key": {"shape": "S"}, "value": {"shape": "I"}},
        "NamedMap": {"type": "map", "key": {"shape": "S", "locationName": "Name"},
                     "value": {"shape": "S", "locationName": "Val"}},
        "FlatMap": {"type": "map", "key": {"shape": "S"}, "value": {"shape": "S"},
                    "flattened": True},
        "Inner": {"type": "structure", "members": {
            "Id": {"shape": "S"},
            "Kind": {"shape": "S", "locationName": "kind", "xmlAttribute": True},
            "Count": {"shape": "I"},
            "Tags": {"shape": "SList"},
        }},
        "EverythingOutput": {"type": "structure", "members": {
            "Str": {"shape": "S"},
            "Renamed": {"shape": "S", "locationName": "renamedThing"},
            "EmptyStr": {"shape": "S"},
            "Int": {"shape": "I"},
            "Negative": {"shape": "I"},
            "Long": {"shape": "L"},
            "Bool": {"shape": "B"},
            "BoolFalse": {"shape": "B"},
            "Dbl": {"shape": "D"},
            "Flt": {"shape": "F"},
            "When": {"shape": "T"},
            "WhenOffset": {"shape": "T"},
            "WhenEpoch": {"shape": "T"},
            "WhenMicros": {"shape": "T"},
            "Data": {"shape": "Blob"},
            "Wrapped": {"shape": "SList"},
            "Numbers": {"shape": "IList"},
            "Empty": {"shape": "SList"},
            "Flat": {"shape": "FlatList"},
            "Things": {"shape": "FlatNamedList"},
            "Dict": {"shape": "SMap"},
            "Named": {"shape": "NamedMap"},
            "FlatDict": {"shape": "FlatMap"},
            "Nested": {"shape": "Inner"},
            "Missing": {"shape": "S"},
        }},
        "HeadersOutput": {"type": "structure", "members": {
            "Count": {"shape": "I", "location": "header", "locationName": "x-count"},
            "Big": {"shape": "L", "location": "header", "locationName": "x-big"},
            "On": {"shape": "B", "location": "header", "locationName": "x-on"},
            "Names": {"shape": "SList", "location": "header", "locationName": "x-names"},
            "Seen": {"shape": "T", "location": "header", "locationName": "x-seen"},
            "Doc": {"shape": "JsonDoc", "location": "header", "locationName": "x-doc"},
            "Meta": {"shape": "HMap", "location": "headers", "locationName": "x-meta-"},
            "Status": {"shape": "I", "location": "statusCode"},
            "Absent": {"shape": "S", "location": "header", "locationName": "x-absent"},
            "Nested": {"shape": "Inner"},
            "Str": {"shape": "S"},
        }},
        "JsonDoc": {"type": "string", "jsonvalue": True},
        "HMap": {"type": "map", "key": {"shape": "S"}, "value": {"shape": "S"}},
        "PayloadOutput": {"type": "structure", "payload": "Body", "members": {
            "Body": {"shape": "Blob"},
            "Type": {"shape": "S", "location": "header", "locationName": "Content-Type"},
        }},
    }


def _synthetic(protocol, ops):
    return {
        "version": "2.0",
        "metadata": {
            "apiVersion": "2020-01-01", "endpointPrefix": "synthetic", "protocol": protocol,
            "serviceId": "Synthetic", "signatureVersion": "v4",
            "xmlNamespace": "http://synthetic.example/doc/2020-01-01/",
            "jsonVersion": "1.1", "targetPrefix": "Synthetic",
        },
        "operations": ops,
        "shapes": _synthetic_shapes(),
    }


SYNTHETIC = {
    "synthetic-query": _synthetic("query", {"Everything": {
        "name": "Everything", "http": {"method": "POST", "requestUri": "/"},
        "output": {"shape": "EverythingOutput", "resultWrapper": "EverythingResult"}}}),
    "synthetic-json": _synthetic("json", {"Everything": {
        "name": "Everything", "http": {"method": "POST", "requestUri": "/"},
        "output": {"shape": "EverythingOutput"}}}),
    "synthetic-rest": _synthetic("rest-xml", {
        "Headers": {"name": "Headers", "http": {"method": "GET", "requestUri": "/h"},
                    "output": {"shape": "HeadersOutput"}},
        "Payload": {"name": "Payload", "http": {"method": "GET", "requestUri": "/p"},
                    "output": {"shape": "PayloadOutput"}}}),
}


# ---- conversions to deadbolt's representation -----------------------------

def iso_ms(dt):
    if dt.tzinfo is None:
        dt = dt.replace(tzinfo=datetime.timezone.utc)
    dt = dt.astimezone(datetime.timezone.utc)
    return "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ" % (
        dt.year, dt.month, dt.day, dt.hour, dt.minute, dt.second, dt.microsecond // 1000)


def convert(v):
    if isinstance(v, dict):
        return {k: convert(x) for k, x in v.items() if x is not None}
    if isinstance(v, list):
        return [convert(x) for x in v if x is not None]
    if isinstance(v, datetime.datetime):
        return iso_ms(v)
    if isinstance(v, (bytes, bytearray)):
        return bytes(v)
    return v


def header_request_id(headers):
    return headers.get("x-amzn-requestid") or headers.get("x-amz-request-id")


def botocore_parse(service, operation, status, headers, body):
    model = service_model(service)
    op = model.operation_model(operation)
    parser = botocore.parsers.create_parser(model.metadata["protocol"])
    hd = HeadersDict()
    for k, v in headers:
        hd[k] = v
    return parser.parse({"body": body, "headers": hd, "status_code": status},
                        op.output_shape), hd


def expected_result(service, operation, status, headers, body):
    parsed, hd = botocore_parse(service, operation, status, headers, body)
    parsed = convert(parsed)
    md = parsed.get("ResponseMetadata", {})
    md.pop("HTTPHeaders", None)
    md.pop("RetryAttempts", None)
    # deadbolt: the request id falls back to the headers when the body has none
    if "RequestId" not in md and header_request_id(hd):
        md["RequestId"] = header_request_id(hd)
    parsed["ResponseMetadata"] = md
    return parsed


BODYLESS = {301: "PermanentRedirect", 304: "NotModified", 400: "BadRequest",
            403: "Forbidden", 404: "NotFound", 412: "PreconditionFailed"}


def expected_error(service, operation, status, headers, body, generic_excerpt=None):
    """botocore's Error.Code/Message/RequestId when the body is an AWS error;
    deadbolt's own code when it is not (botocore says str(status) there)."""
    protocol = service_model(service).metadata["protocol"]
    hd = HeadersDict()
    for k, v in headers:
        hd[k] = v
    if generic_excerpt is None:
        try:
            parsed, _ = botocore_parse(service, operation, status, headers, body)
        except botocore.parsers.ResponseParserError:
            # not an AWS error at all (moto's HTML 500 page, for one)
            parsed, generic_excerpt = {}, "HTTP %d" % status
        err = parsed.get("Error", {})
        code = err.get("Code") or ""
        if code and code != str(status):
            rid = parsed.get("ResponseMetadata", {}).get("RequestId") or header_request_id(hd) or ""
            return {"code": code, "message": err.get("Message") or "", "status": status,
                    "request_id": rid}
        if protocol == "json" and hd.get("x-amzn-errortype"):
            code = hd["x-amzn-errortype"].split(":", 1)[0].rsplit("#", 1)[-1]
            msg = ""
            try:
                j = json.loads(body or b"{}")
                msg = j.get("message", j.get("Message", ""))
            except ValueError:
                pass
            return {"code": code, "message": msg, "status": status,
                    "request_id": header_request_id(hd) or ""}
    code = "HTTP%d" % status
    if not body.strip() and status in BODYLESS:
        code = BODYLESS[status]
    out = {"code": code, "status": status, "request_id": header_request_id(hd) or ""}
    if generic_excerpt:
        out["message_contains"] = generic_excerpt
    return out


# ---- Lua output -------------------------------------------------------------

def lua_quote(b):
    if isinstance(b, str):
        b = b.encode("utf-8")
    out = ['"']
    for ch in b:
        if ch == 0x22:
            out.append('\\"')
        elif ch == 0x5C:
            out.append("\\\\")
        elif ch == 0x0A:
            out.append("\\n")
        elif 0x20 <= ch < 0x7F:
            out.append(chr(ch))
        else:
            out.append("\\%03d" % ch)
    out.append('"')
    return "".join(out)


def lua_long(b):
    """A readable long bracket when the bytes allow it, else a quoted string."""
    if isinstance(b, str):
        b = b.encode("utf-8")
    if any(c < 0x20 and c not in (0x09, 0x0A) for c in b) or len(b) == 0:
        return lua_quote(b)
    text = b.decode("utf-8", errors="strict") if _utf8(b) else None
    if text is None:
        return lua_quote(b)
    level = 0
    while ("]" + "=" * level + "]") in text:
        level += 1
    eq = "=" * level
    return "[%s[\n%s]%s]" % (eq, text, eq)


def _utf8(b):
    try:
        b.decode("utf-8")
        return True
    except UnicodeDecodeError:
        return False


def lua_value(v, indent):
    pad = "  " * indent
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, int):
        if -(2 ** 63) <= v < 2 ** 63:
            return str(v)
        return repr(float(v))
    if isinstance(v, float):
        if math.isnan(v):
            return "(0/0)"
        if math.isinf(v):
            return "math.huge" if v > 0 else "-math.huge"
        r = repr(v)
        return r if any(c in r for c in ".en") else r + ".0"
    if isinstance(v, (str, bytes)):
        return lua_quote(v)
    if isinstance(v, list):
        if not v:
            return "{}"
        items = [pad + "  " + lua_value(x, indent + 1) + "," for x in v]
        return "{\n" + "\n".join(items) + "\n" + pad + "}"
    if isinstance(v, dict):
        if not v:
            return "{}"
        items = []
        for k in sorted(v):
            items.append("%s  [%s] = %s," % (pad, lua_quote(k), lua_value(v[k], indent + 1)))
        return "{\n" + "\n".join(items) + "\n" + pad + "}"
    raise TypeError("cannot write %r" % (v,))


def write_vector(out_dir, case):
    path = os.path.join(out_dir, case["name"] + ".lua")
    lines = ["-- generated by tools/gen_decode_vectors.py; do not edit",
             "-- source: " + case["source"],
             "return {",
             "  name = %s," % lua_quote(case["name"]),
             "  service = %s," % lua_quote(case["service"]),
             "  operation = %s," % lua_quote(case["operation"]),
             "  status = %d," % case["status"],
             "  headers = {"]
    for k, v in case["headers"]:
        lines.append("    { %s, %s }," % (lua_quote(k), lua_quote(v)))
    lines.append("  },")
    lines.append("  body = %s," % lua_long(case["body"]))
    if "error" in case:
        lines.append("  error = %s," % lua_value(case["error"], 1))
    else:
        lines.append("  expect = %s," % lua_value(case["expect"], 1))
    lines.append("}")
    with open(path, "w") as f:
        f.write("\n".join(lines) + "\n")


# ---- cases ------------------------------------------------------------------

def norm_headers(headers):
    """Lower-cased names (as deadbolt's HTTP layer gives them), without the
    ones that only vary between runs and mean nothing to a decoder."""
    skip = {"date", "server", "connection", "keep-alive", "access-control-allow-origin"}
    return [(k.lower(), v) for k, v in headers if k.lower() not in skip]


def make_case(name, source, service, operation, status, headers, body, generic_excerpt=None):
    headers = norm_headers(headers)
    if isinstance(body, str):
        body = body.encode("utf-8")
    case = {"name": name, "source": source, "service": service, "operation": operation,
            "status": status, "headers": headers, "body": body}
    if 200 <= status < 300 and generic_excerpt is None:
        case["expect"] = expected_result(service, operation, status, headers, body)
    else:
        case["error"] = expected_error(service, operation, status, headers, body,
                                       generic_excerpt)
    return case


from gen_decode_cases import handwritten_cases, moto_cases  # noqa: E402


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--out", default=DEFAULT_OUT)
    ap.add_argument("--no-moto", action="store_true", help="hand-written vectors only")
    args = ap.parse_args()
    os.makedirs(args.out, exist_ok=True)
    cases = handwritten_cases(make_case)
    if not args.no_moto:
        cases += moto_cases(make_case)
    names = set()
    for c in cases:
        assert c["name"] not in names, c["name"]
        names.add(c["name"])
        write_vector(args.out, c)
    print("wrote %d vectors to %s" % (len(cases), os.path.relpath(args.out, ROOT)))


if __name__ == "__main__":
    sys.path.insert(0, HERE)
    main()
