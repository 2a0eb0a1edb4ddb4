"""deadbolt restore (engine/run/undo.lua, engine/cmd/cmd_restore.c): each
playbook test's world snapshotted with boto3 before containment, contained
live, restored from the run's journal, snapshotted again: equal, except the
evidence kept (snapshots, objects) and deadbolt's own groups (kept, empty,
without the forensic egress rule). Also a partial containment, restoring
twice, a resource changed since (refused, then --force), and --dry-run.

Every call of a restore, as of the containment, is checked against
template.yaml's execution role (harness.world: iam_checked).

What moto cannot show: AttachInstances raises an Auto Scaling group's desired
capacity on AWS; moto's Auto Scaling keeps its own count, so only the
instance's membership is compared. A target's draining state does not exist
in moto (deregistration is immediate)."""

import json
import os
import shutil
import tempfile
import unittest

from harness.world import REGION, WorldTestCase
from botocore.exceptions import ClientError

from playbook_cases import (bucket_resource, ec2_state, ec2_world, finding, instance_resource,
                            key_resource, notification_queue, notifications)

TYPE = "UnauthorizedAccess:EC2/SSHBruteForce"
EVIDENCE = ("snapshots", "objects", "groups")


class RestoreCase(WorldTestCase):
    def setUp(self):
        super().setUp()
        self.w = ec2_world(self.world)
        self.finding = finding(TYPE, instance_resource(self.w.inst.id), fid="b1f0e7d34c1b9a4f3e2d1c0b9a87a2c6")
        self.tmp = tempfile.mkdtemp(prefix="deadbolt-restore-")
        self.journal = os.path.join(self.tmp, "journal.jsonl")

    def tearDown(self):
        shutil.rmtree(self.tmp, ignore_errors=True)
        super().tearDown()

    def contain(self):
        path = os.path.join(self.tmp, "finding.json")
        with open(path, "w") as f:
            json.dump(self.finding, f)
        rc, out, err = self.world.deadbolt("run", "--journal", self.journal, path, env=self.w.env, timeout=120)
        self.assertNotIn("Traceback", err)
        return rc, out, err

    def restore(self, *flags):
        rc, out, err = self.world.deadbolt("restore", self.journal, *flags, env=self.w.env, timeout=120)
        self.assertNotIn("Traceback", err)
        return rc, out, err

    def lines(self, path):
        with open(path) as f:
            return [json.loads(l) for l in f if l.strip()]

    def undo_lines(self):
        return [l for l in self.lines(self.journal) if l["event"] == "undo"]

    def comparable(self, state):
        return {k: v for k, v in state.items() if k not in EVIDENCE}

    def assert_deadbolt_groups_idle(self):
        iid = self.w.inst.id
        for g in self.world.ec2.describe_security_groups(Filters=[
                {"Name": "vpc-id", "Values": [self.w.inst.vpc]}])["SecurityGroups"]:
            if iid not in g["GroupName"]:
                continue
            enis = self.world.ec2.describe_network_interfaces(Filters=[
                {"Name": "group-id", "Values": [g["GroupId"]]}])["NetworkInterfaces"]
            self.assertEqual(enis, [], g["GroupName"])
            for rule in g["IpPermissionsEgress"]:
                self.assertNotEqual(rule.get("FromPort"), 443, f"forensic egress left in {g['GroupName']}")


