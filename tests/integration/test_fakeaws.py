"""The fake AWS server (tests/fakeaws) seen through boto3: what it answers
itself parses in boto3 in the shapes the AWS docs give, everything else is
moto's answer unchanged, faults come N times then stop, and signatures are
checked (by the fake, and by moto through the fake)."""

import base64
import http.client
import threading
import time
from urllib.parse import urlsplit

import boto3
from botocore import UNSIGNED
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.config import Config
from botocore.credentials import Credentials
from botocore.exceptions import ClientError, ConnectionClosedError

from harness.world import ACCESS_KEY, REGION, SECRET_KEY, WorldTestCase

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


def anonymous(world, service):
    """A fresh boto3 client through the fake that signs nothing."""
    return boto3.client(service, region_name=REGION, endpoint_url=world.fake_url,
                        config=Config(signature_version=UNSIGNED, retries={"total_max_attempts": 1}))


def error_of(call, *args, **kwargs):
    """(code, HTTP status) of the ClientError call raises."""
    try:
        call(*args, **kwargs)
    except ClientError as exc:
        return exc.response["Error"]["Code"], exc.response["ResponseMetadata"]["HTTPStatusCode"]
    raise AssertionError(f"{call.__name__} did not fail")


def signed(url, body, service, stamp=None, secret=SECRET_KEY):
    """(headers, body) of a form POST to url signed with botocore at time
    stamp (YYYYmmddTHHMMSSZ, default now), the way add_auth would."""
    stamp = stamp or time.strftime("%Y%m%dT%H%M%SZ", time.gmtime())
    req = AWSRequest(method="POST", url=url, data=body, headers={
        "Content-Type": "application/x-www-form-urlencoded; charset=utf-8",
        "Host": urlsplit(url).netloc, "X-Amz-Date": stamp})
    req.context["timestamp"] = stamp
    auth = SigV4Auth(Credentials(ACCESS_KEY, secret), service, REGION)
    sig = auth.signature(auth.string_to_sign(req, auth.canonical_request(req)), req)
    req.headers["Authorization"] = (
        f"AWS4-HMAC-SHA256 Credential={ACCESS_KEY}/{auth.credential_scope(req)}, "
        f"SignedHeaders={auth.signed_headers(auth.headers_to_sign(req))}, Signature={sig}")
    return dict(req.headers.items()), body


def post(url, headers, body, conn=None):
    """(status, body) of a raw POST; conn reused when given."""
    parts = urlsplit(url)
    own = conn is None
    conn = conn or http.client.HTTPConnection(parts.hostname, parts.port, timeout=10)
    try:
        conn.request("POST", "/", body=body, headers=headers)
        resp = conn.getresponse()
        return resp.status, resp.read()
    finally:
        if own:
            conn.close()


class TestScreenshot(WorldTestCase):
    def test_screenshot_of_an_instance_is_a_base64_png(self):
        inst = self.world.instance()
        shot = self.world.fake_client("ec2").get_console_screenshot(InstanceId=inst.id)
        self.assertEqual(shot["InstanceId"], inst.id)
        self.assertTrue(base64.b64decode(shot["ImageData"]).startswith(PNG_MAGIC))

    def test_screenshot_of_an_unknown_instance_is_not_found(self):
        ec2 = self.world.fake_client("ec2")
        self.assertEqual(error_of(ec2.get_console_screenshot, InstanceId="i-0123456789abcdef0"),
                         ("InvalidInstanceID.NotFound", 400))

    def test_screenshot_fails_as_unsupported_when_told(self):
        inst = self.world.instance()
        self.world.screenshot_fails("UnsupportedOperation")
        ec2 = self.world.fake_client("ec2")
        self.assertEqual(error_of(ec2.get_console_screenshot, InstanceId=inst.id),
                         ("UnsupportedOperation", 400))


