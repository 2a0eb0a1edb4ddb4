"""auth — SigV4 checking and re-signing for the fake, with botocore's signer
as the independent reference (deadbolt's own signer is what is under test).

The fake knows a small table of credentials: the test key it starts with,
keys a test registers (POST /__fake/credentials), and keys it sees handed out
by STS through it."""

import hashlib
import hmac
import re
import threading
import time
from datetime import datetime, timezone

from botocore.auth import S3SigV4Auth, SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

TEST_KEY = "AKIAIOSFODNN7EXAMPLE"
TEST_SECRET = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"
MAX_SKEW = 15 * 60  # seconds, as AWS allows
UNSIGNED = {"UNSIGNED-PAYLOAD", "STREAMING-UNSIGNED-PAYLOAD-TRAILER"}


class Keys:
    """access key id -> (secret, session token or None); thread-safe."""

    def __init__(self):
        self._lock = threading.Lock()
        self.reset()

    def reset(self):
        with self._lock:
            self._keys = {TEST_KEY: (TEST_SECRET, None)}

    def add(self, key, secret, token=None):
        with self._lock:
            self._keys[key] = (secret, token)

    def get(self, key):
        with self._lock:
            return self._keys.get(key)


def _field(auth, name):
    return auth.partition(name + "=")[2].partition(",")[0].strip()


def _signer(service, region, creds):
    cls = S3SigV4Auth if service == "s3" else SigV4Auth
    return cls(creds, service, region)


def _signature(req, secret, token):
    """The signature botocore computes for req's signed headers: the same
    recipe moto's own check uses, so the two agree on what is valid."""
    auth = req.header("authorization")
    signed = _field(auth, "SignedHeaders").split(";")
    headers = {k: v for k, v in req.headers if k.lower() in signed}
    aws = AWSRequest(method=req.method, url=req.target, data=req.body, headers=headers)
    aws.context["timestamp"] = req.header("x-amz-date")
    key, date, region, service = req.scope[:4]
    signer = _signer(service, region, Credentials(key, secret, token))
    canonical = signer.canonical_request(aws)
    return signer.signature(signer.string_to_sign(aws, canonical), aws)


def _skewed(stamp, clocks=(0,)):
    """True when stamp is more than MAX_SKEW from each of the server clocks
    (offsets in seconds from the real time) the fake answers for."""
    try:
        when = datetime.strptime(stamp, "%Y%m%dT%H%M%SZ").replace(tzinfo=timezone.utc)
    except (TypeError, ValueError):
        return True
    now = time.time()
    return all(abs(when.timestamp() - (now + offset)) > MAX_SKEW for offset in clocks)


def _payload_mismatch(req):
    claimed = req.header("x-amz-content-sha256")
    if not claimed or claimed in UNSIGNED or claimed.startswith("STREAMING-"):
        return False
    return claimed != hashlib.sha256(req.body).hexdigest()


def verify(req, keys, clocks=(0,)):
    """None when req is validly signed by a known key, else the kind of failure
    (a key of wire.AUTH_ERRORS). clocks: the server clock offsets whose
    15-minute window the request time may fall in. Presigned URLs are not
    checked."""
    auth = req.header("authorization")
    if auth is None:
        return None if "X-Amz-Signature" in req.query else "missing"
    if not auth.startswith("AWS4-HMAC-SHA256 ") or not req.scope:
        return "mismatch"
    known = keys.get(req.scope[0])
    if known is None:
        return "unknown_key"
    secret, token = known
    if token is not None and req.header("x-amz-security-token") != token:
        return "bad_token"
    if _skewed(req.header("x-amz-date"), clocks):
        return "expired"
    if _payload_mismatch(req):
        return "mismatch"
    given = _field(auth, "Signature")
    return None if hmac.compare_digest(given, _signature(req, secret, token)) else "mismatch"


def resign(req, host_url, keys):
    """Headers for a changed request (new body or query), signed again with the
    key the client used when the fake knows it; else the old ones, unsigned."""
    headers = [(k, v) for k, v in req.headers
               if k.lower() not in ("authorization", "x-amz-date", "x-amz-security-token",
                                    "x-amz-content-sha256", "content-length")]
    known = keys.get(req.scope[0]) if req.scope else None
    if known is None:
        return headers
    aws = AWSRequest(method=req.method, url=host_url + req.target, data=req.body,
                     headers=dict(headers))
    _signer(req.scope[3], req.scope[2], Credentials(req.scope[0], *known)).add_auth(aws)
    return list(aws.headers.items())


def credentials_for(req, keys):
    """(key, secret, token) for the fake's own calls to moto on req's behalf:
    the client's key when known (moto may be checking signatures), else the
    test key."""
    key = req.scope[0] if req.scope and keys.get(req.scope[0]) else TEST_KEY
    secret, token = keys.get(key)
    return key, secret, token


_CRED_RE = re.compile(r"<(AccessKeyId|SecretAccessKey|SessionToken)>([^<]+)</")


def learn(req, body, keys):
    """Remembers credentials that STS or IAM hand out through the fake, so that
    requests later signed with them can be checked."""
    if (req.service, req.action) not in {("sts", "AssumeRole"), ("sts", "GetSessionToken"),
                                         ("iam", "CreateAccessKey")}:
        return
    found = dict(_CRED_RE.findall(body.decode("utf-8", "replace")))
    if "AccessKeyId" in found and "SecretAccessKey" in found:
        keys.add(found["AccessKeyId"], found["SecretAccessKey"], found.get("SessionToken"))


def handed_out_key(body):
    """The access key id in an STS answer, or None."""
    return dict(_CRED_RE.findall(body.decode("utf-8", "replace"))).get("AccessKeyId")
