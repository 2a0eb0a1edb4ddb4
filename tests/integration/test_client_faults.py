"""`deadbolt call` under the fake's injected faults (POST /__fake/faults):
throttling, 500/503 (an AWS error, an HTML page, an empty body), a dropped
connection and a slow answer are retried (standard mode: 3 attempts,
full-jitter backoff capped at 20 s, 30 s per call) and then succeed or fail
cleanly within the bound; errors that are not transient are sent once.
The fake's log (GET /__fake/log) counts the attempts.

Slow answers use `--cli-read-timeout` (the per-attempt timeout, 10 s by
default) to stay short. Not here: clock-skew correction (the fake's Date is always right; faking
deadbolt's clock would need libfaketime). Owned by the client's integration
tests."""

import json

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
