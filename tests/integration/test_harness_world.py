"""The test base itself (tests/harness/world.py): the worlds it builds are
what it says, reset() empties the account, and deadbolt() runs the binary in
a clean environment aimed at the fake."""

import json
import os
import stat
import tempfile

from harness.world import ACCESS_KEY, REGION, SECRET_KEY, WorldTestCase

# Stands in for build/deadbolt: shows what it was given.
STAND_IN = """#!/bin/sh
echo "args=$*"
echo "home=$HOME"
ls -A "$HOME" | sed 's/^/home-entry=/'
env | grep -E '^(AWS_|HOME=|PATH=|STRAY=)' | sort
cat >"$HOME/stdin.txt"
echo "stdin=$(cat "$HOME/stdin.txt")"
echo "to stderr" >&2
[ "${1:-}" = sleep ] && sleep 30
exit 3
"""


class TestWorlds(WorldTestCase):
    def test_instance_has_the_enis_and_volumes_asked_for(self):
        inst = self.world.instance(enis=3, volumes=2, tags={"Name": "web-1"})
        raw = self.world.ec2.describe_instances(InstanceIds=[inst.id])["Reservations"][0]["Instances"][0]
        self.assertEqual(raw["State"]["Name"], "running")
        self.assertEqual({t["Key"]: t["Value"] for t in raw["Tags"]}, {"Name": "web-1"})
        enis = self.world.ec2.describe_network_interfaces(
            Filters=[{"Name": "attachment.instance-id", "Values": [inst.id]}])["NetworkInterfaces"]
        self.assertEqual(sorted(n["NetworkInterfaceId"] for n in enis), sorted(inst.enis))
        self.assertEqual(len(inst.enis), 3)
        vols = self.world.ec2.describe_volumes(
            Filters=[{"Name": "attachment.instance-id", "Values": [inst.id]}])["Volumes"]
        self.assertEqual(sorted(v["VolumeId"] for v in vols), sorted(inst.volumes))
        self.assertEqual(len(inst.volumes), 3)  # moto's root volume and the two asked for
        self.assertEqual(raw["SecurityGroups"][0]["GroupId"], inst.sg)

    def test_instance_profile_is_associated(self):
        prof = self.world.instance_profile(policy={"Version": "2012-10-17", "Statement": [
            {"Effect": "Allow", "Action": "s3:*", "Resource": "*"}]})
        inst = self.world.instance(profile=prof.name)
        assoc = self.world.ec2.describe_iam_instance_profile_associations(
            Filters=[{"Name": "instance-id", "Values": [inst.id]}])["IamInstanceProfileAssociations"]
        self.assertEqual([a["IamInstanceProfile"]["Arn"] for a in assoc], [prof.arn])
        roles = self.world.iam.get_instance_profile(InstanceProfileName=prof.name)["InstanceProfile"]["Roles"]
        self.assertEqual([r["RoleName"] for r in roles], [prof.role])
        self.assertEqual(self.world.iam.list_role_policies(RoleName=prof.role)["PolicyNames"], ["inline"])

    def test_load_balancing_and_scaling_hold_the_instance(self):
        inst = self.world.instance()
        group = self.world.asg(inst)
        elb = self.world.classic_elb(inst)
        tg = self.world.target_group(inst)
        asg = self.world.autoscaling.describe_auto_scaling_groups(AutoScalingGroupNames=[group])
        self.assertEqual([i["InstanceId"] for i in asg["AutoScalingGroups"][0]["Instances"]], [inst.id])
        lb = self.world.elb.describe_load_balancers(LoadBalancerNames=[elb])["LoadBalancerDescriptions"][0]
        self.assertEqual([i["InstanceId"] for i in lb["Instances"]], [inst.id])
        health = self.world.elbv2.describe_target_health(TargetGroupArn=tg)["TargetHealthDescriptions"]
        self.assertEqual([h["Target"]["Id"] for h in health], [inst.id])

    def test_buckets_and_identities(self):
        self.world.bucket("open-bucket", public=True, tags={"team": "web"})
        policy = json.loads(self.world.s3.get_bucket_policy(Bucket="open-bucket")["Policy"])
        self.assertEqual(policy["Statement"][0]["Principal"], "*")
        tags = self.world.s3.get_bucket_tagging(Bucket="open-bucket")["TagSet"]
        self.assertEqual(tags, [{"Key": "team", "Value": "web"}])
        user = self.world.iam_user("alice", keys=2, policy={"Version": "2012-10-17", "Statement": [
            {"Effect": "Allow", "Action": "s3:ListAllMyBuckets", "Resource": "*"}]})
        listed = self.world.iam.list_access_keys(UserName="alice")["AccessKeyMetadata"]
        self.assertEqual(sorted(k["AccessKeyId"] for k in listed), sorted(k["id"] for k in user.keys))
        self.assertTrue(all(k["Status"] == "Active" for k in listed))
        arn = self.world.role("responder", service="lambda.amazonaws.com")
        self.assertEqual(self.world.iam.get_role(RoleName="responder")["Role"]["Arn"], arn)

    def test_reset_empties_the_account_and_the_fake(self):
        self.world.bucket("left-over")
        self.world.fault("*", "500", count=5)
        self.world.ssm_managed(["i-00000000000000001"])
        self.world.reset()
        self.assertEqual(self.world.s3.list_buckets()["Buckets"], [])
        info = self.world.fake_client("ssm").describe_instance_information()
        self.assertEqual(info["InstanceInformationList"], [])  # no fault left to fail it
        self.assertEqual([e["action"] for e in self.world.log()], ["DescribeInstanceInformation"])