class TestSsm(WorldTestCase):
    def test_instance_information_lists_registered_instances_only(self):
        a, b, c = (self.world.instance().id for _ in range(3))
        self.world.ssm_managed([a])
        self.world.ssm_managed([b], ping="ConnectionLost")
        ssm = self.world.fake_client("ssm")
        listed = ssm.describe_instance_information()["InstanceInformationList"]
        self.assertEqual(sorted(i["InstanceId"] for i in listed), sorted([a, b]))
        self.assertNotIn(c, [i["InstanceId"] for i in listed])
        one = ssm.describe_instance_information(
            InstanceInformationFilterList=[{"key": "InstanceIds", "valueSet": [a]}])
        self.assertEqual([(i["InstanceId"], i["PingStatus"]) for i in one["InstanceInformationList"]],
                         [(a, "Online")])
        lost = ssm.describe_instance_information(Filters=[{"Key": "PingStatus", "Values": ["ConnectionLost"]}])
        self.assertEqual([i["InstanceId"] for i in lost["InstanceInformationList"]], [b])
        by_id = ssm.describe_instance_information(Filters=[{"Key": "InstanceIds", "Values": [c]}])
        self.assertEqual(by_id["InstanceInformationList"], [])

    def test_instance_information_pages(self):
        ids = [f"i-{n:017x}" for n in range(7)]
        self.world.ssm_managed(ids)
        pages = self.world.fake_client("ssm").get_paginator("describe_instance_information")
        seen = [i["InstanceId"] for page in pages.paginate(PaginationConfig={"PageSize": 5})
                for i in page["InstanceInformationList"]]
        self.assertEqual(seen, ids)

    def test_send_command_to_an_unmanaged_instance_is_refused(self):
        inst = self.world.instance()
        ssm = self.world.fake_client("ssm")
        self.assertEqual(error_of(ssm.send_command, InstanceIds=[inst.id], DocumentName="AWS-RunShellScript",
                                  Parameters={"commands": ["true"]}), ("InvalidInstanceId", 400))

    def test_command_output_reaches_the_invocation_and_the_bucket(self):
        inst = self.world.instance()
        self.world.bucket("evidence-bucket")
        self.world.ssm_managed([inst.id])
        ssm = self.world.fake_client("ssm")
        cmd = ssm.send_command(InstanceIds=[inst.id], DocumentName="AWS-RunShellScript",
                               Parameters={"commands": ["uname -a", "ps aux"]},
                               OutputS3BucketName="evidence-bucket", OutputS3KeyPrefix="ssm/run")["Command"]
        self.assertEqual(cmd["Status"], "Pending")
        inv = ssm.get_command_invocation(CommandId=cmd["CommandId"], InstanceId=inst.id)
        self.assertEqual((inv["Status"], inv["ResponseCode"]), ("Success", 0))
        self.assertEqual(inv["StandardOutputContent"], "uname -a\nps aux\n")
        key = f"ssm/run/{cmd['CommandId']}/{inst.id}/awsrunShellScript/0.awsrunShellScript/stdout"
        body = self.world.s3.get_object(Bucket="evidence-bucket", Key=key)["Body"].read()
        self.assertEqual(body, b"uname -a\nps aux\n")
        self.assertTrue(inv["StandardOutputUrl"].endswith("/evidence-bucket/" + key))
        listed = ssm.list_command_invocations(CommandId=cmd["CommandId"], Details=True)["CommandInvocations"]
        self.assertEqual([(i["InstanceId"], i["Status"]) for i in listed], [(inst.id, "Success")])
        self.assertEqual(listed[0]["CommandPlugins"][0]["Output"], "uname -a\nps aux\n")
        self.assertEqual(self.world.ssm_commands()[0]["Parameters"]["commands"], ["uname -a", "ps aux"])

    def test_command_is_in_progress_for_the_pending_polls_then_fails_as_told(self):
        inst = self.world.instance()
        self.world.ssm_managed([inst.id])
        self.world.ssm_result(status="Failed", response_code=2, stdout="", stderr="boom\n", pending_polls=2)
        ssm = self.world.fake_client("ssm")
        cid = ssm.send_command(InstanceIds=[inst.id], DocumentName="AWS-RunShellScript",
                               Parameters={"commands": ["false"]})["Command"]["CommandId"]
        seen = [ssm.get_command_invocation(CommandId=cid, InstanceId=inst.id) for _ in range(3)]
        self.assertEqual([s["Status"] for s in seen], ["InProgress", "InProgress", "Failed"])
        self.assertEqual((seen[2]["ResponseCode"], seen[2]["StandardErrorContent"]), (2, "boom\n"))
        self.assertEqual(error_of(ssm.get_command_invocation, CommandId=cid, InstanceId="i-0000000000000000f"),
                         ("InvocationDoesNotExist", 400))


