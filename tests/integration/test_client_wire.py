"""What `deadbolt call` puts on the wire for S3: the request path of hostile
keys, checksums, conditional writes, and the redirects S3 answers a request
sent to the wrong region with.

Hostile keys: each key goes through the fake (which logs the request target
it received, then relays it to moto unchanged). The path must be exactly
what botocore sends for the same call (its request captured on a
before-send hook, path-style like deadbolt's against a custom endpoint), and
the object must land in the bucket named, under the key given, as boto3
reads it back; the bucket a "../" key names stays empty. What moto cannot
show: how AWS's own front end parses a path; moto takes the path literally,
as S3 documents it does for keys with "." and ".." segments. moto cannot
store a key holding a line feed (its URL router does not match "%0A": boto3
gets the same 404), so for that key only the wire path is checked.

Owned by the client's integration tests."""

import os
import shutil
import tempfile
from urllib.parse import urlsplit

from botocore.config import Config

import test_lambda as lam
from client_support import Deadbolt, parse_error
from harness.world import ACCESS_KEY, REGION, SECRET_KEY, WorldTestCase

HOSTILE_KEYS = [
    "../../other-bucket/x", "a/./b", "./c", "d/..", "%2e%2e/x", "%2F%2e%2E%5c", "a?b#c",
    "?x=1&y", "a\x01b\x7fc", "tab\tcr\r", "sp ace+plus", "/lead//double//", "trailing/",
    "ünï/日本 ~!*'()", "a;b=c&d@e:f,g$h", "[x]{y}|z^`\"<>\\", "..\\..\\win", "%", "%zz",
]
BUCKET = "wire-evidence"
VICTIM = "other-bucket"


class _Captured(Exception):
    """Stops botocore once the request is built: nothing is sent."""


def botocore_target(url, operation, params):
    """The request target (path?query) botocore would send for an S3 call at
    url, path-style, signed for us-east-1."""
    import boto3
    client = boto3.session.Session().client(
        "s3", region_name=REGION, endpoint_url=url, aws_access_key_id=ACCESS_KEY,
        aws_secret_access_key=SECRET_KEY,
        config=Config(s3={"addressing_style": "path"}, retries={"total_max_attempts": 1}))
    seen = []

    def capture(request, **_):
        seen.append(request.url)
        raise _Captured()
    client.meta.events.register("before-send.s3", capture)
    try:
        getattr(client, operation)(**params)
    except _Captured:
        pass
    parts = urlsplit(seen[0])
    return parts.path, parts.query


class WireCase(WorldTestCase):
    def setUp(self):
        super().setUp()
        self.db = Deadbolt(self.world, ACCESS_KEY, SECRET_KEY)

    def fresh_log(self):
        self.world.control("/__fake/reset", {})


class TestHostileKeys(WireCase):
    def setUp(self):
        super().setUp()
        self.world.bucket(BUCKET)
        self.world.bucket(VICTIM)

    def test_hostile_keys_are_sent_as_botocore_sends_them_and_stay_in_their_bucket(self):
        for key in HOSTILE_KEYS:
            with self.subTest(key=key):
                self.fresh_log()
                body = "evidence for " + key
                self.db.ok("s3", "PutObject", {"Bucket": BUCKET, "Key": key, "Body": body})
                [put] = self.world.log("PutObject")
                want = botocore_target(self.world.fake_url, "put_object",
                                       {"Bucket": BUCKET, "Key": key, "Body": body.encode()})
                self.assertEqual((put["path"], put["query"]), want)
                got = self.world.s3.get_object(Bucket=BUCKET, Key=key)
                self.assertEqual(got["Body"].read(), body.encode())
                head = self.db.ok("s3", "HeadObject", {"Bucket": BUCKET, "Key": key})
                self.assertEqual(head["ContentLength"], len(body.encode()))
                [sent] = self.world.log("HeadObject")
                self.assertEqual((sent["path"], sent["query"]),
                                 botocore_target(self.world.fake_url, "head_object",
                                                 {"Bucket": BUCKET, "Key": key}))
        self.assertNotIn("Contents", self.world.s3.list_objects_v2(Bucket=VICTIM))
        stored = sorted(o["Key"] for o in self.world.s3.list_objects_v2(Bucket=BUCKET)["Contents"])
        self.assertEqual(stored, sorted(HOSTILE_KEYS))

    def test_a_line_feed_key_is_sent_encoded_as_botocore_sends_it(self):
        key = "nl\n/x"
        self.db.run("s3", "PutObject", {"Bucket": BUCKET, "Key": key, "Body": "x"})
        [put] = self.world.log("PutObject")
        self.assertEqual((put["path"], put["query"]),
                         botocore_target(self.world.fake_url, "put_object",
                                         {"Bucket": BUCKET, "Key": key, "Body": b"x"}))
        self.assertEqual(put["path"], f"/{BUCKET}/nl%0A/x")

    def test_a_dot_segment_bucket_is_refused_before_anything_is_sent(self):
        for bucket in (".", ".."):
            with self.subTest(bucket=bucket):
                self.fresh_log()
                err = self.db.fails("s3", "PutObject", {"Bucket": bucket, "Key": f"{VICTIM}/x",
                                                        "Body": "x"})
                self.assertEqual(parse_error(err)["code"], "ValidationError")
                self.assertEqual(self.world.log(), [])
        self.assertNotIn("Contents", self.world.s3.list_objects_v2(Bucket=VICTIM))


