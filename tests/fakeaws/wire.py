"""wire — what an incoming AWS request is (service, protocol, action) and how
each of the four AWS protocols writes an error, so that the fake's faults and
its own answers read exactly like the real service's to boto3 and to deadbolt.

Standard library only."""

import calendar
import json
import re
import time
import uuid
from email.utils import formatdate
from urllib.parse import parse_qsl, urlsplit
from xml.sax.saxutils import escape

# Query-protocol services are told apart by their API version when a request
# is not signed (a signed one names its service in the credential scope).
QUERY_VERSIONS = {
    "2016-11-15": "ec2", "2010-05-08": "iam", "2011-06-15": "sts",
    "2011-01-01": "autoscaling", "2012-06-01": "elb", "2015-12-01": "elbv2",
    "2010-03-31": "sns",
}
TARGET_PREFIXES = {"AmazonSSM": "ssm"}
PROTOCOLS = {"ec2": "ec2", "ssm": "json", "s3": "rest-xml"}  # the rest: query

# (method, S3 sub-resource) -> operation, for the log and fault matching.
S3_BUCKET_OPS = {
    ("GET", "policyStatus"): "GetBucketPolicyStatus", ("GET", "policy"): "GetBucketPolicy",
    ("PUT", "policy"): "PutBucketPolicy", ("DELETE", "policy"): "DeleteBucketPolicy",
    ("GET", "publicAccessBlock"): "GetPublicAccessBlock",
    ("PUT", "publicAccessBlock"): "PutPublicAccessBlock",
    ("DELETE", "publicAccessBlock"): "DeletePublicAccessBlock",
    ("GET", "acl"): "GetBucketAcl", ("PUT", "acl"): "PutBucketAcl",
    ("GET", "tagging"): "GetBucketTagging", ("PUT", "tagging"): "PutBucketTagging",
    ("GET", "versioning"): "GetBucketVersioning", ("PUT", "versioning"): "PutBucketVersioning",
    ("GET", "location"): "GetBucketLocation", ("GET", "logging"): "GetBucketLogging",
    ("PUT", "logging"): "PutBucketLogging", ("GET", "ownershipControls"): "GetBucketOwnershipControls",
    ("PUT", ""): "CreateBucket", ("HEAD", ""): "HeadBucket", ("GET", ""): "ListObjects",
    ("GET", "list-type"): "ListObjectsV2",
    ("DELETE", ""): "DeleteBucket",
}
S3_OBJECT_OPS = {"GET": "GetObject", "PUT": "PutObject", "HEAD": "HeadObject",
                 "DELETE": "DeleteObject"}
# Request parameters the log keeps (none of them a secret), for tests of what
# a client asked for.
LOGGED_PARAMS = ("RoleArn", "RoleSessionName", "ExternalId", "DurationSeconds")
SECRET_PARAM = re.compile(r"password|secret|token|code", re.I)