class TestBucketPolicyStatus(WorldTestCase):
    CASES = [  # (name, statement or None for no policy, expected IsPublic)
        ("star", {"Principal": "*"}, True),
        ("aws-star", {"Principal": {"AWS": "*"}}, True),
        ("aws-star-list", {"Principal": {"AWS": ["*"]}}, True),
        ("conditioned", {"Principal": "*", "Condition": {"IpAddress": {"aws:SourceIp": "10.0.0.0/8"}}}, False),
        ("account", {"Principal": {"AWS": "arn:aws:iam::123456789012:root"}}, False),
        ("deny-star", {"Principal": "*", "Effect": "Deny"}, False),
    ]

    def test_is_public_follows_the_policy(self):
        s3 = self.world.fake_client("s3")
        for name, stmt, public in self.CASES:
            with self.subTest(name):
                bucket = f"policy-{name}"
                full = {"Effect": "Allow", "Action": "s3:GetObject", "Resource": f"arn:aws:s3:::{bucket}/*"}
                full.update(stmt)
                self.world.bucket(bucket, policy={"Version": "2012-10-17", "Statement": [full]})
                status = s3.get_bucket_policy_status(Bucket=bucket)["PolicyStatus"]
                self.assertEqual(status, {"IsPublic": public})

    def test_without_a_policy_or_a_bucket_it_is_an_error(self):
        self.world.bucket("no-policy-bucket")
        s3 = self.world.fake_client("s3")
        self.assertEqual(error_of(s3.get_bucket_policy_status, Bucket="no-policy-bucket"),
                         ("NoSuchBucketPolicy", 404))
        self.assertEqual(error_of(s3.get_bucket_policy_status, Bucket="no-such-bucket"),
                         ("NoSuchBucket", 404))


class TestEc2Filters(WorldTestCase):
    def test_attachment_status_filter_on_network_interfaces(self):
        inst = self.world.instance(enis=3)
        loose = self.world.ec2.create_network_interface(SubnetId=inst.subnet)["NetworkInterface"]
        ec2 = self.world.fake_client("ec2")

        def enis(*filters):
            got = ec2.describe_network_interfaces(Filters=[{"Name": n, "Values": v} for n, v in filters])
            return sorted(n["NetworkInterfaceId"] for n in got["NetworkInterfaces"])
        self.assertEqual(enis(("attachment.status", ["attached"])), sorted(inst.enis))
        self.assertEqual(enis(("attachment.status", ["att*"]), ("attachment.instance-id", [inst.id])),
                         sorted(inst.enis))  # moto applies the other filter, the fake this one
        self.assertEqual(enis(("attachment.status", ["detached"])), [])
        self.assertEqual(enis(("attachment.device-index", ["1", "2"])), sorted(inst.enis[1:]))
        self.assertIn(loose["NetworkInterfaceId"], enis(("vpc-id", [inst.vpc])))  # untouched
        self.assertEqual(enis(("vpc-id", ["vpc-00000000"]), ("attachment.status", ["attached"])), [])

    def test_instance_profile_filter_on_instances(self):
        prof = self.world.instance_profile()
        with_profile = self.world.instance(profile=prof.name)
        self.world.instance()
        got = self.world.fake_client("ec2").describe_instances(
            Filters=[{"Name": "iam-instance-profile.arn", "Values": [prof.arn]}])
        ids = [i["InstanceId"] for r in got["Reservations"] for i in r["Instances"]]
        self.assertEqual(ids, [with_profile.id])


