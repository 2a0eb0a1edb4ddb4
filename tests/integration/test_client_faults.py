"""`deadbolt call` under the fake's injected faults (POST /__fake/faults):
throttling, 500/503 (an AWS error, an HTML page, an empty body), a dropped
connection and a slow answer are retried (standard mode: 3 attempts,
full-jitter backoff capped at 20 s, 30 s per call) and then succeed or fail
cleanly within the bound; errors that are not transient are sent once.
The fake's log (GET /__fake/log) counts the attempts.

Slow answers use `--cli-read-timeout` (the per-attempt timeout, 10 s by
default) to stay short.

Clock skew: instead of faking deadbolt's clock, the fake plays a server whose
clock is off ("skew" fault: the protocol's skew error and a Date skew_s from
now). deadbolt learns the offset only when that Date is more than 240 s from
its clock, then sends once more signed for the server's time (the log's
amz_date shows it); otherwise, or when the corrected attempt fails the same
way, it fails without looping. An expired session token ("expired" fault) is
answered by resolving the credentials again and sending once more."""

import calendar
import json
import os
import shutil
import tempfile
import time

from client_support import Deadbolt, boto3_call, normalise, parse_error
from harness.world import ACCESS_KEY, SECRET_KEY, WorldTestCase

TIME_BOUND_S = 35  # 30 s per call, and the process's own start and stop
# Backoff before attempt n+1 is uniform in [0, min(2^(n-1), 20)] s: two
# retries wait at most 1 + 2 s.
TWO_RETRIES_S = 3.0
SLACK_S = 2.5  # process start, moto's answers, a loaded machine


class FaultTestCase(WorldTestCase):
    def setUp(self):
        super().setUp()
        self.db = Deadbolt(self.world, ACCESS_KEY, SECRET_KEY)

    def fresh_log(self):
        """The fake's log and faults emptied (it still knows the test key)."""
        self.world.control("/__fake/reset", {})

    def faults_seen(self, action):
        return [e["fault"] for e in self.world.log(action)]


class TestThrottling(FaultTestCase):
    # (service, operation, params, the throttle code its protocol sends)
    CASES = [
        ("ec2", "DescribeInstances", {}, "RequestLimitExceeded"),                  # ec2
        ("sts", "GetCallerIdentity", {}, "Throttling"),                            # query
        ("ssm", "DescribeInstanceInformation", {}, "ThrottlingException"),         # json
        ("s3", "PutObject", {"Bucket": "throttled-bucket", "Key": "a b/c.txt",
                             "Body": "retried body ü"}, "SlowDown"),               # rest-xml
    ]

    def setUp(self):
        super().setUp()
        self.world.bucket("throttled-bucket")

    def test_throttled_twice_then_answered(self):
        for service, operation, params, code in self.CASES:
            with self.subTest(operation=operation):
                self.fresh_log()
                self.world.ssm_managed(["i-0123456789abcdef0"])  # something to describe
                self.world.fault(operation, "throttle", count=2)
                rc, out, err, took = self.db.run(service, operation, params)
                self.assertEqual((rc, err), (0, ""))
                self.assertEqual(self.faults_seen(operation), ["throttle", "throttle", None])
                self.assertLess(took, TWO_RETRIES_S + SLACK_S)
                if operation == "PutObject":  # the body went again, whole
                    got = self.world.s3.get_object(Bucket="throttled-bucket", Key="a b/c.txt")
                    self.assertEqual(got["Body"].read(), params["Body"].encode())
                else:  # the answer is the one boto3 gets once the throttling is over
                    want = normalise(boto3_call(self.world.fake_client(service), operation, params))
                    self.assertEqual(normalise(json.loads(out)), want)

    def test_throttled_past_max_attempts_fails_cleanly(self):
        for service, operation, params, code in self.CASES:
            with self.subTest(operation=operation):
                self.fresh_log()
                self.world.fault(operation, "throttle", count=5)
                rc, out, err, took = self.db.run(service, operation, params)
                self.assertEqual((rc, out), (1, ""))
                fields = parse_error(err)
                self.assertEqual((fields["code"], fields["attempts"]), (code, 3))
                self.assertIn(fields["status"], (400, 503))
                self.assertEqual(self.faults_seen(operation), ["throttle"] * 3)
                self.assertLess(took, min(TIME_BOUND_S, TWO_RETRIES_S + SLACK_S))

    def test_aws_max_attempts_sets_the_number_of_attempts(self):
        for attempts in (1, 2):
            with self.subTest(attempts=attempts):
                self.fresh_log()
                self.world.fault("DescribeInstances", "throttle", count=5)
                rc, _, err, _ = self.db.run("ec2", "DescribeInstances", {},
                                            env={"AWS_MAX_ATTEMPTS": str(attempts)})
                self.assertEqual((rc, parse_error(err)["attempts"]), (1, attempts))
                self.assertEqual(len(self.world.log("DescribeInstances")), attempts)


