"""`deadbolt check` on an edited copy of playbooks/: each kind of mistake a
team can make in a playbook or in config.lua is reported with its file, its
line and the fix, before anything reaches AWS; the shipped playbooks are
clean. Then the same mistakes at run time: a dry run refuses a planned write
the live run would refuse, and the error names the playbook's file and line
and the parameter meant.

Each planted line is found again in the edited file, so the expected line
numbers follow the playbooks as they change."""

import os
import shutil
import subprocess
import tempfile
import unittest

from harness.world import ROOT, WorldTestCase
from playbook_cases import finding, key_resource, notification_queue, run

PLAYBOOKS = os.path.join(ROOT, "playbooks")
DEADBOLT = os.environ.get("DEADBOLT_BIN", os.path.join(ROOT, "build", "deadbolt"))


def edited_copy(edits):
    """A copy of playbooks/ with edits applied: {file: [(old, new)]}; each old
    text must occur in the file. Returns the copy's directory."""
    tmp = tempfile.mkdtemp(prefix="deadbolt-check-")
    dest = os.path.join(tmp, "playbooks")
    shutil.copytree(PLAYBOOKS, dest)
    for name, pairs in edits.items():
        path = os.path.join(dest, name)
        with open(path, encoding="utf-8") as f:
            text = f.read()
        for old, new in pairs:
            if old not in text:
                raise AssertionError(f"{name}: {old!r} is not in the shipped file any more")
            text = text.replace(old, new, 1)
        with open(path, "w", encoding="utf-8") as f:
            f.write(text)
    return dest


def line_of(directory, name, text):
    """The line number of the first line of directory/name containing text."""
    with open(os.path.join(directory, name), encoding="utf-8") as f:
        for number, line in enumerate(f, 1):
            if text in line:
                return number
    raise AssertionError(f"{text!r} is not in {name}")


def check(directory):
    p = subprocess.run([DEADBOLT, "check", directory], capture_output=True, text=True,
                       timeout=60, cwd=ROOT)
    return p.returncode, p.stdout, p.stderr


# Each planted mistake: (file, old text, new text, the text of the new line
# to find it by, what the report must say).
PLANTED = [
    ("s3.lua", "          s3.put_public_access_block {",
     "          s3.put_public_access_blocks {", "s3.put_public_access_blocks",
     "s3.put_public_access_blocks is not an operation of s3: did you mean s3.put_public_access_block?"),
    ("lib/isolation.lua", "unless_done(ec2.revoke_security_group_egress,",
     "unless_done(ec2.revoke_security_group_ingress,", "ec2.revoke_security_group_ingress",
     "ec2.revoke_security_group_ingress is not on the allow-list"),
    ("iam.lua", "aws.try(iam.put_user_policy, { UserName = name,",
     "aws.try(iam.put_user_policy, { Username = name,", "{ Username = name,",
     "iam.put_user_policy: unknown parameter Username: did you mean UserName?"),
    ("iam.lua", 'iam.update_access_key { UserName = user, AccessKeyId = key, Status = "Inactive" }',
     'iam.update_access_key { UserName = user, AccessKeyID = key, Status = "inactive" }',
     'AccessKeyID = key', "iam.update_access_key: unknown parameter AccessKeyID: did you mean AccessKeyId?"),
    ("iam.lua", 'iam.update_access_key { UserName = user, AccessKeyId = key, Status = "Inactive" }',
     'iam.update_access_key { UserName = user, AccessKeyID = key, Status = "inactive" }',
     'Status = "inactive"', 'iam.update_access_key: Status is "inactive": did you mean "Inactive"?'),
    ("s3.lua", '    {\n      name = "choose_response",\n',
     '    { why = "a step without a name", run = function(ctx) end },\n    {\n      name = "choose_response",\n',
     'a step without a name', "steps[2] has no name: add name ="),
    ("s3.lua", '    { resource_type = "S3Bucket" },', '    { resource_type = "S3bucket" },',
     'resource_type = "S3bucket"', 'resource_type "S3bucket" is not one GuardDuty sends: did you mean "S3Bucket"?'),
    ("s3.lua", '{ resource_type = "AccessKey", finding_type = "^[%w]+:S3/" }',
     '{ resource_type = "AccessKey", finding_type = "^[%w]+:S4/" }', ':S4/',
     'the resource part "S4" is not one GuardDuty sends: did you mean "S3"?'),
    ("config.lua", '    default = "contain",\n\n    -- An instance', '    default = "contian",\n\n    -- An instance',
     'default = "contian"', 'ec2.default: "contian" is not contain, evidence or notify: did you mean "contain"?'),
    ("config.lua", "    snapshots = true,", "    snapshot = true,", "snapshot = true",
     "ec2.snapshot: unknown setting: did you mean snapshots?"),
    ("config.lua", 'ec2 = {\n    -- By default every EC2 finding is contained: that is deadbolt\'s promise.\n    rules = {},',
     'ec2 = {\n    rules = {\n      { finding_type = "^Recon:EC2/", response = "evidance" } },',
     'response = "evidance"', 'ec2.rules[1].response: "evidance" is not contain, evidence or notify: did you mean "evidence"?'),
    ("config.lua", "prefix = \"evidence/{account}/", "prefix = \"evidence/{acount}/", "{acount}",
     "evidence.prefix: {acount} is not filled in (it becomes \"\"): did you mean {account}?"),
    ("iam.lua", 'policy.setting("iam", "revoke_sessions")', 'policy.setting("iam", "revoke_session")',
     '"revoke_session")', "iam.revoke_session is no setting of config.lua (it reads nil): did you mean "
     "iam.revoke_sessions?"),
    ("config.lua", "egress = {},", "egress = { IpRange = {} },", "egress = { IpRange",
     "forensics.egress.IpRange: is not used"),
]