class Request:
    """An incoming request, raw (for forwarding unchanged) and understood."""

    def __init__(self, method, target, headers, body):
        self.method = method
        self.target = target                      # path?query, as sent
        parts = urlsplit(target)
        self.path, self.query = parts.path, parts.query
        self.headers = list(headers)              # [(name, value)] in order
        self.body = body
        self.params = self._params()
        self.scope = self._scope()                # [key, date, region, service, ...] or []
        self.service = self._service()
        self.protocol = PROTOCOLS.get(self.service, "query")
        self.action = self._action()

    def header(self, name, default=None):
        name = name.lower()
        for k, v in self.headers:
            if k.lower() == name:
                return v
        return default

    def _params(self):
        params = dict(parse_qsl(self.query, keep_blank_values=True))
        ctype = (self.header("content-type") or "").lower()
        if ctype.startswith("application/x-www-form-urlencoded"):
            params.update(parse_qsl(self.body.decode("utf-8", "replace"), keep_blank_values=True))
        return params

    def params_in_body(self):
        ctype = (self.header("content-type") or "").lower()
        return self.method == "POST" and ctype.startswith("application/x-www-form-urlencoded")

    def form_params(self):
        """The params in order, with duplicates (EC2 filters are rewritten)."""
        if self.params_in_body():
            return parse_qsl(self.body.decode("utf-8", "replace"), keep_blank_values=True)
        return parse_qsl(self.query, keep_blank_values=True)

    def _scope(self):
        auth = self.header("authorization") or ""
        cred = auth.partition("Credential=")[2].partition(",")[0].strip()
        return cred.split("/") if cred.count("/") == 4 else []

    def _service(self):
        if self.scope:
            return self.scope[3]
        target = self.header("x-amz-target")
        if target:
            return TARGET_PREFIXES.get(target.split(".")[0].split("_")[0], "json")
        if "Action" in self.params:
            return QUERY_VERSIONS.get(self.params.get("Version", ""), "query")
        return "s3"

    def _action(self):
        target = self.header("x-amz-target")
        if target:
            return target.rpartition(".")[2]
        if "Action" in self.params:
            return self.params["Action"]
        if self.service == "s3":
            return self._s3_action()
        return ""

    def _s3_action(self):
        segments = [s for s in self.path.split("/") if s]
        if not segments:
            return "ListBuckets"
        if len(segments) > 1:
            return S3_OBJECT_OPS.get(self.method, self.method + "Object")
        keys = [k for k, _ in parse_qsl(self.query, keep_blank_values=True)]
        for key in keys or [""]:
            op = S3_BUCKET_OPS.get((self.method, key))
            if op:
                return op
        return self.method + " " + self.path

    def bucket(self):
        segments = [s for s in self.path.split("/") if s]
        return segments[0] if segments else ""

    def describe(self):
        """The fields the request log keeps: no header's value but X-Amz-Date
        (the time the client signed for, which clock-skew tests compare), the
        access key id and region of the signature (not secrets), and the
        LOGGED_PARAMS; never a secret."""
        return {"method": self.method, "path": self.path, "query": self.query,
                "service": self.service, "action": self.action,
                "target": self.header("x-amz-target"),
                "had_auth": self.header("authorization") is not None,
                "amz_date": self.header("x-amz-date"),
                "key": self.scope[0] if self.scope else None,
                "region": self.scope[2] if self.scope else None,
                "params": {k: v for k, v in self.params.items() if k in LOGGED_PARAMS},
                "iam_params": self.iam_params(),
                "time": time.time(),
                "conn": getattr(self, "conn", None)}

    def iam_params(self):
        """The parameters IAM authorizes a request by (names, ids, ARNs;
        tests/harness/iam_calls.py builds resource ARNs from them): the
        query-protocol and query-string parameters, or a JSON body's top
        level; never an S3 object's body, nor a parameter whose name says
        it holds a secret (password, secret, token, code)."""
        doc = dict(self.params)
        if self.header("x-amz-target") and self.body:
            try:
                doc = json.loads(self.body)
            except ValueError:
                return {}
            if not isinstance(doc, dict):
                return {}
        return {k: v for k, v in doc.items() if not SECRET_PARAM.search(k)}


class Response:
    def __init__(self, status, headers, body, reason=None):
        self.status = status
        self.headers = list(headers)
        self.body = body
        self.reason = reason


def request_id():
    return str(uuid.uuid4())


def http_date(offset_s=0):
    """An HTTP Date, offset_s seconds from now (a skewed server's clock)."""
    return formatdate(time.time() + offset_s, usegmt=True)


def xml_response(status, body, rid, extra=()):
    headers = [("Content-Type", "text/xml"), ("x-amzn-RequestId", rid), ("Date", http_date())]
    return Response(status, headers + list(extra), body.encode())


