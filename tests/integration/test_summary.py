"""The human summary of `deadbolt run`: what a person reads first. Each
step's notes under its own status line, each step's why in the plan, long
values shortened, distinct placeholders for distinct planned resources,
skips said in words, findings numbered over the whole run with a total, and
the summary kept apart from the journal's JSON lines."""

import json
import os
import re
import shutil
import tempfile

from harness.world import WorldTestCase
from playbook_cases import (ec2_world, finding, instance_resource, key_resource, printed_plan,
                            run)


def lines_after(text, marker):
    """The lines of text after the first line that contains marker."""
    out = text.splitlines()
    for i, line in enumerate(out):
        if marker in line:
            return out[i + 1:]
    raise AssertionError(f"no line with {marker!r} in:\n{text}")


class TestSummary(WorldTestCase):
    def test_notes_follow_their_own_step_and_skips_say_why(self):
        user = self.world.iam_user("build-bot", keys=1)
        result = run(self.world, finding("PenTest:IAMUser/KaliLinux",
                                         key_resource("IAMUser", user.name, user.keys[0]["id"])),
                     journal=False)
        self.assertEqual(result.rc, 0, result.describe())
        after = lines_after(result.out, "ok       choose_response")
        self.assertIn("[info] response: contain", after[0])
        # notify is skipped with its reason in words, not "when returned false"
        self.assertRegex(result.out, r"skipped  notify: no NOTIFICATION_TOPIC_ARN set")
        self.assertNotIn("when returned false", result.out)

    def test_plan_names_each_step_with_its_why_and_shortens_long_values(self):
        w = ec2_world(self.world)
        result = run(self.world, finding("CryptoCurrency:EC2/BitcoinTool.B", instance_resource(w.inst.id),
                                         role="ACTOR"), "--dry-run", env=w.env, journal=False)
        self.assertEqual(result.rc, 0, result.describe())
        self.assertRegex(result.out, r"\n    isolate_network: \S")
        plan = printed_plan(result.out)
        # the allow-all and the isolation group are two groups in the plan
        created = [op for op, _ in plan if op == "ec2.CreateSecurityGroup"]
        self.assertEqual(len(created), 2)
        moved = [p["Groups"][0] for op, p in plan if op == "ec2.ModifyNetworkInterfaceAttribute"]
        self.assertEqual(len(set(moved)), 2, moved)
        # an evidence body is shown by its size and hash, not whole
        bodies = [p.get("Body") for op, p in plan if op == "s3.PutObject"]
        self.assertTrue(any(re.fullmatch(r"<[0-9]+ bytes, sha256 [0-9a-f]{12}\.\.\.>", b or "")
                            for b in bodies), bodies)

    def test_findings_are_numbered_over_the_run_and_totalled(self):
        user = self.world.iam_user("ops-bot", keys=1)
        docs = [finding("PenTest:IAMUser/KaliLinux", key_resource("IAMUser", user.name, user.keys[0]["id"])),
                finding("PenTest:IAMUser/KaliLinux", key_resource("Root", "root", "ASIAQXVTRV5EXAMPLE99"))]
        tmp = tempfile.mkdtemp(prefix="deadbolt-summary-")
        try:
            paths = []
            for i, doc in enumerate(docs):
                paths.append(os.path.join(tmp, f"f{i}.json"))
                with open(paths[-1], "w") as f:
                    json.dump(doc, f)
            rc, out, err = self.world.deadbolt("run", "--dry-run", *paths)
            self.assertEqual(rc, 0, err)
            self.assertIn("finding 1: ", out)
            self.assertIn("finding 2: ", out)
            self.assertRegex(out.splitlines()[-1], r"^total: 2 findings, 1 planned, 1 skipped$")
            # --journal -: the JSON lines on stdout, the summary on stderr
            rc, out, err = self.world.deadbolt("run", "--dry-run", "--journal", "-", *paths)
            self.assertEqual(rc, 0, err)
            for line in out.splitlines():
                json.loads(line)
            self.assertIn("total: 2 findings", err)
            # --quiet: no summary at all
            rc, out, err = self.world.deadbolt("run", "--dry-run", "--journal", "-", "--quiet", *paths)
            self.assertEqual(rc, 0, err)
            self.assertNotIn("total:", err + out)
        finally:
            shutil.rmtree(tmp, ignore_errors=True)