class TestCheckWithoutAws(unittest.TestCase):
    def test_the_shipped_playbooks_are_clean(self):
        rc, out, err = check(PLAYBOOKS)
        self.assertEqual(rc, 0, out + err)
        self.assertIn("3 playbooks, 1 module: no problems", out)

    def test_each_planted_mistake_is_reported_with_its_file_line_and_fix(self):
        edits = {}
        for name, old, new, _, _ in PLANTED:
            if (old, new) not in edits.setdefault(name, []):
                edits[name].append((old, new))
        directory = edited_copy(edits)
        rc, out, err = check(directory)
        self.assertNotEqual(rc, 0, out + err)
        for name, _, _, marker, says in PLANTED:
            where = f"{directory}/{name}:{line_of(directory, name, marker)}: "
            self.assertTrue(any(l.startswith(where) and says in l for l in out.splitlines()),
                            f"no '{where}...{says}' in:\n{out}")

    def test_a_mistake_is_found_in_a_file_of_lib_and_nowhere_else(self):
        directory = edited_copy({"lib/notify.lua": [("sns.publish", "sns.pubish")]})
        rc, out, _ = check(directory)
        self.assertNotEqual(rc, 0)
        lines = out.splitlines()
        self.assertEqual(len(lines), 1, out)
        self.assertIn("/lib/notify.lua:", lines[0])
        self.assertIn("sns.pubish is not an operation of sns: did you mean sns.publish?", lines[0])


class TestOperationNames(unittest.TestCase):
    def test_the_operation_names_are_those_of_the_installed_botocore(self):
        """engine/aws/op_names_data.c is what tools/gen_op_names.py makes now:
        check knows the same operations as boto3 does."""
        p = subprocess.run(["python3", "tools/gen_op_names.py", "--check"], cwd=ROOT,
                           capture_output=True, text=True, timeout=120)
        self.assertEqual(p.returncode, 0, "regenerate: python3 tools/gen_op_names.py\n" + p.stderr)


class TestRuntimeErrors(WorldTestCase):
    """The same mistakes, had nobody run check: the dry run fails the step as
    the live run would (moto is not asked: validation happens before any
    write is planned or sent), and says where and what was meant."""

    def test_dry_run_refuses_a_write_the_live_run_would_refuse_and_names_file_and_line(self):
        topic, _ = notification_queue(self.world)
        user = self.world.iam_user("intern-2023", keys=2)
        directory = edited_copy({"iam.lua": [
            ('Status = "Inactive" }', 'Status = "inactive" }'),
            ("aws.try(iam.put_user_policy, { UserName = name,", "aws.try(iam.put_user_policy, { Username = name,")]})
        doc = finding("PenTest:IAMUser/KaliLinux", key_resource("IAMUser", user.name, user.keys[1]["id"]))
        result = run(self.world, doc, "--dry-run", env={"NOTIFICATION_TOPIC_ARN": topic},
                     playbooks=directory)
        self.assertEqual(result.rc, 1, result.describe())
        steps = result.findings[0]["steps"]
        deactivate = steps["deactivate_access_key"]
        self.assertEqual(deactivate["status"], "failed")
        line = line_of(directory, "iam.lua", 'Status = "inactive"')
        # the sandbox's argument rule judges it first: a key is only ever deactivated
        self.assertIn(f"iam.lua:{line}: iam.update_access_key refused by rule deactivate-only: "
                      'Status may only be "Inactive"', deactivate["error"])
        revoke = steps["revoke_older_sessions"]
        self.assertEqual(revoke["status"], "failed")
        self.assertIn("iam.PutUserPolicy: unknown parameter Username: did you mean UserName?", revoke["error"])
        self.assertRegex(revoke["error"], r"iam\.lua:\d+: ")
        planned = [c["op"] for c in result.findings[0]["calls"] if c.get("dry_run")]
        self.assertNotIn("iam.UpdateAccessKey", planned)
        self.assertNotIn("iam.PutUserPolicy", planned)
        keys = self.world.iam.list_access_keys(UserName=user.name)["AccessKeyMetadata"]
        self.assertEqual({k["Status"] for k in keys}, {"Active"})


if __name__ == "__main__":
    unittest.main()
