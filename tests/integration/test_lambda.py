"""The Lambda custom runtime end to end: build/deadbolt started as
`bootstrap` against the fake Runtime API (tests/lambda/runtime_api.py), with
its AWS calls going to the fake AWS in front of moto (tests/harness/world.py).

    sh tests/run-integration.sh tests/integration/test_lambda.py

Every process a test starts (deadbolt, the recording proxy, the fake Runtime
API thread) is stopped by its own cleanup, whether the test passed or not.
"""

import http.client
import http.server
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import unittest
import uuid

TESTS = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path[:0] = [TESTS, os.path.join(TESTS, "lambda"), os.path.join(TESTS, "integration")]

from harness.world import (ACCESS_KEY, ACCOUNT, DEADBOLT, REGION, ROOT,  # noqa: E402
                           SECRET_KEY, WorldTestCase)
from harness.playbooks import test_playbooks  # noqa: E402
from playbook_cases import notification_queue, notifications, playbooks_with_config  # noqa: E402
from test_template import load_template  # noqa: E402
from runtime_api import RuntimeAPI  # noqa: E402

SESSION_TOKEN = "IQoJb3JpZ2luX2VjEXAMPLE-session-token-" + uuid.uuid4().hex
FUNCTION_ARN = "arn:aws:lambda:%s:%s:function:deadbolt" % (REGION, ACCOUNT)
WRITE_PREFIXES = ("Create", "Modify", "Put", "Update", "Associate", "Disassociate",
                  "Authorize", "Revoke", "Detach", "Deregister", "Send", "Publish", "Delete")


def finding_event(instance_id, sample=False, severity=8.0, finding_id=None):
    """A GuardDuty finding as EventBridge delivers it to the function."""
    fid = finding_id or uuid.uuid4().hex
    now = time.strftime("%Y-%m-%dT%H:%M:%S.000Z", time.gmtime())
    detail = {
        "schemaVersion": "2.0", "accountId": ACCOUNT, "region": REGION, "partition": "aws",
        "id": fid, "arn": "arn:aws:guardduty:%s:%s:detector/d0/finding/%s" % (REGION, ACCOUNT, fid),
        "type": "UnauthorizedAccess:EC2/SSHBruteForce",
        "resource": {"resourceType": "Instance", "instanceDetails": {
            "instanceId": instance_id, "instanceType": "t3.micro", "instanceState": "running",
            "availabilityZone": REGION + "a", "imageId": "ami-12c6146b", "tags": []}},
        "service": {"serviceName": "guardduty", "detectorId": "d0", "archived": False,
                    "resourceRole": "TARGET", "count": 1,
                    "eventFirstSeen": now, "eventLastSeen": now,
                    "action": {"actionType": "NETWORK_CONNECTION", "networkConnectionAction": {
                        "connectionDirection": "INBOUND", "protocol": "TCP", "blocked": False,
                        "remoteIpDetails": {"ipAddressV4": "198.51.100.7"},
                        "localPortDetails": {"port": 22, "portName": "SSH"}}},
                    "additionalInfo": {"sample": sample}},
        "severity": severity, "createdAt": now, "updatedAt": now,
        "title": "SSH brute force attacks against %s." % instance_id,
        "description": "198.51.100.7 is performing SSH brute force attacks against %s." % instance_id,
    }
    return {"version": "0", "id": str(uuid.uuid4()), "detail-type": "GuardDuty Finding",
            "source": "aws.guardduty", "account": ACCOUNT, "time": now, "region": REGION,
            "resources": [], "detail": detail}


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class HeaderRecorder:
    """A pass-through HTTP proxy that keeps the X-Amzn-Trace-Id header of every
    request it forwards (the fake AWS's own log keeps no header values)."""

    HOP = {"connection", "keep-alive", "transfer-encoding", "content-length", "proxy-connection",
           "expect"}

    def __init__(self, upstream):
        host, _, port = upstream.split("//", 1)[1].partition(":")
        self.upstream = (host, int(port or 80))
        self.seen = []  # (action target or path, trace header or None)
        rec = self

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args):
                pass

            def do_any(self):
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                rec.seen.append((self.path, self.headers.get("X-Amzn-Trace-Id")))
                conn = http.client.HTTPConnection(*rec.upstream, timeout=60)
                conn.putrequest(self.command, self.path, skip_host=True, skip_accept_encoding=True)
                for k, v in self.headers.items():
                    if k.lower() not in rec.HOP:
                        conn.putheader(k, v)
                conn.putheader("Content-Length", str(len(body)))
                conn.endheaders(body)
                resp = conn.getresponse()
                data = resp.read()
                self.send_response(resp.status)
                for k, v in resp.getheaders():
                    if k.lower() not in rec.HOP:
                        self.send_header(k, v)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                if self.command != "HEAD":
                    self.wfile.write(data)
                conn.close()

            do_GET = do_POST = do_PUT = do_HEAD = do_DELETE = do_any

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = "http://127.0.0.1:%d" % self.server.server_address[1]
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def stop(self):
        self.server.shutdown()
        self.server.server_close()


