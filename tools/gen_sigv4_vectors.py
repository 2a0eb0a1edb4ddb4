#!/usr/bin/env python3
"""Generate tests/vectors/sigv4_vectors.txt from two independent SigV4 signers.

Used by engine/aws/sigv4.c's tests (tests/unit/test_sigv4.c).

  botocore  botocore.auth.SigV4Auth / S3SigV4Auth over an AWSRequest, with
            botocore.auth.get_current_datetime patched to a fixed time (as
            botocore's own tests do). The canonical request and the string to
            sign are captured too.
  curl      libcurl's CURLOPT_AWS_SIGV4 ("aws:amz:REGION:SERVICE"), driven by
            tools/gen_sigv4_curl.c (compiled here into a temporary directory,
            never by the Makefile) against a throw-away HTTP server on
            127.0.0.1 that records what arrives. The time is fixed by sending
            our own X-Amz-Date header, which libcurl uses instead of the clock
            (find_date_hdr in lib/http_aws_sigv4.c). The path and query in a
            vector are the request target the server received.

Usage: python3 tools/gen_sigv4_vectors.py [OUT]   (default: the vectors file)

Inputs are written as they would be sent on the wire (percent-encoded path and
query). For botocore the query is decoded with urllib.parse.parse_qsl ('+' is
a space) and handed over as request.params, so botocore encodes it its own
way; many queries below are deliberately written in non-canonical encodings
(lower-case hex, '+', %7E, raw reserved characters, "k" without '=') to check
that the signer re-encodes them the way AWS does.

Cases left out of the curl set, and why (libcurl 7.88.1's signer differs from
AWS's rules there, and AWS's rules are what the C signer follows):
  * non-S3 paths containing '%' or characters outside A-Z a-z 0-9 - _ . ~ /:
    libcurl signs the path as sent; AWS (and botocore) encode it a second
    time for every service but S3. S3 cases cover encoded paths.
  * paths with "." / ".." / "//": libcurl's URL parser rewrites dot segments
    before signing and never removes "//".
  * queries that are not already canonical (unsorted, '+', lower-case hex,
    reserved characters left raw, "k" without '='): 7.88.1 signs the query
    exactly as sent (sorting and re-encoding came in later releases).
  * repeated header names: libcurl signs one line per copy, AWS joins the
    values with ','.
  * header names where one is a prefix of another followed by a character
    below ':' (e.g. "x-a" and "x-a-b"): libcurl sorts whole "name:value"
    lines, AWS sorts names.
  * empty header values: libcurl sends and signs them only through its
    "Name;" syntax, which its signer mangles into "name;".
Invalid UTF-8 in a query (e.g. "%FF") is left out of the botocore set:
parse_qsl would replace it with U+FFFD before botocore sees it.
"""

import datetime
import hashlib
import http.server
import os
import subprocess
import sys
import tempfile
import threading
import urllib.parse
from unittest import mock

import botocore
import botocore.auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
DEFAULT_OUT = os.path.join(ROOT, "tests", "vectors", "sigv4_vectors.txt")

AKID = "AKIDEXAMPLE"
SECRET = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY"
TOKEN = ("IQoJb3JpZ2luX2VjEDoaCXVzLWVhc3QtMSJHMEUCIQD/example+session/token=="
         "AgEGAA4oCEXAMPLEtokenTAIL")
T_DOC = 1440938160     # 20150830T123600Z, the time in AWS's own examples
T_EOD = 1704067199     # 20231231T235959Z, last second of a year
T_LEAP = 1709208000    # 20240229T120000Z


def case(name, method, host, path, query="", headers=(), body=b"", region="us-east-1",
         service="iam", t=T_DOC, token="", s3=False):
    return dict(name=name, method=method, host=host, path=path, query=query,
                headers=list(headers), body=body, region=region, service=service,
                time=t, token=token, s3=s3)


FORM = ("Content-Type", "application/x-www-form-urlencoded; charset=utf-8")
S3HOST = "examplebucket.s3.amazonaws.com"