class TestRestore(RestoreCase):
    def test_contain_then_restore_gives_the_world_back(self):
        before = ec2_state(self.world, self.w)
        rc, out, err = self.contain()
        self.assertEqual(rc, 0, out + err)
        contained = ec2_state(self.world, self.w)
        self.assertNotEqual(self.comparable(contained), self.comparable(before), "the containment changed nothing")
        undo = self.undo_lines()
        self.assertTrue(undo)
        self.assertTrue(all(l["undo"]["source"] in ("read", "request", "response") for l in undo),
                        [l["undo"] for l in undo if l["undo"]["source"] not in ("read", "request", "response")])
        notifications(self.world, self.w.queue)  # the containment's

        rc, out, err = self.restore()
        self.assertEqual(rc, 0, out + err)
        after = ec2_state(self.world, self.w)
        self.assertEqual(self.comparable(after), self.comparable(before), out)
        # evidence kept
        self.assertEqual(after["snapshots"], contained["snapshots"])
        self.assertEqual(after["objects"], contained["objects"])
        self.assert_deadbolt_groups_idle()
        # its own journal, beside the containment's, and one notification
        own = self.lines(self.journal + ".restore.jsonl")
        self.assertEqual(own[0]["event"], "restore_start")
        self.assertEqual(own[-1]["event"], "restore_end")
        sent = [l for l in own if l["event"] == "notification"]
        self.assertEqual(len(sent), 1)
        self.assertIsNone(sent[0].get("error"))
        self.assertEqual(len(notifications(self.world, self.w.queue)), 1)

    def test_restoring_twice_does_nothing_the_second_time(self):
        before = ec2_state(self.world, self.w)
        self.assertEqual(self.contain()[0], 0)
        self.assertEqual(self.restore()[0], 0)
        log_len = len(self.world.log())
        rc, out, err = self.restore()
        self.assertEqual(rc, 0, out + err)
        writes = [e["action"] for e in self.world.log()[log_len:]
                  if e["action"] and not e["action"].startswith(("Describe", "Get", "List", "Publish"))]
        # moto cannot revoke an IPv6 rule in a VPC without an IPv6 block (its
        # revoke_security_group_egress drops the range and removes nothing), so
        # the untrack group's ::/0 egress rule is still there to revoke: the one
        # write allowed here. On AWS the first restore removes it.
        self.assertEqual([w for w in writes if w != "RevokeSecurityGroupEgress"], [], out)
        self.assertLessEqual(len(writes), 1, out)
        for line in out.splitlines():
            if line.startswith("  restored"):
                self.assertIn("Ipv6Ranges/::/0", line)
        self.assertEqual(self.comparable(ec2_state(self.world, self.w)), self.comparable(before))

    def test_dry_run_prints_the_plan_and_sends_nothing(self):
        self.assertEqual(self.contain()[0], 0)
        contained = ec2_state(self.world, self.w)
        log_len = len(self.world.log())
        rc, out, err = self.restore("--dry-run")
        self.assertEqual(rc, 0, out + err)
        self.assertIn("ec2.ModifyNetworkInterfaceAttribute", out)
        writes = [e["action"] for e in self.world.log()[log_len:]
                  if e["action"] and not e["action"].startswith(("Describe", "Get", "List"))]
        self.assertEqual(writes, [])
        self.assertEqual(ec2_state(self.world, self.w), contained)

    def test_a_resource_changed_since_is_refused_then_forced(self):
        before = ec2_state(self.world, self.w)
        self.assertEqual(self.contain()[0], 0)
        eni = sorted(before["eni_groups"])[0][0]
        other = self.world.ec2.create_security_group(GroupName="someone-else", Description="x",
                                                     VpcId=self.w.inst.vpc)["GroupId"]
        self.world.ec2.modify_network_interface_attribute(NetworkInterfaceId=eni, Groups=[other])
        rc, out, err = self.restore()
        self.assertEqual(rc, 1, out + err)
        self.assertIn(f"eni:{eni} changed since the containment", out)
        state = ec2_state(self.world, self.w)
        own = self.lines(self.journal + ".restore.jsonl")
        verdicts = {l["key"]: l["verdict"] for l in own if l["event"] == "restore_step"}
        self.assertEqual(verdicts[f"eni:{eni}"], "changed")
        sent = [c for l in own if l["event"] == "restore_step" for c in l.get("calls", [])]
        self.assertNotIn(eni, json.dumps(sent), "nothing is sent for the changed ENI")
        # everything else is restored
        self.assertEqual(state["termination_protection"], before["termination_protection"])
        rc, out, err = self.restore("--force")
        self.assertEqual(rc, 0, out + err)
        self.assertEqual(self.comparable(ec2_state(self.world, self.w)), self.comparable(before))

    def test_remove_groups_deletes_deadbolts_groups_once_unused(self):
        before = ec2_state(self.world, self.w)
        self.assertEqual(self.contain()[0], 0)
        ours = lambda: sorted(g["GroupName"] for g in self.world.ec2.describe_security_groups(Filters=[
            {"Name": "vpc-id", "Values": [self.w.inst.vpc]}])["SecurityGroups"]
            if g["GroupName"] in (f"deadbolt-isolation-{self.w.inst.id}", f"deadbolt-untrack-{self.w.inst.vpc}"))
        self.assertEqual(len(ours()), 2, "the instance's isolation group and the VPC's untrack group")
        rc, out, err = self.restore("--remove-groups", "--dry-run")
        self.assertEqual(rc, 0, out + err)
        self.assertEqual(len(ours()), 2, "a dry run deletes nothing")
        rc, out, err = self.restore("--remove-groups")
        self.assertEqual(rc, 0, out + err)
        self.assertEqual(ours(), [], out)
        self.assertEqual(self.comparable(ec2_state(self.world, self.w)), self.comparable(before))
        self.assertEqual(ec2_state(self.world, self.w)["groups"], before["groups"], "every group as before")

    def test_a_partial_containment_undoes_only_what_happened(self):
        before = ec2_state(self.world, self.w)
        # the isolation fails (a critical step): the run stops there
        self.world.fault("ModifyNetworkInterfaceAttribute", "500", count=50)
        rc, out, err = self.contain()
        self.assertNotEqual(rc, 0)
        partial = ec2_state(self.world, self.w)
        self.assertEqual(partial["eni_groups"], before["eni_groups"])
        ops = {l["undo"]["op"] for l in self.undo_lines()}
        self.assertNotIn("ec2.ModifyNetworkInterfaceAttribute", ops)
        self.world.fault("ModifyNetworkInterfaceAttribute", "500", count=0)
        rc, out, err = self.restore()
        self.assertEqual(rc, 0, out + err)
        self.assertNotIn("ModifyNetworkInterfaceAttribute", out)
        self.assertEqual(self.comparable(ec2_state(self.world, self.w)), self.comparable(before))


    def test_a_journal_asking_for_another_group_than_it_recorded_is_refused(self):
        before = ec2_state(self.world, self.w)
        self.assertEqual(self.contain()[0], 0)
        contained = ec2_state(self.world, self.w)
        other = self.world.ec2.create_security_group(GroupName="wide-open", Description="x",
                                                     VpcId=self.w.inst.vpc)["GroupId"]
        lines = self.lines(self.journal)
        tampered = 0
        for l in lines:
            if l["event"] == "undo" and l["undo"]["key"].startswith("eni:"):
                l["undo"]["undo"]["params"]["Groups"] = [other]
                tampered += 1
        self.assertGreater(tampered, 0)
        with open(self.journal, "w") as f:
            f.writelines(json.dumps(l) + "\n" for l in lines)
        rc, out, err = self.restore()
        self.assertEqual(rc, 1, out + err)
        self.assertIn("refused by rule eni-own-groups", out)
        self.assertIn("may go back only to the groups the journal recorded on it", out)
        moves = [e for e in self.world.log("ModifyNetworkInterfaceAttribute")
                 if other in json.dumps(e.get("iam_params"))]
        self.assertEqual(moves, [], "nothing asked AWS to move an ENI into the group")
        after = ec2_state(self.world, self.w)
        self.assertEqual(after["eni_groups"], contained["eni_groups"], "no ENI moved into the group")
        self.assertNotEqual(after["eni_groups"], before["eni_groups"])
        # the rest of the containment is undone
        self.assertEqual(after["termination_protection"], before["termination_protection"])

    def test_restore_by_finding_id_pages_past_a_thousand_objects(self):
        # 1,000 other objects under the finding's prefix, sorting before
        # its journal: S3 lists 1,000 keys a page, so the journal is only
        # found on the second page.
        before = ec2_state(self.world, self.w)
        self.assertEqual(self.contain()[0], 0)
        fid = self.finding["id"]
        prefix = f"journal/by-finding/{fid}/"
        s3 = self.world.s3
        from concurrent.futures import ThreadPoolExecutor
        with ThreadPoolExecutor(8) as pool:  # straight to moto, 8 at a time
            list(pool.map(lambda i: s3.put_object(Bucket=self.w.bucket, Key=f"{prefix}20260101T000000Z-{i:04d}.jsonl",
                                                  Body=b"\n"), range(1000)))
        with open(self.journal, "rb") as f:
            s3.put_object(Bucket=self.w.bucket, Key=f"{prefix}20260102T000000Z-run.jsonl", Body=f.read())
        listed = s3.list_objects_v2(Bucket=self.w.bucket, Prefix=prefix)
        self.assertTrue(listed["IsTruncated"], "moto pages at 1,000 keys")
        env = dict(self.w.env, ARTIFACT_BUCKET=self.w.bucket)
        log_len = len(self.world.log())
        rc, out, err = self.world.deadbolt("restore", "--finding", fid, env=env, timeout=180)
        self.assertEqual(rc, 0, out + err)
        self.assertEqual(self.comparable(ec2_state(self.world, self.w)), self.comparable(before), out)
        pages = [e for e in self.world.log()[log_len:] if e["action"] == "ListObjectsV2"]
        self.assertEqual(len(pages), 2, "the listing went on to its second page")