class Bootstrap:
    """build/deadbolt started under the name `bootstrap` in a Lambda-like
    environment. stop() ends it by pid."""

    def __init__(self, runtime_api, endpoint, task_root, binary=DEADBOLT, extra_env=None):
        self.binary = binary
        self.dir = tempfile.mkdtemp(prefix="deadbolt-lambda-")
        self.link = os.path.join(self.dir, "bootstrap")
        os.symlink(os.path.abspath(binary), self.link)
        self.stdout_path = os.path.join(self.dir, "stdout")
        self.stderr_path = os.path.join(self.dir, "stderr")
        env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": self.dir,
               "LANG": "C.UTF-8", "TZ": ":UTC",
               "AWS_LAMBDA_RUNTIME_API": runtime_api, "LAMBDA_TASK_ROOT": task_root,
               "_HANDLER": "bootstrap", "AWS_LAMBDA_FUNCTION_NAME": "deadbolt",
               "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": "256", "AWS_REGION": REGION,
               "AWS_DEFAULT_REGION": REGION, "AWS_ACCESS_KEY_ID": ACCESS_KEY,
               "AWS_SECRET_ACCESS_KEY": SECRET_KEY, "AWS_SESSION_TOKEN": SESSION_TOKEN,
               "AWS_ENDPOINT_URL": endpoint, "AWS_EC2_METADATA_DISABLED": "true",
               "ARTIFACT_BUCKET": "deadbolt-artifacts",
               "NOTIFICATION_TOPIC_ARN": "arn:aws:sns:%s:%s:deadbolt" % (REGION, ACCOUNT),
               "QUARANTINE_PROFILE_ARN": "arn:aws:iam::%s:instance-profile/deadbolt-quarantine"
               % ACCOUNT,
               "DEADBOLT_DRY_RUN": "true"}
        for k in ("ASAN_OPTIONS", "UBSAN_OPTIONS", "LSAN_OPTIONS"):  # sanitizer runs
            if k in os.environ:
                env[k] = os.environ[k]
        env.update(extra_env or {})
        self.env = {k: v for k, v in env.items() if v is not None}
        self.proc = None

    def start(self):
        if not os.access(self.binary, os.X_OK):
            raise AssertionError("%s is not built: run make" % self.binary)
        self.proc = subprocess.Popen([self.link], cwd=self.dir, env=self.env,
                                     stdout=open(self.stdout_path, "wb"),
                                     stderr=open(self.stderr_path, "wb"))
        return self

    def stop(self):
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(5)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)
        shutil.rmtree(self.dir, ignore_errors=True)

    def wait_exit(self, timeout):
        try:
            return self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            return None

    def output(self):
        out = []
        for p in (self.stdout_path, self.stderr_path):
            try:
                with open(p, "rb") as f:
                    out.append(f.read().decode("utf-8", "replace"))
            except OSError:
                out.append("")
        return out

    def journal(self):
        """stdout's JSON lines (CloudWatch's view)."""
        lines = []
        for line in self.output()[0].splitlines():
            try:
                lines.append(json.loads(line))
            except ValueError:
                lines.append({"unparsed": line})
        return lines


class LambdaCase(WorldTestCase):
    """A fresh account, a fake Runtime API and a task root with the playbooks."""

    def setUp(self):
        super().setUp()
        self.api = RuntimeAPI(function_arn=FUNCTION_ARN).start()
        self.addCleanup(self.api.stop)
        self.task_root = tempfile.mkdtemp(prefix="deadbolt-task-")
        self.addCleanup(shutil.rmtree, self.task_root, True)
        os.symlink(test_playbooks(), os.path.join(self.task_root, "playbooks"))
        self.boots = []

    def bootstrap(self, runtime_api=None, endpoint=None, task_root=None, **kw):
        b = Bootstrap(runtime_api or self.api.address, endpoint or self.world.fake_url,
                      task_root or self.task_root, **kw)
        self.addCleanup(b.stop)
        self.boots.append(b)
        self.world.track_run(b.env)  # its AWS calls are checked against the template's role
        return b.start()

    def answer(self, request_id, timeout=60):
        got = self.api.wait_result(request_id, timeout)
        if got is None:
            said = "\n".join(text[-3000:] for b in self.boots for text in b.output())
            self.fail("no answer to %s after %ss; deadbolt said:\n%s" % (request_id, timeout, said))
        return got

    def assert_response(self, got):
        self.assertEqual(got["kind"], "response", got["body"][:2000])
        self.assertIsInstance(got["json"], dict)
        return got["json"]

    def assert_error(self, got, *types):
        self.assertEqual(got["kind"], "error", got["body"][:2000])
        body = got["json"]
        self.assertIsInstance(body, dict, got["body"][:500])
        self.assertIn(got["error_type"], types)
        self.assertEqual(body["errorType"], got["error_type"])
        self.assertTrue(body["errorMessage"])
        self.assertEqual(body["stackTrace"], [])
        return body


