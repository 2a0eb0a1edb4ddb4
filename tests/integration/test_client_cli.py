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
        # An unknown profile is an error at start (exit 2, nothing sent), not
        # a fallback to other keys.
        rc, out, err = self.run_call("sts", "GetCallerIdentity", "--profile", "nobody")
        self.assertEqual((rc, out), (2, ""))
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


# --- help, names, text output, start-up checks, primitives -------------------

COMMANDS = ("run", "check", "call", "primitives", "lambda", "version")
ENGINE = os.path.join(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))
FINDING = os.path.join(ENGINE, "tests", "findings", "ec2-ssh-bruteforce.event.json")


def settings_read_by(paths, skip=()):
    """Every NAME_LIKE_THIS string literal of the C files under paths (the
    generated model excepted): the environment variables the code reads, by
    getenv or through a list of names (ENV_NAMES in the runner)."""
    import re
    names = set()
    for top in paths:
        for folder, _, files in os.walk(os.path.join(ENGINE, top)):
            for name in files:
                if not name.endswith(".c") or name in ("model_data.c", *skip):
                    continue
                with open(os.path.join(folder, name), encoding="utf-8") as f:
                    names |= set(re.findall(r'"(_?[A-Z][A-Z0-9]*_[A-Z0-9_]*)"', f.read()))
    return names


class TestHelp(WorldTestCase):
    def test_every_subcommand_answers_help_on_stdout(self):
        rc, top, err = self.world.deadbolt("--help")
        self.assertEqual((rc, err), (0, ""))
        for cmd in COMMANDS:
            with self.subTest(cmd=cmd):
                self.assertIn(f"  {cmd}", top)
                for argv in ([cmd, "--help"], [cmd, "-h"], ["help", cmd]):
                    rc, out, err = self.world.deadbolt(*argv, timeout=10)
                    self.assertEqual((rc, err), (0, ""), argv)
                    self.assertTrue(out.startswith(f"usage: deadbolt {cmd}"), (argv, out[:80]))
        self.assertEqual(self.world.log(), [], "help sent a request")

    def test_lambda_with_an_unknown_argument_does_not_serve(self):
        rc, out, err = self.world.deadbolt("lambda", "--hepl", timeout=10)
        self.assertEqual(rc, 2)
        self.assertIn("unexpected argument --hepl", err)

    def test_run_help_lists_every_setting_the_code_reads(self):
        """A setting read anywhere but the Lambda loop must be in `run
        --help`; the Lambda loop's own in `lambda --help`. A new getenv
        without a line in the help fails here."""
        everywhere = settings_read_by(["engine", "sandbox"])
        only_lambda = everywhere - settings_read_by(["engine", "sandbox"], skip=("lambda.c",))
        for name in ("ARTIFACT_BUCKET", "AWS_ENDPOINT_URL", "DEADBOLT_MIN_SEVERITY"):
            self.assertIn(name, everywhere - only_lambda)
        self.assertIn("DEADBOLT_PARTIAL_IS_ERROR", only_lambda)
        _, run_help, _ = self.world.deadbolt("run", "--help")
        _, lambda_help, _ = self.world.deadbolt("lambda", "--help")
        for name in sorted(everywhere - only_lambda):
            with self.subTest(name=name):
                self.assertIn(name, run_help)
        for name in sorted(only_lambda):
            with self.subTest(name=name):
                self.assertIn(name, lambda_help)
        self.assertIn("sam local invoke -e event.json", run_help)


class TestCallNames(WorldTestCase):
    def test_the_clis_boto3s_and_the_models_names_give_the_same_answer(self):
        inst = self.world.instance()
        answers = []
        for name in ("DescribeInstances", "describe_instances", "describe-instances"):
            rc, out, err = self.world.deadbolt("call", "ec2", name)
            self.assertEqual((rc, err), (0, ""), name)
            answers.append(json.loads(out)["Reservations"][0]["Instances"][0]["InstanceId"])
        self.assertEqual(answers, [inst.id] * 3)
        self.world.bucket("names-bucket", public=True)
        for name in ("GetBucketPolicyStatus", "get_bucket_policy_status", "get-bucket-policy-status"):
            rc, out, err = self.world.deadbolt("call", "s3", name, '{"Bucket": "names-bucket"}')
            self.assertEqual(rc, 0, err)
        self.assertEqual(self.world.attempts("GetBucketPolicyStatus"), 3)

    def test_an_unknown_operation_names_the_ones_there_are(self):
        rc, out, err = self.world.deadbolt("call", "ec2", "describe-instancez")
        self.assertEqual((rc, out), (2, ""))
        self.assertEqual(len(err.splitlines()), 1, err)
        self.assertIn("DescribeInstances", err)