class TestFaults(WorldTestCase):
    # (service, call, fault match, kind) -> the (code, status) AWS would send
    CASES = [
        ("ec2", "describe_vpcs", "DescribeVpcs", "throttle", ("RequestLimitExceeded", 503)),
        ("iam", "list_users", "ListUsers", "throttle", ("Throttling", 400)),
        ("ssm", "describe_parameters", "AmazonSSM.DescribeParameters", "throttle", ("ThrottlingException", 400)),
        ("s3", "list_buckets", "ListBuckets", "throttle", ("SlowDown", 503)),
        ("sts", "get_caller_identity", "GetCallerIdentity", "500", ("InternalFailure", 500)),
        ("ec2", "describe_vpcs", "DescribeVpcs", "503", ("Unavailable", 503)),
        ("ssm", "describe_parameters", "DescribeParameters", "500", ("InternalServerError", 500)),
        ("iam", "list_users", "ListUsers", "html500", ("500", 500)),
        ("ec2", "describe_vpcs", "DescribeVpcs", "empty503", ("503", 503)),
    ]

    def test_each_fault_comes_count_times_then_stops(self):
        for service, call, match, kind, expected in self.CASES:
            with self.subTest(kind=kind, service=service):
                self.world.reset()
                self.world.fault(match, kind, count=2)
                method = getattr(self.world.fake_client(service), call)
                self.assertEqual([error_of(method), error_of(method)], [expected, expected])
                method()  # the third goes through
                self.assertEqual([e["fault"] for e in self.world.log()], [kind, kind, None])

    def test_botocore_retries_the_throttles_as_it_would_aws(self):
        # botocore retries a throttle only when it knows the code (or the
        # status): the fake's answers must be recognisable, protocol by protocol.
        for service, call, match in (("ec2", "describe_vpcs", "DescribeVpcs"),
                                     ("ssm", "describe_parameters", "DescribeParameters"),
                                     ("s3", "list_buckets", "ListBuckets")):
            with self.subTest(service):
                self.world.reset()
                self.world.fault(match, "throttle", count=1)
                result = getattr(self.world.fake_client(service, attempts=3), call)()
                self.assertEqual(result["ResponseMetadata"]["RetryAttempts"], 1)
                self.assertEqual([e["fault"] for e in self.world.log()], ["throttle", None])

    def test_drop_closes_the_connection_without_an_answer(self):
        self.world.fault("DescribeVpcs", "drop", count=1)
        with self.assertRaises(ConnectionClosedError):
            self.world.fake_client("ec2").describe_vpcs()
        self.world.fake_client("ec2").describe_vpcs()
        self.assertEqual([e["fault"] for e in self.world.log("DescribeVpcs")], ["drop", None])

    def test_slow_delays_then_answers(self):
        self.world.fault("ListUsers", "slow", count=1, delay_ms=400)
        iam = self.world.fake_client("iam")
        start = time.monotonic()
        iam.list_users()
        self.assertGreaterEqual(time.monotonic() - start, 0.4)
        start = time.monotonic()
        iam.list_users()
        self.assertLess(time.monotonic() - start, 0.4)

    def test_log_says_what_was_asked_and_whether_it_was_signed(self):
        self.world.fake_client("ec2").describe_vpcs()
        error_of(anonymous(self.world, "sts").get_caller_identity)
        log = self.world.log()
        self.assertEqual([(e["service"], e["action"], e["had_auth"], e["method"]) for e in log],
                         [("ec2", "DescribeVpcs", True, "POST"), ("sts", "GetCallerIdentity", False, "POST")])
        self.assertEqual(log[1]["auth"], "missing")