class TestInvocations(LambdaCase):
    def test_serves_findings_and_keeps_serving_after_malformed_events(self):
        inst = self.world.instance()
        groups_before = sorted(g["GroupId"] for g in inst.raw["SecurityGroups"])
        boot = self.bootstrap()

        real = finding_event(inst.id)
        first = self.api.enqueue(real)
        bad = self.api.enqueue(body="{\"detail-type\": \"GuardDuty Finding\", ")
        empty = self.api.enqueue(body="")
        sample = self.api.enqueue(finding_event(inst.id, sample=True))
        again = self.api.enqueue(finding_event(inst.id))

        resp = self.assert_response(self.answer(first))
        self.assertEqual(resp["outcome"], "planned")
        findings = resp["result"]["findings"]
        self.assertEqual([f["id"] for f in findings], [real["detail"]["id"]])
        self.assertEqual(findings[0]["outcome"], "planned")

        self.assert_error(self.answer(bad), "Deadbolt.InvalidEvent")
        self.assert_error(self.answer(empty), "Deadbolt.InvalidEvent")
        self.assertEqual(self.assert_response(self.answer(sample))["outcome"], "skipped")
        self.assertEqual(self.assert_response(self.answer(again))["outcome"], "planned")
        self.assertIsNone(boot.proc.poll(), "the runtime exited")

        # A dry run: reads only, and the instance is as it was.
        writes = [e["action"] for e in self.world.log()
                  if e["action"].startswith(WRITE_PREFIXES)]
        self.assertEqual(writes, [])
        now = self.world.describe(inst.id).raw
        self.assertEqual(sorted(g["GroupId"] for g in now["SecurityGroups"]), groups_before)

        # CloudWatch sees JSON lines, a line per invocation, and no secret.
        out, err = boot.output()
        for secret in (SECRET_KEY, SESSION_TOKEN):
            self.assertNotIn(secret, out + err)
        journal = boot.journal()
        self.assertEqual([j for j in journal if "unparsed" in j], [])
        invoked = [j.get("request_id") for j in journal if j.get("event") == "lambda.invoke"]
        self.assertEqual(invoked, [first, bad, empty, sample, again])

    def journal_objects(self):
        listed = self.world.s3.list_objects_v2(Bucket="deadbolt-artifacts", Prefix="journal/")
        return [o["Key"] for o in listed.get("Contents", [])]

    def test_a_live_run_stores_its_journal_in_the_artifact_bucket(self):
        self.world.bucket("deadbolt-artifacts")
        event = finding_event("i-0123456789abcdef0")
        event["detail"]["resource"] = {"resourceType": "EKSCluster", "eksClusterDetails": {
            "name": "prod"}}  # skipped: nothing to contain, but a journal all the same
        self.bootstrap(extra_env={"DEADBOLT_DRY_RUN": "false"})
        rid = self.api.enqueue(event)
        self.assertEqual(self.assert_response(self.answer(rid))["outcome"], "skipped")
        keys = self.journal_objects()
        self.assertEqual(len(keys), 1, keys)
        self.assertTrue(keys[0].startswith("journal/") and keys[0].endswith("/%s.jsonl" % rid), keys)
        body = self.world.s3.get_object(Bucket="deadbolt-artifacts", Key=keys[0])["Body"].read()
        lines = [json.loads(line) for line in body.decode().splitlines()]
        self.assertIn(event["detail"]["id"], json.dumps(lines))
        self.assertNotIn(SECRET_KEY, body.decode())

    def test_a_member_findings_journal_is_archived_with_the_functions_own_credentials(self):
        # The run answers in the member account under the assumed role
        # (docs/accounts.md); the journal archive is written after the run,
        # with the function's own credentials, to the home bucket.
        member = "210987654321"
        self.world.bucket("deadbolt-artifacts")
        event = finding_event("i-0123456789abcdef0")
        event["detail"]["accountId"] = member
        event["detail"]["arn"] = event["detail"]["arn"].replace(ACCOUNT, member)
        self.bootstrap(extra_env={"DEADBOLT_DRY_RUN": "false"})
        rid = self.api.enqueue(event)
        self.answer(rid)  # the instance does not exist there: the outcome does not matter
        log = self.world.log()
        assumed = [e for e in log if e["action"] == "AssumeRole"]
        self.assertEqual(len(assumed), 1, [e["action"] for e in log])
        run_keys = {e["key"] for e in log if e["action"] == "DescribeInstances"}
        self.assertEqual(run_keys, {assumed[0]["assumed_key"]})
        archive = [e for e in log if e["action"] == "PutObject" and "/journal/" in e["path"]]
        self.assertEqual([e["key"] for e in archive], [ACCESS_KEY])
        self.assertEqual(len(self.journal_objects()), 1)

    def test_a_dry_run_stores_no_journal(self):
        self.world.bucket("deadbolt-artifacts")
        inst = self.world.instance()
        self.bootstrap()
        self.assertEqual(self.assert_response(self.answer(self.api.enqueue(finding_event(inst.id))))
                         ["outcome"], "planned")
        self.assertEqual(self.journal_objects(), [])

    def test_an_event_over_6_mb_is_refused_not_crashed_on(self):
        inst = self.world.instance()
        self.bootstrap()
        huge = self.api.enqueue(body="[" + "1," * (3 * 1024 * 1024 + 10) + "1]")
        after = self.api.enqueue(finding_event(inst.id))
        self.assert_error(self.answer(huge), "Deadbolt.InvalidEvent")
        self.assert_response(self.answer(after))

    def test_a_deadline_too_close_is_an_error_not_a_hang(self):
        inst = self.world.instance()
        self.bootstrap()
        t0 = time.monotonic()
        tiny = self.api.enqueue(finding_event(inst.id), timeout_ms=300)
        got = self.answer(tiny, timeout=10)
        self.assert_error(got, "Deadbolt.DeadlineExceeded", "Deadbolt.ContainmentFailed")
        self.assertLess(got["elapsed"], 1.0)
        self.assertLess(time.monotonic() - t0, 10)
        self.assert_response(self.answer(self.api.enqueue(finding_event(inst.id))))

    def test_the_run_stops_at_the_lambda_deadline(self):
        """Every AWS call hangs for 6 s; Lambda's deadline is 3 s away: the
        runtime must answer before it, with an error, and keep serving."""
        inst = self.world.instance()
        self.bootstrap()
        self.world.fault("*", "slow", count=50, delay_ms=6000)
        rid = self.api.enqueue(finding_event(inst.id), timeout_ms=3000)
        got = self.answer(rid, timeout=15)
        self.assert_error(got, "Deadbolt.ContainmentFailed")
        self.assertLess(got["elapsed"], 3.0, "answered after Lambda's deadline")
        self.assertGreater(got["elapsed"], 1.5, "gave up long before the deadline")

    def test_a_413_on_the_response_does_not_stop_the_runtime(self):
        inst = self.world.instance()
        self.bootstrap()
        self.api.max_payload = 64  # any real response is larger
        rid = self.api.enqueue(finding_event(inst.id))
        got = self.answer(rid)
        self.assertEqual((got["kind"], got["error_type"]), ("error", "Function.ResponseSizeTooLarge"))
        self.api.max_payload = 6 * 1024 * 1024
        self.assert_response(self.answer(self.api.enqueue(finding_event(inst.id))))
        statuses = [s for m, p, s in self.api.log if p.endswith("/" + rid + "/response")]
        self.assertEqual(statuses, [413])

    def test_trace_id_is_passed_on_to_aws_calls_and_not_kept(self):
        inst = self.world.instance()
        proxy = HeaderRecorder(self.world.fake_url)
        self.addCleanup(proxy.stop)
        self.bootstrap(endpoint=proxy.url)
        trace = "Root=1-%08x-%s;Parent=%s;Sampled=1" % (int(time.time()), uuid.uuid4().hex[:24],
                                                        uuid.uuid4().hex[:16])
        self.assert_response(self.answer(self.api.enqueue(finding_event(inst.id), trace_id=trace)))
        first = list(proxy.seen)
        self.assertTrue(first, "no AWS call went through the proxy")
        self.assertEqual({t for _, t in first}, {trace})
        self.assert_response(self.answer(self.api.enqueue(finding_event(inst.id), trace_id="")))
        second = proxy.seen[len(first):]
        self.assertTrue(second)
        self.assertEqual({t for _, t in second}, {None}, "a stale trace id was sent")


