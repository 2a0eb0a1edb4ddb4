"""The principal behind a finding (playbooks/lib/principal.lua): an S3
finding whose key is an IAM user's or an assumed role's contains that
principal as well as the bucket (from config.s3.principal_min_severity up);
Policy:S3/AccountBlockPublicAccessDisabled turns the account's block back on;
a user's keys made since the activity began are deactivated, older ones left
alone, none deleted; a principal that is gone is skipped for the same reason
by a dry run and a live run. The end state checked with boto3 against moto.

What moto cannot show here:
  - IAM's enforcement of AWSRevokeOlderSessions on live sessions (moto
    stores the policy; it does not deny requests by aws:TokenIssueTime);
  - the account id in the host name: moto is reached at 127.0.0.1, where the
    client leaves the {AccountId}. host prefix out (it cannot resolve); moto
    reads the account from the x-amz-account-id header. The prefix itself is
    checked by tests/unit/test_codec_build.c;
  - an organization-level block that overrides the account's (AWS answers
    PutPublicAccessBlock with AccessDenied then).
"""

import calendar
import json
import time
import unittest
import urllib.parse

from botocore.exceptions import ClientError

from harness.world import ACCOUNT, WorldTestCase
from playbook_cases import (active_after_keys, bucket_resource, finding, key_resource,
                            notification_queue, run)

POLICY = "AWSRevokeOlderSessions"
ALL_ON = {"BlockPublicAcls": True, "IgnorePublicAcls": True, "BlockPublicPolicy": True,
          "RestrictPublicBuckets": True}


def document(raw):
    if isinstance(raw, str):
        return json.loads(urllib.parse.unquote(raw))
    return raw


class PrincipalCase(WorldTestCase):
    def setUp(self):
        super().setUp()
        self.topic, self.queue = notification_queue(self.world)
        self.env = {"NOTIFICATION_TOPIC_ARN": self.topic}

    def contain(self, doc, *flags):
        result = run(self.world, doc, *flags, env=self.env)
        self.assertNotIn("Traceback", result.err)
        return result

    def key_status(self, user):
        return {k["AccessKeyId"]: k["Status"] for k in
                self.world.iam.list_access_keys(UserName=user)["AccessKeyMetadata"]}

    def bucket_block(self, bucket):
        try:
            return self.world.s3.get_public_access_block(Bucket=bucket)["PublicAccessBlockConfiguration"]
        except ClientError as exc:
            self.assertEqual(exc.response["Error"]["Code"], "NoSuchPublicAccessBlockConfiguration")
            return None

    def user_policy(self, user):
        names = self.world.iam.list_user_policies(UserName=user)["PolicyNames"]
        if POLICY not in names:
            return None
        return document(self.world.iam.get_user_policy(UserName=user, PolicyName=POLICY)["PolicyDocument"])

    def role_policy(self, role):
        names = self.world.iam.list_role_policies(RoleName=role)["PolicyNames"]
        if POLICY not in names:
            return None
        return document(self.world.iam.get_role_policy(RoleName=role, PolicyName=POLICY)["PolicyDocument"])


def s3_finding(bucket, key, severity):
    return finding("UnauthorizedAccess:S3/MaliciousIPCaller.Custom",
                   bucket_resource([(bucket, True)], key=key["accessKeyDetails"]), severity=severity)


