"""Dry runs of the three playbooks: the printed plan lists every write, in
order, with its parameters; reads are sent, no write is, and the world is
the same afterwards (checked with boto3 and with the fake's request log)."""

import json
import os
import shutil
import unittest

from harness.world import ACCOUNT, WorldTestCase
from playbook_cases import (active_after_keys, bucket_resource, ec2_state, ec2_world, endpoint_config, fake_writes,
                            finding, instance_resource, key_resource, notification_queue,
                            playbooks_with_config, printed_plan, run)


class DryRunCase(WorldTestCase):
    def dry_run(self, document, env, playbooks=None):
        result = run(self.world, document, "--dry-run", env=env, journal=False, playbooks=playbooks)
        self.assertEqual(result.rc, 0, result.describe())
        self.assertIn("outcome: planned", result.out, result.describe())
        self.assertIn("none sent", result.out)
        self.out = result.out
        self.assertEqual(fake_writes(self.world), [], "a write reached AWS")
        return printed_plan(result.out)


class TestEc2DryRun(DryRunCase):
    def test_plan_lists_the_writes_in_order_and_the_world_is_unchanged(self):
        w = ec2_world(self.world)
        playbooks = playbooks_with_config(endpoint_config(w))
        self.addCleanup(shutil.rmtree, os.path.dirname(playbooks), True)
        before = ec2_state(self.world, w)
        plan = self.dry_run(finding("CryptoCurrency:EC2/BitcoinTool.B", instance_resource(w.inst.id), role="ACTOR"),
                            w.env, playbooks=playbooks)
        self.assertEqual([op for op, _ in plan], [
            "s3.PutObject", "s3.PutObject",  # the lock's two windows, beside DescribeInstances, planned as taken
            "s3.PutObject", "s3.PutObject",  # the instance record and the screenshot, beside isolation
            "ec2.ModifyInstanceAttribute", "ec2.ModifyInstanceAttribute", "ec2.ModifyInstanceAttribute",
            "ec2.CreateSecurityGroup", "ec2.CreateSecurityGroup",
            "ec2.RevokeSecurityGroupEgress", "ec2.AuthorizeSecurityGroupIngress", "ec2.AuthorizeSecurityGroupEgress",
            "ec2.ModifyNetworkInterfaceAttribute", "ec2.ModifyNetworkInterfaceAttribute",
            "ec2.ModifyNetworkInterfaceAttribute", "ec2.ModifyNetworkInterfaceAttribute",
            "autoscaling.DetachInstances", "ec2.DisassociateIamInstanceProfile",
            "elb.DeregisterInstancesFromLoadBalancer", "elbv2.DeregisterTargets", "elbv2.DeregisterTargets",
            "ec2.CreateTags", "ec2.CreateSnapshot", "ec2.CreateSnapshot", "ec2.CreateSnapshot",
            "s3.PutObject",  # the evidence manifest
            # the forensic window: the two moves again, then the rule and the profile ...
            "ec2.ModifyNetworkInterfaceAttribute", "ec2.ModifyNetworkInterfaceAttribute",
            "ec2.ModifyNetworkInterfaceAttribute", "ec2.ModifyNetworkInterfaceAttribute",
            "ec2.AuthorizeSecurityGroupEgress", "ec2.AssociateIamInstanceProfile", "ssm.SendCommand",
            "s3.PutObject", "s3.PutObject",  # the commands' record and its manifest
            # ... and after it: both gone, the two moves again, the role's sessions revoked
            "ec2.DisassociateIamInstanceProfile", "ec2.RevokeSecurityGroupEgress",
            "ec2.ModifyNetworkInterfaceAttribute", "ec2.ModifyNetworkInterfaceAttribute",
            "ec2.ModifyNetworkInterfaceAttribute", "ec2.ModifyNetworkInterfaceAttribute",
            "iam.PutRolePolicy",
            "s3.PutObject", "s3.PutObject",  # the lock released, beside the notification
            "sns.Publish"])
        params = [p for _, p in plan]
        self.assertTrue(params[0]["Key"].startswith(f"locks/{ACCOUNT}/") and params[0]["IfNoneMatch"] == "*")
        self.assertEqual(params[4], {"InstanceId": w.inst.id, "DisableApiTermination": {"Value": True}})
        self.assertEqual(params[5], {"InstanceId": w.inst.id, "DisableApiStop": {"Value": True}})
        self.assertEqual(params[16]["ShouldDecrementDesiredCapacity"], False)
        # The planned isolation group read back in end_forensics as the plan
        # leaves it (its default egress rule revoked, the forensic rule
        # opened): only the forensic rule is revoked, as in a live run.
        revoked = [p for op, p in plan if op == "ec2.RevokeSecurityGroupEgress"][-1]["IpPermissions"]
        self.assertEqual([(r["IpProtocol"], r["FromPort"]) for r in revoked], [("tcp", 443)])
        # The waits are planned, not waited: the run took seconds, not the
        # 30 s + 45 s the config allows them.
        self.assertRegex(self.out, r"\(would wait up to \d+ s, checking every \d+ s: "
                                   r"ssm\.DescribeInstanceInformation; planned as met\)")
        self.assertRegex(self.out, r"\(would wait up to \d+ s, checking every \d+ s: "
                                   r"ssm\.GetCommandInvocation; planned as met\)")
        # The commands' wait answered as met: the planned record is of
        # commands that ended (the first status the wait's check accepts).
        record = [p for op, p in plan if op == "s3.PutObject" and p["Key"].endswith("/forensic-commands.json")]
        self.assertEqual(json.loads(record[0]["Body"])["status"], "Success")
        self.assertNotIn("plan (dry run)", [p for op, p in plan if op == "sns.Publish"][0]["Subject"])
        self.assertEqual(self.world.s3.list_objects_v2(Bucket=w.bucket)["KeyCount"], 0)
        moved = sorted(p["NetworkInterfaceId"] for op, p in plan if op == "ec2.ModifyNetworkInterfaceAttribute")
        self.assertEqual(moved, sorted(w.inst.enis * 6), "isolation, before and after the forensic window")
        self.assertEqual(sorted(p["VolumeId"] for op, p in plan if op == "ec2.CreateSnapshot"),
                         sorted(w.inst.volumes))
        self.assertEqual(ec2_state(self.world, w), before)
        self.assertEqual(self.world.ssm_commands(), [])

    def test_a_dry_run_plans_the_writes_the_live_run_then_makes(self):
        """The same playbook code runs in both modes: with the same reads,
        the dry run's plan is the live run's writes, call for call (the
        ids of what the plan creates are placeholders; a lock, a wait, a
        group read back are emulated, not skipped)."""
        w = ec2_world(self.world)
        playbooks = playbooks_with_config(endpoint_config(w))
        self.addCleanup(shutil.rmtree, os.path.dirname(playbooks), True)
        document = finding("CryptoCurrency:EC2/BitcoinTool.B", instance_resource(w.inst.id), role="ACTOR")
        dry = run(self.world, document, "--dry-run", env=w.env, playbooks=playbooks)
        self.assertEqual(dry.outcome, "planned", dry.describe())
        live = run(self.world, document, env=w.env, playbooks=playbooks)
        self.assertEqual(live.outcome, "contained", live.describe())
        planned = [(c["step"], c["op"]) for c in dry.calls() if c["access"] == "write"]
        sent = [(c["step"], c["op"]) for c in live.calls() if c["access"] == "write"]
        self.assertEqual(planned, sent)
        self.assertTrue(all(c.get("dry_run") for c in dry.calls() if c["access"] == "write"))


