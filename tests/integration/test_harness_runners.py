"""The scripts around the tests: tools/run-units.sh and tests/harness/run.py
close with the line CI reads and fail when a test failed;
tools/install-deps.sh --check is fast, silent, and names what is missing;
tests/run-integration.sh stops its servers by pid however it ends."""

import glob
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import textwrap
import time
import unittest

from harness.world import ROOT

CHECK_SUITE = r"""
#include <check.h>
#include <stdlib.h>
START_TEST(passes) { ck_assert_int_eq(1, 1); }
END_TEST
START_TEST(fails) { ck_assert_int_eq(1, 2); }
END_TEST
START_TEST(crashes) { volatile int *p = NULL; *p = 1; }
END_TEST
int main(void)
{
	Suite *s = suite_create("sample");
	TCase *tc = tcase_create("core");
	tcase_add_test(tc, passes);
	tcase_add_test(tc, passes);
	tcase_add_test(tc, fails);
	tcase_add_test(tc, crashes);
	suite_add_tcase(s, tc);
	SRunner *sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	int failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
"""

SAMPLE_TESTS = """
import unittest
class Sample(unittest.TestCase):
    def test_passes(self): pass
    def test_fails(self): self.assertEqual(1, 2)
    def test_errors(self): raise RuntimeError("boom")
    @unittest.skip("not today")
    def test_skipped(self): pass
"""


def run(cmd, timeout=120, **kw):
    proc = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, timeout=timeout,
                          stdin=subprocess.DEVNULL, **kw)
    return proc.returncode, proc.stdout, proc.stderr


def last_line(text):
    return text.rstrip("\n").rpartition("\n")[2]


def gone(pid):
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rpartition(")")[2].split()[0] == "Z"
    except OSError:
        return True


class Scratch(unittest.TestCase):
    def setUp(self):
        self.dir = tempfile.mkdtemp(prefix="harness-test-")
        self.addCleanup(shutil.rmtree, self.dir, True)

    def write(self, name, text, mode=0o644):
        path = os.path.join(self.dir, name)
        with open(path, "w") as f:
            f.write(text)
        os.chmod(path, mode)
        return path


class TestRunUnits(Scratch):
    def test_counts_a_real_check_binary_and_fails_on_its_failures(self):
        src = self.write("sample.c", CHECK_SUITE)
        binary = os.path.join(self.dir, "test_sample")
        flags = subprocess.run(["pkg-config", "--cflags", "--libs", "check"], capture_output=True,
                               text=True, check=True).stdout.split()
        subprocess.run(["cc", "-o", binary, src, *flags], check=True)
        rc, out, _ = run(["sh", "tools/run-units.sh", binary])
        self.assertIn("50%: Checks: 4, Failures: 1, Errors: 1", out)
        self.assertEqual((rc, last_line(out)), (1, "units: 2 passed, 2 failed"))

    def test_sums_binaries_and_counts_a_crash_or_a_missing_one(self):
        ok = self.write("ok", '#!/bin/sh\necho "100%: Checks: 12, Failures: 0, Errors: 0"\n', 0o755)
        ok2 = self.write("ok2", '#!/bin/sh\necho "100%: Checks: 3, Failures: 0, Errors: 0"\n', 0o755)
        rc, out, _ = run(["sh", "tools/run-units.sh", ok, ok2])
        self.assertEqual((rc, last_line(out)), (0, "units: 15 passed, 0 failed"))
        crash = self.write("crash", "#!/bin/sh\nkill -SEGV $$\n", 0o755)
        rc, out, _ = run(["sh", "tools/run-units.sh", ok, crash, os.path.join(self.dir, "missing")])
        self.assertEqual((rc, last_line(out)), (1, "units: 12 passed, 2 failed"))


