"""The EC2 playbook (playbooks/ec2.lua) on a simulated account: the issue's
world (an instance with two ENIs, two extra volumes, an instance profile, in
an Auto Scaling group, behind a classic ELB and an ALB target group), run
live, and the end state checked with boto3 against moto."""

import json
import os
import shutil
import time
import threading
import unittest

from harness.world import WorldTestCase
from playbook_cases import (FORENSIC_COMMANDS, ec2_state, ec2_world, endpoint_config, envelope,
                            fake_writes, finding, instance_resource, notifications,
                            playbooks_with_config, run, sha256_of)

TYPE = "UnauthorizedAccess:EC2/SSHBruteForce"


class Ec2Case(WorldTestCase):
    def setUp(self):
        super().setUp()
        self.w = ec2_world(self.world)
        self.finding = finding(TYPE, instance_resource(self.w.inst.id), fid="a2c6b1f0e7d34c1b9a4f3e2d1c0b9a87")

    def playbooks(self, edits=None):
        """playbooks/ with the world's endpoint group as the forensic egress,
        and edits to config.lua."""
        path = playbooks_with_config({**endpoint_config(self.w), **(edits or {})})
        self.addCleanup(shutil.rmtree, os.path.dirname(path), True)
        return path

    def contain(self, document=None, *flags, **kw):
        kw.setdefault("env", self.w.env)
        kw.setdefault("playbooks", self.playbooks())
        result = run(self.world, document or self.finding, *flags, **kw)
        self.assertNotIn("Traceback", result.err)
        return result

    def isolation_group(self):
        groups = self.world.ec2.describe_security_groups(Filters=[
            {"Name": "vpc-id", "Values": [self.w.inst.vpc]},
            {"Name": "group-name", "Values": [f"deadbolt-isolation-{self.w.inst.id}"]}])["SecurityGroups"]
        self.assertEqual(len(groups), 1, "one isolation group per instance and VPC")
        return groups[0]