def json_response(status, obj, rid=None):
    rid = rid or request_id()
    headers = [("Content-Type", "application/x-amz-json-1.1"), ("x-amzn-RequestId", rid),
               ("Date", http_date())]
    return Response(status, headers, json.dumps(obj).encode())


def s3_xml_response(status, body, rid=None):
    rid = rid or request_id()
    headers = [("Content-Type", "application/xml"), ("x-amz-request-id", rid),
               ("x-amz-id-2", "fakeaws"), ("Date", http_date())]
    return Response(status, headers, body.encode())


def error(req, status, code, message, extra_xml=""):
    """An AWS error in the protocol req was made in, as the service sends it."""
    rid = request_id()
    msg = escape(message)
    if req.protocol == "json":
        return json_response(status, {"__type": code, "message": message}, rid)
    if req.protocol == "ec2":
        body = ('<?xml version="1.0" encoding="UTF-8"?>\n<Response><Errors><Error>'
                f"<Code>{code}</Code><Message>{msg}</Message></Error></Errors>"
                f"<RequestID>{rid}</RequestID></Response>")
        return xml_response(status, body, rid)
    if req.protocol == "rest-xml":
        bucket = f"<BucketName>{escape(req.bucket())}</BucketName>" if req.bucket() else ""
        body = ('<?xml version="1.0" encoding="UTF-8"?>\n<Error>'
                f"<Code>{code}</Code><Message>{msg}</Message>{bucket}{extra_xml}"
                f"<RequestId>{rid}</RequestId><HostId>fakeaws</HostId></Error>")
        return s3_xml_response(status, body, rid)
    kind = "Receiver" if status >= 500 else "Sender"
    body = ('<?xml version="1.0" encoding="UTF-8"?>\n<ErrorResponse><Error>'
            f"<Type>{kind}</Type><Code>{code}</Code><Message>{msg}</Message></Error>"
            f"<RequestId>{rid}</RequestId></ErrorResponse>")
    return xml_response(status, body, rid)


# kind -> protocol -> (status, code, message): what each service really sends.
FAULTS = {
    "throttle": {
        "ec2": (503, "RequestLimitExceeded", "Request limit exceeded."),
        "query": (400, "Throttling", "Rate exceeded"),
        "json": (400, "ThrottlingException", "Rate exceeded"),
        "rest-xml": (503, "SlowDown", "Please reduce your request rate."),
    },
    "500": {
        "ec2": (500, "InternalError", "An internal error has occurred"),
        "query": (500, "InternalFailure", "An internal error has occurred"),
        "json": (500, "InternalServerError", "An internal error has occurred"),
        "rest-xml": (500, "InternalError", "We encountered an internal error. Please try again."),
    },
    # Refused by IAM: what STS answers an AssumeRole whose role does not exist
    # or whose trust policy does not name the caller (no retry changes it).
    "denied": {
        "ec2": (403, "UnauthorizedOperation", "You are not authorized to perform this operation."),
        "query": (403, "AccessDenied", "User is not authorized to perform this action"),
        "json": (400, "AccessDeniedException", "User is not authorized to perform this action"),
        "rest-xml": (403, "AccessDenied", "Access Denied"),
    },
    "503": {
        "ec2": (503, "Unavailable", "The server is overloaded and can't handle the request."),
        "query": (503, "ServiceUnavailable", "Service is unable to handle request."),
        "json": (503, "ServiceUnavailable", "Service is unable to handle request."),
        "rest-xml": (503, "ServiceUnavailable", "Service is unable to handle request."),
    },
}