class TestServerErrors(FaultTestCase):
    def test_a_5xx_once_is_retried_and_answered(self):
        inst = self.world.instance()
        cases = [  # (fault, service, operation, params): one protocol each where it can be
            ("500", "iam", "ListAccessKeys", {"UserName": "alice"}),
            ("503", "ssm", "DescribeInstanceInformation", {}),
            ("html500", "s3", "GetPublicAccessBlock", {"Bucket": "blocked-bucket"}),
            ("empty503", "ec2", "DescribeInstances", {"InstanceIds": [inst.id]}),
        ]
        self.world.iam_user("alice", keys=2)
        self.world.bucket("blocked-bucket")
        self.world.s3.put_public_access_block(Bucket="blocked-bucket", PublicAccessBlockConfiguration={
            "BlockPublicAcls": True, "IgnorePublicAcls": True, "BlockPublicPolicy": True,
            "RestrictPublicBuckets": False})
        for kind, service, operation, params in cases:
            with self.subTest(kind=kind):
                self.fresh_log()
                self.world.fault(operation, kind, count=1)
                got = self.db.ok(service, operation, params)
                self.assertEqual(self.faults_seen(operation), [kind, None])
                self.assertEqual(got, normalise(boto3_call(self.world.fake_client(service), operation, params)))

    def test_a_5xx_that_persists_fails_with_a_clear_error(self):
        cases = [  # (fault, status, what the message must say)
            ("500", 500, "An internal error has occurred"),
            ("503", 503, "The server is overloaded"),
            ("html500", 500, "not an AWS error"),
            ("empty503", 503, "empty body"),
        ]
        for kind, status, says in cases:
            with self.subTest(kind=kind):
                self.fresh_log()
                self.world.fault("DescribeInstances", kind, count=5)
                rc, out, err, took = self.db.run("ec2", "DescribeInstances", {},
                                                 env={"AWS_MAX_ATTEMPTS": "2"})
                self.assertEqual((rc, out), (1, ""))
                fields = parse_error(err)
                self.assertEqual((fields["status"], fields["attempts"]), (status, 2))
                self.assertIn(says, fields["message"])
                self.assertNotIn("<html>", err)
                self.assertEqual(self.faults_seen("DescribeInstances"), [kind, kind])
                self.assertLess(took, 1.0 + SLACK_S)


class TestPerCallOptions(FaultTestCase):
    """__attempts and __deadline in the parameters: one call's own bound,
    lower than the client's, taken out before the model sees the table."""

    def test_attempts_1_sends_a_failing_call_once(self):
        self.world.fault("DescribeInstances", "500", count=5)
        rc, out, err, took = self.db.run("ec2", "DescribeInstances", {"__attempts": 1})
        self.assertEqual((rc, out), (1, ""))
        fields = parse_error(err)
        self.assertEqual((fields["status"], fields["attempts"]), (500, 1))
        self.assertEqual(self.faults_seen("DescribeInstances"), ["500"])
        self.assertLess(took, 1.0 + SLACK_S)

    def test_deadline_gives_up_on_a_slow_answer_without_a_retry(self):
        self.world.fault("DescribeInstances", "slow", count=5, delay_ms=4000)
        rc, out, err, took = self.db.run("ec2", "DescribeInstances", {"__deadline": 0.5})
        self.assertEqual((rc, out), (1, ""))
        fields = parse_error(err)
        self.assertEqual((fields["code"], fields["attempts"]), ("Timeout", 1))
        self.assertLess(took, 0.5 + SLACK_S)

    def test_options_are_not_sent_and_a_bad_one_is_refused_before_sending(self):
        inst = self.world.instance()
        self.db.ok("ec2", "DescribeInstances", {"InstanceIds": [inst.id], "__attempts": 2, "__deadline": 5})
        self.fresh_log()
        rc, _, err, _ = self.db.run("ec2", "DescribeInstances", {"__attempts": 0})
        self.assertEqual(rc, 1)
        self.assertEqual(parse_error(err)["code"], "ValidationError")
        self.assertIn("__attempts", err)
        self.assertEqual(self.world.log("DescribeInstances"), [], "nothing was sent")