MEMBER = "210987654321"  # a member account of the organisation, not deadbolt's own


def lambda_retries():
    """MaximumRetryAttempts as template.yaml sets it (the async invoke's
    retries of an invocation that answered an error)."""
    return int(load_template()["Parameters"]["MaximumRetryAttempts"]["Default"])


class TestRefusedMemberAccount(LambdaCase):
    """A member account's finding deadbolt cannot answer there (no role
    named, or one AWS will not let it assume) fails, changes nothing, and is
    notified once per delivery: Lambda retries an async invoke that answers
    an error (MaximumRetryAttempts times, AWS's "How Lambda handles errors
    and retries with asynchronous invocation"), and a refusal answered as an
    error would be refused and notified again on each retry. A transient STS
    failure is still an error, so that Lambda retries it.

    The fake Runtime API does not retry; deliver() does what Lambda's async
    queue does: the same event again while the answer is an error, at most
    the template's MaximumRetryAttempts more times. What it cannot show:
    Lambda's waits between attempts (1 and 2 minutes), and the DLQ."""

    def setUp(self):
        super().setUp()
        self.topic, self.queue = notification_queue(self.world, "deadbolt")
        self.world.bucket("deadbolt-artifacts")

    def start(self, replacements=None):
        """The runtime, live, with the suite's config edited so."""
        pb = playbooks_with_config(replacements or {})
        self.addCleanup(shutil.rmtree, os.path.dirname(pb), True)
        root = tempfile.mkdtemp(prefix="deadbolt-task-")
        self.addCleanup(shutil.rmtree, root, True)
        os.symlink(pb, os.path.join(root, "playbooks"))
        return self.bootstrap(task_root=root, extra_env={
            "DEADBOLT_DRY_RUN": "false", "NOTIFICATION_TOPIC_ARN": self.topic})

    def deliver(self, event):
        """Every answer to one delivery of event, retries included."""
        answers = []
        for _ in range(1 + lambda_retries()):
            answers.append(self.answer(self.api.enqueue(event)))
            if answers[-1]["kind"] != "error":
                break
        return answers

    def member_event(self):
        event = finding_event("i-0123456789abcdef0")
        detail = event["detail"]
        detail["accountId"] = event["account"] = MEMBER
        detail["arn"] = detail["arn"].replace(ACCOUNT, MEMBER)
        return event

    def assert_refused_once(self, answers, *in_reason):
        self.assertEqual(len(answers), 1, [a["kind"] for a in answers])
        resp = self.assert_response(answers[0])
        self.assertEqual(resp["outcome"], "failed")
        (found,) = resp["result"]["findings"]
        self.assertEqual((found["outcome"], found["retry"]), ("failed", False), found)
        for text in in_reason:
            self.assertIn(text, found["reason"])
        sent = notifications(self.world, self.queue)
        self.assertEqual(len(sent), 1, sent)
        self.assertIn(MEMBER, sent[0])
        writes = [e["action"] for e in self.world.log()
                  if e["action"].startswith(WRITE_PREFIXES) and e["action"] != "Publish"
                  and e["service"] != "s3"]  # the journal, stored at home
        self.assertEqual(writes, [])

    def test_no_role_named_answers_failed_as_a_success_and_notifies_once(self):
        self.start({'role_name = "deadbolt-response",': ""})
        answers = self.deliver(self.member_event())
        self.assert_refused_once(answers, MEMBER, "accounts.role_name")
        self.assertEqual(self.world.attempts("AssumeRole"), 0)

    def test_the_callers_account_is_the_function_arns_without_sts(self):
        # The reserved AWS_ACCESS_KEY_ID / _SECRET_ACCESS_KEY / _SESSION_TOKEN
        # are the execution role's, a role of the function's own account:
        # the account field of Lambda-Runtime-Invoked-Function-Arn.
        self.start({'role_name = "deadbolt-response",': ""})
        answers = self.deliver(self.member_event())
        self.assert_refused_once(answers, MEMBER, "(%s)" % ACCOUNT)
        self.assertEqual(self.world.attempts("GetCallerIdentity"), 0)

    def test_credentials_from_a_profile_are_asked_their_account(self):
        # Not the reserved variables: a credentials file (a profile may be
        # another account's) is asked with sts.GetCallerIdentity.
        creds = os.path.join(tempfile.mkdtemp(prefix="deadbolt-creds-"), "credentials")
        self.addCleanup(shutil.rmtree, os.path.dirname(creds), True)
        with open(creds, "w") as f:
            f.write("[default]\naws_access_key_id = %s\naws_secret_access_key = %s\n"
                    % (ACCESS_KEY, SECRET_KEY))
        pb = playbooks_with_config({'role_name = "deadbolt-response",': ""})
        self.addCleanup(shutil.rmtree, os.path.dirname(pb), True)
        root = tempfile.mkdtemp(prefix="deadbolt-task-")
        self.addCleanup(shutil.rmtree, root, True)
        os.symlink(pb, os.path.join(root, "playbooks"))
        self.bootstrap(task_root=root, extra_env={
            "DEADBOLT_DRY_RUN": "false", "NOTIFICATION_TOPIC_ARN": self.topic,
            "AWS_ACCESS_KEY_ID": None, "AWS_SECRET_ACCESS_KEY": None, "AWS_SESSION_TOKEN": None,
            "AWS_SHARED_CREDENTIALS_FILE": creds})
        answers = self.deliver(self.member_event())
        self.assert_refused_once(answers, MEMBER, "accounts.role_name")
        self.assertEqual(self.world.attempts("GetCallerIdentity"), 1)

    def test_a_role_aws_will_not_let_it_assume_is_notified_once(self):
        self.start()
        self.world.fault("AssumeRole", "denied", count=100)
        answers = self.deliver(self.member_event())
        self.assert_refused_once(answers, "arn:aws:iam::%s:role/deadbolt-response" % MEMBER,
                                 "AccessDenied")
        self.assertEqual(self.world.attempts("AssumeRole"), 1, "AccessDenied is not retried")

    def test_a_transient_sts_failure_is_an_error_that_lambda_retries(self):
        self.start()
        self.world.fault("AssumeRole", "500", count=100)  # every attempt of the first delivery
        answers = self.deliver(self.member_event())
        self.assertGreater(len(answers), 1)
        body = self.assert_error(answers[0], "Deadbolt.ContainmentFailed")
        self.assertIn("cannot assume", body["errorMessage"])
        self.assertNotIn('"retry":false', body["errorMessage"])
        # Each attempt that fails says so: the last one may be the only one.
        self.assertEqual(len(notifications(self.world, self.queue)), len(answers))