def fault(req, kind):
    """The response a fault of this kind sends; None for drop and slow (and
    skew, which takes an offset: skew_error)."""
    if kind in FAULTS:
        return error(req, *FAULTS[kind][req.protocol])
    if kind == "expired":
        return error(req, *EXPIRED[req.protocol])
    if kind == "snapshot-rate":  # EC2's per-volume CreateSnapshot limit (one every 15 s)
        return error(req, 400, "SnapshotCreationPerVolumeRateExceeded",
                     "The maximum per volume CreateSnapshot request rate has been exceeded. "
                     "Use an increasing or variable sleep interval between requests.")
    if kind == "s3-conflict":  # S3's answer to a conditional write racing another write of the key
        return error(req, 409, "ConditionalRequestConflict",
                     "A conflicting conditional operation is currently in progress against this "
                     "resource. Please try again.")
    if kind == "html500":  # a load balancer's page, not an AWS error
        body = b"<html><body><h1>500 Internal Server Error</h1></body></html>"
        return Response(500, [("Content-Type", "text/html")], body)
    if kind == "empty503":
        return Response(503, [], b"")
    return None


# What each protocol's services send for an expired session token.
EXPIRED = {
    # EC2 has no ExpiredToken: its docs (Common client error codes) list
    # RequestExpired, "this error can also occur if the credentials have expired".
    "ec2": (400, "RequestExpired", "Request has expired."),
    "query": (403, "ExpiredToken", "The security token included in the request is expired"),  # STS, IAM
    "json": (400, "ExpiredTokenException", "The security token included in the request is expired"),  # SSM
    "rest-xml": (400, "ExpiredToken", "The provided token has expired."),  # S3
}
# The window each protocol's services name in a skew message: SSM and the
# other JSON services 5 minutes, STS and IAM 15.
SKEW_WINDOW_MIN = {"json": 5, "query": 15}


def _amz(epoch):
    return time.strftime("%Y%m%dT%H%M%SZ", time.gmtime(epoch))


def _skew_message(req, server, window_min):
    """The query and JSON services' words for a request time outside the window."""
    stamp = req.header("x-amz-date") or _amz(time.time())
    window = window_min * 60
    try:
        sent = calendar.timegm(time.strptime(stamp, "%Y%m%dT%H%M%SZ"))
    except ValueError:
        sent = time.time()
    if sent < server:
        return (f"Signature expired: {stamp} is now earlier than {_amz(server - window)} "
                f"({_amz(server)} - {window_min} min.)")
    return (f"Signature not yet current: {stamp} is still later than {_amz(server + window)} "
            f"({_amz(server)} + {window_min} min.)")


def skew_error(req, skew_s):
    """The answer of a service whose clock is skew_s seconds ahead of ours
    (behind when negative) to a request signed for our time: the protocol's
    clock-skew error, with the server's Date header, from which an SDK learns
    the offset."""
    server = time.time() + skew_s
    if req.protocol == "ec2":
        resp = error(req, 400, "RequestExpired", "Request has expired.")
    elif req.protocol == "rest-xml":
        extra = (f"<RequestTime>{escape(req.header('x-amz-date') or '')}</RequestTime>"
                 f"<ServerTime>{time.strftime('%Y-%m-%dT%H:%M:%SZ', time.gmtime(server))}</ServerTime>"
                 "<MaxAllowedSkewMilliseconds>900000</MaxAllowedSkewMilliseconds>")
        resp = error(req, 403, "RequestTimeTooSkewed",
                     "The difference between the request time and the current time is too large.", extra)
    else:
        code = "InvalidSignatureException" if req.protocol == "json" else "SignatureDoesNotMatch"
        status = 400 if req.protocol == "json" else 403
        resp = error(req, status, code, _skew_message(req, server, SKEW_WINDOW_MIN[req.protocol]))
    resp.headers = [(k, v) for k, v in resp.headers if k.lower() != "date"]
    resp.headers.append(("Date", http_date(skew_s)))
    return resp