# --- checksums and conditional writes ----------------------------------------------

def object_lock_bucket(world, name):
    """A bucket with Object Lock and a default retention: S3 (and moto) then
    refuse a PutObject without Content-MD5 or a checksum header."""
    world.s3.create_bucket(Bucket=name, ObjectLockEnabledForBucket=True)
    world.s3.put_object_lock_configuration(Bucket=name, ObjectLockConfiguration={
        "ObjectLockEnabled": "Enabled",
        "Rule": {"DefaultRetention": {"Mode": "GOVERNANCE", "Days": 1}}})
    return name


class TestChecksums(WireCase):
    """moto checks that an upload into an Object Lock bucket carries
    Content-MD5 or x-amz-sdk-checksum-algorithm, as AWS documents; it does
    not check the MD5 value itself (AWS answers BadDigest to a wrong one): the
    unit vectors (tests/vectors/codec_build.lua) hold the values, computed
    with hashlib."""

    def setUp(self):
        super().setUp()
        self.bucket = object_lock_bucket(self.world, "wire-locked")

    def test_an_upload_without_a_checksum_is_refused_by_an_object_lock_bucket(self):
        """The control: a client that sends no checksum fails here."""
        import boto3
        from botocore.exceptions import ClientError
        bare = boto3.session.Session().client(
            "s3", region_name=REGION, endpoint_url=self.world.moto_url,
            aws_access_key_id=ACCESS_KEY, aws_secret_access_key=SECRET_KEY,
            config=Config(s3={"addressing_style": "path"}, retries={"total_max_attempts": 1},
                          request_checksum_calculation="when_required"))
        with self.assertRaises(ClientError) as ctx:
            bare.put_object(Bucket=self.bucket, Key="k", Body=b"x")
        # AWS says InvalidRequest; moto names the case
        self.assertIn(ctx.exception.response["Error"]["Code"],
                      {"InvalidRequest", "MissingUploadObjectWithObjectLockHeaders"})

    def test_put_object_sends_content_md5_so_an_object_lock_bucket_takes_it(self):
        self.db.ok("s3", "PutObject", {"Bucket": self.bucket, "Key": "evidence/i-1.json",
                                       "Body": "{\"a\": 1}"}, via="moto")
        got = self.world.s3.get_object(Bucket=self.bucket, Key="evidence/i-1.json")
        self.assertEqual(got["Body"].read(), b"{\"a\": 1}")
        self.assertEqual(got["ObjectLockMode"], "GOVERNANCE")

    def test_a_sha256_checksum_asked_for_is_sent_and_stored(self):
        import base64
        import hashlib
        body = b"locked evidence \x01 \xc3\xbc"  # sent as a JSON string: UTF-8
        want = base64.b64encode(hashlib.sha256(body).digest()).decode()
        out = self.db.ok("s3", "PutObject", {"Bucket": self.bucket, "Key": "k",
                                             "Body": body.decode(),
                                             "ChecksumAlgorithm": "SHA256"}, via="moto")
        self.assertEqual(out["ChecksumSHA256"], want)
        attrs = self.world.s3.get_object_attributes(Bucket=self.bucket, Key="k",
                                                    ObjectAttributes=["Checksum"])
        self.assertEqual(attrs["Checksum"]["ChecksumSHA256"], want)