class TestRuntimeAPIFailures(LambdaCase):
    def test_next_is_retried_while_the_api_is_briefly_unavailable(self):
        inst = self.world.instance()
        self.api.fail_next(1, 0)    # connection dropped
        self.api.fail_next(2, 503)
        self.bootstrap()
        rid = self.api.enqueue(finding_event(inst.id))
        self.assert_response(self.answer(rid, timeout=30))
        self.assertGreaterEqual(self.api.next_calls, 4)

    def test_gives_up_with_an_error_exit_when_the_api_stays_away(self):
        boot = self.bootstrap(runtime_api="127.0.0.1:%d" % free_port())
        t0 = time.monotonic()
        rc = boot.wait_exit(30)
        self.assertIsNotNone(rc, "still retrying after 30 s")
        self.assertNotEqual(rc, 0)
        self.assertGreater(time.monotonic() - t0, 1.0, "gave up without retrying")

    def test_missing_playbooks_is_an_init_error(self):
        empty_root = tempfile.mkdtemp(prefix="deadbolt-task-empty-")
        self.addCleanup(shutil.rmtree, empty_root, True)
        boot = self.bootstrap(task_root=empty_root)
        err = self.api.wait_init_error(15)
        self.assertIsNotNone(err, "no init error posted")
        self.assertEqual(err["error_type"], "Deadbolt.InitError")
        self.assertEqual(err["json"]["errorType"], "Deadbolt.InitError")
        self.assertIn("playbook", err["json"]["errorMessage"])
        rc = boot.wait_exit(10)
        self.assertIsNotNone(rc, "the runtime did not exit after its init error")
        self.assertNotEqual(rc, 0)
        self.assertEqual(self.api.next_calls, 0)

    def test_a_missing_ca_bundle_is_an_init_error(self):
        """docs/lambda.md: a bad value is an init error. A CA bundle that is
        not there would otherwise fail every HTTPS call of every invoke."""
        missing = os.path.join(self.task_root, "no-such-ca.pem")
        boot = self.bootstrap(extra_env={"DEADBOLT_CA_BUNDLE": missing})
        err = self.api.wait_init_error(15)
        self.assertIsNotNone(err, "no init error posted")
        self.assertEqual(err["error_type"], "Deadbolt.InitError")
        self.assertIn("DEADBOLT_CA_BUNDLE names " + missing, err["json"]["errorMessage"])
        self.assertNotEqual(boot.wait_exit(10), 0)
        self.assertEqual(self.api.next_calls, 0)

    def init_line(self, boot):
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline:
            lines = [j for j in boot.journal() if j.get("event") == "lambda.init"]
            if lines:
                return lines[0]
            time.sleep(0.05)
        self.fail("no lambda.init line; deadbolt said:\n" + "\n".join(boot.output()))

    def test_the_init_line_names_the_ca_bundle_in_use(self):
        chosen = os.path.join(self.task_root, "ca.pem")
        system = [p for p in ("/etc/pki/tls/certs/ca-bundle.crt", "/etc/ssl/certs/ca-certificates.crt")
                  if os.access(p, os.R_OK)]
        self.assertTrue(system, "no system CA bundle on this machine")
        shutil.copyfile(system[0], chosen)
        line = self.init_line(self.bootstrap(extra_env={"DEADBOLT_CA_BUNDLE": chosen}))
        self.assertEqual((line["ca_bundle"], line["ca_bundle_from"]), (chosen, "DEADBOLT_CA_BUNDLE"))
        line = self.init_line(self.bootstrap())
        self.assertEqual((line["ca_bundle"], line["ca_bundle_from"]), (system[0], "system"))

    def test_a_bad_setting_is_an_init_error(self):
        boot = self.bootstrap(extra_env={"DEADBOLT_DRY_RUN": "maybe"})
        err = self.api.wait_init_error(15)
        self.assertIsNotNone(err, "no init error posted")
        self.assertIn("DEADBOLT_DRY_RUN", err["json"]["errorMessage"])
        self.assertNotEqual(boot.wait_exit(10), 0)