# kind -> protocol -> (status, code, message) for a request that fails SigV4.
AUTH_ERRORS = {
    "missing": {
        "ec2": (400, "MissingParameter", "The request must contain the parameter AWSAccessKeyId"),
        "query": (403, "MissingAuthenticationToken", "Request is missing Authentication Token"),
        "json": (400, "MissingAuthenticationTokenException", "Missing Authentication Token"),
        "rest-xml": (403, "AccessDenied", "Access Denied"),
    },
    "unknown_key": {
        "ec2": (401, "AuthFailure", "AWS was not able to validate the provided access credentials"),
        "query": (403, "InvalidClientTokenId", "The security token included in the request is invalid."),
        "json": (400, "UnrecognizedClientException", "The security token included in the request is invalid."),
        "rest-xml": (403, "InvalidAccessKeyId", "The AWS Access Key Id you provided does not exist in our records."),
    },
    "mismatch": {
        "ec2": (401, "AuthFailure", "AWS was not able to validate the provided access credentials"),
        "query": (403, "SignatureDoesNotMatch", "The request signature we calculated does not match the signature you provided. Check your AWS Secret Access Key and signing method. Consult the service documentation for details."),
        "json": (400, "InvalidSignatureException", "The request signature we calculated does not match the signature you provided. Check your AWS Secret Access Key and signing method. Consult the service documentation for details."),
        "rest-xml": (403, "SignatureDoesNotMatch", "The request signature we calculated does not match the signature you provided. Check your key and signing method."),
    },
    "expired": {
        "ec2": (400, "RequestExpired", "Request has expired."),
        "query": (403, "SignatureDoesNotMatch", "Signature expired: the request time is more than 15 minutes from the server time"),
        "json": (400, "InvalidSignatureException", "Signature expired: the request time is more than 15 minutes from the server time"),
        "rest-xml": (403, "RequestTimeTooSkewed", "The difference between the request time and the current time is too large."),
    },
    "bad_token": {
        "ec2": (401, "AuthFailure", "AWS was not able to validate the provided access credentials"),
        "query": (403, "InvalidClientTokenId", "The security token included in the request is invalid."),
        "json": (400, "UnrecognizedClientException", "The security token included in the request is invalid."),
        "rest-xml": (400, "InvalidToken", "The provided token is malformed or otherwise invalid."),
    },
}


def auth_error(req, kind):
    return error(req, *AUTH_ERRORS[kind][req.protocol])


# How S3 answers a request for a bucket of another region, per answer kind
# (botocore's S3RegionRedirectorv2 reads each): "redirect" 301
# PermanentRedirect, "auth" 400 AuthorizationHeaderMalformed with <Region>,
# "illegal" 400 IllegalLocationConstraintException. A HEAD gets the status
# alone (301 for "redirect", else 400), with no body.
WRONG_REGION = {
    "redirect": (301, "PermanentRedirect",
                 "The bucket you are attempting to access must be addressed using the specified "
                 "endpoint. Please send all future requests to this endpoint."),
    "auth": (400, "AuthorizationHeaderMalformed",
             "The authorization header is malformed; the region '{signed}' is wrong; "
             "expecting '{region}'"),
    "illegal": (400, "IllegalLocationConstraintException",
                "The {region} location constraint is incompatible for the region specific "
                "endpoint this request was sent to."),
}


def wrong_region(req, bucket, region, kind, header):
    """S3's answer to req, signed for another region than bucket's. header:
    whether x-amz-bucket-region comes with it (S3 always sends it to a
    HEAD on the bucket itself)."""
    status, code, message = WRONG_REGION[kind]
    signed = req.scope[2] if req.scope else ""
    extra = [("x-amz-bucket-region", region)] if header or req.path.rstrip("/") == "/" + bucket else []
    if req.method == "HEAD":
        rid = request_id()
        return Response(301 if kind == "redirect" else status,
                        [("x-amz-request-id", rid), ("Date", http_date())] + extra, b"")
    more = {"redirect": f"<Endpoint>{escape(bucket)}.s3.{escape(region)}.amazonaws.com</Endpoint>",
            "auth": f"<Region>{escape(region)}</Region>", "illegal": ""}[kind]
    resp = error(req, status, code, message.format(signed=signed, region=region), more)
    resp.headers += extra
    return resp
