"""client_support — what the `deadbolt call` integration tests share
(test_client_ops, test_client_faults, test_client_cli): running the debug
command, putting a boto3 answer into deadbolt's printed shape, and masking
what differs between two equal calls (fresh ids, times)."""

import json
import os
import re
import time
from datetime import datetime, timezone

import boto3
from botocore import xform_name
from botocore.config import Config
from botocore.response import StreamingBody

from harness.world import REGION, ROOT

OPERATIONS_LIST = os.path.join(ROOT, "tools", "operations.list")

# The values two equal calls on two equal worlds may still differ in.
_ID = re.compile(r"\b(?:i|vol|snap|sg|sgr|eni|eni-attach|iip-assoc|vpc|subnet|r|igw|rtb|acl)"
                 r"-[0-9a-f]{8,17}\b")
_UUID = re.compile(r"\b[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}\b")
_TIME = re.compile(r"\d{4}-\d\d-\d\d[T ]\d\d:\d\d:\d\d(\.\d+)?(Z|[+-]\d\d:?\d\d)?")


def operations():
    """[(service, Operation)] of tools/operations.list, in its order."""
    ops = []
    with open(OPERATIONS_LIST, encoding="utf-8") as f:
        for line in f:
            line = line.split("#", 1)[0].strip()
            if line:
                service, op = line.split()
                ops.append((service, op))
    return ops


def iso(when):
    """A datetime as deadbolt prints timestamps: UTC, milliseconds, 'Z'."""
    utc = when.astimezone(timezone.utc)
    return utc.strftime("%Y-%m-%dT%H:%M:%S.") + f"{utc.microsecond // 1000:03d}Z"


def normalise(value):
    """A boto3 answer (or deadbolt's parsed one) in the form both share:
    ResponseMetadata reduced to HTTPStatusCode (request ids, headers and retry
    counts belong to one call), datetimes as deadbolt's ISO strings, bytes and
    streams as text."""
    if isinstance(value, dict):
        out = {k: normalise(v) for k, v in value.items() if k != "ResponseMetadata"}
        meta = value.get("ResponseMetadata")
        if isinstance(meta, dict) and "HTTPStatusCode" in meta:
            out["ResponseMetadata"] = {"HTTPStatusCode": meta["HTTPStatusCode"]}
        return out
    if isinstance(value, list):
        return [normalise(v) for v in value]
    if isinstance(value, datetime):
        return iso(value)
    if isinstance(value, StreamingBody):
        return value.read().decode("utf-8")
    if isinstance(value, (bytes, bytearray)):
        return bytes(value).decode("utf-8")
    return value


def mask(value):
    """normalise()d value with fresh ids, UUIDs and times replaced by
    placeholders, for comparing two calls that each made something new."""
    if isinstance(value, dict):
        return {k: mask(v) for k, v in value.items()}
    if isinstance(value, list):
        return [mask(v) for v in value]
    if isinstance(value, str):
        return _TIME.sub("<time>", _UUID.sub("<uuid>", _ID.sub("<id>", value)))
    return value


# One session for every client made here: it loads each service model once
# (a new session per client, as with world.client, costs ~0.3 s a client, and
# every test here has its own admin key).
_SESSION = boto3.session.Session()
_CLIENTS = {}


def boto3_client(service, endpoint, key, secret, token=None):
    """A boto3 client at endpoint making one attempt (a test sees every
    error). S3: path-style, and no CRC32 a request does not need
    (botocore's default since 1.36 adds one to every PutObject, which moto
    then echoes; deadbolt sends Content-MD5, which moto does not echo, and
    compared calls must be the same)."""
    cache = (service, endpoint, key, secret, token)
    if cache not in _CLIENTS:
        _CLIENTS[cache] = _SESSION.client(
            service, region_name=REGION, endpoint_url=endpoint, aws_access_key_id=key,
            aws_secret_access_key=secret, aws_session_token=token,
            config=Config(retries={"total_max_attempts": 1, "mode": "standard"},
                          s3={"addressing_style": "path"},
                          request_checksum_calculation="when_required",
                          response_checksum_validation="when_required"))
    return _CLIENTS[cache]


def boto3_call(client, operation, params):
    """client's method for the model's operation name, called with params."""
    return getattr(client, xform_name(operation))(**params)


class Deadbolt:
    """`deadbolt call` through world.deadbolt, aimed at the fake (default) or
    straight at moto, with the credentials given."""

    def __init__(self, world, key, secret):
        self.world = world
        self.key = key
        self.secret = secret

    def run(self, service, operation, params=None, via="fake", env=None, args=(), timeout=60):
        """(rc, stdout, stderr, seconds) of one `deadbolt call`."""
        full_env = {"AWS_ENDPOINT_URL": self.world.moto_url if via == "moto" else self.world.fake_url}
        full_env.update(env or {})
        argv = ["call", service, operation]
        if params is not None:
            argv.append(params if isinstance(params, str) else json.dumps(params))
        start = time.monotonic()
        rc, out, err = self.world.deadbolt(*argv, *args, env=full_env, key=self.key,
                                           secret=self.secret, timeout=timeout)
        return rc, out, err, time.monotonic() - start

    def ok(self, service, operation, params=None, via="fake", **kw):
        """The parsed result of a call that must succeed, normalise()d."""
        rc, out, err, _ = self.run(service, operation, params, via, **kw)
        if rc != 0:
            raise AssertionError(f"deadbolt call {service} {operation} exited {rc}: {err.strip()}")
        if err.strip():
            raise AssertionError(f"deadbolt call {service} {operation} wrote to stderr: {err!r}")
        return normalise(json.loads(out))

    def fails(self, service, operation, params=None, via="fake", **kw):
        """stderr of a call that must fail with exit 1 and print nothing."""
        rc, out, err, _ = self.run(service, operation, params, via, **kw)
        if rc != 1 or out:
            raise AssertionError(f"deadbolt call {service} {operation}: expected exit 1 and no "
                                 f"output, got {rc}, {out!r}, {err!r}")
        return err


# "deadbolt call: svc.Op: Code: message (HTTP 400) [request rid] after N attempts"
_ERROR_LINE = re.compile(r"^deadbolt call: (?P<op>[a-z0-9]+\.[A-Za-z0-9]+): (?P<code>[^:\s]+): "
                         r"(?P<message>.*?)(?: \(HTTP (?P<status>\d+)\))?(?: \[request (?P<rid>[^\]]*)\])?"
                         r"(?: after (?P<attempts>\d+) attempts)?$")


def parse_error(stderr):
    """The fields of deadbolt's one-line error, or an AssertionError."""
    lines = stderr.strip().splitlines()
    if len(lines) != 1:
        raise AssertionError(f"expected one error line, got {stderr!r}")
    m = _ERROR_LINE.match(lines[0])
    if not m:
        raise AssertionError(f"not deadbolt's error line: {lines[0]!r}")
    fields = m.groupdict()
    fields["status"] = int(fields["status"]) if fields["status"] else None
    fields["attempts"] = int(fields["attempts"]) if fields["attempts"] else 1
    return fields
