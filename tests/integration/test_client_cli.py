"""The `deadbolt call` command line: usage errors, and where the region,
credentials and endpoint come from (--region, --profile, ~/.aws/credentials
and config, credential_process, role_arn + source_profile,
AWS_ENDPOINT_URL[_EC2], --endpoint-url), each proved by a call that only
succeeds when the setting was used: moto checks signatures, so only the
right credentials get through, and the environment's are made wrong."""

import json
import os
import shutil
import socket
import stat
import sys
import tempfile
import textwrap
import unittest

import boto3
from botocore.config import Config

from client_support import boto3_client, parse_error
from harness.world import ACCESS_KEY, AMI, SECRET_KEY, WorldTestCase

USAGE = "usage: deadbolt call SERVICE OPERATION"
OTHER_REGION = "eu-west-1"


def dead_url():
    """A loopback URL nothing listens on (connection refused at once)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return f"http://127.0.0.1:{s.getsockname()[1]}"


class TestUsage(WorldTestCase):
    """Mistakes on the command line: exit 2, a short message, nothing sent."""

    def assert_refused(self, argv, says):
        self.world.control("/__fake/reset", {})
        rc, out, err = self.world.deadbolt(*argv)
        self.assertEqual((rc, out), (2, ""), f"{argv}: {err!r}")
        first = err.splitlines()[0] if err else ""
        self.assertIn(says, first, f"{argv}")
        self.assertLessEqual(len(err.splitlines()), 2, f"{argv}: a short message, got {err!r}")
        self.assertEqual(self.world.log(), [], f"{argv}: a request was sent")
        return err

    def test_missing_or_extra_arguments_print_the_usage(self):
        cases = [
            ["call"],
            ["call", "ec2"],
            ["call", "ec2", "DescribeInstances", "{}", "extra"],
            ["call", "ec2", "DescribeInstances", "--region"],
            ["call", "ec2", "DescribeInstances", "--endpoint-url"],
            ["call", "ec2", "DescribeInstances", "--no-such-option"],
            ["call", "--profile"],
        ]
        for argv in cases:
            with self.subTest(argv=argv):
                self.assert_refused(argv, USAGE)

    def test_an_unknown_operation_or_service_is_refused(self):
        for argv in (["call", "ec2", "DescribeInstancez"], ["call", "ec2", "describeinstances"],
                     ["call", "EC2", "DescribeInstances"], ["call", "ec3", "DescribeInstances"],
                     ["call", "lambda", "Invoke"]):
            with self.subTest(argv=argv):
                err = self.assert_refused(argv, "unknown operation")
                self.assertIn(f"{argv[1]}.{argv[2]}", err)
        # boto3's method name is the operation too.
        rc, out, err = self.world.deadbolt("call", "ec2", "describe_instances")
        self.assertEqual((rc, err, json.loads(out)["Reservations"]), (0, "", []))

    def test_parameters_that_are_not_a_json_object_are_refused(self):
        for params in ("{bad", "", "42", "null", '{"InstanceIds": ["i-1"]} trailing', "{'single': 1}"):
            with self.subTest(params=params):
                self.assert_refused(["call", "ec2", "DescribeInstances", params], "not a JSON object")

    def test_a_json_array_is_refused_as_parameters(self):
        for params in ("[]", '["i-1"]'):
            with self.subTest(params=params):
                self.assert_refused(["call", "ec2", "DescribeInstances", params], "not a JSON object")

    def test_options_may_come_anywhere_after_call_and_with_equals(self):
        self.world.instance()
        for argv in (["call", "--region=us-east-1", "ec2", "DescribeInstances", "{}"],
                     ["call", "ec2", "--endpoint-url", self.world.fake_url, "DescribeInstances"],
                     ["call", "ec2", "DescribeInstances", "--profile=default", "--region", "us-east-1"]):
            with self.subTest(argv=argv):
                rc, out, err = self.world.deadbolt(*argv)
                self.assertEqual((rc, err), (0, ""))
                self.assertEqual(len(json.loads(out)["Reservations"]), 1)


class TestSettings(WorldTestCase):
    """A temporary HOME with ~/.aws files; moto checking signatures with the
    admin key, which only the setting under test knows."""

    def setUp(self):
        super().setUp()
        self.home = tempfile.mkdtemp(prefix="deadbolt-cli-home-")
        self.addCleanup(shutil.rmtree, self.home, ignore_errors=True)
        os.mkdir(os.path.join(self.home, ".aws"))

    def signed_on(self):
        self.admin = self.enterContext(self.world.moto_auth())
        return self.admin

    def write(self, name, text):
        path = os.path.join(self.home, ".aws", name)
        with open(path, "w", encoding="utf-8") as f:
            f.write(textwrap.dedent(text))
        return path

    def run_call(self, *argv, env=None):
        """deadbolt call with HOME the temporary one; the environment's keys
        the admin key with a WRONG secret unless env says otherwise."""
        full = {"HOME": self.home, "AWS_ENDPOINT_URL": self.world.moto_url, "AWS_MAX_ATTEMPTS": "1"}
        if hasattr(self, "admin"):
            full.update(AWS_ACCESS_KEY_ID=self.admin.key, AWS_SECRET_ACCESS_KEY=self.admin.secret[:-4] + "XXXX")
        full.update(env or {})
        return self.world.deadbolt("call", *argv, env=full)

    def assert_caller(self, rc_out_err, arn_suffix):
        rc, out, err = rc_out_err
        self.assertEqual((rc, err), (0, ""))
        arn = json.loads(out)["Arn"]
        self.assertTrue(arn.endswith(arn_suffix), arn)

    def assert_rejected(self, rc_out_err):
        rc, out, err = rc_out_err
        self.assertEqual((rc, out), (1, ""))
        self.assertIn(parse_error(err)["code"], {"SignatureDoesNotMatch", "InvalidClientTokenId", "AuthFailure"})

    # --- credentials ---

    def test_the_environments_wrong_secret_is_rejected(self):
        """The control for the tests below: without a profile the
        environment's keys are used, and moto refuses them."""
        self.signed_on()
        self.assert_rejected(self.run_call("sts", "GetCallerIdentity"))
        self.assert_caller(self.run_call("sts", "GetCallerIdentity",
                                         env={"AWS_SECRET_ACCESS_KEY": self.admin.secret}),
                           ":user/moto-auth-admin")

    def test_an_explicit_profile_beats_the_environments_keys(self):
        admin = self.signed_on()
        self.write("credentials", f"""\
            [default]
            aws_access_key_id = {ACCESS_KEY}
            aws_secret_access_key = wrong-default-secret
            [responder]
            aws_access_key_id = {admin.key}
            aws_secret_access_key = {admin.secret}
            """)
        self.assert_caller(self.run_call("sts", "GetCallerIdentity", "--profile", "responder"),
                           ":user/moto-auth-admin")
        self.assert_caller(self.run_call("sts", "GetCallerIdentity", "--profile=responder"),
                           ":user/moto-auth-admin")
        # AWS_PROFILE names the profile, but the environment's keys come first (as in the SDKs)...
        self.assert_rejected(self.run_call("sts", "GetCallerIdentity", env={"AWS_PROFILE": "responder"}))
        # ...and without them, AWS_PROFILE's keys are used.
        self.assert_caller(self.run_call("sts", "GetCallerIdentity", env={
            "AWS_PROFILE": "responder", "AWS_ACCESS_KEY_ID": None, "AWS_SECRET_ACCESS_KEY": None}),
            ":user/moto-auth-admin")
        # An unknown profile is an error, not a fallback to other keys.
        rc, out, err = self.run_call("sts", "GetCallerIdentity", "--profile", "nobody")
        self.assertEqual((rc, out), (1, ""))
        self.assertIn("nobody", err)

    def test_credential_and_config_files_named_by_the_environment(self):
        admin = self.signed_on()
        elsewhere = tempfile.mkdtemp(prefix="deadbolt-cli-files-")
        self.addCleanup(shutil.rmtree, elsewhere, ignore_errors=True)
        creds = os.path.join(elsewhere, "creds")
        with open(creds, "w", encoding="utf-8") as f:
            f.write(f"[ops]\naws_access_key_id = {admin.key}\naws_secret_access_key = {admin.secret}\n")
        self.write("credentials", "[ops]\naws_access_key_id = AKIAWRONG\naws_secret_access_key = wrong\n")
        self.assert_caller(self.run_call("sts", "GetCallerIdentity", "--profile", "ops",
                                         env={"AWS_SHARED_CREDENTIALS_FILE": creds}),
                           ":user/moto-auth-admin")

    def test_credential_process_output_is_used(self):
        admin = self.signed_on()
        script = os.path.join(self.home, "creds.py")
        with open(script, "w", encoding="utf-8") as f:
            f.write("import json\nprint(json.dumps({'Version': 1, 'AccessKeyId': %r, "
                    "'SecretAccessKey': %r}))\n" % (admin.key, admin.secret))
        os.chmod(script, stat.S_IRWXU)
        self.write("config", f"""\
            [profile vault]
            credential_process = {sys.executable} {script}
            region = us-east-1
            """)
        self.assert_caller(self.run_call("sts", "GetCallerIdentity", "--profile", "vault"),
                           ":user/moto-auth-admin")
        # A process that fails stops the call with its error.
        self.write("config", "[profile vault]\ncredential_process = /bin/false\n")
        rc, out, err = self.run_call("sts", "GetCallerIdentity", "--profile", "vault")
        self.assertEqual((rc, out), (1, ""))
        self.assertTrue(err.strip())

    def test_role_arn_with_source_profile_assumes_the_role(self):
        admin = self.signed_on()
        iam = boto3_client("iam", self.world.moto_url, admin.key, admin.secret)
        trust = {"Version": "2012-10-17", "Statement": [{
            "Effect": "Allow", "Action": "sts:AssumeRole",
            "Principal": {"AWS": iam.get_user(UserName="moto-auth-admin")["User"]["Arn"]}}]}
        role = iam.create_role(RoleName="responder", AssumeRolePolicyDocument=json.dumps(trust))["Role"]["Arn"]
        iam.put_role_policy(RoleName="responder", PolicyName="all", PolicyDocument=json.dumps(
            {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]}))
        self.write("credentials", f"[base]\naws_access_key_id = {admin.key}\naws_secret_access_key = {admin.secret}\n")
        self.write("config", f"""\
            [profile responder]
            role_arn = {role}
            source_profile = base
            role_session_name = deadbolt-cli-test
            """)
        self.assert_caller(self.run_call("sts", "GetCallerIdentity", "--profile", "responder"),
                           ":assumed-role/responder/deadbolt-cli-test")

    # --- region ---

    def instance_in(self, region):
        ec2 = boto3.session.Session().client(
            "ec2", region_name=region, endpoint_url=self.world.moto_url, aws_access_key_id=ACCESS_KEY,
            aws_secret_access_key=SECRET_KEY, config=Config(retries={"total_max_attempts": 1}))  # its region
        return ec2.run_instances(ImageId=AMI, MinCount=1, MaxCount=1)["Instances"][0]["InstanceId"]

    def test_region_from_the_flag_the_environment_or_the_profile(self):
        """moto keeps each region apart: the instance made in eu-west-1 is
        seen only by a call signed for and sent to eu-west-1."""
        here = self.instance_in("us-east-1")
        there = self.instance_in(OTHER_REGION)
        admin = self.signed_on()
        self.write("credentials", f"[responder]\naws_access_key_id = {admin.key}\naws_secret_access_key = {admin.secret}\n")
        self.write("config", f"[profile responder]\nregion = {OTHER_REGION}\n")

        def seen(*argv, env=None):
            rc, out, err = self.run_call("ec2", "DescribeInstances", "--profile", "responder", *argv, env=env)
            self.assertEqual((rc, err), (0, ""))
            return [i["InstanceId"] for r in json.loads(out)["Reservations"] for i in r["Instances"]]
        no_env_region = {"AWS_REGION": None, "AWS_DEFAULT_REGION": None}
        self.assertEqual(seen(env=no_env_region), [there])                       # the profile's
        self.assertEqual(seen(), [here])                                         # AWS_REGION beats it
        self.assertEqual(seen(env={"AWS_REGION": None}), [here])                 # so does AWS_DEFAULT_REGION
        self.assertEqual(seen("--region", OTHER_REGION), [there])               # --region beats both
        self.assertEqual(seen("--region", "us-east-1", env=no_env_region), [here])

    # --- endpoints ---

    def test_endpoint_precedence(self):
        """--endpoint-url > AWS_ENDPOINT_URL_EC2 > AWS_ENDPOINT_URL > the
        profile's endpoint_url. A wrong pick lands on a dead port (exit 1,
        TransportError) or misses the fake's log."""
        self.world.instance()
        dead = dead_url()
        self.write("config", f"[default]\nendpoint_url = {dead}\n")
        good = {"AWS_ACCESS_KEY_ID": ACCESS_KEY, "AWS_SECRET_ACCESS_KEY": SECRET_KEY}  # the fake checks
        cases = [  # (env, argv, where ec2 goes: "fake" or "dead")
            ({"AWS_ENDPOINT_URL": None}, [], "dead"),                                     # profile
            ({"AWS_ENDPOINT_URL": self.world.fake_url}, [], "fake"),                       # env > profile
            ({"AWS_ENDPOINT_URL": dead, "AWS_ENDPOINT_URL_EC2": self.world.fake_url}, [], "fake"),
            ({"AWS_ENDPOINT_URL": self.world.fake_url, "AWS_ENDPOINT_URL_EC2": dead}, [], "dead"),
            ({"AWS_ENDPOINT_URL": dead, "AWS_ENDPOINT_URL_EC2": dead},
             ["--endpoint-url", self.world.fake_url], "fake"),
        ]
        for env, argv, where in cases:
            with self.subTest(env=env, argv=argv):
                self.world.control("/__fake/reset", {})
                rc, out, err = self.run_call("ec2", "DescribeInstances", *argv, env={**good, **env})
                if where == "fake":
                    self.assertEqual((rc, err), (0, ""))
                    self.assertEqual(len(json.loads(out)["Reservations"]), 1)
                    self.assertEqual([e["action"] for e in self.world.log()], ["DescribeInstances"])
                else:
                    self.assertEqual(rc, 1)
                    self.assertEqual(parse_error(err)["code"], "TransportError")
                    self.assertEqual(self.world.log(), [])
        # AWS_ENDPOINT_URL_EC2 is for EC2 only: STS still follows AWS_ENDPOINT_URL.
        rc, _, err = self.run_call("sts", "GetCallerIdentity", env={
            **good, "AWS_ENDPOINT_URL": dead, "AWS_ENDPOINT_URL_EC2": self.world.fake_url})
        self.assertEqual((rc, parse_error(err)["code"]), (1, "TransportError"))

    def test_the_endpoint_flag_reaches_moto_with_the_profiles_keys(self):
        """--endpoint-url and --profile together, with moto checking signatures."""
        admin = self.signed_on()
        self.write("credentials", f"[responder]\naws_access_key_id = {admin.key}\naws_secret_access_key = {admin.secret}\n")
        self.assert_caller(self.run_call("sts", "GetCallerIdentity", "--profile", "responder",
                                         "--endpoint-url", self.world.moto_url,
                                         env={"AWS_ENDPOINT_URL": dead_url()}),
                           ":user/moto-auth-admin")