OTHER_REGION = "eu-west-1"  # the finding's; the CLI's is harness.world.REGION


class TestRestoreInTheFindingsRegion(RestoreCase):
    """A finding in another region than the CLI's: the containment acted in
    the finding's region, and so does its restore, without --region (the
    journal's run_start line names the region). The artifact bucket, the
    topic and the quarantine profile are the CLI region's (IAM is global);
    self.w's instance there is a bystander that neither run may touch.
    moto keeps each region's EC2 apart, so a call sent to the wrong region
    finds no such instance. What moto cannot show: it does not tie an S3
    bucket to a region, so the journal's objects being read in the caller's
    region is not checked by moto's answers."""

    def setUp(self):
        super().setUp()
        import boto3
        from botocore.config import Config
        from harness.world import ACCESS_KEY, AMI, SECRET_KEY
        there = {service: boto3.session.Session().client(
            service, region_name=OTHER_REGION, endpoint_url=self.world.moto_url,
            aws_access_key_id=ACCESS_KEY, aws_secret_access_key=SECRET_KEY,
            config=Config(retries={"total_max_attempts": 1, "mode": "standard"}))
            for service in ("ec2", "sns", "sqs")}
        self.ec2 = there["ec2"]
        # The notifications go to a topic in the finding's region: the
        # containment's (lib/notify.lua publishes in the run's region) and
        # the restore's, sent where the containment acted.
        topic = there["sns"].create_topic(Name="deadbolt-notifications")["TopicArn"]
        self.queue = there["sqs"].create_queue(QueueName="deadbolt-notifications-q")["QueueUrl"]
        queue_arn = there["sqs"].get_queue_attributes(
            QueueUrl=self.queue, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
        there["sns"].subscribe(TopicArn=topic, Protocol="sqs", Endpoint=queue_arn,
                               Attributes={"RawMessageDelivery": "true"})
        self.sqs = there["sqs"]
        self.w.env = dict(self.w.env, NOTIFICATION_TOPIC_ARN=topic)
        vpc = self.ec2.create_vpc(CidrBlock="10.9.0.0/16")["Vpc"]["VpcId"]
        subnet = self.ec2.create_subnet(VpcId=vpc, CidrBlock="10.9.0.0/24",
                                        AvailabilityZone=OTHER_REGION + "a")["Subnet"]["SubnetId"]
        sg = self.ec2.create_security_group(GroupName="web-eu", Description="web", VpcId=vpc)["GroupId"]
        profile = self.world.instance_profile(name="web-eu", role="web-eu-role")
        self.iid = self.ec2.run_instances(
            ImageId=AMI, MinCount=1, MaxCount=1, InstanceType="t3.micro", SubnetId=subnet,
            SecurityGroupIds=[sg], IamInstanceProfile={"Name": profile.name},
            TagSpecifications=[{"ResourceType": "instance", "Tags": [{"Key": "app", "Value": "web"}]}],
        )["Instances"][0]["InstanceId"]
        self.vpc = vpc
        resource = instance_resource(self.iid)
        resource["instanceDetails"]["availabilityZone"] = OTHER_REGION + "a"
        self.finding = finding(TYPE, resource, fid="e7a3c1d2b4f5a6978877665544332211")
        self.finding["region"] = OTHER_REGION
        self.finding["arn"] = self.finding["arn"].replace(":us-east-1:", f":{OTHER_REGION}:")

    def state(self):
        """The instance's world in OTHER_REGION, as boto3 sees it there."""
        inst = self.ec2.describe_instances(InstanceIds=[self.iid])["Reservations"][0]["Instances"][0]
        enis = self.ec2.describe_network_interfaces(
            Filters=[{"Name": "attachment.instance-id", "Values": [self.iid]}])["NetworkInterfaces"]
        assoc = self.ec2.describe_iam_instance_profile_associations(
            Filters=[{"Name": "instance-id", "Values": [self.iid]}])["IamInstanceProfileAssociations"]
        attrs = {a: self.ec2.describe_instance_attribute(InstanceId=self.iid, Attribute=a)
                 for a in ("disableApiTermination", "disableApiStop", "instanceInitiatedShutdownBehavior")}
        return {
            "eni_groups": sorted((e["NetworkInterfaceId"], sorted(g["GroupId"] for g in e["Groups"]))
                                 for e in enis),
            "profiles": sorted(a["IamInstanceProfile"]["Arn"] for a in assoc
                               if a["State"] in ("associated", "associating")),
            "tags": sorted((t["Key"], t["Value"]) for t in inst.get("Tags", [])),
            "termination_protection": attrs["disableApiTermination"]["DisableApiTermination"]["Value"],
            "stop_protection": attrs["disableApiStop"]["DisableApiStop"]["Value"],
            "shutdown": attrs["instanceInitiatedShutdownBehavior"]["InstanceInitiatedShutdownBehavior"]["Value"],
        }

    def contain_there(self):
        before, bystander = self.state(), ec2_state(self.world, self.w)
        rc, out, err = self.contain()
        self.assertEqual(rc, 0, out + err)
        contained = self.state()
        self.assertNotEqual(contained["eni_groups"], before["eni_groups"], "the containment changed nothing")
        self.assertNotEqual(contained["profiles"], before["profiles"])
        start = [l for l in self.lines(self.journal) if l["event"] == "run_start"]
        self.assertEqual([l["region"] for l in start], [OTHER_REGION])
        return before, bystander

    def test_restored_in_the_region_the_containment_acted_in(self):
        before, bystander = self.contain_there()
        log_len = len(self.world.log())
        rc, out, err = self.restore()  # the CLI's region is REGION; no --region
        self.assertEqual(rc, 0, out + err)
        # every request of the restore signed for the finding's region (IAM: global)
        sent = {(e["service"], e["region"]) for e in self.world.log()[log_len:]}
        self.assertIn(("ec2", OTHER_REGION), sent)
        self.assertEqual({r for svc, r in sent if svc != "iam"}, {OTHER_REGION}, sent)
        self.assertEqual(self.state(), before, out)
        self.assertEqual(self.comparable(ec2_state(self.world, self.w)), self.comparable(bystander))
        self.assertIn(f"acting in {OTHER_REGION}", out)
        own = self.lines(self.journal + ".restore.jsonl")
        self.assertEqual(own[0]["region"], OTHER_REGION)
        sent = [l for l in own if l["event"] == "notification"]
        self.assertEqual(len(sent), 1)
        self.assertIsNone(sent[0].get("error"))
        got = self.sqs.receive_message(QueueUrl=self.queue, MaxNumberOfMessages=10).get("Messages", [])
        self.assertEqual(len(got), 2, "the containment's notification and the restore's, in its region")

    def test_restored_by_finding_id_from_the_callers_bucket(self):
        before, _ = self.contain_there()
        fid = self.finding["id"]
        with open(self.journal, "rb") as f:
            self.world.s3.put_object(Bucket=self.w.bucket, Key=f"journal/by-finding/{fid}/20260102T000000Z-run.jsonl",
                                     Body=f.read())
        env = dict(self.w.env, ARTIFACT_BUCKET=self.w.bucket)
        log_len = len(self.world.log())
        rc, out, err = self.world.deadbolt("restore", "--finding", fid, env=env, timeout=120)
        self.assertEqual(rc, 0, out + err)
        self.assertEqual(self.state(), before, out)
        # the journal's objects read and written in the caller's region, the rest in the finding's
        log = self.world.log()[log_len:]
        self.assertEqual({(e["action"], e["region"]) for e in log if e["service"] == "s3"},
                         {("ListObjectsV2", REGION), ("GetObject", REGION), ("PutObject", REGION)})
        self.assertEqual({e["region"] for e in log if e["service"] not in ("s3", "iam")}, {OTHER_REGION})
        keys = [o["Key"] for o in self.world.s3.list_objects_v2(
            Bucket=self.w.bucket, Prefix=f"journal/by-finding/{fid}/").get("Contents", [])]
        self.assertTrue(any(k.endswith("-restore.jsonl") for k in keys), keys)

    def test_a_journal_whose_region_is_not_a_region_name_is_refused(self):
        self.contain_there()
        contained = self.state()
        lines = self.lines(self.journal)
        for l in lines:
            if l["event"] == "run_start":
                l["region"] = "eu-west-1.example.com/"
        with open(self.journal, "w") as f:
            f.writelines(json.dumps(l) + "\n" for l in lines)
        log_len = len(self.world.log())
        rc, out, err = self.restore()
        self.assertNotEqual(rc, 0, out + err)
        self.assertIn("is not a region name", out + err)
        self.assertEqual(self.state(), contained)
        self.assertEqual([e["action"] for e in self.world.log()[log_len:]
                          if e["action"] and not e["action"].startswith(("Describe", "Get", "List", "Publish"))], [])


class JournalCase(WorldTestCase):
    """A containment and its restore through journal files."""

    def setUp(self):
        super().setUp()
        self.topic, self.queue = notification_queue(self.world)
        self.env = {"NOTIFICATION_TOPIC_ARN": self.topic}
        self.tmp = tempfile.mkdtemp(prefix="deadbolt-restore-")
        self.journal = os.path.join(self.tmp, "journal.jsonl")

    def tearDown(self):
        shutil.rmtree(self.tmp, ignore_errors=True)
        super().tearDown()

    def contain(self, document):
        path = os.path.join(self.tmp, "finding.json")
        with open(path, "w") as f:
            json.dump(document, f)
        rc, out, err = self.world.deadbolt("run", "--journal", self.journal, path, env=self.env, timeout=120)
        self.assertEqual(rc, 0, out + err)

    def restore(self, *flags):
        rc, out, err = self.world.deadbolt("restore", self.journal, *flags, env=self.env, timeout=120)
        self.assertNotIn("Traceback", err)
        return rc, out, err


class TestTamperedJournal(JournalCase):
    def test_an_undo_the_allow_list_does_not_name_is_refused(self):
        inst = self.world.instance()
        line = {"ts": "2026-01-01T00:00:00Z", "run": "r1", "event": "undo", "step": "x",
                "undo": {"key": "attr:%s:X" % inst.id, "op": "ec2.ModifyInstanceAttribute", "source": "read",
                         "before": 1, "after": 2,
                         "undo": {"op": "ec2.CreateSnapshot", "params": {"VolumeId": "vol-1"}}}}
        with open(self.journal, "w") as f:
            f.write(json.dumps(line) + "\n")
        rc, out, err = self.restore()
        self.assertEqual(rc, 1, out + err)
        self.assertIn("ec2.CreateSnapshot is not an undo the allow-list names", out)
        self.assertEqual(self.world.log("CreateSnapshot"), [])


class TestRestoreS3(JournalCase):
    def block_of(self, bucket):
        try:
            return self.world.s3.get_public_access_block(Bucket=bucket)["PublicAccessBlockConfiguration"]
        except ClientError as exc:
            self.assertEqual(exc.response["Error"]["Code"], "NoSuchPublicAccessBlockConfiguration")
            return None

    def test_each_bucket_gets_its_own_block_back_or_none(self):
        self.world.bucket("reports-public", public=True)
        self.world.bucket("assets-public", public=True)
        partial = {"BlockPublicAcls": True, "IgnorePublicAcls": False, "BlockPublicPolicy": False,
                   "RestrictPublicBuckets": False}
        self.world.s3.put_public_access_block(Bucket="assets-public", PublicAccessBlockConfiguration=partial)
        before = {b: self.block_of(b) for b in ("reports-public", "assets-public")}
        self.contain(finding("Policy:S3/BucketAnonymousAccessGranted", bucket_resource([
            ("reports-public", True), ("assets-public", True)]), severity=8))
        self.assertNotEqual({b: self.block_of(b) for b in before}, before)
        rc, out, err = self.restore()
        self.assertEqual(rc, 0, out + err)
        self.assertEqual({b: self.block_of(b) for b in before}, before)
        self.assertEqual({b: self.block_of(b) for b in before}["reports-public"], None, "no configuration at all")
        rc, out, err = self.restore()
        self.assertEqual(rc, 0, out + err)
        self.assertIn(" 0 restored", out)


class TestRestoreIam(JournalCase):
    POLICY = "AWSRevokeOlderSessions"

    def policies(self, user):
        iam = self.world.iam
        out = {}
        for name in iam.list_user_policies(UserName=user)["PolicyNames"]:
            doc = iam.get_user_policy(UserName=user, PolicyName=name)["PolicyDocument"]
            out[name] = doc if isinstance(doc, dict) else json.loads(doc)
        return out

    def keys(self, user):
        return {k["AccessKeyId"]: k["Status"] for k in
                self.world.iam.list_access_keys(UserName=user)["AccessKeyMetadata"]}

    def test_the_deny_policy_goes_and_the_key_is_active_again(self):
        user = self.world.iam_user("intern-2023", keys=2, policy={
            "Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "s3:*", "Resource": "*"}]})
        before = (self.policies(user.name), self.keys(user.name))
        self.contain(finding("PenTest:IAMUser/KaliLinux", key_resource("IAMUser", user.name, user.keys[0]["id"])))
        self.assertNotEqual((self.policies(user.name), self.keys(user.name)), before)
        rc, out, err = self.restore()
        self.assertEqual(rc, 0, out + err)
        self.assertEqual((self.policies(user.name), self.keys(user.name)), before)

    def test_an_earlier_policy_of_that_name_is_put_back(self):
        user = self.world.iam_user("intern-2024", keys=1)
        old = {"Version": "2012-10-17", "Statement": [{"Effect": "Deny", "Action": "*", "Resource": "*",
               "Condition": {"DateLessThan": {"aws:TokenIssueTime": "2020-01-01T00:00:00Z"}}}]}
        self.world.iam.put_user_policy(UserName=user.name, PolicyName=self.POLICY, PolicyDocument=json.dumps(old))
        before = (self.policies(user.name), self.keys(user.name))
        self.contain(finding("PenTest:IAMUser/KaliLinux", key_resource("IAMUser", user.name, user.keys[0]["id"])))
        rc, out, err = self.restore()
        self.assertEqual(rc, 0, out + err)
        self.assertEqual((self.policies(user.name), self.keys(user.name)), before)

    def test_a_policy_removed_since_counts_as_restored(self):
        user = self.world.iam_user("intern-2025", keys=1)
        key = user.keys[0]["id"]
        self.contain(finding("PenTest:IAMUser/KaliLinux", key_resource("IAMUser", user.name, key)))
        self.world.iam.delete_user_policy(UserName=user.name, PolicyName=self.POLICY)
        rc, out, err = self.restore()
        self.assertEqual(rc, 0, "a policy already gone is already restored: " + out + err)
        self.assertIn("already", out)
        self.assertEqual(self.keys(user.name), {key: "Active"})


class TestCompiledIn(unittest.TestCase):
    def test_undo_lua_c_is_generated_from_undo_lua(self):
        import subprocess
        import sys
        root = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
        path = os.path.join(root, "engine", "run", "undo_lua.c")
        with open(path) as f:
            committed = f.read()
        subprocess.run([sys.executable, os.path.join(root, "tools", "gen_undo_lua.py")], check=True)
        with open(path) as f:
            self.assertEqual(f.read(), committed, "engine/run/undo_lua.c is stale: python3 tools/gen_undo_lua.py")


import test_lambda as lambda_cases  # noqa: E402  (its LambdaCase; its tests stay in their module)


class TestRestoreThroughTheLambda(lambda_cases.LambdaCase):
    """Contained by the Lambda (its journal kept in the artifact bucket, by
    finding), planned with `deadbolt restore --finding`, restored with the
    Lambda event {"deadbolt": "restore", "finding_id": ...}."""

    def test_contain_and_restore_by_finding_id(self):
        w = ec2_world(self.world)
        before = ec2_state(self.world, w)
        self.bootstrap(extra_env={"DEADBOLT_DRY_RUN": "false", "QUARANTINE_PROFILE_ARN": w.quarantine.arn,
                                  "NOTIFICATION_TOPIC_ARN": w.topic, "ARTIFACT_BUCKET": w.bucket})
        event = lambda_cases.finding_event(w.inst.id)
        fid = event["detail"]["id"]
        got = self.assert_response(self.answer(self.api.enqueue(event), timeout=120))
        self.assertEqual(got["outcome"], "contained", got)
        contained = ec2_state(self.world, w)
        self.assertNotEqual(contained["eni_groups"], before["eni_groups"])
        keys = [o["Key"] for o in self.world.s3.list_objects_v2(
            Bucket=w.bucket, Prefix=f"journal/by-finding/{fid}/").get("Contents", [])]
        self.assertEqual(len(keys), 1, keys)

        # the plan, from the bucket, by finding id: nothing sent
        env = dict(w.env)
        rc, out, err = self.world.deadbolt("restore", "--finding", fid, "--dry-run", env=env, timeout=120)
        self.assertEqual(rc, 0, out + err)
        self.assertIn("ec2.ModifyNetworkInterfaceAttribute", out)
        self.assertEqual(ec2_state(self.world, w)["eni_groups"], contained["eni_groups"])

        got = self.assert_response(self.answer(self.api.enqueue({"deadbolt": "restore", "finding_id": fid}),
                                               timeout=120))
        self.assertEqual(got["outcome"], "restored", got)
        after = ec2_state(self.world, w)
        self.assertEqual({k: v for k, v in after.items() if k not in EVIDENCE},
                         {k: v for k, v in before.items() if k not in EVIDENCE}, got)
        keys = [o["Key"] for o in self.world.s3.list_objects_v2(
            Bucket=w.bucket, Prefix=f"journal/by-finding/{fid}/").get("Contents", [])]
        self.assertEqual(len(keys), 2, "the restore's journal beside the containment's: %s" % keys)
        self.assertTrue(keys[1].endswith("-restore.jsonl"), keys)

        got = self.assert_response(self.answer(self.api.enqueue({"deadbolt": "restore", "finding_id": fid}),
                                               timeout=120))
        # at most the untrack group's ::/0 egress rule, which moto cannot
        # revoke (see TestRestore.test_restoring_twice_does_nothing_the_second_time)
        self.assertRegex(got["summary"], r": [01] restored, .* 0 changed since .* 0 failed")
        bad = self.answer(self.api.enqueue({"deadbolt": "restore", "finding_id": "f" * 32}))
        self.assert_error(bad, "Deadbolt.RestoreFailed")


if __name__ == "__main__":
    unittest.main()