class TestCallTextOutput(WorldTestCase):
    """--output text against awscli's own formatter (awscli/text.py, as
    installed), given the JSON output of the same call: the layout is the
    CLI's, byte for byte. Values are those of the JSON output (timestamps as
    deadbolt writes them, where the CLI would reformat them)."""

    def assert_like_the_cli(self, service, op, params="{}"):
        import io
        from awscli.text import format_text
        rc, out, err = self.world.deadbolt("call", service, op, params)
        self.assertEqual((rc, err), (0, ""))
        doc = json.loads(out)
        doc.pop("ResponseMetadata", None)
        want = io.StringIO()
        format_text(doc, want)
        rc, text, err = self.world.deadbolt("call", service, op, params, "--output", "text")
        self.assertEqual((rc, err), (0, ""))
        self.assertEqual(text, want.getvalue(), f"{service} {op}")
        return text

    def test_text_output_is_the_aws_clis_layout(self):
        try:
            import awscli.text  # noqa: F401
        except ImportError:
            self.skipTest("awscli is not installed: nothing to compare with")
        self.world.instance(enis=2, volumes=1, tags={"Name": "web", "team": "a\tb"})
        self.world.instance()
        user = self.world.iam_user("text-user", keys=2)
        self.world.bucket("text-bucket")
        self.world.s3.put_public_access_block(Bucket="text-bucket", PublicAccessBlockConfiguration={
            "BlockPublicAcls": True, "IgnorePublicAcls": False, "BlockPublicPolicy": True,
            "RestrictPublicBuckets": False})
        text = self.assert_like_the_cli("ec2", "describe-instances")
        self.assertIn("RESERVATIONS\t", text)
        self.assert_like_the_cli("ec2", "describe-security-groups")
        self.assert_like_the_cli("ec2", "describe-volumes")
        self.assert_like_the_cli("iam", "list-access-keys", json.dumps({"UserName": user.name}))
        self.assert_like_the_cli("s3", "get-public-access-block", '{"Bucket": "text-bucket"}')
        self.assert_like_the_cli("sts", "get-caller-identity")

    def test_an_unknown_output_is_a_usage_error(self):
        rc, out, err = self.world.deadbolt("call", "ec2", "DescribeInstances", "--output", "yaml")
        self.assertEqual((rc, out), (2, ""))
        self.assertIn("--output", err)
        self.assertEqual(self.world.log(), [])


class TestStartChecks(WorldTestCase):
    """A misspelt profile or a missing CA bundle: one line at start, no call
    sent, exit 2; not one failure per AWS call."""

    def assert_one_line_and_nothing_sent(self, result, says):
        rc, out, err = result
        self.assertEqual(rc, 2, err)
        self.assertEqual(out, "")
        self.assertEqual(len(err.splitlines()), 1, err)
        self.assertIn(says, err)
        self.assertEqual(self.world.log(), [], "a request was sent")

    def test_a_bad_profile_fails_once_at_start(self):
        for argv, env in ((["run", "--profile", "nope", FINDING], None),
                          (["run", "--dry-run", FINDING], {"AWS_PROFILE": "nope"}),
                          (["call", "ec2", "describe-instances", "--profile=nope"], None)):
            with self.subTest(argv=argv, env=env):
                self.world.control("/__fake/reset", {})
                self.assert_one_line_and_nothing_sent(self.world.deadbolt(*argv, env=env),
                                                      "the config profile (nope) could not be found")

    def test_a_missing_ca_bundle_fails_at_start(self):
        for argv in (["run", "--dry-run", FINDING], ["call", "sts", "get-caller-identity"]):
            with self.subTest(argv=argv):
                self.assert_one_line_and_nothing_sent(
                    self.world.deadbolt(*argv, env={"DEADBOLT_CA_BUNDLE": "/nonexistent/ca.pem"}),
                    "DEADBOLT_CA_BUNDLE names /nonexistent/ca.pem")


class TestPrimitives(WorldTestCase):
    def allow_list(self):
        """sandbox/allowlist.c's entries, read from the source (the table a
        playbook sees, not the undo-only writes of restore mode after it)."""
        import re
        with open(os.path.join(ENGINE, "sandbox", "allowlist.c"), encoding="utf-8") as f:
            src = f.read().split("undo_entries[] = {", 1)[0]
        rows = re.findall(r'\{"(\w+)", "(\w+)", ([RW]), (NULL|"\w+"), "([^"]*)"', src)
        self.assertGreater(len(rows), 30)
        return rows

    def test_lists_every_allowed_operation_with_access_undo_and_rule(self):
        from botocore import xform_name
        rows = self.allow_list()
        rc, out, err = self.world.deadbolt("primitives", "--json")
        self.assertEqual((rc, err), (0, ""))
        listed = [json.loads(line) for line in out.splitlines()]
        self.assertEqual(len(listed), len(rows))
        for (svc, op, access, undo, why), got in zip(rows, listed):
            with self.subTest(op=op):
                self.assertEqual(got["primitive"], f"{svc}.{xform_name(op)}")
                self.assertEqual((got["service"], got["operation"]), (svc, op))
                self.assertEqual(got["access"], {"R": "read", "W": "write"}[access])
                self.assertEqual(got["undo"], None if undo == "NULL" else undo.strip('"'))
                self.assertEqual(got["why"], why)
                self.assertTrue(got["rule"])
        rc, table, err = self.world.deadbolt("primitives")
        self.assertEqual((rc, err), (0, ""))
        lines = table.splitlines()
        self.assertTrue(lines[0].startswith("PRIMITIVE"))
        for got, line in zip(listed, lines[1:]):
            self.assertEqual(line.split()[:3], [got["primitive"], got["access"], got["undo"] or "-"])
            self.assertTrue(line.rstrip().endswith(got["rule"]))
