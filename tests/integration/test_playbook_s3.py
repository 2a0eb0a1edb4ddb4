"""The S3 playbook (playbooks/s3.lua): every public bucket of a finding gets
Block Public Access with all four settings, the rest are left alone; the end
state checked with boto3 against moto."""

import unittest

from botocore.exceptions import ClientError

from harness.world import ACCOUNT, WorldTestCase
from playbook_cases import (bucket_resource, envelope, finding, key_resource, notification_queue,
                            notifications, run)

ALL_ON = {"BlockPublicAcls": True, "IgnorePublicAcls": True, "BlockPublicPolicy": True,
          "RestrictPublicBuckets": True}


class S3Case(WorldTestCase):
    def setUp(self):
        super().setUp()
        self.topic, self.queue = notification_queue(self.world)
        self.env = {"NOTIFICATION_TOPIC_ARN": self.topic}

    def block_of(self, bucket):
        """The bucket's public access block, or None when it has none."""
        try:
            return self.world.s3.get_public_access_block(Bucket=bucket)["PublicAccessBlockConfiguration"]
        except ClientError as exc:
            self.assertEqual(exc.response["Error"]["Code"], "NoSuchPublicAccessBlockConfiguration")
            return None

    def contain(self, document, *flags):
        result = run(self.world, document, *flags, env=self.env)
        self.assertNotIn("Traceback", result.err)
        return result


class TestPublicBuckets(S3Case):
    def setUp(self):
        super().setUp()
        self.world.bucket("reports-public", public=True)
        self.world.bucket("assets-public", public=True)
        self.world.bucket("ledger-private")
        # One public bucket already had a partial block: it is what restore must put back.
        self.world.s3.put_public_access_block(Bucket="assets-public", PublicAccessBlockConfiguration={
            "BlockPublicAcls": True, "IgnorePublicAcls": False, "BlockPublicPolicy": False,
            "RestrictPublicBuckets": False})
        self.finding = finding("Policy:S3/BucketAnonymousAccessGranted", bucket_resource([
            ("reports-public", True), ("ledger-private", False), ("assets-public", True)]), severity=8)

    def test_every_public_bucket_is_blocked_and_the_private_one_left_alone(self):
        result = self.contain(self.finding)
        self.assertEqual((result.rc, result.outcome), (0, "contained"), result.describe())
        self.assertEqual(self.block_of("reports-public"), ALL_ON)
        self.assertEqual(self.block_of("assets-public"), ALL_ON)
        self.assertIsNone(self.block_of("ledger-private"))
        puts = [p for op, p in result.writes() if op == "s3.PutPublicAccessBlock"]
        self.assertEqual(sorted(p["Bucket"] for p in puts), ["assets-public", "reports-public"])
        for p in puts:
            self.assertEqual(p["ExpectedBucketOwner"], ACCOUNT)
        self.assertIn("ledger-private is not public", " ".join(result.only()["logs"]))

    def test_what_was_there_before_is_saved_for_restore(self):
        result = self.contain(self.finding)
        saved = result.saved()["public_access_blocks"]
        self.assertEqual(saved["reports-public"], {"absent": True})
        self.assertEqual(saved["assets-public"], {"BlockPublicAcls": True, "IgnorePublicAcls": False,
                                                  "BlockPublicPolicy": False, "RestrictPublicBuckets": False})
        self.assertNotIn("ledger-private", saved)

    def test_second_run_changes_nothing(self):
        self.contain(self.finding)
        again = self.contain(envelope(self.finding))
        self.assertEqual((again.rc, again.outcome), (0, "contained"), again.describe())
        self.assertEqual([op for op, _ in again.writes()], ["sns.Publish"])
        self.assertEqual(self.block_of("reports-public"), ALL_ON)
        self.assertIsNone(self.block_of("ledger-private"))

    def test_the_notification_names_the_buckets(self):
        self.contain(self.finding)
        messages = notifications(self.world, self.queue)
        self.assertEqual(len(messages), 1)
        self.assertIn("reports-public: public access blocked", messages[0])
        self.assertIn("ledger-private is not public", messages[0])

    def test_an_s3_finding_filed_under_the_access_key_is_routed_here(self):
        doc = finding("Policy:S3/BucketBlockPublicAccessDisabled", bucket_resource(
            [("reports-public", True)], resource_type="AccessKey",
            key=key_resource("IAMUser", "alice", "AKIAIOSFODNN7EXAMPLE")["accessKeyDetails"]))
        result = self.contain(doc)
        self.assertEqual(result.outcome, "contained", result.describe())
        self.assertEqual(result.only()["start"]["playbook"]["name"], "s3")
        self.assertEqual(self.block_of("reports-public"), ALL_ON)


class TestEdges(S3Case):
    def test_no_public_bucket_means_nothing_to_do(self):
        self.world.bucket("ledger-private")
        result = self.contain(finding("Discovery:S3/MaliciousIPCaller", bucket_resource([("ledger-private", False)])))
        self.assertEqual((result.rc, result.outcome), (0, "skipped"), result.describe())
        self.assertIn("no bucket in the finding is public", result.reason)
        self.assertEqual([op for op, _ in result.writes()], ["sns.Publish"])
        self.assertIsNone(self.block_of("ledger-private"))

    def test_a_bucket_that_is_gone_is_journaled_not_fatal(self):
        self.world.bucket("reports-public", public=True)
        result = self.contain(finding("Policy:S3/BucketAnonymousAccessGranted", bucket_resource(
            [("reports-public", True), ("deleted-since", True)])))
        self.assertEqual(result.outcome, "contained", result.describe())
        self.assertIn("deleted-since no longer exists", " ".join(result.only()["logs"]))
        self.assertEqual(self.block_of("reports-public"), ALL_ON)

    def test_malformed_bucket_name_is_rejected_before_any_call(self):
        self.world.bucket("reports-public", public=True)
        for bad in ("reports-public/../x", "a", "Reports Public", "reports-public?acl", "192.168.1.1", "x..y"):
            result = self.contain(finding("Policy:S3/BucketAnonymousAccessGranted", bucket_resource(
                [("reports-public", True), (bad, True)])))
            self.assertEqual((result.rc, result.outcome), (1, "failed"), bad)
            self.assertIn("malformed finding", result.reason)
            self.assertEqual(result.calls(), [], bad)
        self.assertIsNone(self.block_of("reports-public"), "nothing was done for the good bucket either")


if __name__ == "__main__":
    unittest.main()