class TestS3FindingWithAPrincipal(PrincipalCase):
    def setUp(self):
        super().setUp()
        self.world.bucket("exfil-target", public=True)
        self.user = self.world.iam_user("etl-bot", keys=2)
        self.used, self.other = self.user.keys[0]["id"], self.user.keys[1]["id"]

    def user_finding(self, severity):
        return active_after_keys(self.world, s3_finding(
            "exfil-target", key_resource("IAMUser", self.user.name, self.used), severity), self.user.name)

    def test_a_users_key_blocks_the_bucket_deactivates_the_key_and_revokes_sessions(self):
        started = time.time()
        result = self.contain(self.user_finding(8))
        self.assertEqual((result.rc, result.outcome), (0, "contained"), result.describe())
        self.assertEqual(result.only()["start"]["playbook"]["name"], "s3")
        self.assertEqual(self.bucket_block("exfil-target"), ALL_ON)
        self.assertEqual(self.key_status(self.user.name), {self.used: "Inactive", self.other: "Active"})
        doc = self.user_policy(self.user.name)
        self.assertIsNotNone(doc, "the deny policy is on the user")
        self.assertEqual(doc["Statement"][0]["Effect"], "Deny")
        issued = doc["Statement"][0]["Condition"]["DateLessThan"]["aws:TokenIssueTime"]
        self.assertGreaterEqual(calendar.timegm(time.strptime(issued, "%Y-%m-%dT%H:%M:%SZ")), int(started),
                                "sessions issued up to the response are revoked")
        saved = result.saved()
        self.assertEqual(saved["access_key"], {"UserName": self.user.name, "AccessKeyId": self.used,
                                               "Status": "Active"})
        self.assertIs(saved["user_policy"]["PolicyDocument"], False)
        self.assertEqual(saved["public_access_blocks"], {"exfil-target": {"absent": True}})

    def test_below_the_threshold_only_the_bucket_is_blocked(self):
        result = self.contain(self.user_finding(5))
        self.assertEqual((result.rc, result.outcome), (0, "contained"), result.describe())
        self.assertEqual(self.bucket_block("exfil-target"), ALL_ON)
        self.assertEqual(self.key_status(self.user.name), {self.used: "Active", self.other: "Active"})
        self.assertIsNone(self.user_policy(self.user.name))
        self.assertEqual([op for op, _ in result.writes()], ["s3.PutPublicAccessBlock", "sns.Publish"])
        self.assertIn("below s3.principal_min_severity", " ".join(result.only()["logs"]))

    def test_an_assumed_role_gets_the_policy_on_the_role(self):
        self.world.role("analytics-role")
        doc = s3_finding("exfil-target", key_resource("AssumedRole", "analytics-role", "ASIAQXVTRV5EXAMPLE99",
                                                      "AROAQXVTRV5EXAMPLE3:session"), 8)
        result = self.contain(doc)
        self.assertEqual((result.rc, result.outcome), (0, "contained"), result.describe())
        self.assertEqual(self.bucket_block("exfil-target"), ALL_ON)
        policy = self.role_policy("analytics-role")
        self.assertIsNotNone(policy, "the deny policy is on the role")
        self.assertEqual(policy["Statement"][0]["Effect"], "Deny")
        self.assertEqual([op for op, _ in result.writes()],
                         ["s3.PutPublicAccessBlock", "iam.PutRolePolicy", "sns.Publish"])
        self.assertEqual(self.key_status(self.user.name), {self.used: "Active", self.other: "Active"})