class TestConditionalWrite(WireCase):
    """If-None-Match: * (IfNoneMatch) writes an object only where none is:
    the second writer gets PreconditionFailed (HTTP 412), the error code a
    playbook sees in the error value, and the first object is kept."""

    def test_the_second_write_of_a_key_fails_with_precondition_failed(self):
        self.world.bucket("wire-locks")
        params = {"Bucket": "wire-locks", "Key": "locks/i-1", "Body": "run 1",
                  "IfNoneMatch": "*"}
        self.db.ok("s3", "PutObject", params)
        err = self.db.fails("s3", "PutObject", {**params, "Body": "run 2"})
        fields = parse_error(err)
        self.assertEqual((fields["code"], fields["status"], fields["attempts"]),
                         ("PreconditionFailed", 412, 1))
        got = self.world.s3.get_object(Bucket="wire-locks", Key="locks/i-1")["Body"].read()
        self.assertEqual(got, b"run 1")
        self.assertEqual(len(self.world.log("PutObject")), 2)


class TestJournalUpload(lam.LambdaCase):
    """The Lambda runtime stores each run's journal in the artifact bucket
    (engine/journal_archive.c) through the same PutObject: with Content-MD5,
    so an Object Lock artifact bucket keeps it."""

    def test_the_journal_lands_in_an_object_lock_artifact_bucket(self):
        object_lock_bucket(self.world, "deadbolt-artifacts")
        event = lam.finding_event("i-0123456789abcdef0")
        event["detail"]["resource"] = {"resourceType": "EKSCluster",
                                       "eksClusterDetails": {"name": "prod"}}  # skipped, journaled
        self.bootstrap(extra_env={"DEADBOLT_DRY_RUN": "false"})
        rid = self.api.enqueue(event)
        self.assertEqual(self.assert_response(self.answer(rid))["outcome"], "skipped")
        listed = self.world.s3.list_objects_v2(Bucket="deadbolt-artifacts", Prefix="journal/")
        keys = [o["Key"] for o in listed.get("Contents", [])]
        self.assertEqual(len(keys), 1, (keys, self.boots[0].output()))
        got = self.world.s3.get_object(Bucket="deadbolt-artifacts", Key=keys[0])
        self.assertEqual(got["ObjectLockMode"], "GOVERNANCE")
        self.assertIn(event["detail"]["id"], got["Body"].read().decode())


# --- credentials ----------------------------------------------------------------------

class TestAssumeRoleProfile(WireCase):
    """A role_arn profile's duration_seconds reaches STS as DurationSeconds
    (the fake logs the AssumeRole parameters), and the assumed role signs the
    call. What cannot be shown from outside: that the answer's secrets were
    cleansed from memory (tests/unit/test_wipe_alloc.c covers the Lua state)."""

    def setUp(self):
        super().setUp()
        self.home = tempfile.mkdtemp(prefix="deadbolt-wire-home-")
        self.addCleanup(shutil.rmtree, self.home, ignore_errors=True)
        os.mkdir(os.path.join(self.home, ".aws"))
        with open(os.path.join(self.home, ".aws", "credentials"), "w") as f:
            f.write(f"[base]\naws_access_key_id = {ACCESS_KEY}\n"
                    f"aws_secret_access_key = {SECRET_KEY}\n")
        self.role = self.world.role("responder")

    def assumed_with(self, extra):
        with open(os.path.join(self.home, ".aws", "config"), "w") as f:
            f.write(f"[profile responder]\nrole_arn = {self.role}\nsource_profile = base\n"
                    f"role_session_name = wire-test\n{extra}")
        self.fresh_log()
        out = self.db.ok("sts", "GetCallerIdentity", args=("--profile", "responder"),
                         env={"HOME": self.home, "AWS_ACCESS_KEY_ID": None,
                              "AWS_SECRET_ACCESS_KEY": None})
        self.assertTrue(out["Arn"].endswith(":assumed-role/responder/wire-test"), out)
        [assume] = self.world.log("AssumeRole")
        [call] = self.world.log("GetCallerIdentity")
        self.assertEqual(assume["key"], ACCESS_KEY)
        self.assertNotEqual(call["key"], ACCESS_KEY)  # the role's own key
        return assume["params"]

    def test_duration_seconds_reaches_sts(self):
        self.assertEqual(self.assumed_with("duration_seconds = 1800\n"),
                         {"RoleArn": self.role, "RoleSessionName": "wire-test",
                          "DurationSeconds": "1800"})

    def test_without_duration_seconds_sts_chooses(self):
        self.assertNotIn("DurationSeconds", self.assumed_with(""))
