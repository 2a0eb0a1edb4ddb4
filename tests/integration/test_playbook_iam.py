"""The IAM playbook (playbooks/iam.lua): an IAM user's exact long-term key
deactivated and its older sessions revoked, an assumed role's sessions
revoked, Root and the rest only journaled and notified; the end state
checked with boto3 against moto."""

import json
import time
import unittest
import urllib.parse
from datetime import datetime, timezone

from harness.world import WorldTestCase
from playbook_cases import (active_after_keys, envelope, finding, key_resource, notification_queue,
                            notifications, run)

POLICY = "AWSRevokeOlderSessions"


def document(raw):
    """A policy document as IAM gives it (boto3 decodes it; be sure)."""
    if isinstance(raw, str):
        return json.loads(urllib.parse.unquote(raw))
    return raw


class IamCase(WorldTestCase):
    def setUp(self):
        super().setUp()
        self.topic, self.queue = notification_queue(self.world)
        self.env = {"NOTIFICATION_TOPIC_ARN": self.topic}

    def contain(self, document_, *flags):
        result = run(self.world, document_, *flags, env=self.env)
        self.assertNotIn("Traceback", result.err)
        return result

    def key_status(self, user):
        return {k["AccessKeyId"]: k["Status"] for k in
                self.world.iam.list_access_keys(UserName=user)["AccessKeyMetadata"]}

    def assert_revokes_sessions_before(self, doc, not_before):
        statement = doc["Statement"][0]
        self.assertEqual(statement["Effect"], "Deny")
        self.assertIn(statement["Action"], ("*", ["*"]))
        self.assertIn(statement["Resource"], ("*", ["*"]))
        at = statement["Condition"]["DateLessThan"]["aws:TokenIssueTime"]
        issued = datetime.strptime(at, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=timezone.utc).timestamp()
        self.assertGreaterEqual(issued, int(not_before), "the time of the response, not eventLastSeen")
        self.assertLessEqual(issued, time.time() + 1)