class TestConnections(FaultTestCase):
    def test_a_dropped_connection_is_retried(self):
        self.world.bucket("dropped-bucket")
        self.world.fault("PutObject", "drop", count=1)
        self.db.ok("s3", "PutObject", {"Bucket": "dropped-bucket", "Key": "k", "Body": "after a drop"})
        self.assertEqual(self.faults_seen("PutObject"), ["drop", None])
        got = self.world.s3.get_object(Bucket="dropped-bucket", Key="k")["Body"].read()
        self.assertEqual(got, b"after a drop")

    def test_connections_dropped_every_time_fail_cleanly(self):
        self.world.fault("GetCallerIdentity", "drop", count=5)
        rc, out, err, took = self.db.run("sts", "GetCallerIdentity")
        self.assertEqual((rc, out), (1, ""))
        fields = parse_error(err)
        self.assertEqual((fields["code"], fields["status"], fields["attempts"]), ("TransportError", None, 3))
        self.assertEqual(self.faults_seen("GetCallerIdentity"), ["drop"] * 3)
        self.assertLess(took, TWO_RETRIES_S + SLACK_S)

    def test_a_slow_answer_within_the_timeout_is_waited_for(self):
        inst = self.world.instance()
        self.world.fault("DescribeInstances", "slow", count=1, delay_ms=2500)
        rc, out, err, took = self.db.run("ec2", "DescribeInstances", {"InstanceIds": [inst.id]})
        self.assertEqual((rc, err), (0, ""))
        self.assertIn(inst.id, out)
        self.assertEqual(self.faults_seen("DescribeInstances"), ["slow"])  # not sent again
        self.assertGreaterEqual(took, 2.5)
        self.assertLess(took, 10)

    def test_an_answer_slower_than_the_attempt_timeout_is_given_up_and_retried(self):
        inst = self.world.instance()
        self.world.fault("DescribeInstances", "slow", count=1, delay_ms=15000)
        rc, out, err, took = self.db.run("ec2", "DescribeInstances", {"InstanceIds": [inst.id]},
                                         args=("--cli-read-timeout", "2"))
        self.assertEqual((rc, err), (0, ""))
        self.assertIn(inst.id, out)
        self.assertEqual(self.faults_seen("DescribeInstances"), ["slow", None])
        self.assertGreaterEqual(took, 2)
        self.assertLess(took, 2 + 1 + SLACK_S)

    def test_answers_always_too_slow_fail_cleanly_after_every_attempt(self):
        self.world.fault("DescribeInstances", "slow", count=3, delay_ms=15000)
        rc, out, err, took = self.db.run("ec2", "DescribeInstances", {},
                                         args=("--cli-read-timeout", "1"))
        self.assertEqual((rc, out), (1, ""))
        fields = parse_error(err)
        self.assertEqual((fields["code"], fields["attempts"]), ("Timeout", 3))
        self.assertEqual(self.faults_seen("DescribeInstances"), ["slow"] * 3)
        self.assertGreaterEqual(took, 3)
        self.assertLess(took, 3 + TWO_RETRIES_S + SLACK_S)


class TestNotRetried(FaultTestCase):
    def test_client_errors_are_sent_once(self):
        inst = self.world.instance()
        cases = [  # (service, operation, params, code, status)
            ("ec2", "DescribeInstances", {"InstanceIds": ["i-0123456789abcdef0"]},
             "InvalidInstanceID.NotFound", 400),
            ("ec2", "GetConsoleScreenshot", {"InstanceId": inst.id}, "UnsupportedOperation", 400),
            ("iam", "GetUserPolicy", {"UserName": "nobody", "PolicyName": "p"}, "NoSuchEntity", 404),
            ("s3", "GetPublicAccessBlock", {"Bucket": "no-such-bucket"}, "NoSuchBucket", 404),
        ]
        for service, operation, params, code, status in cases:
            with self.subTest(operation=operation):
                self.fresh_log()
                self.world.screenshot_fails("UnsupportedOperation")
                fields = parse_error(self.db.fails(service, operation, params))
                self.assertEqual((fields["code"], fields["status"], fields["attempts"]), (code, status, 1))
                self.assertEqual(len(self.world.log(operation)), 1)

    def test_access_denied_is_sent_once(self):
        nobody = self.world.iam_user("nobody", keys=1)  # no policy: may do nothing
        key = nobody.keys[0]
        with self.world.moto_auth():
            self.world.control("/__fake/credentials", {"access_key_id": key["id"],
                                                       "secret_access_key": key["secret"]})
            before = len(self.world.log("ListAccessKeys"))
            denied = Deadbolt(self.world, key["id"], key["secret"])
            fields = parse_error(denied.fails("iam", "ListAccessKeys", {"UserName": "nobody"}))
            self.assertEqual((fields["code"], fields["status"], fields["attempts"]), ("AccessDenied", 403, 1))
            self.assertEqual(len(self.world.log("ListAccessKeys")) - before, 1)
            self.assertIsNone(self.world.log("ListAccessKeys")[-1]["auth"])  # moto refused, not the fake


