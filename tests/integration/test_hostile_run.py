"""test_hostile_run — build/deadbolt run against the hostile playbook
directories of tests/hostile/run/, one or more a class of issue 11, each
checked at the end as an operator would see it: the exit code, no signal,
the time (CPU and wall) under the budget plus a margin, the requests a
logging HTTP server saw (none where none is allowed), every journal line
valid JSON, the peak memory of the process.

The logging server stands in for AWS: it records every request and answers
IAM ListAccessKeys (the one read these playbooks make) with an empty list,
anything else with an AWS error. What this cannot show: how AWS itself
would answer; the playbooks here only need that a call reached it or not.

Owned by the sandbox and journal hardening (issue 11)."""

import http.server
import json
import os
import resource
import subprocess
import sys
import tempfile
import threading
import time
import unittest
import urllib.parse

from harness.world import DEADBOLT, ROOT

HOSTILE = os.path.join(ROOT, "tests", "hostile", "run")
FINDINGS = os.path.join(ROOT, "tests", "findings")
EC2_FINDING = os.path.join(FINDINGS, "ec2-ssh-bruteforce.bare.json")
IAM_FINDING = os.path.join(FINDINGS, "iam-recon-malicious-ip.bare.json")
MIB = 1 << 20
SANDBOX_MEMORY = 64 * MIB   # the sandbox's default memory cap
FIXED = 64 * MIB            # the process beside it: libraries, journal and plan buffers
OUTPUT_LIMIT = 16 * MIB     # a finding's default output limit

LIST_ACCESS_KEYS = (b'<ListAccessKeysResponse xmlns="https://iam.amazonaws.com/doc/2010-05-08/">'
                    b"<ListAccessKeysResult><AccessKeyMetadata/><IsTruncated>false</IsTruncated>"
                    b"</ListAccessKeysResult><ResponseMetadata><RequestId>r-1</RequestId>"
                    b"</ResponseMetadata></ListAccessKeysResponse>")
# deadbolt asks its own account before any run (engine/run/account.c): the
# server answers that, as the findings' account, and does not count it as a
# request of the playbooks.
CALLER_IDENTITY = (b'<GetCallerIdentityResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/">'
                   b"<GetCallerIdentityResult><Arn>arn:aws:iam::123456789012:user/t</Arn>"
                   b"<UserId>AIDAEXAMPLE</UserId><Account>123456789012</Account>"
                   b"</GetCallerIdentityResult><ResponseMetadata><RequestId>r-0</RequestId>"
                   b"</ResponseMetadata></GetCallerIdentityResponse>")
ERROR = (b"<ErrorResponse><Error><Type>Sender</Type><Code>InvalidAction</Code>"
         b"<Message>not served here</Message></Error><RequestId>r-2</RequestId></ErrorResponse>")


class _Recorder(http.server.BaseHTTPRequestHandler):
    def _answer(self):
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        action = urllib.parse.parse_qs(body.decode("utf-8", "replace")).get("Action", [""])[0]
        if action != "GetCallerIdentity":
            self.server.seen.append((self.command, self.path, action))
        ok = action in ("ListAccessKeys", "GetCallerIdentity")
        payload = (CALLER_IDENTITY if action == "GetCallerIdentity" else
                   LIST_ACCESS_KEYS if ok else ERROR)
        self.send_response(200 if ok else 400)
        self.send_header("Content-Type", "text/xml")
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)

    do_GET = do_POST = do_PUT = do_DELETE = do_HEAD = _answer

    def log_message(self, *args):
        pass


# Runs deadbolt from a small fresh interpreter and reports its exit status
# and resource usage: Linux carries a process's peak RSS over fork and exec
# from its parent, so deadbolt forked straight from this (large) test
# process would report this process's peak, not its own.
_SPAWN = """
import json, os, sys
fd = int(sys.argv[1])
pid = os.fork()
if pid == 0:
    os.execv(sys.argv[2], sys.argv[2:])
_, status, ru = os.wait4(pid, 0)
os.write(fd, json.dumps([status, ru.ru_utime + ru.ru_stime, ru.ru_maxrss]).encode())
"""


class Run:
    """One deadbolt run: exit code, signal, times, peak memory, output."""

    def __init__(self, argv, env):
        t0 = time.monotonic()
        rfd, wfd = os.pipe()
        proc = subprocess.Popen([sys.executable, "-c", _SPAWN, str(wfd), *argv], env=env,
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, pass_fds=(wfd,))
        os.close(wfd)
        out, err = proc.communicate()
        with os.fdopen(rfd, "rb") as f:
            status, cpu, maxrss = json.loads(f.read() or b"[null, 0, 0]")
        if status is None:
            raise AssertionError(f"the spawner failed: {err.decode()[-2000:]}")
        code = os.waitstatus_to_exitcode(status)
        self.wall = time.monotonic() - t0
        self.cpu = cpu
        self.maxrss = maxrss * 1024  # kilobytes on Linux
        self.signal = -code if code < 0 else 0
        self.code = code
        self.stdout = out.decode("utf-8", "replace")
        self.stderr = err.decode("utf-8", "replace")