class TestIamUser(IamCase):
    def setUp(self):
        super().setUp()
        self.user = self.world.iam_user("intern-2023", keys=2, policy={
            "Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "s3:*", "Resource": "*"}]})
        self.used, self.other = self.user.keys[0]["id"], self.user.keys[1]["id"]
        # The user's keys predate the activity: only the finding's key is the attacker's.
        self.finding = active_after_keys(self.world, finding(
            "PenTest:IAMUser/KaliLinux", key_resource("IAMUser", self.user.name, self.used)), self.user.name)

    def test_only_the_findings_key_is_deactivated_and_older_sessions_are_revoked(self):
        started = time.time()
        result = self.contain(self.finding)
        self.assertEqual((result.rc, result.outcome), (0, "contained"), result.describe())
        self.assertEqual(self.key_status(self.user.name), {self.used: "Inactive", self.other: "Active"})
        doc = document(self.world.iam.get_user_policy(UserName=self.user.name, PolicyName=POLICY)["PolicyDocument"])
        self.assert_revokes_sessions_before(doc, started)
        names = self.world.iam.list_user_policies(UserName=self.user.name)["PolicyNames"]
        self.assertEqual(sorted(names), sorted(["inline", POLICY]), "the user's own policy is untouched")

    def test_what_was_there_before_is_saved(self):
        result = self.contain(self.finding)
        saved = result.saved()
        self.assertEqual(saved["access_key"], {"UserName": self.user.name, "AccessKeyId": self.used, "Status": "Active"})
        self.assertEqual(saved["user_policy"]["PolicyName"], POLICY)
        self.assertIs(saved["user_policy"]["PolicyDocument"], False, "there was no such policy")

    def test_an_existing_revoke_policy_is_saved_before_it_is_replaced(self):
        old = {"Version": "2012-10-17", "Statement": [{"Effect": "Deny", "Action": "*", "Resource": "*",
               "Condition": {"DateLessThan": {"aws:TokenIssueTime": "2020-01-01T00:00:00Z"}}}]}
        self.world.iam.put_user_policy(UserName=self.user.name, PolicyName=POLICY, PolicyDocument=json.dumps(old))
        result = self.contain(self.finding)
        self.assertEqual(json.loads(result.saved()["user_policy"]["PolicyDocument"]), old)
        names = self.world.iam.list_user_policies(UserName=self.user.name)["PolicyNames"]
        self.assertEqual(names.count(POLICY), 1, "no duplicate policy")

    def test_second_run_deactivates_nothing_more(self):
        self.contain(self.finding)
        again = self.contain(envelope(self.finding))
        self.assertEqual((again.rc, again.outcome), (0, "contained"), again.describe())
        self.assertEqual(self.key_status(self.user.name), {self.used: "Inactive", self.other: "Active"})
        self.assertNotIn("iam.UpdateAccessKey", again.ops())
        self.assertEqual(self.world.iam.list_user_policies(UserName=self.user.name)["PolicyNames"].count(POLICY), 1)

    def test_a_key_that_is_not_the_users_is_left_alone(self):
        someone = self.world.iam_user("someone-else", keys=1)
        doc = active_after_keys(self.world, finding("UnauthorizedAccess:IAMUser/MaliciousIPCaller",
                      key_resource("IAMUser", self.user.name, someone.keys[0]["id"])), "someone-else")
        result = self.contain(doc)
        self.assertEqual(result.outcome, "contained", result.describe())
        self.assertEqual(self.key_status("someone-else"), {someone.keys[0]["id"]: "Active"})
        self.assertEqual(self.key_status(self.user.name), {self.used: "Active", self.other: "Active"})
        self.assertNotIn("iam.UpdateAccessKey", result.ops())
        self.assertIn(POLICY, self.world.iam.list_user_policies(UserName=self.user.name)["PolicyNames"])

    def test_a_temporary_key_is_not_deactivated_the_policy_revokes_it(self):
        doc = active_after_keys(self.world, finding("UnauthorizedAccess:IAMUser/MaliciousIPCaller",
                      key_resource("IAMUser", self.user.name, "ASIAQXVTRV5EXAMPLE11")), self.user.name)
        result = self.contain(doc)
        self.assertEqual(result.outcome, "contained", result.describe())
        self.assertNotIn("iam.UpdateAccessKey", result.ops())
        self.assertEqual(set(self.key_status(self.user.name).values()), {"Active"})
        self.assertIn(POLICY, self.world.iam.list_user_policies(UserName=self.user.name)["PolicyNames"])

    def test_a_user_that_no_longer_exists_is_skipped(self):
        doc = finding("PenTest:IAMUser/KaliLinux", key_resource("IAMUser", "gone-user", "AKIAQXVTRV5EXAMPLE77"))
        result = self.contain(doc)
        self.assertEqual((result.rc, result.outcome), (0, "skipped"), result.describe())
        self.assertIn("gone-user no longer exists", result.reason)

    def test_malformed_names_are_rejected_before_any_call(self):
        for user, key in (("intern-2023/../admin", self.used), ("x" * 65, self.used),
                          (self.user.name, "akia-lowercase-key-id"), (self.user.name, "AKIA&Status=Active")):
            result = self.contain(finding("PenTest:IAMUser/KaliLinux", key_resource("IAMUser", user, key)))
            self.assertEqual((result.rc, result.outcome), (1, "failed"), (user, key))
            self.assertIn("malformed finding", result.reason)
            self.assertEqual(result.calls(), [])
        self.assertEqual(set(self.key_status(self.user.name).values()), {"Active"})

    def test_the_notification_says_what_was_done(self):
        self.contain(self.finding)
        messages = notifications(self.world, self.queue)
        self.assertEqual(len(messages), 1)
        self.assertIn(f"key {self.used} of {self.user.name} deactivated", messages[0])
        self.assertIn(POLICY, messages[0])


class TestOtherPrincipals(IamCase):
    def test_assumed_role_gets_the_policy_on_the_role(self):
        self.world.role("web-role")
        started = time.time()
        doc = finding("UnauthorizedAccess:IAMUser/InstanceCredentialExfiltration.OutsideAWS", key_resource(
            "AssumedRole", "web-role", "ASIAQXVTRV5EXAMPLE11", "AROAQXVTRV5EXAMPLE5:i-0a1b2c3d4e5f67890"), severity=8)
        result = self.contain(doc)
        self.assertEqual((result.rc, result.outcome), (0, "contained"), result.describe())
        policy = document(self.world.iam.get_role_policy(RoleName="web-role", PolicyName=POLICY)["PolicyDocument"])
        self.assert_revokes_sessions_before(policy, started)
        self.assertEqual(result.saved()["role_policy"]["PolicyDocument"], False)
        self.assertEqual([op for op, _ in result.writes()], ["iam.PutRolePolicy", "sns.Publish"])

    def test_a_role_aws_manages_is_not_changed(self):
        doc = finding("CredentialAccess:IAMUser/AnomalousBehavior", key_resource(
            "AssumedRole", "AWSReservedSSO_Admin_0123456789abcdef", "ASIAQXVTRV5EXAMPLE55",
            "AROAQXVTRV5EXAMPLE8:jdoe@example.com"))
        result = self.contain(doc)
        self.assertEqual((result.rc, result.outcome), (0, "skipped"), result.describe())
        self.assertIn("managed by AWS", result.reason)
        self.assertEqual([op for op, _ in result.writes()], ["sns.Publish"])

    def test_root_is_journaled_and_notified_without_a_change(self):
        doc = finding("Policy:IAMUser/RootCredentialUsage", key_resource(
            "Root", "Root", "ASIAQXVTRV5EXAMPLE00", "123456789012"), severity=2)
        result = self.contain(doc)
        self.assertEqual((result.rc, result.outcome), (0, "skipped"), result.describe())
        self.assertIn("Root credentials: no change is possible or safe", result.reason)
        self.assertEqual([op for op, _ in result.writes()], ["sns.Publish"])
        messages = notifications(self.world, self.queue)
        self.assertEqual(len(messages), 1)
        self.assertIn("Root", messages[0])

    def test_federated_user_is_journaled_and_notified_without_a_change(self):
        doc = finding("UnauthorizedAccess:IAMUser/MaliciousIPCaller", key_resource(
            "FederatedUser", "jdoe", "ASIAQXVTRV5EXAMPLE33", "123456789012:jdoe"))
        result = self.contain(doc)
        self.assertEqual((result.rc, result.outcome), (0, "skipped"), result.describe())
        self.assertIn("FederatedUser credentials", result.reason)
        self.assertEqual([op for op, _ in result.writes()], ["sns.Publish"])


if __name__ == "__main__":
    unittest.main()