class TestS3DryRun(DryRunCase):
    def test_plan_lists_the_writes_in_order_and_the_world_is_unchanged(self):
        topic, _ = notification_queue(self.world)
        for name, public in (("reports-public", True), ("ledger-private", False), ("assets-public", True)):
            self.world.bucket(name, public=public)
        plan = self.dry_run(finding("Policy:S3/BucketAnonymousAccessGranted", bucket_resource([
            ("reports-public", True), ("ledger-private", False), ("assets-public", True)])),
            {"NOTIFICATION_TOPIC_ARN": topic})
        self.assertEqual([(op, p.get("Bucket")) for op, p in plan], [
            ("s3.PutPublicAccessBlock", "reports-public"), ("s3.PutPublicAccessBlock", "assets-public"),
            ("sns.Publish", None)])
        self.assertEqual(plan[0][1]["ExpectedBucketOwner"], ACCOUNT)
        self.assertEqual(plan[0][1]["PublicAccessBlockConfiguration"], {
            "BlockPublicAcls": True, "IgnorePublicAcls": True, "BlockPublicPolicy": True,
            "RestrictPublicBuckets": True})
        for name in ("reports-public", "ledger-private", "assets-public"):
            with self.assertRaises(Exception, msg=name):
                self.world.s3.get_public_access_block(Bucket=name)


class TestIamDryRun(DryRunCase):
    def test_plan_lists_the_writes_in_order_and_the_world_is_unchanged(self):
        topic, _ = notification_queue(self.world)
        user = self.world.iam_user("intern-2023", keys=2)
        doc = active_after_keys(self.world, finding("PenTest:IAMUser/KaliLinux", key_resource(
            "IAMUser", user.name, user.keys[1]["id"])), user.name)  # the other key predates the activity
        plan = self.dry_run(doc, {"NOTIFICATION_TOPIC_ARN": topic})
        self.assertEqual([op for op, _ in plan], ["iam.UpdateAccessKey", "iam.PutUserPolicy", "sns.Publish"])
        self.assertEqual(plan[0][1], {"UserName": user.name, "AccessKeyId": user.keys[1]["id"], "Status": "Inactive"})
        doc = json.loads(plan[1][1]["PolicyDocument"])
        self.assertEqual(doc["Statement"][0]["Effect"], "Deny")
        keys = self.world.iam.list_access_keys(UserName=user.name)["AccessKeyMetadata"]
        self.assertEqual({k["Status"] for k in keys}, {"Active"})
        self.assertEqual(self.world.iam.list_user_policies(UserName=user.name)["PolicyNames"], [])

    def test_assumed_role_plan(self):
        self.world.role("web-role")
        plan = self.dry_run(finding("UnauthorizedAccess:IAMUser/InstanceCredentialExfiltration.OutsideAWS",
                                    key_resource("AssumedRole", "web-role", "ASIAQXVTRV5EXAMPLE11",
                                                 "AROAQXVTRV5EXAMPLE5:i-0a1b2c3d4e5f67890")), {})
        self.assertEqual([(op, p.get("RoleName")) for op, p in plan], [("iam.PutRolePolicy", "web-role")])
        self.assertEqual(self.world.iam.list_role_policies(RoleName="web-role")["PolicyNames"], [])


if __name__ == "__main__":
    unittest.main()