BOTOCORE_CASES = [
    case("iam-list-users-doc-example", "GET", "iam.amazonaws.com", "/",
         "Action=ListUsers&Version=2010-05-08", [FORM]),
    case("ec2-unsorted-query", "GET", "ec2.us-east-1.amazonaws.com", "/",
         "Version=2016-11-15&InstanceId.1=i-0123456789abcdef0&Action=DescribeInstances",
         service="ec2"),
    case("query-plus-and-percent20-are-spaces", "GET", "ec2.us-east-1.amazonaws.com", "/",
         "Filter.1.Value.1=web+server&Filter.1.Name=tag%3AName&z=%20x+y%20",
         service="ec2"),
    case("query-tilde-encoded-and-raw", "GET", "iam.amazonaws.com", "/",
         "t=%7Euser&u=~raw&v=a%7eb&Action=GetUser"),
    case("query-encoded-plus-stays-plus", "GET", "iam.amazonaws.com", "/",
         "p=1%2B1&q=+&r=%2b"),
    case("query-literal-and-invalid-percent", "GET", "iam.amazonaws.com", "/",
         "pct=100%25&bad=%zz&end=%&half=%4"),
    case("query-utf8", "GET", "iam.amazonaws.com", "/",
         "name=caf%C3%A9&emoji=%F0%9F%94%92&lower=%c3%bc&raw=%E6%97%A5%E6%9C%AC"),
    case("query-empty-values-and-bare-keys", "GET", "iam.amazonaws.com", "/",
         "acl&empty=&k=v&&zz"),
    case("query-repeated-keys-sorted-by-value", "GET", "iam.amazonaws.com", "/",
         "a=3&a=1&a=2&b=x&a=10&a="),
    case("query-sorted-by-encoded-key", "GET", "iam.amazonaws.com", "/",
         "b=1&B=2&a_b=3&a-b=4&a.b=5&a~b=6&*=7&%2A=8&a%20b=9"),
    case("query-reserved-characters-raw", "GET", "iam.amazonaws.com", "/",
         "x=a/b:c@d!e*f'g(h)i$j,k;l&eq=a=b&q=what?"),
    case("path-encoded-twice-non-s3", "GET", "lambda.us-east-1.amazonaws.com",
         "/2015-03-31/functions/my%20func/invocations", service="lambda"),
    case("path-dot-segments-and-double-slashes", "GET", "iam.amazonaws.com",
         "/a/./b/../c//d/"),
    case("path-dotdot-above-root", "GET", "iam.amazonaws.com", "/../../x/.."),
    case("path-trailing-dot", "GET", "iam.amazonaws.com", "/foo/bar/."),
    case("path-utf8-tilde-plus", "GET", "iam.amazonaws.com",
         "/caf%C3%A9/%E2%9C%93/~user/a+b/x%2By"),
    case("header-value-runs-of-spaces", "GET", "iam.amazonaws.com", "/",
         "Action=ListUsers&Version=2010-05-08",
         [("X-Amz-Meta-Note", "  a   b \t c  "), ("My-Header1", "  value1"),
          ("My-Header2", "\"a   b   c\"")]),
    case("header-repeated-names-joined", "GET", "iam.amazonaws.com", "/",
         "Action=ListUsers",
         [("X-Dup", "one"), ("x-dup", "  two  "), ("X-DUP", "three  four")]),
    case("header-empty-values", "GET", "iam.amazonaws.com", "/", "Action=ListUsers",
         [("X-Empty", ""), ("X-Blank", "   ")]),
    case("header-names-mixed-case-sorted", "GET", "iam.amazonaws.com", "/", "",
         [("ZETA", "z"), ("alpha", "a"), ("X-Amz-Target", "t"), ("Content-Type", "text/plain")]),
    case("sts-session-token", "POST", "sts.amazonaws.com", "/", "",
         [FORM], b"Action=GetCallerIdentity&Version=2011-06-15", service="sts",
         token=TOKEN),
    case("ec2-query-protocol-post-body", "POST", "ec2.eu-west-1.amazonaws.com", "/", "",
         [FORM],
         b"Action=CreateSnapshot&Version=2016-11-15&VolumeId=vol-0123&"
         b"Description=deadbolt%20evidence%20%E2%80%94%20i-0123",
         region="eu-west-1", service="ec2", t=T_EOD),
    case("post-empty-body", "POST", "iam.amazonaws.com", "/", "", [FORM], b""),
    case("ssm-json-protocol", "POST", "ssm.us-west-2.amazonaws.com", "/", "",
         [("Content-Type", "application/x-amz-json-1.1"),
          ("X-Amz-Target", "AmazonSSM.SendCommand")],
         b'{"DocumentName":"AWS-RunShellScript","InstanceIds":["i-1"],'
         b'"Parameters":{"commands":["echo \\u00e9 caf\xc3\xa9"]}}',
         region="us-west-2", service="ssm", t=T_LEAP, token=TOKEN),
    case("s3-get-key-with-slashes", "GET", S3HOST, "/photos/2024/01/my%20photo.jpg",
         service="s3", s3=True),
    case("s3-path-not-normalised", "GET", S3HOST, "/a/./b/../c//d", service="s3", s3=True),
    case("s3-path-style-dot-dot-key-not-normalised", "PUT", "s3.us-east-1.amazonaws.com",
         "/examplebucket/../../other-bucket/x", "", [], b"x", service="s3", s3=True),
    case("s3-encoded-percent-2e-not-decoded", "HEAD", S3HOST,
         "/%252e%252e/x%3Fy%23z%01%20./..", service="s3", s3=True),
    case("s3-key-utf8-plus-tilde", "GET", S3HOST,
         "/dir/%E6%97%A5%E6%9C%AC/a%2Bb~c%20d.txt", service="s3", s3=True),
    case("s3-list-objects-v2", "GET", S3HOST, "/",
         "list-type=2&prefix=photos/2024/&delimiter=/&encoding-type=url&start-after=a+b",
         service="s3", s3=True),
    case("s3-subresource-bare-key", "GET", S3HOST, "/", "acl", service="s3", s3=True),
    case("s3-put-object-with-body", "PUT", S3HOST, "/evidence/i-0123/memory.txt", "",
         [("Content-Type", "text/plain"), ("X-Amz-Meta-Author", "J\u00f6rg  Muster"),
          ("x-amz-storage-class", "STANDARD_IA")],
         b"Welcome to Amazon S3.", service="s3", t=T_EOD),
    case("s3-put-binary-body-session-token", "PUT", S3HOST, "/bin/all-bytes.bin", "",
         [("Content-Type", "application/octet-stream")], bytes(range(256)),
         region="eu-central-1", service="s3", token=TOKEN, s3=True, t=T_LEAP),
    case("s3-put-bucket-policy-empty-body", "PUT", "s3.us-east-1.amazonaws.com",
         "/examplebucket", "policy", [], b"", service="s3", s3=True),
    case("s3-delete-object-versioned", "DELETE", S3HOST, "/a%20b/c",
         "versionId=3%2FL4kqtJlcpXroDTDmJ%2Brmsuda7zg%3D", service="s3", s3=True),
]
# S3SigV4Auth is used for S3 only: mark the flag on every "s3" case above.
for _c in BOTOCORE_CASES:
    if _c["service"] == "s3":
        _c["s3"] = True