class TestSignatures(WorldTestCase):
    WRONG = {"ec2": ("describe_vpcs", ("AuthFailure", 401)),
             "iam": ("list_users", ("SignatureDoesNotMatch", 403)),
             "sts": ("get_caller_identity", ("SignatureDoesNotMatch", 403)),
             "ssm": ("describe_parameters", ("InvalidSignatureException", 400)),
             "s3": ("list_buckets", ("SignatureDoesNotMatch", 403))}

    def test_the_fake_refuses_a_wrong_secret_and_accepts_the_right_one(self):
        for service, (call, expected) in self.WRONG.items():
            with self.subTest(service):
                bad = self.world.fake_client(service, secret="not-the-secret")
                self.assertEqual(error_of(getattr(bad, call)), expected)
                getattr(self.world.fake_client(service), call)()

    def test_the_fake_refuses_unsigned_and_unknown_keys(self):
        expected = {"ssm": ("describe_parameters", ("MissingAuthenticationTokenException", 400)),
                    "iam": ("list_users", ("MissingAuthenticationToken", 403)),
                    "ec2": ("describe_vpcs", ("MissingParameter", 400)),
                    "s3": ("list_buckets", ("AccessDenied", 403))}
        for service, (call, error) in expected.items():
            with self.subTest(service):
                self.assertEqual(error_of(getattr(anonymous(self.world, service), call)), error)
                self.assertEqual(self.world.log()[-1]["auth"], "missing")
        stranger = self.world.fake_client("iam", key="AKIAIOSFODNN7STRANGE")
        self.assertEqual(error_of(stranger.list_users), ("InvalidClientTokenId", 403))

    def test_the_fake_refuses_a_stale_date_and_a_changed_body(self):
        body = "Action=DescribeVpcs&Version=2016-11-15"
        url = self.world.fake_url + "/"
        status, _ = post(url, *signed(url, body, "ec2"))
        self.assertEqual(status, 200)  # the signing helper is right
        status, data = post(url, *signed(url, body, "ec2", stamp="20200101T000000Z"))
        self.assertEqual((status, b"<Code>RequestExpired</Code>" in data), (400, True))
        headers, _ = signed(url, body, "ec2")
        status, data = post(url, headers, body.replace("DescribeVpcs", "DescribeVolumes"))
        self.assertEqual((status, b"<Code>AuthFailure</Code>" in data), (401, True))

    def test_assumed_role_credentials_are_learned_and_checked(self):
        arn = self.world.role("responder", service="lambda.amazonaws.com")
        creds = self.world.fake_client("sts").assume_role(RoleArn=arn, RoleSessionName="test")["Credentials"]
        sts = self.world.fake_client("sts", key=creds["AccessKeyId"], secret=creds["SecretAccessKey"],
                                     token=creds["SessionToken"])
        self.assertIn("assumed-role", sts.get_caller_identity()["Arn"])
        bad = self.world.fake_client("sts", key=creds["AccessKeyId"], secret=creds["SecretAccessKey"],
                                     token="not-the-token")
        self.assertEqual(error_of(bad.get_caller_identity), ("InvalidClientTokenId", 403))

    def test_moto_checks_signatures_through_the_proxy(self):
        inst = self.world.instance()
        self.world.verify_signatures(False)  # moto alone judges from here on
        calls = {"ec2": "describe_vpcs", "iam": "list_users", "s3": "list_buckets",
                 "ssm": "describe_parameters", "sts": "get_caller_identity"}
        with self.world.moto_auth() as admin:
            for service, call in calls.items():
                with self.subTest(service):
                    # Passes only if the proxy kept Host: moto recomputes the
                    # signature over the Host header it receives.
                    getattr(self.world.fake_client(service, key=admin.key, secret=admin.secret), call)()
                    bad = self.world.fake_client(service, key=admin.key, secret="wrong")
                    # moto answers SSM's with a query-protocol XML body, which
                    # boto3 reads only as "403"; the others parse.
                    self.assertIn(error_of(getattr(bad, call)),
                                  [("AuthFailure", 401), ("SignatureDoesNotMatch", 403), ("403", 403)])
            test_key = self.world.fake_client("iam")
            self.assertEqual(error_of(test_key.list_users)[0], "InvalidClientTokenId")
            # Answers the fake makes (its own calls to moto, or a changed
            # request re-signed) use the client's key when it knows it.
            ec2 = self.world.fake_client("ec2", key=admin.key, secret=admin.secret)
            self.assertEqual(ec2.get_console_screenshot(InstanceId=inst.id)["InstanceId"], inst.id)
            enis = ec2.describe_network_interfaces(Filters=[{"Name": "attachment.status", "Values": ["attached"]}])
            self.assertEqual([n["NetworkInterfaceId"] for n in enis["NetworkInterfaces"]], inst.enis)
        self.assertTrue(all(e["auth"] is None for e in self.world.log()))


class TestConnections(WorldTestCase):
    def test_one_kept_alive_connection_carries_many_requests(self):
        url = self.world.fake_url + "/"
        parts = urlsplit(url)
        conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=10)
        try:
            statuses, sockets = [], set()
            for _ in range(10):
                statuses.append(post(url, *signed(url, "Action=GetCallerIdentity&Version=2011-06-15", "sts"),
                                     conn=conn)[0])
                sockets.add(id(conn.sock))
        finally:
            conn.close()
        self.assertEqual(statuses, [200] * 10)
        self.assertEqual(len(sockets), 1)

    def test_concurrent_clients_all_get_answers(self):
        self.world.bucket("shared-bucket")
        errors = []

        def work(n):
            try:
                s3 = self.world.client("s3", endpoint=self.world.fake_url)  # one client, many threads
                for i in range(5):
                    s3.put_object(Bucket="shared-bucket", Key=f"{n}/{i}", Body=b"x" * 100)
            except Exception as exc:  # noqa: BLE001 - reported below
                errors.append(exc)
        threads = [threading.Thread(target=work, args=(n,)) for n in range(8)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(60)
        self.assertEqual(errors, [])
        keys = self.world.s3.list_objects_v2(Bucket="shared-bucket")["KeyCount"]
        self.assertEqual(keys, 40)