class TestFakeRuntimeAPI(unittest.TestCase):
    """The fake answers as the Runtime API documents (the tests above lean on it)."""

    def setUp(self):
        self.api = RuntimeAPI().start()
        self.addCleanup(self.api.stop)
        host, port = self.api.address.split(":")
        self.conn = http.client.HTTPConnection(host, int(port), timeout=10)
        self.addCleanup(self.conn.close)

    def call(self, method, path, body=None, headers=None):
        self.conn.request(method, "/2018-06-01/runtime" + path, body=body, headers=headers or {})
        resp = self.conn.getresponse()
        return resp.status, dict(resp.getheaders()), resp.read()

    def test_next_blocks_until_an_event_and_carries_the_documented_headers(self):
        timer = threading.Timer(0.5, self.api.enqueue, ({"k": 1},), {"timeout_ms": 5000})
        timer.start()
        self.addCleanup(timer.cancel)
        t0 = time.monotonic()
        status, hdrs, body = self.call("GET", "/invocation/next")
        self.assertGreater(time.monotonic() - t0, 0.4)
        self.assertEqual((status, json.loads(body)), (200, {"k": 1}))
        for h in ("Lambda-Runtime-Aws-Request-Id", "Lambda-Runtime-Deadline-Ms",
                  "Lambda-Runtime-Invoked-Function-Arn", "Lambda-Runtime-Trace-Id"):
            self.assertIn(h, hdrs)
        left = int(hdrs["Lambda-Runtime-Deadline-Ms"]) - time.time() * 1000
        self.assertTrue(4000 < left <= 5000, left)

    def test_answers_202_then_400_for_a_wrong_id_and_403_once_answered(self):
        rid = self.api.enqueue({"k": 1})
        self.call("GET", "/invocation/next")
        status, _, body = self.call("POST", "/invocation/%s/response" % uuid.uuid4(), b"{}")
        self.assertEqual((status, json.loads(body)["errorType"]), (400, "InvalidRequestID"))
        status, _, body = self.call("POST", "/invocation/%s/response" % rid, b'{"ok":1}')
        self.assertEqual((status, json.loads(body)), (202, {"status": "OK"}))
        status, _, _ = self.call("POST", "/invocation/%s/error" % rid, b"{}")
        self.assertEqual(status, 403)
        self.assertEqual(self.api.wait_result(rid, 1)["json"], {"ok": 1})

    def test_error_keeps_its_type_header_and_init_error_is_refused_after_init(self):
        status, _, _ = self.call("POST", "/init/error", b'{"errorMessage":"x","errorType":"A.B"}',
                                 {"Lambda-Runtime-Function-Error-Type": "A.B"})
        self.assertEqual(status, 202)
        self.assertEqual(self.api.wait_init_error(1)["error_type"], "A.B")
        rid = self.api.enqueue({"k": 1})
        self.call("GET", "/invocation/next")
        self.assertEqual(self.call("POST", "/init/error", b"{}")[0], 403)
        self.call("POST", "/invocation/%s/error" % rid, b'{"errorType":"C.D"}',
                  {"Lambda-Runtime-Function-Error-Type": "C.D"})
        got = self.api.wait_result(rid, 1)
        self.assertEqual((got["kind"], got["error_type"]), ("error", "C.D"))

    def test_a_response_over_6_mib_is_413_and_ends_the_invocation(self):
        rid = self.api.enqueue({"k": 1})
        self.call("GET", "/invocation/next")
        status, _, body = self.call("POST", "/invocation/%s/response" % rid,
                                    b"x" * (6 * 1024 * 1024 + 1))
        self.assertEqual((status, json.loads(body)["errorType"]), (413, "RequestEntityTooLarge"))
        self.assertEqual(self.api.wait_result(rid, 1)["error_type"], "Function.ResponseSizeTooLarge")