class TestRunner(Scratch):
    def test_closing_line_counts_and_exit_status(self):
        mixed = self.write("test_mixed_sample.py", SAMPLE_TESTS)
        rc, out, _ = run([sys.executable, "tests/harness/run.py", mixed])
        self.assertEqual((rc, last_line(out)), (1, "integration: 1 passed, 2 failed, 1 skipped"))
        self.assertIn("test_passes (test_mixed_sample.Sample.test_passes) ... ok", out)
        good = self.write("test_good_sample.py", "import unittest\nclass G(unittest.TestCase):\n"
                          "    def test_a(self): pass\n    def test_b(self): pass\n")
        rc, out, _ = run([sys.executable, "tests/harness/run.py", good])
        self.assertEqual((rc, last_line(out)), (0, "integration: 2 passed, 0 failed"))

    def test_no_test_run_is_a_failure(self):
        empty = self.write("test_empty_sample.py", "import unittest\n")
        rc, out, _ = run([sys.executable, "tests/harness/run.py", empty])
        self.assertEqual((rc, last_line(out)), (1, "integration: 0 passed, 0 failed"))


class TestInstallDepsCheck(Scratch):
    def test_silent_and_fast_when_everything_is_there(self):
        start = time.monotonic()
        rc, out, err = run(["sh", "tools/install-deps.sh", "--check"])
        self.assertEqual((rc, out, err), (0, "", ""))
        self.assertLess(time.monotonic() - start, 1.0)

    def test_one_line_names_what_is_missing(self):
        # A PATH with everything but moto_server.
        bin_dir = os.path.join(self.dir, "bin")
        os.mkdir(bin_dir)
        for cmd in ("cc", "make", "pkg-config", "cfn-lint", "hyperfine", "nginx", "ip", "sh", "clang"):
            os.symlink(shutil.which(cmd, path=os.environ["PATH"] + ":/usr/sbin"),
                       os.path.join(bin_dir, cmd))
        os.symlink(sys.executable, os.path.join(bin_dir, "python3"))
        env = dict(os.environ, PATH=bin_dir)
        rc, out, _ = run(["/bin/sh", "tools/install-deps.sh", "--check"], env=env)
        self.assertEqual((rc, out), (1, "missing: moto_server\n"))


class TestRunIntegration(Scratch):
    def start(self, test_file, env):
        return subprocess.Popen(["sh", "tests/run-integration.sh", test_file], cwd=ROOT, env=env,
                                stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE, text=True)

    def nested_env(self):
        tmp = os.path.join(self.dir, "tmp")
        os.mkdir(tmp)
        return tmp, dict(os.environ, TMPDIR=tmp, KEEP_LOGS="1")

    def server_pids(self, tmp):
        work = glob.glob(os.path.join(tmp, "deadbolt-account.*"))
        self.assertEqual(len(work), 1)
        with open(os.path.join(work[0], "moto.pid")) as m, open(os.path.join(work[0], "fake.pid")) as f:
            return int(m.read()), int(f.read())

    def test_failing_tests_fail_the_run_and_the_servers_stop(self):
        nested = self.write("test_nested_sample.py", textwrap.dedent("""
            from harness.world import WorldTestCase
            class Nested(WorldTestCase):
                def test_reaches_moto_and_the_fake(self):
                    self.world.fake_client("ec2").describe_vpcs()
                    self.assertEqual(self.world.attempts("DescribeVpcs"), 1)
                def test_fails(self):
                    self.fail("on purpose")
            """))
        tmp, env = self.nested_env()
        proc = self.start(nested, env)
        out, err = proc.communicate(timeout=180)
        self.assertEqual((proc.returncode, last_line(out)), (1, "integration: 1 passed, 1 failed"), err)
        for pid in self.server_pids(tmp):
            self.assertTrue(gone(pid), f"process {pid} still running")

    def test_term_stops_the_tests_and_the_servers(self):
        slow = self.write("test_slow_sample.py", textwrap.dedent("""
            import time, unittest
            class Slow(unittest.TestCase):
                def test_sleeps(self):
                    time.sleep(60)
            """))
        tmp, env = self.nested_env()
        proc = self.start(slow, env)
        deadline = time.monotonic() + 90
        while not glob.glob(os.path.join(tmp, "deadbolt-account.*", "fake.port")):
            self.assertLess(time.monotonic(), deadline, "servers did not start")
            time.sleep(0.2)
        time.sleep(1)  # the tests are running now
        proc.send_signal(signal.SIGTERM)
        proc.communicate(timeout=30)
        self.assertEqual(proc.returncode, 143)
        for pid in self.server_pids(tmp):
            self.assertTrue(gone(pid), f"process {pid} still running")