class TestDeadboltHelper(WorldTestCase):
    def setUp(self):
        super().setUp()
        fd, path = tempfile.mkstemp(prefix="deadbolt-stand-in-")
        with os.fdopen(fd, "w") as f:
            f.write(STAND_IN)
        os.chmod(path, stat.S_IRWXU)
        self.addCleanup(os.unlink, path)
        self.world.deadbolt_bin = path

    def test_runs_clean_against_the_fake_with_the_test_credentials(self):
        os.environ.update(AWS_PROFILE="leaked", STRAY="leaked", AWS_SESSION_TOKEN="leaked")
        try:
            rc, out, err = self.world.deadbolt("respond", "--dry-run", input="finding")
        finally:
            for name in ("AWS_PROFILE", "STRAY", "AWS_SESSION_TOKEN"):
                del os.environ[name]
        lines = out.splitlines()
        self.assertEqual((rc, err), (3, "to stderr\n"))
        self.assertIn("args=respond --dry-run", lines)
        self.assertIn("stdin=finding", lines)
        env = dict(l.split("=", 1) for l in lines if l.startswith(("AWS_", "STRAY=")))
        self.assertEqual(env, {"AWS_ENDPOINT_URL": self.world.fake_url, "AWS_ACCESS_KEY_ID": ACCESS_KEY,
                               "AWS_SECRET_ACCESS_KEY": SECRET_KEY, "AWS_REGION": REGION,
                               "AWS_DEFAULT_REGION": REGION, "AWS_EC2_METADATA_DISABLED": "true"})
        home = next(l for l in lines if l.startswith("home=")).split("=", 1)[1]
        self.assertNotEqual(home, os.path.expanduser("~"))
        self.assertFalse([l for l in lines if l.startswith("home-entry=")])  # empty: no ~/.aws
        self.assertFalse(os.path.exists(home))  # removed afterwards

    def test_env_adds_and_removes_variables(self):
        _, out, _ = self.world.deadbolt(env={"AWS_REGION": "eu-west-1", "AWS_ENDPOINT_URL": None})
        self.assertIn("AWS_REGION=eu-west-1", out.splitlines())
        self.assertNotIn("AWS_ENDPOINT_URL", out)

    def test_a_run_past_its_timeout_fails_the_test(self):
        with self.assertRaisesRegex(AssertionError, "still running after 1s"):
            self.world.deadbolt("sleep", timeout=1)

    def test_a_missing_binary_says_so(self):
        self.world.deadbolt_bin = "/nonexistent/deadbolt"
        with self.assertRaisesRegex(AssertionError, "is not built"):
            self.world.deadbolt("--help")
