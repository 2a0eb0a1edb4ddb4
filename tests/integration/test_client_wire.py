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
gets the same 404), so for that key only the wire path is checked."""

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

    def test_a_sha256_value_given_alone_goes_with_content_md5(self):
        """As playbooks/lib/evidence.lua uploads: ChecksumSHA256 without
        ChecksumAlgorithm is not what the Object Lock rule names, so
        Content-MD5 goes too, and the bucket takes the object."""
        import base64
        import hashlib
        body = b"evidence record"
        digest = base64.b64encode(hashlib.sha256(body).digest()).decode()
        self.db.ok("s3", "PutObject", {"Bucket": self.bucket, "Key": "e", "Body": body.decode(),
                                       "ChecksumSHA256": digest}, via="moto")
        got = self.world.s3.get_object(Bucket=self.bucket, Key="e")
        self.assertEqual((got["Body"].read(), got["ObjectLockMode"]), (body, "GOVERNANCE"))
        # moto keeps a checksum value only with x-amz-sdk-checksum-algorithm,
        # so it cannot show the SHA-256 stored; the unit vectors show it sent.

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


# --- S3 region redirects ---------------------------------------------------------------

OTHER = "eu-west-1"


class TestRegionRedirects(WireCase):
    """The fake plays S3 for a bucket that lives in eu-west-1 while deadbolt
    signs for us-east-1 (POST /__fake/bucket-region): each of S3's
    wrong-region answers is followed once, signed for the bucket's region,
    as botocore's S3RegionRedirectorv2 does. The fake's log shows the
    region each request was signed for. What the fake cannot show: AWS's
    real host names (deadbolt's endpoint here is the fake's URL, so only the
    signing region moves; tests/unit covers the host of a region)."""

    # (answer, x-amz-bucket-region sent, operation, [(status, signed region)...])
    CASES = [
        ("redirect", True, "PutObject", [(301, REGION), (200, OTHER)]),
        ("auth", False, "PutObject", [(400, REGION), (200, OTHER)]),       # <Region> in the body
        ("illegal", True, "PutObject", [(400, REGION), (200, OTHER)]),
        ("redirect", True, "HeadObject", [(301, REGION), (200, OTHER)]),   # header, no body
        ("auth", True, "HeadObject", [(400, REGION), (200, OTHER)]),       # 400, header, no body
        ("auth", False, "HeadObject", [(400, REGION), ("HeadBucket", 400, REGION),
                                       (200, OTHER)]),                     # nothing: ask the bucket
    ]

    def bucket_in(self, name, region, answer="redirect", header=True):
        self.world.bucket(name)
        self.world.s3.put_object(Bucket=name, Key="k", Body=b"old")
        self.world.control("/__fake/bucket-region", {"bucket": name, "region": region,
                                                     "answer": answer, "header": header})

    def seen(self):
        return [(e["status"], e["region"]) if e["action"] != "HeadBucket"
                else ("HeadBucket", e["status"], e["region"]) for e in self.world.log()]

    def test_each_wrong_region_answer_is_followed_once_signed_for_the_buckets_region(self):
        for i, (answer, header, op, want) in enumerate(self.CASES):
            with self.subTest(answer=answer, header=header, op=op):
                bucket = f"far-bucket-{i}"
                self.bucket_in(bucket, OTHER, answer, header)
                self.fresh_log()
                self.world.control("/__fake/bucket-region", {"bucket": bucket, "region": OTHER,
                                                             "answer": answer, "header": header})
                params = {"Bucket": bucket, "Key": "k"}
                if op == "PutObject":
                    params["Body"] = "new"
                self.db.ok("s3", op, params, env={"AWS_MAX_ATTEMPTS": "1"})
                self.assertEqual(self.seen(), want)
                body = self.world.s3.get_object(Bucket=bucket, Key="k")["Body"].read()
                self.assertEqual(body, b"new" if op == "PutObject" else b"old")

    def test_a_region_that_is_not_a_region_name_is_not_followed(self):
        self.bucket_in("far-bucket-evil", "evil.example.com/x")
        self.fresh_log()
        self.world.control("/__fake/bucket-region", {"bucket": "far-bucket-evil",
                                                     "region": "evil.example.com/x"})
        err = self.db.fails("s3", "PutObject", {"Bucket": "far-bucket-evil", "Key": "k",
                                                "Body": "x"})
        self.assertEqual(parse_error(err)["code"], "PermanentRedirect")
        self.assertEqual(self.seen(), [(301, REGION)])

    def test_a_second_wrong_region_answer_is_not_followed(self):
        """A bucket whose answers name a region it is not in (the fake's
        "says"): one redirect, then the error, as botocore; no loop."""
        self.bucket_in("far-bucket-loop", OTHER)
        self.fresh_log()
        self.world.control("/__fake/bucket-region", {"bucket": "far-bucket-loop",
                                                     "region": "ap-south-1", "says": OTHER})
        err = self.db.fails("s3", "PutObject", {"Bucket": "far-bucket-loop", "Key": "k",
                                                "Body": "x"})
        self.assertEqual(parse_error(err)["code"], "PermanentRedirect")
        self.assertEqual(self.seen(), [(301, REGION), (301, OTHER)])

    def test_a_run_remembers_the_buckets_region(self):
        """A playbook run makes several calls on one bucket: only the first is
        sent to the wrong region."""
        from playbook_cases import bucket_resource, finding, run
        self.world.bucket("far-public", public=True)
        self.world.control("/__fake/bucket-region", {"bucket": "far-public", "region": OTHER})
        self.fresh_log()
        self.world.control("/__fake/bucket-region", {"bucket": "far-public", "region": OTHER})
        result = run(self.world, finding("Policy:S3/BucketAnonymousAccessGranted",
                                         bucket_resource([("far-public", True)]), severity=8))
        self.assertEqual(result.rc, 0, result.describe())
        on_bucket = [(e["action"], e["status"], e["region"]) for e in self.world.log()
                     if e["service"] == "s3" and e["path"].startswith("/far-public")]
        self.assertGreater(len(on_bucket), 2, on_bucket)
        self.assertEqual(on_bucket[0][1:], (301, REGION))
        self.assertEqual([e[2] for e in on_bucket[1:]], [OTHER] * (len(on_bucket) - 1), on_bucket)
        self.assertEqual(self.world.s3.get_public_access_block(Bucket="far-public")
                         ["PublicAccessBlockConfiguration"]["BlockPublicAcls"], True)