def signed_at(entry):
    """The epoch second a logged request was signed for (its X-Amz-Date)."""
    return calendar.timegm(time.strptime(entry["amz_date"], "%Y%m%dT%H%M%SZ"))


class TestClockSkew(FaultTestCase):
    # (service, operation, params, the code its protocol sends for skew)
    CASES = [
        ("ec2", "DescribeInstances", {}, "RequestExpired"),                       # ec2
        ("sts", "GetCallerIdentity", {}, "SignatureDoesNotMatch"),                # query
        ("ssm", "DescribeInstanceInformation", {}, "InvalidSignatureException"),  # json
        ("s3", "GetPublicAccessBlock", {"Bucket": "skewed-bucket"}, "RequestTimeTooSkewed"),  # rest-xml
    ]
    LEARN_SLACK_S = 30  # the Date has 1 s resolution; the two attempts are moments apart

    def setUp(self):
        super().setUp()
        self.world.bucket("skewed-bucket")
        self.world.s3.put_public_access_block(Bucket="skewed-bucket", PublicAccessBlockConfiguration={
            "BlockPublicAcls": True, "IgnorePublicAcls": False, "BlockPublicPolicy": True,
            "RestrictPublicBuckets": False})

    def skew(self, match, skew_s, count=1):
        self.world.control("/__fake/faults", {"match": match, "kind": "skew", "count": count,
                                              "skew_s": skew_s})

    def test_a_far_server_clock_is_learned_and_the_call_signed_again_for_it(self):
        for service, operation, params, _ in self.CASES:
            for skew_s in (3600, -3600):  # the server ahead of us, then behind
                with self.subTest(operation=operation, skew_s=skew_s):
                    self.fresh_log()
                    self.skew(operation, skew_s)
                    got = self.db.ok(service, operation, params)
                    log = self.world.log(operation)
                    self.assertEqual([e["fault"] for e in log], ["skew", None])
                    self.assertEqual((log[1]["auth"], log[1]["status"]), (None, 200))  # the fake's check passed
                    self.assertAlmostEqual(signed_at(log[1]) - signed_at(log[0]), skew_s,
                                           delta=self.LEARN_SLACK_S)
                    want = normalise(boto3_call(self.world.fake_client(service), operation, params))
                    self.assertEqual(got, want)

    def test_a_server_clock_within_the_threshold_is_not_a_reason_to_retry(self):
        """A skew-type error whose Date agrees with ours (+60 s) is a genuine
        signature problem: sent once, never looped on."""
        for service, operation, params, code in self.CASES:
            with self.subTest(operation=operation):
                self.fresh_log()
                self.skew(operation, 60, count=5)
                rc, out, err, took = self.db.run(service, operation, params)
                self.assertEqual((rc, out), (1, ""))
                fields = parse_error(err)
                self.assertEqual((fields["code"], fields["attempts"]), (code, 1))
                self.assertEqual(self.faults_seen(operation), ["skew"])
                self.assertLess(took, SLACK_S)

    def test_skew_after_the_correction_fails_cleanly_without_a_loop(self):
        for service, operation, params, code in self.CASES:
            with self.subTest(operation=operation):
                self.fresh_log()
                self.skew(operation, 3600, count=5)
                rc, out, err, took = self.db.run(service, operation, params)
                self.assertEqual((rc, out), (1, ""))
                fields = parse_error(err)
                self.assertEqual((fields["code"], fields["attempts"]), (code, 2))
                log = self.world.log(operation)
                self.assertEqual([e["fault"] for e in log], ["skew", "skew"])
                self.assertAlmostEqual(signed_at(log[1]) - signed_at(log[0]), 3600,
                                       delta=self.LEARN_SLACK_S)
                self.assertLess(took, SLACK_S)


