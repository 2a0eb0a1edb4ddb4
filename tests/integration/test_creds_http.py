"""test_creds_http — the container and IMDSv2 credential providers, over HTTP
on 127.0.0.1.

Two halves, one fake (tests/integration/fake_metadata.py):
  * botocore's own providers (ContainerProvider, InstanceMetadataProvider) are
    pointed at the fake, so the fake is known to answer the way the reference
    client expects — it is not a stand-in shaped after deadbolt's code;
  * the C side, build/tests/test_creds_http (tests/unit/test_creds_http.c),
    runs against the same fake and must pass. It is built by `make
    build/tests/test_creds_http` ($BUILD/tests/... when BUILD is set, as in
    the Makefile); without it that test is skipped and says so.

Run: python3 -m unittest tests/integration/test_creds_http.py (from the
repository root).
"""
import os
import subprocess
import sys
import tempfile
import time
import unittest

from botocore.credentials import ContainerProvider, InstanceMetadataProvider
from botocore.exceptions import CredentialRetrievalError
from botocore.utils import ContainerMetadataFetcher, InstanceMetadataFetcher

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
FAKE = os.path.join(HERE, "fake_metadata.py")
AUTH = "py-side-auth-token"


class FakeMetadata:
    """fake_metadata.py in a child process, on a free port."""

    def __init__(self):
        self.dir = tempfile.mkdtemp(prefix="deadbolt-fake-metadata-")
        self.port_file = os.path.join(self.dir, "port")
        self.log_file = os.path.join(self.dir, "requests.log")
        self.proc = subprocess.Popen(
            [sys.executable, FAKE, "--port-file", self.port_file, "--log-file", self.log_file,
             "--auth-token", AUTH, "--max-seconds", "120"])
        deadline = time.monotonic() + 10
        while not os.path.exists(self.port_file):
            if self.proc.poll() is not None or time.monotonic() > deadline:
                self.stop()
                raise RuntimeError("fake_metadata.py did not start")
            time.sleep(0.02)
        with open(self.port_file) as f:
            self.port = int(f.read())
        self.url = f"http://127.0.0.1:{self.port}"

    def requests(self):
        try:
            with open(self.log_file) as f:
                return [line.rstrip("\n") for line in f]
        except FileNotFoundError:
            return []

    def clear_log(self):
        open(self.log_file, "w").close()

    def stop(self):
        if self.proc.poll() is None:
            self.proc.kill()
        self.proc.wait()
        for name in ("port", "requests.log"):
            try:
                os.unlink(os.path.join(self.dir, name))
            except FileNotFoundError:
                pass
        os.rmdir(self.dir)


class FakeAgreesWithBotocore(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        os.environ["NO_PROXY"] = "127.0.0.1,localhost"  # never through a proxy
        cls.fake = FakeMetadata()
        cls.addClassCleanup(cls.fake.stop)

    def setUp(self):
        self.fake.clear_log()

    def imds(self, scenario=""):
        fetcher = InstanceMetadataFetcher(timeout=1, num_attempts=1,
                                          base_url=f"{self.fake.url}{scenario}/")
        return InstanceMetadataProvider(iam_role_fetcher=fetcher).load()

    def container(self, path, token):
        env = {"AWS_CONTAINER_CREDENTIALS_FULL_URI": f"{self.fake.url}{path}"}
        if token is not None:
            env["AWS_CONTAINER_AUTHORIZATION_TOKEN"] = token
        fetcher = ContainerMetadataFetcher(sleep=lambda s: None)
        return ContainerProvider(environ=env, fetcher=fetcher).load()

    def test_imds_v2_credentials_reach_botocore(self):
        creds = self.imds()
        self.assertIsNotNone(creds)
        frozen = creds.get_frozen_credentials()
        self.assertEqual(frozen.access_key, "ASIAIMDS")
        self.assertEqual(frozen.secret_key, "imds-secret-key")
        self.assertEqual(frozen.token, "imds-session-token")
        log = self.fake.requests()
        self.assertEqual(log[0], "PUT /latest/api/token token=no auth=no")
        self.assertIn("GET /latest/meta-data/iam/security-credentials/ token=yes auth=no", log)
        self.assertIn("GET /latest/meta-data/iam/security-credentials/fake-role token=yes auth=no", log)

    def test_imds_requires_v2_even_for_botocore(self):
        # botocore falls back to IMDSv1 when the token PUT is refused; the
        # fake, like an instance with IMDSv2 required, answers 401.
        self.assertIsNone(self.imds("/badtoken"))
        self.assertIn("GET /badtoken/latest/meta-data/iam/security-credentials/ token=no auth=no",
                      self.fake.requests())

    def test_imds_without_role(self):
        self.assertIsNone(self.imds("/norole"))

    def test_container_with_token(self):
        frozen = self.container("/container/creds", AUTH).get_frozen_credentials()
        self.assertEqual(frozen.access_key, "ASIACONTAINER")
        self.assertEqual(frozen.token, "container-session-token")
        self.assertEqual(self.fake.requests(), ["GET /container/creds token=no auth=yes"])

    def test_container_rejects_a_wrong_token(self):
        with self.assertRaises(CredentialRetrievalError):
            self.container("/container/creds", "wrong")
        with self.assertRaises(CredentialRetrievalError):
            self.container("/container/creds", None)


class CProvidersAgainstTheFake(unittest.TestCase):
    def test_c_suite(self):
        binary = os.path.join(ROOT, os.environ.get("BUILD", "build"), "tests", "test_creds_http")
        if not os.access(binary, os.X_OK):
            self.skipTest("build/tests/test_creds_http is not built (make build/tests/test_creds_http)")
        env = dict(os.environ, FAKE_METADATA=FAKE, NO_PROXY="127.0.0.1,localhost")
        run = subprocess.run([binary], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120)
        self.assertEqual(run.returncode, 0, run.stdout + run.stderr)
        self.assertIn("100%", run.stdout)


if __name__ == "__main__":
    unittest.main()
