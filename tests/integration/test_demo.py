"""`make demo KEEP=1` (tools/demo.sh) keeps its world: the servers stay up
after the demo, and what it prints (the finding files, env.sh, the replay
commands, the stop command) is enough to replay a finding against that
account and then to stop it. The demo starts its own moto and fake, apart
from the suite's."""

import os
import re
import shlex
import subprocess
import time
import unittest
import urllib.request

from harness.world import ROOT


class TestDemoKeep(unittest.TestCase):
    def test_keep_leaves_a_world_to_replay_against_and_a_way_to_stop_it(self):
        env = {k: v for k, v in os.environ.items()
               if k not in ("MOTO_URL", "FAKEAWS_URL", "SIMULATED_ACCOUNT_DIR")}
        env["KEEP"] = "1"
        p = subprocess.run(["sh", "tools/demo.sh"], cwd=ROOT, env=env, capture_output=True,
                           text=True, timeout=600, stdin=subprocess.DEVNULL)
        said = p.stdout + p.stderr
        kept = re.search(r"kept: moto at (\S+) \(pid (\d+)\), the fake AWS at (\S+) \(pid (\d+)\); "
                         r"stop both with: sh (\S+)", p.stderr)
        self.assertIsNotNone(kept, said[-3000:])
        moto_url, moto_pid, fake_url, fake_pid, stop = kept.groups()
        self.addCleanup(subprocess.run, ["sh", stop], capture_output=True)
        self.assertEqual(p.returncode, 0, said[-3000:])
        env_sh = re.search(r"^  \. (\S+env\.sh)$", p.stdout, re.M).group(1)
        ec2 = re.search(r"run --dry-run (\S+ec2\.json)", p.stdout).group(1)
        self.assertIn(moto_url, p.stdout)

        # The servers outlived the demo, and the printed replay works.
        with urllib.request.urlopen(moto_url + "/moto-api/", timeout=10) as resp:
            self.assertEqual(resp.status, 200)
        replay = subprocess.run(
            ["sh", "-c", f". {shlex.quote(env_sh)} && build/deadbolt run --dry-run {shlex.quote(ec2)}"],
            cwd=ROOT, env={"PATH": os.environ["PATH"], "HOME": os.path.dirname(env_sh)},
            capture_output=True, text=True, timeout=120)
        self.assertEqual(replay.returncode, 0, replay.stdout + replay.stderr)
        self.assertIn("outcome: planned", replay.stdout)
        # The demo's live run contained the instance: the replay plans no isolation again.
        self.assertNotIn("ModifyNetworkInterfaceAttribute", replay.stdout)

        # The stop command ends both servers and removes the directory.
        subprocess.run(["sh", stop], check=True, capture_output=True, timeout=30)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline and any(os.path.exists(f"/proc/{p}") for p in (moto_pid, fake_pid)):
            time.sleep(0.1)
        for pid in (moto_pid, fake_pid):
            self.assertFalse(os.path.exists(f"/proc/{pid}"), f"pid {pid} still running")
        self.assertFalse(os.path.exists(os.path.dirname(stop)))


if __name__ == "__main__":
    unittest.main()