class TestContainment(Ec2Case):
    def test_full_world_is_contained(self):
        result = self.contain()
        self.assertEqual((result.rc, result.outcome), (0, "contained"), result.describe())
        iid, ec2 = self.w.inst.id, self.world.ec2

        # Every ENI is in the isolation group only, and the group has no rules.
        group = self.isolation_group()
        enis = ec2.describe_network_interfaces(
            Filters=[{"Name": "attachment.instance-id", "Values": [iid]}])["NetworkInterfaces"]
        self.assertEqual(len(enis), 2)
        for eni in enis:
            self.assertEqual([g["GroupId"] for g in eni["Groups"]], [group["GroupId"]], eni["NetworkInterfaceId"])
        self.assertEqual(group["IpPermissions"], [])
        self.assertEqual(group["IpPermissionsEgress"], [])
        self.assertIn({"Key": "deadbolt:isolation-for", "Value": iid}, group.get("Tags", []))

        # Every EBS volume: DeleteOnTermination=false and one snapshot for this finding.
        inst = ec2.describe_instances(InstanceIds=[iid])["Reservations"][0]["Instances"][0]
        volumes = [m["Ebs"]["VolumeId"] for m in inst["BlockDeviceMappings"]]
        self.assertEqual(len(volumes), 3, "moto's root volume and the two extra ones")
        for m in inst["BlockDeviceMappings"]:
            self.assertIs(m["Ebs"]["DeleteOnTermination"], False, m["DeviceName"])
        for vol in volumes:
            snaps = ec2.describe_snapshots(OwnerIds=["self"], Filters=[
                {"Name": "volume-id", "Values": [vol]},
                {"Name": "tag:deadbolt:finding-id", "Values": [self.finding["id"]]}])["Snapshots"]
            self.assertEqual(len(snaps), 1, vol)
            tags = {t["Key"]: t["Value"] for t in snaps[0]["Tags"]}
            self.assertEqual(tags["deadbolt:instance-id"], iid)

        # Termination and stop protection on, shutdown behaviour stop.
        attr = lambda a: ec2.describe_instance_attribute(InstanceId=iid, Attribute=a)
        self.assertIs(attr("disableApiTermination")["DisableApiTermination"]["Value"], True)
        self.assertIs(attr("disableApiStop")["DisableApiStop"]["Value"], True)
        self.assertEqual(attr("instanceInitiatedShutdownBehavior")["InstanceInitiatedShutdownBehavior"]["Value"], "stop")

        # The profile is gone (the quarantine one came and went), the instance
        # is out of its group and its load balancers, still running.
        state = ec2_state(self.world, self.w)
        self.assertEqual(state["profiles"], [])
        self.assertEqual(state["asg"], [])
        self.assertEqual(state["elb"], [])
        self.assertEqual(state["targets"], [])
        self.assertEqual(state["state"], "running")
        asg = self.world.autoscaling.describe_auto_scaling_groups(
            AutoScalingGroupNames=[self.w.asg])["AutoScalingGroups"][0]
        self.assertEqual(asg["DesiredCapacity"], 1, "detached without decrementing the desired capacity")

        tags = dict(state["tags"])
        self.assertEqual(tags["deadbolt:status"], "contained")
        self.assertEqual(tags["deadbolt:finding-id"], self.finding["id"])
        self.assertEqual(tags["deadbolt:finding-type"], TYPE)
        self.assertEqual(tags["deadbolt:source"], "GuardDuty")
        self.assertRegex(tags["deadbolt:contained-at"], r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$")

    def test_evidence_objects_have_the_sha256_the_manifest_says(self):
        result = self.contain()
        self.assertEqual(result.outcome, "contained", result.describe())
        prefix = f"evidence/123456789012/us-east-1/{self.w.inst.id}/{self.finding['id']}/"
        manifest = json.loads(self.world.s3.get_object(Bucket=self.w.bucket, Key=prefix + "manifest.json")["Body"].read())
        self.assertEqual(manifest["finding"]["id"], self.finding["id"])
        keys = {a["key"]: a for a in manifest["artifacts"]}
        self.assertEqual(set(keys), {prefix + "describe-instances.json", prefix + "screenshot.png"})
        # Evidence is never overwritten: the forensic record has a manifest of its own.
        extra = json.loads(self.world.s3.get_object(
            Bucket=self.w.bucket, Key=prefix + "forensic-commands.manifest.json")["Body"].read())
        keys.update({a["key"]: a for a in extra["artifacts"]})
        self.assertEqual(set(keys) - set(a["key"] for a in manifest["artifacts"]),
                         {prefix + "forensic-commands.json"})
        for key, art in keys.items():
            self.assertEqual(art["sha256"], sha256_of(self.world, self.w.bucket, key), key)
            obj = self.world.s3.head_object(Bucket=self.w.bucket, Key=key)
            self.assertEqual(obj["ContentLength"], art["bytes"], key)
        record = json.loads(self.world.s3.get_object(Bucket=self.w.bucket, Key=prefix + "describe-instances.json")["Body"].read())
        self.assertEqual(record["Reservations"][0]["Instances"][0]["InstanceId"], self.w.inst.id)
        image = self.world.s3.get_object(Bucket=self.w.bucket, Key=prefix + "screenshot.png")["Body"].read()
        self.assertTrue(image.startswith(b"\x89PNG"), "the screenshot is stored decoded, as an image")

        # The forensic commands ran, wrote their output beside the evidence,
        # and the record says how they ended.
        commands = self.world.ssm_commands()
        self.assertEqual(len(commands), 1)
        self.assertEqual(commands[0]["DocumentName"], "AWS-RunShellScript")
        self.assertEqual(commands[0]["Parameters"]["commands"], FORENSIC_COMMANDS)
        self.assertEqual(commands[0]["OutputS3BucketName"], self.w.bucket)
        forensic = json.loads(self.world.s3.get_object(Bucket=self.w.bucket, Key=prefix + "forensic-commands.json")["Body"].read())
        self.assertEqual(forensic["status"], "Success")
        self.assertIn("uname -a", forensic["stdout"])
        # The agent's output is under the one prefix the quarantine role
        # lets this instance write: forensics/<RoleId>:<instance id>/.
        role_id = self.world.iam.get_role(RoleName=self.w.quarantine.role)["Role"]["RoleId"]
        own = f"forensics/{role_id}:{self.w.inst.id}/{self.finding['id']}/output/"
        self.assertEqual(commands[0]["OutputS3KeyPrefix"] + "/", own)
        outputs = self.world.s3.list_objects_v2(Bucket=self.w.bucket, Prefix=own).get("Contents", [])
        self.assertTrue(any(o["Key"].endswith("/stdout") for o in outputs), outputs)

    def test_isolation_comes_before_the_slow_evidence_work(self):
        result = self.contain()
        self.assertEqual(result.outcome, "contained", result.describe())
        ops = result.ops()
        moves = [i for i, c in enumerate(result.calls())
                 if c["op"] == "ec2.ModifyNetworkInterfaceAttribute" and c["step"] == "isolate_network"]
        self.assertEqual(len(moves), 4, "two moves for each of the two ENIs")
        self.assertLess(ops.index("ec2.GetConsoleScreenshot"), moves[0], "the screenshot is taken first")
        for later in ("ec2.CreateSnapshot", "ssm.SendCommand",
                      "ssm.DescribeInstanceInformation", "autoscaling.DetachInstances"):
            self.assertLess(moves[-1], ops.index(later), later)
        calls = result.calls()
        evidence = [i for i, c in enumerate(calls) if c["op"] == "s3.PutObject"
                    and c["params"].get("Key", "").startswith("evidence/")]
        locks = [i for i, c in enumerate(calls) if c["op"] == "s3.PutObject"
                 and c["params"].get("Key", "").startswith("locks/")]
        self.assertLess(locks[1], evidence[0], "the lock is taken before any evidence object is written")
        # The record and the screenshot are stored beside isolation, the
        # manifest naming them once isolation is done.
        first = evidence[:3]  # then the forensic commands' record and manifest
        self.assertEqual([calls[i]["step"] for i in first],
                         ["isolate_network", "isolate_network", "cut_ties_and_keep_evidence"])
        self.assertTrue(calls[first[-1]]["params"]["Key"].endswith("/manifest.json"))
        self.assertLess(moves[-1], first[-1], "the manifest after isolation")
        # Its reads were made beside isolation (look_ahead): after it, writes only.
        self.assertEqual([c["op"] for c in calls if c["step"] == "cut_ties_and_keep_evidence"
                          and c["access"] == "read"], [])
        protections = [i for i, op in enumerate(ops) if op == "ec2.ModifyInstanceAttribute"]
        self.assertLess(protections[-1], moves[0], "protected before isolation is visible from inside")

    def test_each_eni_moves_through_an_allow_all_group_first(self):
        result = self.contain()
        moves = [c["params"] for c in result.calls()
                 if c["op"] == "ec2.ModifyNetworkInterfaceAttribute" and c["step"] == "isolate_network"]
        isolation = self.isolation_group()["GroupId"]
        by_eni = {}
        for move in moves:
            by_eni.setdefault(move["NetworkInterfaceId"], []).append(move)
        self.assertEqual(len(by_eni), 2)
        self.assertEqual([m["NetworkInterfaceId"] for m in moves[:2]], sorted(by_eni, key=list(by_eni).index),
                         "every ENI's first move before any second one: one dwell for all")
        for first, second in by_eni.values():
            self.assertEqual(second["Groups"], [isolation])
            untrack = self.world.ec2.describe_security_groups(GroupIds=first["Groups"])["SecurityGroups"][0]
            for rules in (untrack["IpPermissions"], untrack["IpPermissionsEgress"]):
                self.assertTrue(any(r["IpProtocol"] == "-1" and {"CidrIp": "0.0.0.0/0"} in
                                    [{"CidrIp": x["CidrIp"]} for x in r.get("IpRanges", [])] for r in rules),
                                "the first group allows all traffic both ways: %r" % untrack)

    def test_the_forensic_egress_rule_is_open_only_while_the_commands_run(self):
        result = self.contain()
        calls = result.calls()
        ops = [c["op"] for c in calls]
        isolation = self.isolation_group()["GroupId"]
        opened = [i for i, c in enumerate(calls) if c["op"] == "ec2.AuthorizeSecurityGroupEgress"
                  and c["params"]["GroupId"] == isolation]
        closed = [i for i, c in enumerate(calls) if c["op"] == "ec2.RevokeSecurityGroupEgress"
                  and c["params"]["GroupId"] == isolation]
        self.assertEqual(len(opened), 1)
        rule = calls[opened[0]]["params"]["IpPermissions"]
        self.assertEqual([(r["IpProtocol"], r["FromPort"], r["ToPort"]) for r in rule], [("tcp", 443, 443)])
        self.assertLess(opened[0], ops.index("ssm.SendCommand"))
        self.assertLess(ops.index("ssm.GetCommandInvocation"), closed[-1])
        self.assertEqual(self.isolation_group()["IpPermissionsEgress"], [])
        associate = [c for c in calls if c["op"] == "ec2.AssociateIamInstanceProfile"]
        self.assertEqual(associate[0]["params"]["IamInstanceProfile"]["Arn"], self.w.quarantine.arn)

    def test_every_eni_moves_through_the_allow_all_group_again_before_and_after_the_forensic_window(self):
        result = self.contain()
        self.assertEqual(result.outcome, "contained", result.describe())
        calls = result.calls()
        isolation = self.isolation_group()["GroupId"]
        untrack = self.world.ec2.describe_security_groups(Filters=[
            {"Name": "group-name", "Values": [f"deadbolt-untrack-{self.w.inst.vpc}"]}])["SecurityGroups"][0]["GroupId"]

        def moves(step):
            return [(i, c["params"]["NetworkInterfaceId"], c["params"]["Groups"]) for i, c in enumerate(calls)
                    if c["op"] == "ec2.ModifyNetworkInterfaceAttribute" and c["step"] == step]

        def index(op, step):
            return [i for i, c in enumerate(calls) if c["op"] == op and c["step"] == step]

        for step in ("open_forensic_access", "end_forensics"):
            done = moves(step)
            self.assertEqual(len(done), 4, step)
            for eni in self.w.inst.enis:
                self.assertEqual([g for _, e, g in done if e == eni], [[untrack], [isolation]], (step, eni))
        # Before: the moves, then the egress rule and the profile. After:
        # the rule and the profile go, then the moves.
        self.assertLess(moves("open_forensic_access")[-1][0],
                        index("ec2.AuthorizeSecurityGroupEgress", "open_forensic_access")[0])
        self.assertLess(moves("open_forensic_access")[-1][0],
                        index("ec2.AssociateIamInstanceProfile", "open_forensic_access")[0])
        self.assertGreater(moves("end_forensics")[0][0],
                           max(index("ec2.RevokeSecurityGroupEgress", "end_forensics")
                               + index("ec2.DisassociateIamInstanceProfile", "end_forensics")))
        for eni in self.world.ec2.describe_network_interfaces(NetworkInterfaceIds=self.w.inst.enis)["NetworkInterfaces"]:
            self.assertEqual([g["GroupId"] for g in eni["Groups"]], [isolation], eni["NetworkInterfaceId"])
        logs = " ".join(result.only()["logs"])
        for when in ("before", "after"):
            self.assertIn(f"moved again through the allow-all group {when} the forensic window", logs)

    def test_the_quarantine_role_sessions_are_revoked_after_forensics(self):
        result = self.contain()
        self.assertEqual(result.outcome, "contained", result.describe())
        role = self.w.quarantine.role
        doc = self.world.iam.get_role_policy(RoleName=role, PolicyName="AWSRevokeOlderSessions")["PolicyDocument"]
        doc = json.loads(doc) if isinstance(doc, str) else doc
        [statement] = doc["Statement"]
        self.assertEqual((statement["Effect"], statement["Action"], statement["Resource"]), ("Deny", ["*"], ["*"]))
        at = statement["Condition"]["DateLessThan"]["aws:TokenIssueTime"]
        self.assertRegex(at, r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$")
        self.assertNotIn("StringNotLike", statement["Condition"], "no other instance has the profile")
        calls = result.calls()
        put = [i for i, c in enumerate(calls) if c["op"] == "iam.PutRolePolicy"]
        gone = [i for i, c in enumerate(calls) if c["op"] == "ec2.DisassociateIamInstanceProfile"
                and c["step"] == "end_forensics"]
        self.assertEqual(len(put), 1)
        self.assertLess(gone[0], put[0], "revoked once the profile is off the instance")

    def test_revoking_spares_the_sessions_of_another_instance_in_its_forensics(self):
        other = self.world.instance(enis=1, volumes=0, profile=self.w.quarantine.name)
        result = self.contain()
        self.assertEqual(result.outcome, "contained", result.describe())
        role_id = self.world.iam.get_role(RoleName=self.w.quarantine.role)["Role"]["RoleId"]
        doc = self.world.iam.get_role_policy(RoleName=self.w.quarantine.role,
                                             PolicyName="AWSRevokeOlderSessions")["PolicyDocument"]
        doc = json.loads(doc) if isinstance(doc, str) else doc
        condition = doc["Statement"][0]["Condition"]
        self.assertEqual(condition["StringNotLike"], {"aws:userid": [f"{role_id}:{other.id}"]})
        self.assertIn("aws:TokenIssueTime", condition["DateLessThan"])

    def test_undo_data_is_saved_for_everything_changed(self):
        result = self.contain()
        saved = result.saved()
        self.assertEqual(set(saved["eni_groups"]), set(self.w.inst.enis))
        for groups in saved["eni_groups"].values():
            self.assertEqual(groups, [self.w.inst.sg])
        self.assertEqual(saved["attributes"], {"DisableApiTermination": False, "DisableApiStop": False})
        self.assertEqual([d["DeviceName"] for d in saved["delete_on_termination"]], ["/dev/sda1"])
        self.assertEqual([p["Arn"] for p in saved["instance_profiles"]], [self.w.profile.arn])
        self.assertEqual(saved["auto_scaling_groups"], [self.w.asg])
        self.assertEqual(saved["classic_load_balancers"], [self.w.elb])
        self.assertEqual(sorted(saved["target_groups"], key=lambda r: r["TargetGroupArn"]), sorted([
            {"TargetGroupArn": self.w.tg, "Targets": [{"Id": self.w.inst.id, "Port": 80}]},
            {"TargetGroupArn": self.w.admin_tg, "Targets": [{"Id": self.w.inst.id, "Port": 8080}]}],
            key=lambda r: r["TargetGroupArn"]))
        self.assertIn("deadbolt:status", saved["tags"]["absent"])
        self.assertEqual(sorted(g["GroupName"] for g in saved["created_security_groups"]),
                         [f"deadbolt-isolation-{self.w.inst.id}", f"deadbolt-untrack-{self.w.inst.vpc}"])

    def test_one_notification_says_what_was_done_and_where_the_evidence_is(self):
        result = self.contain()
        self.assertEqual(result.outcome, "contained", result.describe())
        messages = notifications(self.world, self.w.queue)
        self.assertEqual(len(messages), 1)
        text = messages[0]
        self.assertIn("contained: instance " + self.w.inst.id, text)
        self.assertIn("isolate_network", text)
        self.assertIn(f"s3://{self.w.bucket}/evidence/", text)
        self.assertIn("snapshot", text)
        # What isolation does not cut, said plainly (connection tracking).
        self.assertIn("Isolation does not cut connections", text)
        self.assertIn("NAT gateway", text)

    def test_nothing_is_terminated_deleted_or_stopped(self):
        self.contain()
        actions = fake_writes(self.world)
        for bad in ("Terminate", "Delete", "Stop"):
            self.assertFalse([a for a in actions if a.startswith(bad)], actions)


class TestIdempotence(Ec2Case):
    def test_second_run_leaves_the_same_end_state(self):
        first = self.contain()
        self.assertEqual(first.outcome, "contained", first.describe())
        state = ec2_state(self.world, self.w)
        again = self.contain(envelope(self.finding))
        self.assertEqual((again.rc, again.outcome), (0, "contained"), again.describe())
        self.assertEqual(ec2_state(self.world, self.w), state)
        self.assertEqual([op for op, p in again.writes()
                          if not (op == "s3.PutObject" and p.get("Key", "").startswith("locks/"))], ["sns.Publish"],
                         "a re-delivered finding changes nothing but its lock objects; it only notifies")
        self.assertEqual(len(self.world.ssm_commands()), 1, "the forensic commands ran once")

    def test_forensics_that_could_not_run_the_first_time_run_on_redelivery(self):
        self.world.reset()
        self.w = ec2_world(self.world, ssm=False)
        self.finding = finding(TYPE, instance_resource(self.w.inst.id))
        first = self.contain()
        self.assertEqual(first.outcome, "contained", first.describe())
        prefix = f"evidence/123456789012/us-east-1/{self.w.inst.id}/{self.finding['id']}/"
        manifest = self.world.s3.get_object(Bucket=self.w.bucket, Key=prefix + "manifest.json")["Body"].read()
        self.world.ssm_managed([self.w.inst.id])
        again = self.contain()
        self.assertEqual(again.outcome, "contained", again.describe())
        self.assertEqual(len(self.world.ssm_commands()), 1)
        self.assertEqual(self.world.s3.get_object(Bucket=self.w.bucket, Key=prefix + "manifest.json")["Body"].read(),
                         manifest, "the first manifest is not rewritten")
        extra = json.loads(self.world.s3.get_object(
            Bucket=self.w.bucket, Key=prefix + "forensic-commands.manifest.json")["Body"].read())
        [art] = extra["artifacts"]
        self.assertEqual(art["key"], prefix + "forensic-commands.json")
        self.assertEqual(art["sha256"], sha256_of(self.world, self.w.bucket, art["key"]))
        self.assertEqual(self.isolation_group()["IpPermissionsEgress"], [])
        self.assertEqual(ec2_state(self.world, self.w)["profiles"], [])

    def test_instances_of_one_vpc_share_one_allow_all_group(self):
        first = self.contain()
        self.assertEqual(first.outcome, "contained", first.describe())
        second = self.world.instance(enis=1, volumes=0, net=self.w.inst.net)
        self.assertEqual(second.vpc, self.w.inst.vpc)
        result = self.contain(finding(TYPE, instance_resource(second.id)))
        self.assertEqual(result.outcome, "contained", result.describe())
        untrack = self.world.ec2.describe_security_groups(Filters=[
            {"Name": "vpc-id", "Values": [self.w.inst.vpc]},
            {"Name": "tag:deadbolt:group", "Values": ["untrack"]}])["SecurityGroups"]
        self.assertEqual([g["GroupName"] for g in untrack], [f"deadbolt-untrack-{self.w.inst.vpc}"],
                         "one allow-all group for the VPC")
        created = [c["params"]["GroupName"] for c in result.calls() if c["op"] == "ec2.CreateSecurityGroup"]
        self.assertEqual(created, [f"deadbolt-isolation-{second.id}"], "the second run makes only its isolation group")
        moves = [c["params"]["Groups"] for c in result.calls() if c["op"] == "ec2.ModifyNetworkInterfaceAttribute"]
        self.assertEqual(moves[0], [untrack[0]["GroupId"]])
        looked = [c for c in result.calls() if c["op"] == "ec2.DescribeSecurityGroups" and c["step"] == "isolate_network"]
        self.assertEqual(len(looked), 1, "both groups found with one call")

    def test_a_second_finding_snapshots_again_but_isolates_once(self):
        self.contain()
        other = finding("Backdoor:EC2/C&CActivity.B!DNS", instance_resource(self.w.inst.id), role="ACTOR")
        result = self.contain(other)
        self.assertEqual(result.outcome, "contained", result.describe())
        self.isolation_group()
        self.assertEqual(len(ec2_state(self.world, self.w)["snapshots"]), 6, "one snapshot per volume per finding")
        ops = result.ops(access="write")
        self.assertNotIn("ec2.ModifyNetworkInterfaceAttribute",
                         [c["op"] for c in result.calls() if c["step"] == "isolate_network"])
        self.assertNotIn("ec2.CreateSecurityGroup", ops)

    def test_a_snapshot_inside_the_15_s_window_of_another_run_counts_as_taken(self):
        self.contain()
        volume = self.w.inst.volumes[0]
        # AWS's answer to a second CreateSnapshot of a volume within 15 s
        # (moto has no such limit: the fake gives it, once, for one volume).
        self.world.fault("CreateSnapshot", "snapshot-rate", count=1, params={"VolumeId": volume})
        other = finding("Backdoor:EC2/C&CActivity.B!DNS", instance_resource(self.w.inst.id), role="ACTOR")
        result = self.contain(other)
        self.assertEqual(result.outcome, "contained", result.describe())
        self.assertEqual(result.step_status("cut_ties_and_keep_evidence"), "ok")
        self.assertIn(volume, result.describe())
        self.assertIn("counts as this finding's", result.describe())
        self.assertEqual(len(ec2_state(self.world, self.w)["snapshots"]), 5, "3 for the first, 2 taken + 1 shared")

    def test_two_findings_for_the_same_instance_at_once(self):
        findings = [finding(TYPE, instance_resource(self.w.inst.id)) for _ in range(2)]
        results = [None, None]

        playbooks = self.playbooks()

        def go(i):
            results[i] = run(self.world, findings[i], env=self.w.env, playbooks=playbooks)
        threads = [threading.Thread(target=go, args=(i,)) for i in range(2)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(120)
        # One run at a time (lib/lock.lua): one of them saw the ENIs in their
        # own groups and saved them; the other found them isolated.
        savers = [r for r in results
                  if r.only()["steps"]["isolate_network"]["saved"].get("eni_groups")]
        self.assertEqual(len(savers), 1, "each ENI's original groups saved once")
        self.assertEqual(sorted(savers[0].only()["steps"]["isolate_network"]["saved"]["eni_groups"]),
                         sorted(self.w.inst.enis))
        self.assertTrue(any("after waiting" in r.describe() for r in results), "one run waited for the other")
        # The lock objects, as S3 has them: two windows' locks per run, each
        # released by a second object, none overwritten (no delete exists).
        keys = [o["Key"] for o in self.world.client("s3").list_objects_v2(
            Bucket=self.w.bucket, Prefix="locks/").get("Contents", [])]
        locks = [k for k in keys if not k.endswith(".released")]
        self.assertEqual(len(locks), 4, keys)
        self.assertEqual(sorted(k + ".released" for k in locks), sorted(k for k in keys if k.endswith(".released")))
        for k in locks:
            self.assertTrue(k.startswith(f"locks/123456789012/us-east-1/{self.w.inst.id}/w"), k)
        for r in results:
            self.assertIn(r.outcome, ("contained", "partial"), r.describe() + str(r.only()["end"]) +
                          str([(k, v["status"], v.get("error")) for k, v in r.only()["steps"].items()]))
            self.assertEqual(r.step_status("isolate_network"), "ok", r.describe())
            # What a run saved as an ENI's original groups is never one of
            # deadbolt's own (the other run's moves are visible to it).
            saved = r.only()["steps"]["isolate_network"]["saved"].get("eni_groups", {})
            for eni, groups in saved.items():
                self.assertEqual(groups, [self.w.inst.net.sg], eni)
            profiles = r.only()["steps"]["cut_ties_and_keep_evidence"]["saved"].get("instance_profiles", [])
            self.assertNotIn(self.w.quarantine.arn, [p["Arn"] for p in profiles], "the quarantine profile is not an original")

        group = self.isolation_group()
        for eni in self.world.ec2.describe_network_interfaces(
                Filters=[{"Name": "attachment.instance-id", "Values": [self.w.inst.id]}])["NetworkInterfaces"]:
            self.assertEqual([g["GroupId"] for g in eni["Groups"]], [group["GroupId"]])
        untrack = self.world.ec2.describe_security_groups(Filters=[
            {"Name": "group-name", "Values": [f"deadbolt-untrack-{self.w.inst.vpc}"]}])["SecurityGroups"]
        self.assertEqual(len(untrack), 1)
        self.assertEqual(len(ec2_state(self.world, self.w)["snapshots"]), 6, "one snapshot per volume per finding")

    def test_a_lock_whose_holder_passed_its_deadline_is_taken_over_in_order(self):
        # A dead run's lock on the lower window k (its deadline 100 s ago, as
        # lib/lock.lua writes it). Both windows are written at once: k+1 is
        # taken, k is held, so k+1 is given back before k is taken over
        # (lower first), then k+1 taken again at the next generation.
        # (Computed from the clock: a run that crosses a window boundary,
        # every 150 s, would see other windows; the run takes ~1 s.)
        prefix = f"locks/123456789012/us-east-1/{self.w.inst.id}/"
        k = int(time.time()) // 150
        self.world.client("s3").put_object(Bucket=self.w.bucket, Key=f"{prefix}w{k}.0", Body=b"{}",
                                           Metadata={"deadline": str(int(time.time()) - 100)})
        result = self.contain()
        self.assertEqual(result.outcome, "contained", result.describe())
        self.assertIn(f"{prefix}w{k}.0: its run passed its deadline", " ".join(result.only()["logs"]))
        keys = sorted(o["Key"][len(prefix):] for o in self.world.client("s3").list_objects_v2(
            Bucket=self.w.bucket, Prefix=prefix).get("Contents", []))
        self.assertEqual(keys, sorted([f"w{k}.0", f"w{k}.1", f"w{k}.1.released",
                                       f"w{k + 1}.0", f"w{k + 1}.0.released",
                                       f"w{k + 1}.1", f"w{k + 1}.1.released"]))

    def test_a_lock_write_that_races_another_is_written_again_not_failed(self):
        # S3 answers 409 ConditionalRequestConflict to a conditional write
        # that raced another write of the key still in flight, and asks for
        # a retry. moto never answers 409: the fake does, once, on the
        # first lock object. The run writes the same key again after a poll
        # and, the other write having come to nothing, takes it.
        self.world.fault(f"locks/123456789012/us-east-1/{self.w.inst.id}/w", "s3-conflict", count=1)
        result = self.contain()
        self.assertEqual(result.outcome, "contained", result.describe())
        self.assertNotIn("without the lock", result.describe())
        puts = [(c["params"]["Key"], c.get("status")) for c in result.calls()
                if c["op"] == "s3.PutObject" and c["params"]["Key"].startswith("locks/")
                and not c["params"]["Key"].endswith(".released")]
        # Both windows' writes go at once: the 409 is the answer to either.
        self.assertEqual(len(puts), 3, puts)
        raced = [k for k, status in puts if status == 409]
        self.assertEqual(len(raced), 1, puts)
        self.assertEqual(sorted(status for k, status in puts if k == raced[0]), [200, 409], puts)
        self.assertTrue(all(k.endswith(".0") for k, _ in puts), puts)
        taken = sorted({k for k, _ in puts})
        self.assertEqual(len(taken), 2, puts)
        keys = [o["Key"] for o in self.world.client("s3").list_objects_v2(
            Bucket=self.w.bucket, Prefix="locks/").get("Contents", [])]
        self.assertEqual(sorted(keys), sorted(taken + [k + ".released" for k in taken]))


class TestLookupsOncePerDocument(Ec2Case):
    def test_load_balancers_and_target_groups_are_listed_once_and_again_after_a_deregistration(self):
        # Four instances of one VPC in one document: the world's instance
        # (behind the classic ELB and both target groups) third. The
        # listings are sent for the first finding and answered from the
        # memo for the second; the third deregisters its instance, so the
        # fourth lists again (and sees it gone).
        others = [self.world.instance(net=self.w.inst.net) for _ in range(3)]
        order = [others[0].id, others[1].id, self.w.inst.id, others[2].id]
        doc = [finding(TYPE, instance_resource(iid)) for iid in order]
        result = self.contain(doc)
        self.assertEqual([f["end"]["outcome"] for f in result.findings], ["contained"] * 4,
                         result.out + result.err)
        listings = ("elb.DescribeLoadBalancers", "elbv2.DescribeTargetGroups", "elbv2.DescribeTargetHealth")

        def sent(i):
            return sorted(c["op"] for c in result.calls(i) if c["op"] in listings)

        def kept(i):
            return sorted(c["op"] for c in result.findings[i]["cached"])
        every = sorted(["elb.DescribeLoadBalancers", "elbv2.DescribeTargetGroups"] +
                       ["elbv2.DescribeTargetHealth"] * 2)
        self.assertEqual((sent(0), kept(0)), (every, []))
        self.assertEqual((sent(1), kept(1)), ([], every))
        self.assertEqual((sent(3), kept(3)), (every, []), "read again after the third run's deregistrations")
        self.assertEqual(self.world.attempts("DescribeLoadBalancers"), 3 - len(
            [c for c in result.findings[2]["cached"] if c["op"] == "elb.DescribeLoadBalancers"]))
        # The instance behind them was deregistered all the same.
        self.assertEqual(result.saved(2)["classic_load_balancers"], [self.w.elb])
        self.assertEqual(sorted(r["TargetGroupArn"] for r in result.saved(2)["target_groups"]),
                         sorted([self.w.tg, self.w.admin_tg]))
        lb = self.world.elb.describe_load_balancers(LoadBalancerNames=[self.w.elb])["LoadBalancerDescriptions"][0]
        self.assertEqual(lb["Instances"], [])
        for tg in (self.w.tg, self.w.admin_tg):
            self.assertEqual(self.world.elbv2.describe_target_health(TargetGroupArn=tg)["TargetHealthDescriptions"], [])
        for i in (0, 1, 3):
            self.assertNotIn("classic_load_balancers", result.saved(i))
            self.assertNotIn("target_groups", result.saved(i))

    def test_a_cached_primitive_refuses_a_write(self):
        pb = self.playbooks()
        with open(os.path.join(pb, "ec2.lua")) as f:
            text = f.read()
        text = text.replace("local function detach_from_auto_scaling(ctx)\n",
                            "local function detach_from_auto_scaling(ctx)\n"
                            "  aws.cached(autoscaling.detach_instances)\n", 1)
        with open(os.path.join(pb, "ec2.lua"), "w") as f:
            f.write(text)
        result = self.contain(playbooks=pb)
        self.assertIn("only a read's answer can be kept", result.out + json.dumps(result.lines))
        self.assertEqual(self.world.attempts("DetachInstances"), 0)


class TestGuards(Ec2Case):
    def test_a_spot_instance_is_contained_without_termination_protection(self):
        # moto marks the instance spot (InstanceLifecycle) but, unlike AWS,
        # would accept termination protection on it: the test checks that
        # deadbolt never asks for it.
        net = self.w.inst.net
        spot = self.world.ec2.run_instances(
            ImageId=self.w.inst.raw["ImageId"], MinCount=1, MaxCount=1, InstanceType="t3.micro",
            SubnetId=net.subnet, SecurityGroupIds=[net.sg],
            InstanceMarketOptions={"MarketType": "spot"})["Instances"][0]["InstanceId"]
        described = self.world.ec2.describe_instances(InstanceIds=[spot])["Reservations"][0]["Instances"][0]
        self.assertEqual(described.get("InstanceLifecycle"), "spot")
        result = self.contain(finding(TYPE, instance_resource(spot)))
        self.assertEqual((result.rc, result.outcome), (0, "contained"), result.describe())
        self.assertEqual(result.step_status("isolate_network"), "ok")
        self.assertEqual(result.step_status("protect_instance"), "skipped")
        sent = [c["params"] for c in result.calls() if c["op"] == "ec2.ModifyInstanceAttribute"]
        self.assertFalse([p for p in sent if "DisableApiTermination" in p], sent)
        self.assertIn({"DisableApiStop": {"Value": True}, "InstanceId": spot}, sent)
        self.assertIn("Spot Instance", result.describe())

    def assert_only_lock_objects_written(self, result):
        # The lock is written beside the lookup (before its answer says the
        # instance is exempt or gone) and given back: nothing else.
        writes = [w for w in result.writes() if not w[1].get("Key", "").startswith("locks/")]
        self.assertEqual(writes, [])
        keys = [o["Key"] for o in self.world.client("s3").list_objects_v2(
            Bucket=self.w.bucket, Prefix="locks/").get("Contents", [])]
        locks = [k for k in keys if not k.endswith(".released")]
        self.assertEqual(len(locks), 2, keys)
        self.assertEqual(sorted(k + ".released" for k in locks), sorted(k for k in keys if k.endswith(".released")))

    def test_exempt_instance_is_skipped_with_no_write_but_its_lock(self):
        self.world.ec2.create_tags(Resources=[self.w.inst.id], Tags=[{"Key": "deadbolt:exempt", "Value": "true"}])
        before = ec2_state(self.world, self.w)
        result = self.contain()
        self.assertEqual((result.rc, result.outcome), (0, "skipped"), result.describe())
        self.assertIn("exempt", result.reason)
        self.assert_only_lock_objects_written(result)
        self.assertEqual(ec2_state(self.world, self.w), before)

    def test_instance_that_no_longer_exists_is_skipped(self):
        result = self.contain(finding(TYPE, instance_resource("i-0123456789abcdef0")))
        self.assertEqual((result.rc, result.outcome), (0, "skipped"), result.describe())
        self.assertIn("i-0123456789abcdef0 no longer exists", result.reason)
        self.assert_only_lock_objects_written(result)

    def test_malformed_instance_id_is_rejected_before_any_call(self):
        for bad in ("i-../../etc", "i-12345678&Action=TerminateInstances", "I-0123456789ABCDEF0", "sg-12345678", ""):
            result = self.contain(finding(TYPE, instance_resource(bad)))
            self.assertEqual((result.rc, result.outcome), (1, "failed"), bad)
            self.assertIn("malformed finding", result.reason)
            self.assertIn("instanceId", result.reason)
            self.assertEqual(result.calls(), [], bad)
        # Only the caller's identity, asked once a process before any run
        # (engine/run/account.c).
        self.assertEqual({e["action"] for e in self.world.log()}, {"GetCallerIdentity"},
                         "no request of the playbook reached AWS")

    def test_screenshot_that_the_instance_cannot_give_is_journaled_not_fatal(self):
        self.world.screenshot_fails("UnsupportedOperation", "This instance type does not support screenshots.")
        result = self.contain()
        self.assertEqual(result.outcome, "contained", result.describe())
        prefix = f"evidence/123456789012/us-east-1/{self.w.inst.id}/{self.finding['id']}/"
        manifest = json.loads(self.world.s3.get_object(Bucket=self.w.bucket, Key=prefix + "manifest.json")["Body"].read())
        self.assertFalse([a for a in manifest["artifacts"] if "screenshot" in a["key"]])
        self.assertIn("UnsupportedOperation", " ".join(manifest["notes"]))

    def test_instance_not_managed_by_ssm_gets_no_commands_and_no_forensic_egress(self):
        self.world.reset()
        self.w = ec2_world(self.world, ssm=False)
        self.finding = finding(TYPE, instance_resource(self.w.inst.id))
        result = self.contain()
        self.assertEqual(result.outcome, "contained", result.describe())
        self.assertIn("not managed by SSM", " ".join(result.only()["logs"]))
        ops = result.ops()
        for op in ("ssm.SendCommand", "ec2.AssociateIamInstanceProfile", "ec2.AuthorizeSecurityGroupEgress"):
            if op == "ec2.AuthorizeSecurityGroupEgress":  # only the allow-all group's IPv6 rule
                self.assertTrue(all(c["params"]["GroupId"] != self.isolation_group()["GroupId"]
                                    for c in result.calls() if c["op"] == op))
            else:
                self.assertNotIn(op, ops)
        self.assertEqual(self.world.ssm_commands(), [])
        self.assertEqual(self.isolation_group()["IpPermissionsEgress"], [])
        # No forensic window of this run's: end_forensics has nothing to close.
        self.assertEqual(result.step_status("end_forensics"), "skipped")
        self.assertEqual([c["op"] for c in result.calls() if c["step"] == "end_forensics"], [])


class TestFailures(Ec2Case):
    def test_failed_isolation_fails_the_run_and_stops_it(self):
        self.world.fault("ModifyNetworkInterfaceAttribute", "500", count=50)
        result = self.contain()
        self.assertEqual((result.rc, result.outcome), (1, "failed"), result.describe())
        self.assertEqual(result.step_status("isolate_network"), "failed")
        self.assertNotIn("ec2.CreateSnapshot", result.ops(), "the steps after a critical failure do not run")

    def every_eni_is_isolated(self):
        group = self.isolation_group()
        self.assertEqual((group["IpPermissions"], group["IpPermissionsEgress"]), ([], []))
        enis = self.world.ec2.describe_network_interfaces(
            Filters=[{"Name": "attachment.instance-id", "Values": [self.w.inst.id]}])["NetworkInterfaces"]
        self.assertEqual(len(enis), 2)
        for eni in enis:
            self.assertEqual([g["GroupId"] for g in eni["Groups"]], [group["GroupId"]], eni["NetworkInterfaceId"])

    def fast_moves(self):
        """playbooks/ whose retries of the second move wait 0.1 s, not 1 s."""
        return self.playbooks({"    untrack_dwell_seconds = 1,\n": "    untrack_dwell_seconds = 0.1,\n",
                               "    second_move_pause_seconds = 1,\n": "    second_move_pause_seconds = 0.1,\n"})

    def premade_isolation_group(self):
        """The isolation group as an earlier run left it (groups are never
        deleted), so that a fault can name its id before the run."""
        iid = self.w.inst.id
        return self.world.ec2.create_security_group(
            GroupName=f"deadbolt-isolation-{iid}", Description="deadbolt: isolation", VpcId=self.w.inst.vpc,
            TagSpecifications=[{"ResourceType": "security-group", "Tags": [
                {"Key": "deadbolt:group", "Value": "isolation"},
                {"Key": "deadbolt:isolation-for", "Value": iid}]}])["GroupId"]

    def enis(self):
        return sorted(self.world.ec2.describe_network_interfaces(
            Filters=[{"Name": "attachment.instance-id", "Values": [self.w.inst.id]}])["NetworkInterfaces"],
            key=lambda e: e["Attachment"]["DeviceIndex"])

    def test_a_second_move_that_keeps_failing_leaves_no_eni_in_the_allow_all_group(self):
        isolation = self.premade_isolation_group()
        enis = self.enis()
        victim, other = enis[0]["NetworkInterfaceId"], enis[1]["NetworkInterfaceId"]
        original = sorted(g["GroupId"] for g in enis[0]["Groups"])
        # Every move of one ENI into the isolation group fails, for good.
        self.world.fault("ModifyNetworkInterfaceAttribute", "503", count=1000,
                         params={"NetworkInterfaceId": victim, "SecurityGroupId.1": isolation})
        result = self.contain(playbooks=self.fast_moves())
        self.assertEqual((result.rc, result.outcome), (1, "failed"), result.describe())
        self.assertEqual(result.step_status("isolate_network"), "failed")
        self.assertIn(victim, result.reason)
        self.assertIn("moved back to its original groups", result.reason)
        faulted = [e for e in self.world.log("ModifyNetworkInterfaceAttribute") if e["fault"]]
        self.assertGreater(len(faulted), 3, "tried past the client's budget of 3 attempts")

        # The world: the victim in its own groups again, the other isolated,
        # no ENI in the allow-all group.
        # moto reports an attached ENI's groups as its own plus the
        # instance's (which the fake keeps equal to the primary ENI's, see
        # tests/fakeaws/answers.py): the victim is the primary ENI, and the
        # other's own groups are what is left without the instance's.
        launched = {g["GroupId"] for g in self.world.ec2.describe_instance_attribute(
            InstanceId=self.w.inst.id, Attribute="groupSet")["Groups"]}
        self.assertEqual(sorted(launched), original, "the instance's groups are the primary ENI's again")
        by_id = {e["NetworkInterfaceId"]: sorted(g["GroupId"] for g in e["Groups"]) for e in self.enis()}
        self.assertEqual(by_id[victim], original)
        self.assertEqual(sorted(set(by_id[other]) - launched), [isolation])
        untrack = self.world.ec2.describe_security_groups(Filters=[
            {"Name": "tag:deadbolt:group", "Values": ["untrack"]}])["SecurityGroups"]
        self.assertEqual(len(untrack), 1)
        for groups in by_id.values():
            self.assertNotIn(untrack[0]["GroupId"], groups)

        # Said exactly: the journal's notes and an alert on the topic.
        alerts = [m for m in notifications(self.world, self.w.queue) if "not isolated" in m]
        self.assertEqual(len(alerts), 1, "one alert about the interfaces not isolated")
        self.assertIn(victim, alerts[0])
        self.assertIn("original groups " + ",".join(g["GroupId"] for g in enis[0]["Groups"]), alerts[0])
        self.assertNotIn(other, alerts[0])
        self.assertIn("NAT gateway", alerts[0])

    def test_a_second_move_that_fails_past_the_client_budget_is_retried_until_isolated(self):
        isolation = self.premade_isolation_group()
        victim = self.enis()[0]["NetworkInterfaceId"]
        self.world.fault("ModifyNetworkInterfaceAttribute", "503", count=4,
                         params={"NetworkInterfaceId": victim, "SecurityGroupId.1": isolation})
        result = self.contain(playbooks=self.fast_moves())
        self.assertEqual((result.rc, result.outcome), (0, "contained"), result.describe())
        for eni in self.enis():
            self.assertEqual([g["GroupId"] for g in eni["Groups"]], [isolation], eni["NetworkInterfaceId"])

    def test_a_screenshot_answered_5xx_does_not_hold_up_isolation(self):
        self.world.fault("GetConsoleScreenshot", "500", count=50)
        result = self.contain()
        self.assertEqual((result.rc, result.outcome), (0, "contained"), result.describe())
        self.assertEqual(result.step_status("isolate_network"), "ok")
        self.every_eni_is_isolated()
        calls = result.calls()
        shots = [c for c in calls if c["op"] == "ec2.GetConsoleScreenshot"]
        moves = [i for i, c in enumerate(calls)
                 if c["op"] == "ec2.ModifyNetworkInterfaceAttribute" and c["step"] == "isolate_network"]
        self.assertEqual(len(moves), 4)
        # Beside isolation: one attempt, no retry, whatever the answer.
        self.assertEqual((shots[0]["step"], shots[0]["status"], shots[0]["attempts"]), ("isolate_network", 500, 1))
        # Tried again only once isolation is done: two more attempts, three in all.
        self.assertEqual(len(shots), 2)
        self.assertEqual((shots[1]["step"], shots[1]["attempts"]), ("cut_ties_and_keep_evidence", 2))
        self.assertLess(moves[-1], calls.index(shots[1]))
        self.assertEqual(self.world.log("GetConsoleScreenshot")[0]["fault"], "500")
        self.assertEqual(len(self.world.log("GetConsoleScreenshot")), 3, "1 attempt beside isolation, 2 after")
        # The retry holds up only the manifest: the instance record is stored
        # beside isolation, the manifest once the retry has ended.
        puts = [c for c in calls if c["op"] == "s3.PutObject" and c["params"]["Key"].startswith("evidence/")]
        record = next(c for c in puts if c["params"]["Key"].endswith("/describe-instances.json"))
        written = next(c for c in puts if c["params"]["Key"].endswith("/manifest.json"))
        self.assertEqual((record["step"], written["step"]), ("isolate_network", "cut_ties_and_keep_evidence"))
        self.assertLess(record["start_ms"], shots[1]["start_ms"], "the record waits for no screenshot")
        self.assertGreaterEqual(written["start_ms"], shots[1]["end_ms"], "the manifest follows the retry")
        prefix = f"evidence/123456789012/us-east-1/{self.w.inst.id}/{self.finding['id']}/"
        manifest = json.loads(self.world.s3.get_object(Bucket=self.w.bucket, Key=prefix + "manifest.json")["Body"].read())
        self.assertEqual([a["key"] for a in manifest["artifacts"]], [prefix + "describe-instances.json"],
                         "the manifest lists what was stored, and only that")
        self.assertIn("no console screenshot", " ".join(manifest["notes"]))

    def test_a_slow_screenshot_is_given_up_at_its_deadline_and_taken_after_isolation(self):
        self.world.fault("GetConsoleScreenshot", "slow", count=1, delay_ms=8000)
        result = self.contain()
        self.assertEqual((result.rc, result.outcome), (0, "contained"), result.describe())
        self.every_eni_is_isolated()
        shots = [c for c in result.calls() if c["op"] == "ec2.GetConsoleScreenshot"]
        self.assertEqual((shots[0]["step"], shots[0]["error"], shots[0]["attempts"]), ("isolate_network", "Timeout", 1))
        self.assertLess(shots[0]["ms"], 4000, "config.ec2.screenshot.deadline_seconds (2 s), not the 8 s answer")
        self.assertEqual((shots[1]["step"], shots[1]["error"]), ("cut_ties_and_keep_evidence", None))
        prefix = f"evidence/123456789012/us-east-1/{self.w.inst.id}/{self.finding['id']}/"
        self.world.s3.head_object(Bucket=self.w.bucket, Key=prefix + "screenshot.png")

    def test_forensic_wait_is_bounded_and_cleanup_still_runs(self):
        self.world.ssm_result(pending_polls=1000)
        playbooks = self.playbooks({"command_wait_seconds = 45": "command_wait_seconds = 2",
                                    "poll_seconds = 2": "poll_seconds = 1"})
        result = self.contain(playbooks=playbooks)
        self.assertEqual((result.rc, result.outcome), (1, "partial"), result.describe())
        self.assertEqual(result.step_status("run_forensic_commands"), "failed")
        self.assertIn("still running", result.only()["steps"]["run_forensic_commands"]["error"])
        self.assertEqual(result.step_status("end_forensics"), "ok")
        self.assertEqual(self.isolation_group()["IpPermissionsEgress"], [], "the forensic rule is gone")
        self.assertEqual(ec2_state(self.world, self.w)["profiles"], [], "the quarantine profile is gone")
        self.assertLess(result.only()["end"]["ms"], 20000)


class TestDeathInTheForensicWindow(Ec2Case):
    def window(self):
        """(isolation group egress rules, quarantine associations, each ENI's groups) now."""
        associations = self.world.ec2.describe_iam_instance_profile_associations(Filters=[
            {"Name": "instance-id", "Values": [self.w.inst.id]}])["IamInstanceProfileAssociations"]
        enis = self.world.ec2.describe_network_interfaces(NetworkInterfaceIds=self.w.inst.enis)["NetworkInterfaces"]
        return (self.isolation_group()["IpPermissionsEgress"],
                [a["AssociationId"] for a in associations if a["State"] in ("associating", "associated")
                 and a["IamInstanceProfile"]["Arn"] == self.w.quarantine.arn],
                {e["NetworkInterfaceId"]: [g["GroupId"] for g in e["Groups"]] for e in enis})

    def test_a_run_killed_inside_the_forensic_window_is_closed_first_on_redelivery(self):
        # The commands never finish (the fake answers InProgress) and the run
        # is killed with SIGKILL while it polls GetCommandInvocation, as
        # Lambda ends a run at its timeout: end_forensics never runs, and
        # its locks are never released. The lock windows are the default
        # (150 s): the redelivery takes the locks over once the dead run's
        # own deadline (its --wall-seconds, 24 s, in each lock's metadata)
        # has passed, well within its wait (60 s).
        self.world.ssm_result(pending_polls=1000)
        playbooks = self.playbooks()
        started = time.time()
        with self.assertRaises(AssertionError) as killed:
            self.contain(None, "--wall-seconds", "24", playbooks=playbooks, timeout=20)
        self.assertIn("still running after 20s", str(killed.exception))
        self.assertTrue(self.world.log("GetCommandInvocation"), "killed while waiting for the commands")
        egress, associations, enis = self.window()
        self.assertTrue(egress, "the dead run left the forensic egress rule")
        self.assertEqual(len(associations), 1, "the dead run left the quarantine profile")

        self.world.ssm_result(pending_polls=0)
        mark = len(self.world.log())
        again = self.contain(envelope(self.finding), playbooks=playbooks)
        self.assertEqual((again.rc, again.outcome), (0, "contained"), again.describe())
        # Closed FIRST: in isolate_network, before any other write of the run.
        calls = again.calls()
        first = [c for c in calls if c["step"] == "isolate_network" and c["access"] == "write"
                 and c["op"] != "ec2.ModifyInstanceAttribute"]
        ops = [c["op"] for c in first]
        self.assertIn("ec2.RevokeSecurityGroupEgress", ops)
        self.assertIn("ec2.DisassociateIamInstanceProfile", ops)
        moved = [c["params"] for c in first if c["op"] == "ec2.ModifyNetworkInterfaceAttribute"]
        isolation = self.isolation_group()["GroupId"]
        for eni in self.w.inst.enis:
            groups = [m["Groups"] for m in moved if m["NetworkInterfaceId"] == eni]
            self.assertEqual(len(groups), 2, eni)
            self.assertNotEqual(groups[0], [isolation], "through the allow-all group first")
            self.assertEqual(groups[1], [isolation])
        writes = [i for i, c in enumerate(calls) if c["access"] == "write"
                  and not c["params"].get("Key", "").startswith("locks/")]
        self.assertEqual(calls[writes[0]]["step"], "isolate_network", "nothing is written before it")
        self.assertIn("a forensic window an earlier run left open is closed first", " ".join(again.only()["logs"]))
        # Taken over: the windows the two runs share (both, unless the
        # redelivery started past a window boundary), at generation 1.
        logs = " ".join(again.only()["logs"])
        self.assertIn("passed its deadline", logs)
        self.assertGreater(time.time() - started, 24, "not before the dead run's deadline")
        keys = [k["Key"] for k in self.world.s3.list_objects_v2(
            Bucket=self.w.bucket, Prefix="locks/").get("Contents", [])]
        held = sorted(k.rsplit("/", 1)[1] for k in keys if not k.endswith(".released")
                      and k + ".released" not in keys)
        self.assertEqual(len(held), 2, "the dead run's two locks, never released: " + str(keys))
        self.assertTrue(all(k.endswith(".0") for k in held), keys)
        self.assertIn(".1.released", " ".join(keys), "a lock taken over, then released")
        # The world as boto3 sees it: nothing open.
        egress, associations, enis = self.window()
        self.assertEqual(egress, [], "the forensic egress rule is gone")
        self.assertEqual(associations, [], "the quarantine profile is off")
        for eni, groups in enis.items():
            self.assertEqual(groups, [isolation], eni)
        self.assertTrue(self.world.log()[mark:], "the redelivery ran")


class TestResponsePolicy(Ec2Case):
    def with_rule(self, rule):
        return self.playbooks({"    rules = {},\n    default = \"contain\",\n\n    -- An instance":
                               f"    rules = {{ {rule} }},\n    default = \"contain\",\n\n    -- An instance"})

    def test_a_rule_can_make_a_finding_notify_only(self):
        playbooks = self.with_rule('{ finding_type = "^UnauthorizedAccess:EC2/SSH", resource_role = "TARGET", response = "notify" }')
        before = ec2_state(self.world, self.w)
        result = self.contain(playbooks=playbooks)
        self.assertEqual((result.rc, result.outcome), (0, "skipped"), result.describe())
        self.assertIn("notification only", result.reason)
        self.assertEqual([op for op, _ in result.writes()], ["sns.Publish"])
        self.assertEqual(ec2_state(self.world, self.w), before)

    def test_a_rule_can_make_a_finding_collect_evidence_only(self):
        playbooks = self.with_rule("{ max_severity = 6, response = \"evidence\" }")
        result = self.contain(playbooks=playbooks)
        self.assertEqual((result.rc, result.outcome), (0, "skipped"), result.describe())
        self.assertIn("evidence collected, not contained", result.reason)
        state = ec2_state(self.world, self.w)
        self.assertEqual(len(state["snapshots"]), 3)
        self.assertTrue(state["objects"])
        self.assertEqual(state["profiles"], [self.w.profile.arn], "nothing contained")
        self.assertEqual(state["asg"], [self.w.asg])
        self.assertFalse(state["termination_protection"])
        for _, groups in state["eni_groups"]:
            self.assertEqual(groups, [self.w.inst.sg])
        self.assertEqual(len(self.world.ssm_commands()), 1, "SSM already reaches it: the commands run")

    def test_a_rule_that_does_not_match_leaves_the_default(self):
        playbooks = self.with_rule('{ finding_type = "^Recon:", response = "notify" }')
        result = self.contain(playbooks=playbooks)
        self.assertEqual(result.outcome, "contained", result.describe())


if __name__ == "__main__":
    unittest.main()