class TestPackage(LambdaCase):
    """tools/package-lambda.sh's output is one executable that needs only
    glibc; the make targets that build it refuse playbooks that `deadbolt
    check` rejects."""

    def source_tree_with(self, edit):
        """A tree that is this repository (symbolic links to its Makefile,
        tools, engine and sandbox; the existing build directory) but for a
        copy of playbooks/ changed by edit(path)."""
        tree = tempfile.mkdtemp(prefix="deadbolt-src-")
        self.addCleanup(shutil.rmtree, tree, True)
        for name in ("Makefile", "tools", "engine", "sandbox", "tests"):
            os.symlink(os.path.join(ROOT, name), os.path.join(tree, name))
        shutil.copytree(os.path.join(ROOT, "playbooks"), os.path.join(tree, "playbooks"))
        edit(os.path.join(tree, "playbooks"))
        return tree

    def make(self, tree, *targets):
        build = os.environ.get("BUILD", os.path.join(ROOT, "build"))
        return subprocess.run(["make", "--no-print-directory", "-C", tree, "BUILD=" + build, *targets],
                              capture_output=True, text=True, timeout=600)

    def test_the_package_targets_refuse_playbooks_that_check_rejects(self):
        def misspell(playbooks):
            path = os.path.join(playbooks, "ec2.lua")
            with open(path) as f:
                text = f.read()
            self.assertIn("ec2.describe_instances {", text)
            with open(path, "w") as f:
                f.write(text.replace("ec2.describe_instances {", "ec2.describe_instancez {"))
        tree = self.source_tree_with(misspell)
        out = os.path.join(tree, "artifacts")
        zip_path = os.path.join(tree, "package.zip")
        for targets in (["build-DeadboltFunction", "ARTIFACTS_DIR=" + out],
                        ["lambda", "LAMBDA_ZIP=" + zip_path]):
            with self.subTest(targets=targets):
                p = self.make(tree, *targets)
                self.assertNotEqual(p.returncode, 0, p.stdout + p.stderr)
                self.assertIn("describe_instancez", p.stdout)
                self.assertIn("no package built", p.stderr)
                self.assertFalse(os.path.exists(os.path.join(out, "bootstrap")))
                self.assertFalse(os.path.exists(zip_path))
        # The same tree with the playbooks as they are: the check passes, the
        # package is built (so the refusal above came from the check).
        fine = self.source_tree_with(lambda playbooks: None)
        out = os.path.join(fine, "artifacts")
        p = self.make(fine, "build-DeadboltFunction", "ARTIFACTS_DIR=" + out)
        self.assertEqual(p.returncode, 0, p.stdout + p.stderr)
        self.assertTrue(os.path.exists(os.path.join(out, "bootstrap")))

    def test_packaged_bootstrap_is_one_executable_and_serves(self):
        build = os.environ.get("BUILD", os.path.join(ROOT, "build"))
        self.assertTrue(os.path.exists(os.path.join(build, "deadbolt")), "run make first")
        pkg = tempfile.mkdtemp(prefix="deadbolt-pkg-")
        self.addCleanup(shutil.rmtree, pkg, True)
        p = subprocess.run(["sh", "tools/package-lambda.sh", pkg], cwd=ROOT, capture_output=True,
                           text=True, timeout=300, env=dict(os.environ, BUILD=build))
        self.assertEqual(p.returncode, 0, p.stdout + p.stderr)
        self.assertEqual(sorted(os.listdir(pkg)), ["bootstrap", "certs", "playbooks", "playbooks.chunks"])
        self.assertTrue(os.path.exists(os.path.join(pkg, "certs", "ca-bundle.crt")))
        self.assertTrue(os.listdir(os.path.join(pkg, "playbooks")))
        dyn = subprocess.run(["objdump", "-p", os.path.join(pkg, "bootstrap")],
                             capture_output=True, text=True, check=True).stdout
        needed = sorted(line.split()[1] for line in dyn.splitlines()
                        if line.split()[:1] == ["NEEDED"])
        self.assertEqual(needed, ["libc.so.6", "libm.so.6"])
        syms = subprocess.run(["objdump", "-T", os.path.join(pkg, "bootstrap")],
                              capture_output=True, text=True, check=True).stdout
        versions = {tuple(int(x) for x in v.split("."))
                    for v in re.findall(r"GLIBC_([0-9][0-9.]*[0-9])", syms)}
        self.assertLessEqual(max(versions), (2, 34))

        inst = self.world.instance()
        # Lambda's own library path puts the system's directories first: the
        # build machine's libcurl and OpenSSL are there, and must stay unused.
        lambda_path = "/var/lang/lib:/lib64:/usr/lib64:/lib/x86_64-linux-gnu:" \
                      "/usr/lib/x86_64-linux-gnu:%s:%s/lib:/opt/lib" % (pkg, pkg)
        boot = self.bootstrap(binary=os.path.join(pkg, "bootstrap"), task_root=pkg,
                              extra_env={"LD_LIBRARY_PATH": lambda_path})
        self.assert_response(self.answer(self.api.enqueue(finding_event(inst.id))))
        # The package's compiled playbooks are the ones it loads.
        init = [e for e in boot.journal() if e.get("event") == "lambda.init"]
        self.assertEqual([e.get("chunks") for e in init], [os.path.join(pkg, "playbooks.chunks")], init)
        with open("/proc/%d/maps" % boot.proc.pid) as f:
            mapped = {line.split()[-1] for line in f.read().splitlines()
                      if ".so" in line.split()[-1]}
        self.assertTrue(mapped)
        others = [m for m in mapped
                  if not re.match(r"(libc|libm|ld-linux[^/]*)\.so", os.path.basename(m))]
        self.assertEqual(others, [])


if __name__ == "__main__":
    unittest.main()
