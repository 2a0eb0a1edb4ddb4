"""The suite does not depend on playbooks/config.lua: it runs the shipped
playbooks with its own configuration (tests/harness/config.lua, put in a
copy by tests/harness/playbooks.py). Proved on a copy of the repository's
playbooks whose config.lua a team has tuned: the playbook tests still pass
on it, while the same tuning, used as the configuration, changes what
deadbolt does (so the tests would have seen it had it leaked in)."""

import filecmp
import os
import shutil
import subprocess
import sys
import tempfile

from harness import playbooks as harness_playbooks
from harness.world import ROOT, WorldTestCase
from playbook_cases import ec2_world, finding, instance_resource, printed_plan, run

# A team's tuning: every EC2 finding only notified, no forensics, no
# snapshots, another tag and policy name. Each would break a playbook test
# that read playbooks/config.lua.
TUNING = {
    '    rules = {},\n    default = "contain",\n\n    -- An instance':
        '    rules = {},\n    default = "notify",\n\n    -- An instance',
    "snapshots = true,": "snapshots = false,",
    'status = "deadbolt:status",': 'status = "acme:quarantine",',
    'revoke_policy_name = "AWSRevokeOlderSessions",': 'revoke_policy_name = "AcmeRevoke",',
    "enabled = true,": "enabled = false,",
}


def tuned_copy(tmp):
    """A copy of playbooks/ with TUNING applied to its config.lua."""
    dest = os.path.join(tmp, "team-playbooks")
    shutil.copytree(harness_playbooks.SHIPPED, dest)
    path = os.path.join(dest, "config.lua")
    with open(path) as f:
        text = f.read()
    for old, new in TUNING.items():
        assert old in text, f"config.lua has no {old!r}: update TUNING"
        text = text.replace(old, new, 1)
    with open(path, "w") as f:
        f.write(text)
    return dest


class TestTheSuitesConfiguration(WorldTestCase):
    def setUp(self):
        super().setUp()
        self.tmp = tempfile.mkdtemp(prefix="deadbolt-team-")
        self.addCleanup(shutil.rmtree, self.tmp, True)
        self.team = tuned_copy(self.tmp)

    def test_the_suites_playbooks_are_the_shipped_code_with_the_tests_config(self):
        built = harness_playbooks.build(source=self.team, into=os.path.join(self.tmp, "built"))
        self.assertTrue(filecmp.cmp(os.path.join(built, "config.lua"), harness_playbooks.TEST_CONFIG,
                                    shallow=False))
        for name in ("ec2.lua", "s3.lua", "iam.lua", os.path.join("lib", "isolation.lua")):
            self.assertTrue(filecmp.cmp(os.path.join(built, name), os.path.join(self.team, name),
                                        shallow=False), name)

    def test_the_tuning_changes_what_deadbolt_does_and_the_suite_does_not_see_it(self):
        w = ec2_world(self.world)
        doc = finding("UnauthorizedAccess:EC2/SSHBruteForce", instance_resource(w.inst.id), severity=8)
        suite = run(self.world, doc, "--dry-run", env=w.env, journal=False)
        team = run(self.world, doc, "--dry-run", env=w.env, journal=False, playbooks=self.team)
        suite_ops = [op for op, _ in printed_plan(suite.out)]
        team_ops = [op for op, _ in printed_plan(team.out)]
        self.assertIn("ec2.ModifyNetworkInterfaceAttribute", suite_ops, suite.describe())
        self.assertIn("ec2.CreateSnapshot", suite_ops)
        self.assertEqual(team_ops, ["sns.Publish"], team.describe())

    def test_the_playbook_tests_pass_on_a_tuned_copy(self):
        """The suite's own dry-run tests, run (in a child process, on this
        account) against the tuned copy as the playbooks under test: green.
        The same tests with the tuning as their configuration: red."""
        runner = os.path.join(ROOT, "tests", "harness", "run.py")
        module = os.path.join(ROOT, "tests", "integration", "test_playbook_dryrun.py")

        def suite(**env):
            p = subprocess.run([sys.executable, runner, module], cwd=ROOT, capture_output=True,
                               text=True, timeout=600, env=dict(os.environ, **env))
            return p.returncode, p.stdout.strip().splitlines()[-1:], p.stdout + p.stderr

        rc, last, out = suite(DEADBOLT_TEST_PLAYBOOKS_FROM=self.team)
        self.assertEqual(rc, 0, out[-3000:])
        self.assertRegex(last[0], r"^integration: [1-9]\d* passed, 0 failed")
        rc, last, out = suite(DEADBOLT_TEST_PLAYBOOKS_FROM=self.team,
                              DEADBOLT_TEST_CONFIG=os.path.join(self.team, "config.lua"))
        self.assertNotEqual(rc, 0, "the tuning did not matter to the tests: this proves nothing")