CURL_CASES = [
    case("iam-list-users-doc-example", "GET", "iam.amazonaws.com", "/",
         "Action=ListUsers&Version=2010-05-08", [FORM]),
    case("ec2-sorted-query", "GET", "ec2.us-east-1.amazonaws.com", "/",
         "Action=DescribeInstances&InstanceId.1=i-0123456789abcdef0&Version=2016-11-15",
         service="ec2"),
    case("query-canonical-encodings", "GET", "iam.amazonaws.com", "/",
         "a=1&a=2&b=&c=x%20y~z&d=%2B&e=caf%C3%A9"),
    case("path-unreserved-non-s3", "GET", "lambda.us-east-1.amazonaws.com",
         "/2015-03-31/functions/my-func_1.x~y/invocations", service="lambda"),
    case("header-value-runs-of-spaces", "GET", "iam.amazonaws.com", "/",
         "Action=ListUsers&Version=2010-05-08",
         [("X-Amz-Meta-Note", "  a   b \t c  "), ("My-Header1", "  value1"),
          ("My-Header2", "\"a   b   c\"")]),
    case("header-names-mixed-case", "GET", "iam.amazonaws.com", "/", "",
         [("ZETA", "z"), ("alpha", "a"), ("X-Amz-Target", "t")]),
    case("sts-session-token", "POST", "sts.amazonaws.com", "/", "",
         [FORM], b"Action=GetCallerIdentity&Version=2011-06-15", service="sts",
         token=TOKEN),
    case("ec2-query-protocol-post-body", "POST", "ec2.eu-west-1.amazonaws.com", "/", "",
         [FORM],
         b"Action=CreateSnapshot&Version=2016-11-15&VolumeId=vol-0123&"
         b"Description=deadbolt%20evidence",
         region="eu-west-1", service="ec2", t=T_EOD),
    case("post-empty-body", "POST", "iam.amazonaws.com", "/", "", [FORM], b""),
    case("ssm-json-protocol", "POST", "ssm.us-west-2.amazonaws.com", "/", "",
         [("Content-Type", "application/x-amz-json-1.1"),
          ("X-Amz-Target", "AmazonSSM.GetParameter")],
         b'{"Name":"/deadbolt/config","WithDecryption":false}',
         region="us-west-2", service="ssm", t=T_LEAP),
    case("s3-get-key-with-slashes", "GET", S3HOST, "/photos/2024/01/my%20photo.jpg",
         service="s3", s3=True),
    case("s3-key-utf8-plus-tilde", "GET", S3HOST,
         "/dir/%E6%97%A5%E6%9C%AC/a%2Bb~c%20d.txt", service="s3", s3=True),
    case("s3-list-objects-v2", "GET", S3HOST, "/",
         "delimiter=%2F&encoding-type=url&list-type=2&prefix=photos%2F2024%2F",
         service="s3", s3=True),
    case("s3-put-object-with-body", "PUT", S3HOST, "/evidence/i-0123/memory.txt", "",
         [("Content-Type", "text/plain"), ("x-amz-storage-class", "STANDARD_IA")],
         b"Welcome to Amazon S3.", service="s3", s3=True, t=T_EOD),
    case("s3-put-session-token", "PUT", S3HOST, "/bin/blob.bin", "",
         [("Content-Type", "application/octet-stream")], b"\x00\x01binary\xff",
         region="eu-central-1", service="s3", token=TOKEN, s3=True, t=T_LEAP),
    case("s3-delete-object-versioned", "DELETE", S3HOST, "/a%20b/c",
         "versionId=3%2FL4kqtJlcpXroDTDmJ%2Brmsuda7zg%3D", service="s3", s3=True),
]