class TestExpiredToken(FaultTestCase):
    ROTATED_KEY = "AKIAIOSFODNN7ROTATED"
    ROTATED_SECRET = "rotatedSecretKeyForTheExpiredTokenTest0000"

    def test_an_expired_token_is_answered_by_resolving_credentials_again(self):
        cases = [  # the protocols whose services send ExpiredToken(Exception); not EC2's
            ("sts", "GetCallerIdentity", {}),
            ("iam", "ListAccessKeys", {"UserName": "alice"}),
            ("ssm", "DescribeInstanceInformation", {}),
            ("s3", "GetPublicAccessBlock", {"Bucket": "token-bucket"}),
        ]
        self.world.iam_user("alice", keys=1)
        self.world.bucket("token-bucket")
        self.world.s3.put_public_access_block(Bucket="token-bucket", PublicAccessBlockConfiguration={
            "BlockPublicAcls": True, "IgnorePublicAcls": True, "BlockPublicPolicy": False,
            "RestrictPublicBuckets": False})
        for service, operation, params in cases:
            with self.subTest(operation=operation):
                self.fresh_log()
                self.world.fault(operation, "expired", count=1)
                got = self.db.ok(service, operation, params)
                self.assertEqual(self.faults_seen(operation), ["expired", None])
                want = normalise(boto3_call(self.world.fake_client(service), operation, params))
                self.assertEqual(got, want)

    def test_an_expired_token_twice_fails_cleanly(self):
        self.world.fault("GetCallerIdentity", "expired", count=5)
        rc, out, err, took = self.db.run("sts", "GetCallerIdentity")
        self.assertEqual((rc, out), (1, ""))
        fields = parse_error(err)
        self.assertEqual((fields["code"], fields["status"], fields["attempts"]), ("ExpiredToken", 403, 2))
        self.assertEqual(self.faults_seen("GetCallerIdentity"), ["expired", "expired"])
        self.assertLess(took, SLACK_S)

    def test_ec2_request_expired_with_a_right_clock_refreshes_temporary_credentials(self):
        """EC2 says RequestExpired for expired temporary credentials too: with
        the Date right (nothing to learn) and a session token, the client
        tries fresh credentials once; with long-term keys it does not."""
        self.world.fault("DescribeInstances", "expired", count=1)
        rc, out, err, _ = self.db.run("ec2", "DescribeInstances", {},
                                      env={"AWS_SESSION_TOKEN": "FwoGZXIvYXdzEXAMPLETOKEN"})
        self.assertEqual((rc, err), (0, ""))
        self.assertEqual(self.faults_seen("DescribeInstances"), ["expired", None])
        self.fresh_log()
        self.world.fault("DescribeInstances", "expired", count=1)
        rc, out, err, _ = self.db.run("ec2", "DescribeInstances", {})
        self.assertEqual((rc, parse_error(err)["code"]), (1, "RequestExpired"))
        self.assertEqual(self.faults_seen("DescribeInstances"), ["expired"])

    def test_the_retry_after_an_expired_token_is_signed_with_the_new_credentials(self):
        """credential_process hands out the test key, then a rotated one: the
        attempt after ExpiredToken must use what the second run printed."""
        self.world.control("/__fake/credentials", {"access_key_id": self.ROTATED_KEY,
                                                   "secret_access_key": self.ROTATED_SECRET})
        home = tempfile.mkdtemp(prefix="deadbolt-rotate-")
        self.addCleanup(shutil.rmtree, home, ignore_errors=True)
        script, config = os.path.join(home, "creds.sh"), os.path.join(home, "config")
        with open(script, "w") as f:
            f.write(f"""#!/bin/sh
n=$(cat "{home}/runs" 2>/dev/null || echo 0); n=$((n + 1)); echo "$n" >"{home}/runs"
if [ "$n" -eq 1 ]; then k={ACCESS_KEY}; s={SECRET_KEY}; else k={self.ROTATED_KEY}; s={self.ROTATED_SECRET}; fi
printf '{{"Version": 1, "AccessKeyId": "%s", "SecretAccessKey": "%s"}}\\n' "$k" "$s"
""")
        os.chmod(script, 0o755)
        with open(config, "w") as f:
            f.write(f"[default]\ncredential_process = {script}\n")
        self.world.fault("GetCallerIdentity", "expired", count=1)
        self.db.ok("sts", "GetCallerIdentity", env={
            "AWS_ACCESS_KEY_ID": None, "AWS_SECRET_ACCESS_KEY": None, "AWS_CONFIG_FILE": config})
        log = self.world.log("GetCallerIdentity")
        self.assertEqual([(e["fault"], e["key"]) for e in log],
                         [("expired", ACCESS_KEY), (None, self.ROTATED_KEY)])
        self.assertEqual(log[1]["auth"], None)  # signed with the rotated secret: the fake's check passed
        with open(os.path.join(home, "runs")) as f:
            self.assertEqual(f.read().strip(), "2")