class TestHostileRun(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Recorder)
        cls.server.seen = []
        cls.thread = threading.Thread(target=cls.server.serve_forever, daemon=True)
        cls.thread.start()
        cls.url = f"http://127.0.0.1:{cls.server.server_address[1]}"

    @classmethod
    def tearDownClass(cls):
        cls.server.shutdown()
        cls.server.server_close()

    def setUp(self):
        self.server.seen.clear()
        self.tmp = tempfile.TemporaryDirectory()
        self.journal = os.path.join(self.tmp.name, "journal.jsonl")

    def tearDown(self):
        self.tmp.cleanup()

    def env(self):
        env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
        env.update({
            "AWS_ACCESS_KEY_ID": "AKIAIOSFODNN7EXAMPLE",
            "AWS_SECRET_ACCESS_KEY": "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
            "AWS_EC2_METADATA_DISABLED": "true",
            "AWS_CONFIG_FILE": os.devnull,
            "AWS_SHARED_CREDENTIALS_FILE": os.devnull,
            "AWS_MAX_ATTEMPTS": "1",
        })
        return env

    def deadbolt(self, case, finding, *flags, journal=True):
        argv = [DEADBOLT, "run", "--playbooks", os.path.join(HOSTILE, case),
                "--endpoint-url", self.url, "--region", "us-east-1", *flags]
        if journal:
            argv += ["--journal", self.journal]
        return Run(argv + [finding], self.env())

    def lines(self):
        """Every journal line, each of which must be JSON."""
        out = []
        with open(self.journal, encoding="utf-8") as f:
            for n, line in enumerate(f, 1):
                try:
                    out.append(json.loads(line))
                except ValueError as e:
                    self.fail(f"journal line {n} is not JSON ({e}): {line[:200]!r}")
        return out

    def assert_sane(self, run, code, cpu=10.0, wall=60.0):
        self.assertEqual(run.signal, 0, f"killed by signal {run.signal}: {run.stderr[-2000:]}")
        self.assertEqual(run.code, code, f"exit {run.code}\n{run.stdout[-3000:]}\n{run.stderr[-2000:]}")
        self.assertLess(run.cpu, cpu, f"{run.cpu:.1f}s of CPU")
        self.assertLess(run.wall, wall, f"{run.wall:.1f}s")
        self.assertLess(run.maxrss, SANDBOX_MEMORY + FIXED, f"peak RSS {run.maxrss / MIB:.1f} MiB")

    @staticmethod
    def event(lines, name, step=None):
        for e in lines:
            if e.get("event") == name and (step is None or e.get("step") == step):
                return e
        return {}

    # ---- no crash ----

    def test_nested_coroutine_close_does_not_kill_the_process(self):
        run = self.deadbolt("crash_close", EC2_FINDING, "--dry-run")
        self.assert_sane(run, 1, cpu=10.0, wall=60.0)
        step = self.event(self.lines(), "step", "nest")
        self.assertEqual(step["status"], "failed")
        self.assertRegex(step["error"], "closes nested more than 100 deep|C stack overflow")
        self.assertEqual(self.server.seen, [])

    # ---- no work outside a budget ----

    def test_uncharged_loop_ends_by_the_instruction_budget(self):
        run = self.deadbolt("uncharged_loop", EC2_FINDING)
        # default budgets: 200 million instructions (about 2 s of CPU by the
        # floor), a wall clock of 120 s that must not be what ends it
        self.assert_sane(run, 1, cpu=8.0, wall=60.0)
        end = self.event(self.lines(), "run_end")
        self.assertEqual(end["outcome"], "failed")
        self.assertIn("budget exceeded: instructions", end["reason"])
        self.assertEqual(self.server.seen, [])

    def test_costly_routing_pattern_is_metered(self):
        with open(IAM_FINDING, encoding="utf-8") as f:
            finding = json.load(f)
        finding["type"] = "a" * 100
        path = os.path.join(self.tmp.name, "finding.json")
        with open(path, "w", encoding="utf-8") as f:
            json.dump(finding, f)
        run = self.deadbolt("costly_pattern", path)
        self.assert_sane(run, 0, cpu=5.0, wall=30.0)
        lines = self.lines()
        self.assertEqual(self.event(lines, "run_start")["playbook"]["name"], "iam")
        self.assertEqual(self.event(lines, "run_end")["outcome"], "contained")
        self.assertEqual([a for _, _, a in self.server.seen], ["ListAccessKeys"])

    # ---- bounded output ----

    def test_output_is_cut_at_the_limit_and_memory_stays_bounded(self):
        run = self.deadbolt("output_flood", EC2_FINDING, "--dry-run")
        self.assert_sane(run, 0, cpu=30.0, wall=120.0)
        size = os.path.getsize(self.journal)
        self.assertLess(size, OUTPUT_LIMIT + 64 * 1024, f"journal of {size} bytes")
        lines = self.lines()
        self.assertEqual(sum(1 for e in lines if e["event"] == "output_cut"), 1)
        end = self.event(lines, "run_end")
        self.assertEqual(end["outcome"], "planned")
        self.assertEqual(end["counts"]["writes_planned"], 450)
        self.assertGreater(end["journal_lines_dropped"], 0)
        self.assertEqual(self.server.seen, [], "a dry run sent a request")

    def test_summary_and_plan_are_cut_at_the_limit(self):
        run = self.deadbolt("output_flood", EC2_FINDING, "--dry-run", journal=False)
        self.assert_sane(run, 0, cpu=30.0, wall=120.0)
        self.assertLess(len(run.stdout.encode()), 2 * OUTPUT_LIMIT + 64 * 1024)
        self.assertIn("450 writes planned, none sent", run.stdout)

    # ---- one playbook's failure is its own ----

    def test_broken_ec2_does_not_stop_an_iam_finding(self):
        run = self.deadbolt("broken_ec2", IAM_FINDING)
        self.assert_sane(run, 0, cpu=10.0, wall=60.0)
        lines = self.lines()
        start = self.event(lines, "run_start")
        self.assertEqual(start["playbook"]["name"], "iam")
        self.assertTrue(any(p.startswith("ec2.lua: ") and "budget exceeded" in p
                            for p in start["playbook_problems"]), start)
        self.assertEqual(self.event(lines, "run_end")["outcome"], "contained")
        self.assertEqual([a for _, _, a in self.server.seen], ["ListAccessKeys"])

    def test_broken_ec2_fails_an_ec2_finding_and_sends_nothing(self):
        run = self.deadbolt("broken_ec2", EC2_FINDING)
        self.assert_sane(run, 1, cpu=10.0, wall=60.0)
        end = self.event(self.lines(), "run_end")
        self.assertEqual(end["outcome"], "failed")
        self.assertIn("ec2.lua", end["reason"])
        self.assertEqual(self.server.seen, [])

    def test_check_names_only_the_broken_file(self):
        proc = subprocess.run([DEADBOLT, "check", os.path.join(HOSTILE, "broken_ec2")],
                              capture_output=True, text=True, env=self.env(), timeout=120)
        self.assertGreaterEqual(proc.returncode, 1)
        problems = [l for l in proc.stdout.splitlines() if l.strip()]
        self.assertTrue(problems)
        for line in problems:
            self.assertIn("ec2.lua", line)

    # ---- the journal is exact ----

    def test_journal_saves_exactly_or_fails_the_step(self):
        run = self.deadbolt("journal_exact", EC2_FINDING, "--dry-run")
        self.assert_sane(run, 1, cpu=10.0, wall=60.0)
        lines = self.lines()
        steps = {e["step"]: e for e in lines if e["event"] == "step"}
        self.assertEqual(sorted(steps), ["after", "cycle", "keys", "oversize", "shared"])
        self.assertEqual(steps["keys"]["saved"]["v"], {"1": "one", "2.5": "half", "true": "yes", "s": "s"})
        self.assertIn("appears twice", steps["shared"]["error"])
        self.assertIn("appears twice", steps["cycle"]["error"])
        self.assertIn("too much undo data", steps["oversize"]["error"])
        self.assertEqual(steps["after"]["saved"]["v"], "still journaled")
        self.assertFalse([e for e in lines if e["event"] == "journal_error"])
        self.assertEqual(self.server.seen, [])

    # ---- the summary cannot be forged ----

    def test_summary_cannot_be_forged(self):
        run = self.deadbolt("forged_summary", EC2_FINDING, "--dry-run", journal=False)
        self.assert_sane(run, 0, cpu=10.0, wall=60.0)
        outcomes = [l for l in run.stdout.splitlines() if l.lstrip().startswith("outcome:")]
        self.assertEqual(len(outcomes), 1, run.stdout)
        self.assertIn("skipped", outcomes[0])
        for bad in ("\x1b", "\r", "\x07", "\u009b"):
            self.assertNotIn(bad, run.stdout)
        self.assertIn("\\n  outcome: contained", run.stdout)


if __name__ == "__main__":
    unittest.main()