def amz_date(t):
    return datetime.datetime.fromtimestamp(t, datetime.timezone.utc).strftime("%Y%m%dT%H%M%SZ")


# ---- botocore ----

class _Capture:
    """Mixin that records the canonical request and string to sign."""

    def string_to_sign(self, request, canonical_request):
        sts = super().string_to_sign(request, canonical_request)
        self.captured = (canonical_request, sts)
        return sts


class CaptureV4(_Capture, botocore.auth.SigV4Auth):
    pass


class CaptureS3V4(_Capture, botocore.auth.S3SigV4Auth):
    pass


def sign_botocore(c):
    creds = Credentials(AKID, SECRET, c["token"] or None)
    cls = CaptureS3V4 if c["s3"] else CaptureV4
    signer = cls(creds, c["service"], c["region"])
    params = urllib.parse.parse_qsl(c["query"], keep_blank_values=True)
    req = AWSRequest(method=c["method"], url="https://" + c["host"] + c["path"],
                     data=c["body"], params=params)
    req.headers["Host"] = c["host"]
    for name, value in c["headers"]:
        req.headers[name] = value  # HTTPHeaders appends: repeated names stay
    fixed = datetime.datetime.fromtimestamp(c["time"], datetime.timezone.utc).replace(tzinfo=None)
    with mock.patch("botocore.auth.get_current_datetime", return_value=fixed):
        signer.add_auth(req)
    assert req.headers["X-Amz-Date"] == amz_date(c["time"])
    canonical, sts = signer.captured
    return dict(c, authorization=req.headers["Authorization"], canonical=canonical,
                string_to_sign=sts)


# ---- libcurl ----

class _Recorder(http.server.BaseHTTPRequestHandler):
    seen = []

    def _handle(self):
        n = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(n) if n else b""
        _Recorder.seen.append((self.command, self.path, self.headers, body))
        self.send_response(200)
        self.send_header("Content-Length", "0")
        self.end_headers()

    do_GET = do_POST = do_PUT = do_DELETE = _handle

    def log_message(self, *args):
        pass


def build_curl_tool(tmp):
    exe = os.path.join(tmp, "gen_sigv4_curl")
    flags = subprocess.check_output(["pkg-config", "--cflags", "--libs", "libcurl"], text=True).split()
    subprocess.check_call(["cc", "-std=c11", "-Wall", "-Wextra", "-O1",
                           os.path.join(ROOT, "tools", "gen_sigv4_curl.c"), "-o", exe] + flags)
    return exe