class TestAccountBlock(PrincipalCase):
    def s3control(self):
        """boto3's s3control at moto: botocore puts the account id in front of
        the endpoint's host, which cannot resolve for 127.0.0.1; the hook
        sends it to moto's own address (moto takes the account from the
        x-amz-account-id header)."""
        client = self.world.client("s3control")

        def to_moto(request, **_):
            request.url = request.url.replace(f"//{ACCOUNT}.", "//", 1)

        client.meta.events.register("before-send", to_moto)
        return client

    def account_block(self):
        try:
            return self.s3control().get_public_access_block(AccountId=ACCOUNT)["PublicAccessBlockConfiguration"]
        except ClientError as exc:
            self.assertEqual(exc.response["Error"]["Code"], "NoSuchPublicAccessBlockConfiguration")
            return None

    def test_the_account_block_is_turned_back_on_and_the_previous_one_saved(self):
        before = {"BlockPublicAcls": True, "IgnorePublicAcls": False, "BlockPublicPolicy": False,
                  "RestrictPublicBuckets": False}
        self.s3control().put_public_access_block(AccountId=ACCOUNT, PublicAccessBlockConfiguration=before)
        doc = finding("Policy:S3/AccountBlockPublicAccessDisabled", {
            "resourceType": "AccessKey",
            "accessKeyDetails": key_resource("IAMUser", "admin", "AKIAQXVTRV5EXAMPLE01")["accessKeyDetails"]},
            severity=2)
        result = self.contain(doc)
        self.assertEqual((result.rc, result.outcome), (0, "contained"), result.describe())
        self.assertEqual(self.account_block(), ALL_ON)
        self.assertEqual(result.saved()["account_public_access_block"],
                         {"AccountId": ACCOUNT, "PublicAccessBlockConfiguration": before})
        puts = [p for op, p in result.writes() if op == "s3control.PutPublicAccessBlock"]
        self.assertEqual(len(puts), 1)
        self.assertEqual(puts[0]["AccountId"], ACCOUNT)
        # severity 2: the key's user is not touched (below the threshold)
        self.assertNotIn("iam.UpdateAccessKey", result.ops())

    def test_an_account_without_a_block_gets_one_and_absent_is_saved(self):
        self.assertIsNone(self.account_block())
        doc = finding("Policy:S3/AccountBlockPublicAccessDisabled", {"resourceType": "S3Bucket"}, severity=2)
        result = self.contain(doc)
        self.assertEqual((result.rc, result.outcome), (0, "contained"), result.describe())
        self.assertEqual(self.account_block(), ALL_ON)
        self.assertEqual(result.saved()["account_public_access_block"]["PublicAccessBlockConfiguration"],
                         {"absent": True})


class TestNewKeys(PrincipalCase):
    def test_keys_made_since_the_activity_are_deactivated_older_ones_left_none_deleted(self):
        user = self.world.iam_user("ops-deploy", keys=1)
        older = user.keys[0]["id"]
        doc = active_after_keys(self.world, finding("UnauthorizedAccess:IAMUser/MaliciousIPCaller", key_resource(
            "IAMUser", user.name, "ASIAQXVTRV5EXAMPLE44")), user.name)
        # the attacker's own key, made after eventFirstSeen
        seen = doc["service"]["eventFirstSeen"]
        while time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()) < seen:
            time.sleep(0.2)
        made = self.world.iam.create_access_key(UserName=user.name)["AccessKey"]["AccessKeyId"]
        result = self.contain(doc)
        self.assertEqual((result.rc, result.outcome), (0, "contained"), result.describe())
        self.assertEqual(self.key_status(user.name), {older: "Active", made: "Inactive"}, "both keys still exist")
        saved = result.saved()["new_access_keys"]
        self.assertEqual([(k["AccessKeyId"], k["Status"]) for k in saved], [(made, "Active")])
        self.assertNotIn("iam.DeleteAccessKey", result.ops())
        updates = [p for op, p in result.writes() if op == "iam.UpdateAccessKey"]
        self.assertEqual([(p["AccessKeyId"], p["Status"]) for p in updates], [(made, "Inactive")])


class TestGonePrincipal(PrincipalCase):
    def test_a_dry_run_skips_a_gone_role_for_the_reason_the_live_run_gives(self):
        doc = finding("UnauthorizedAccess:IAMUser/InstanceCredentialExfiltration.OutsideAWS", key_resource(
            "AssumedRole", "deleted-role", "ASIAQXVTRV5EXAMPLE12", "AROAQXVTRV5EXAMPLE6:i-0a1b"), severity=8)
        dry = self.contain(doc, "--dry-run")
        live = self.contain(doc)
        self.assertEqual((live.outcome, dry.outcome), ("skipped", "skipped"), dry.describe())
        self.assertEqual(dry.reason, live.reason)
        self.assertIn("role deleted-role no longer exists", live.reason)
        for result in (dry, live):
            self.assertNotIn("iam.PutRolePolicy", result.ops(), "no write planned or sent")
            self.assertIn("iam.GetRole", result.ops())


if __name__ == "__main__":
    unittest.main()