def sign_curl(exe, port, c):
    headers = [("Host", c["host"])] + c["headers"]
    extra = [("X-Amz-Date", amz_date(c["time"]))]
    if c["token"]:
        extra.append(("X-Amz-Security-Token", c["token"]))
    if c["s3"]:
        extra.append(("X-Amz-Content-Sha256", hashlib.sha256(c["body"]).hexdigest()))
    url = "http://127.0.0.1:%d%s%s" % (port, c["path"], "?" + c["query"] if c["query"] else "")
    body = c["body"].hex() if c["method"] in ("POST", "PUT") else "-"
    argv = [exe, url, c["method"], "aws:amz:%s:%s" % (c["region"], c["service"]), AKID, SECRET, body]
    argv += ["%s: %s" % hv for hv in headers + extra]
    _Recorder.seen.clear()
    subprocess.check_call(argv)
    method, target, got, got_body = _Recorder.seen[-1]
    assert method == c["method"] and got_body == c["body"], c["name"]
    assert got["X-Amz-Date"] == amz_date(c["time"]), c["name"]
    path, _, query = target.partition("?")
    assert (path, query) == (c["path"], c["query"]), (c["name"], target)
    return dict(c, headers=c["headers"], authorization=got["Authorization"],
                canonical=None, string_to_sign=None)


def run_curl_cases():
    server = http.server.HTTPServer(("127.0.0.1", 0), _Recorder)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        with tempfile.TemporaryDirectory() as tmp:
            exe = build_curl_tool(tmp)
            return [sign_curl(exe, server.server_address[1], c) for c in CURL_CASES]
    finally:
        server.shutdown()
        server.server_close()


# ---- output ----

def quote(v):
    if isinstance(v, str):
        v = v.encode("utf-8")
    out = []
    for b in v:
        ch = chr(b)
        if ch == "\\":
            out.append("\\\\")
        elif ch == '"':
            out.append('\\"')
        elif ch == "\n":
            out.append("\\n")
        elif ch == "\t":
            out.append("\\t")
        elif 0x20 <= b < 0x7F:
            out.append(ch)
        else:
            out.append("\\x%02x" % b)
    return '"' + "".join(out) + '"'


def emit(f, source, v):
    f.write("case %s\n" % quote(source + "/" + v["name"]))
    f.write("source %s\n" % quote(source))
    for key in ("method", "path", "query"):
        f.write("%s %s\n" % (key, quote(v[key])))
    f.write("header %s %s\n" % (quote("Host"), quote(v["host"])))
    for name, value in v["headers"]:
        f.write("header %s %s\n" % (quote(name), quote(value)))
    f.write("body %s\n" % quote(v["body"]))
    f.write("access_key %s\nsecret_key %s\n" % (quote(AKID), quote(SECRET)))
    f.write("token %s\n" % quote(v["token"]))
    f.write("region %s\nservice %s\n" % (quote(v["region"]), quote(v["service"])))
    f.write("time %s\ns3 %s\n" % (quote(str(v["time"])), quote("1" if v["s3"] else "0")))
    if v["canonical"] is not None:
        f.write("canonical %s\n" % quote(v["canonical"]))
        f.write("string_to_sign %s\n" % quote(v["string_to_sign"]))
    f.write("authorization %s\nend\n\n" % quote(v["authorization"]))


def main():
    out = sys.argv[1] if len(sys.argv) > 1 else DEFAULT_OUT
    boto = [sign_botocore(c) for c in BOTOCORE_CASES]
    curl = run_curl_cases()
    curl_version = subprocess.check_output(["pkg-config", "--modversion", "libcurl"], text=True).strip()
    with open(out, "w", encoding="ascii", newline="\n") as f:
        f.write("# SigV4 vectors: generated by tools/gen_sigv4_vectors.py, do not edit.\n")
        f.write("# botocore %s (SigV4Auth/S3SigV4Auth), libcurl %s (CURLOPT_AWS_SIGV4).\n"
                % (botocore.__version__, curl_version))
        f.write("# A case is 'key \"value\"' lines up to 'end'; strings use \\\\ \\\" \\n \\t \\xHH.\n")
        f.write("# header lines are the headers the caller gives; X-Amz-Date, X-Amz-Security-Token\n")
        f.write("# and (S3) X-Amz-Content-Sha256 come from time, token and body, as sigv4_sign adds them.\n\n")
        for v in boto:
            emit(f, "botocore", v)
        for v in curl:
            emit(f, "curl", v)
    print("%s: %d botocore + %d curl vectors" % (out, len(boto), len(curl)))


if __name__ == "__main__":
    main()
