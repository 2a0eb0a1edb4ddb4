"""The right account: a finding is answered in the account it names, under a
role assumed there, or not at all (engine/run/account.c, docs/accounts.md).

Two accounts on one moto server: the home account (moto's default,
123456789012, whose keys deadbolt runs with) and a member account. moto keeps
accounts apart by the credentials a request is signed with: keys it handed
out for an AssumeRole into arn:aws:iam::<member>:role/... act in <member>.
The member world is built with such keys (boto3 assuming the role AWS
Organizations makes in a new account), and checked with them.

What moto cannot show, and these tests therefore do not:
  - whether the role's trust policy lets the home account in: moto's
    AssumeRole succeeds for any role ARN, even one that does not exist
    (the tests create the role anyway, as template-member.yaml would);
  - the external id: moto records it and enforces nothing;
  - service control policies and regions an organisation disables: a
    refused AssumeRole is simulated with the fake's persistent failure of
    that one call, and the region named in the reason is checked, not the
    cause;
  - the member roles' own policies and the home bucket's and topic's
    policies being enforced: moto enforces IAM only in its auth mode, which
    these runs do not use, and lets any account write to the bucket and
    topic; the harness's IAM check (tests/harness/iam_calls.py, MemberView)
    reads those policies and evaluates each call instead;
  - the agent's real aws:userid: the fake uploads the output as the
    instance, and the check takes aws:userid as IAM documents it for an
    instance profile's session, "<RoleId>:<instance id>"."""

import json
import os
import shutil
import sys
import tempfile
import types

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from harness.world import ACCOUNT, REGION, World, WorldTestCase  # noqa: E402
from playbook_cases import (bucket_resource, ec2_state, ec2_world, endpoint_config,  # noqa: E402
                            finding, instance_resource, notification_queue, notifications,
                            playbooks_with_config, run)

MEMBER = "210987654321"
OTHER = "333333333333"  # a member account no role was made in
ROLE = "deadbolt-response"
TYPE = "Backdoor:EC2/C&CActivity.B!DNS"


class AccountWorld(World):
    """The world as one account's credentials see it: every client signed
    with them (boto3 straight at moto, as World)."""

    def __init__(self, creds):
        super().__init__()
        self.creds = creds

    def client(self, service, endpoint=None, key=None, secret=None, token=None, attempts=1):
        return super().client(service, endpoint, key or self.creds["AccessKeyId"],
                              secret or self.creds["SecretAccessKey"],
                              token or self.creds["SessionToken"], attempts)


def member_world(world, account):
    """The member account as AWS Organizations leaves it, with what
    template-member.yaml deploys: the response role (trusting the home
    account) and the quarantine profile's role."""
    creds = world.sts.assume_role(
        RoleArn=f"arn:aws:iam::{account}:role/OrganizationAccountAccessRole",
        RoleSessionName="setup")["Credentials"]
    member = AccountWorld(creds)
    ident = member.sts.get_caller_identity()
    assert ident["Account"] == account, ident
    trust = {"Version": "2012-10-17", "Statement": [{
        "Effect": "Allow", "Principal": {"AWS": f"arn:aws:iam::{ACCOUNT}:root"},
        "Action": "sts:AssumeRole"}]}
    member.iam.create_role(RoleName=ROLE, AssumeRolePolicyDocument=json.dumps(trust))
    return member


def home_state(world):
    """What deadbolt may never change at home when it answers a member."""
    ec2 = world.ec2
    return {
        "instances": sorted((i["InstanceId"], json.dumps(i.get("Tags", []), sort_keys=True))
                            for r in ec2.describe_instances()["Reservations"]
                            for i in r["Instances"]),
        "groups": sorted((g["GroupId"], g["GroupName"]) for g in
                         ec2.describe_security_groups()["SecurityGroups"]),
        "snapshots": sorted(s["SnapshotId"] for s in
                            ec2.describe_snapshots(OwnerIds=["self"])["Snapshots"]),
        "roles": sorted(r["RoleName"] for r in world.iam.list_roles()["Roles"]),
    }


def member_finding(w, account=MEMBER, **kw):
    f = finding(TYPE, instance_resource(w.inst.id), severity=8, **kw)
    f["accountId"] = account
    f["arn"] = f["arn"].replace(ACCOUNT, account)
    return f


class MemberAccountCase(WorldTestCase):
    def setUp(self):
        super().setUp()
        self.member = member_world(self.world, MEMBER)
        self.w = ec2_world(self.member)  # the instance and its world, in the member account
        # deadbolt's own bucket and topic are the home account's.
        self.home_bucket = self.world.bucket("deadbolt-home-artifacts")
        self.home_topic, self.home_queue = notification_queue(self.world, "deadbolt-home")
        self.env = dict(self.w.env, ARTIFACT_BUCKET=self.home_bucket,
                        NOTIFICATION_TOPIC_ARN=self.home_topic)
        self.home_before = home_state(self.world)
        self.member_before = ec2_state(self.member, self.w)

    def contain(self, document):
        """A live run with forensics on (the member world's endpoint group as
        the forensic egress), so the quarantine profile is lent too."""
        pb = playbooks_with_config(endpoint_config(self.w))
        self.addCleanup(shutil.rmtree, os.path.dirname(pb), True)
        return run(self.world, document, env=self.env, playbooks=pb)

    def quarantine_role_id(self):
        """The member's quarantine role's RoleId: its sessions' aws:userid is "<RoleId>:<instance id>"."""
        return self.member.iam.get_role(RoleName=self.w.quarantine.role)["Role"]["RoleId"]

    def account_line(self, result):
        lines = [l for l in result.lines if l.get("event") == "account"]
        self.assertEqual(len(lines), 1, result.describe())
        return lines[0]


class TestMemberAccount(MemberAccountCase):
    # The harness checks every call of these runs (tests/harness/iam_calls.py,
    # MemberView): those under the assumed keys against template-member.yaml's
    # response role, the member instance's output uploads against its
    # quarantine role, and the calls to the home bucket and topic against
    # template.yaml's bucket and topic policies as well.
    def test_member_finding_is_contained_in_its_account_and_nothing_changes_at_home(self):
        result = self.contain(member_finding(self.w))
        self.assertEqual(result.outcome, "contained", result.describe())

        acct = self.account_line(result)
        self.assertEqual((acct["finding_account"], acct["caller_account"], acct["decision"]),
                         (MEMBER, ACCOUNT, "assumed role"))
        self.assertEqual(acct["role"], f"arn:aws:iam::{MEMBER}:role/{ROLE}")

        # The member's instance is contained, as boto3 in that account sees it.
        after = ec2_state(self.member, self.w)
        isolation = [g for g in self.member.ec2.describe_security_groups(
            Filters=[{"Name": "vpc-id", "Values": [self.w.inst.vpc]}])["SecurityGroups"]
            if g["GroupName"].startswith("deadbolt-isolation-")]
        self.assertEqual(len(isolation), 1)
        self.assertEqual({tuple(groups) for _, groups in after["eni_groups"]},
                         {(isolation[0]["GroupId"],)})
        self.assertIn(("deadbolt:status", "contained"), after["tags"])
        # The quarantine profile lent for forensics is the member's own (an
        # instance can only get a profile of its account), gone afterwards.
        lent = [c["params"]["IamInstanceProfile"]["Arn"] for c in result.calls()
                if c["op"] == "ec2.AssociateIamInstanceProfile"]
        self.assertEqual(lent, [self.w.quarantine.arn])
        self.assertEqual(after["profiles"], [])
        self.assertTrue(after["snapshots"])

        # Home: nothing of its EC2 or IAM changed; the evidence and the
        # notification are deadbolt's own, in its bucket and on its topic.
        self.assertEqual(home_state(self.world), self.home_before)
        keys = [o["Key"] for o in self.world.s3.list_objects_v2(
            Bucket=self.home_bucket).get("Contents", [])]
        self.assertTrue(keys and all(k.startswith((f"evidence/{MEMBER}/{REGION}/",
                                                   f"locks/{MEMBER}/{REGION}/",
                                                   f"forensics/{self.quarantine_role_id()}:{self.w.inst.id}/"))
                                     for k in keys),
                        keys)  # the evidence, the run's lock objects, the agent's output under its own prefix
        self.assertEqual(len(notifications(self.world, self.home_queue)), 1)

    def test_member_forensics_writes_under_its_own_prefix_and_revokes_the_sessions(self):
        # template-member.yaml's quarantine role is named as its profile, so
        # the run finds it (iam:GetRole) and runs forensics; the IAM check
        # holds the agent's uploads to forensics/<RoleId>:<instance id>/ by
        # the member's quarantine role and the home bucket's policy, and the
        # revocation to the response role's grant on that role.
        result = self.contain(member_finding(self.w))
        self.assertEqual(result.outcome, "contained", result.describe())
        role_id = self.quarantine_role_id()
        ssm = [c for c in result.calls() if c["op"] == "ssm.SendCommand"]
        self.assertTrue(ssm, result.describe())
        prefix = f"forensics/{role_id}:{self.w.inst.id}/"
        for call in ssm:
            self.assertEqual(call["params"]["OutputS3BucketName"], self.home_bucket)
            self.assertTrue(call["params"]["OutputS3KeyPrefix"].startswith(prefix), call["params"])
        uploads = [e for e in self.world.log() if e.get("principal") == "instance"]
        self.assertTrue(uploads, "the agent wrote its output")
        for e in uploads:
            self.assertTrue(e["path"].startswith(f"/{self.home_bucket}/{prefix}"), e["path"])
        # Its sessions revoked in the member account, nothing at home.
        doc = self.member.iam.get_role_policy(RoleName=self.w.quarantine.role,
                                              PolicyName="AWSRevokeOlderSessions")["PolicyDocument"]
        [st] = doc["Statement"]
        self.assertEqual(st["Effect"], "Deny")
        self.assertIn("aws:TokenIssueTime", st["Condition"]["DateLessThan"])
        puts = [e for e in self.world.log() if e["action"] == "PutRolePolicy"]
        self.assertEqual([(e.get("iam_params") or {}).get("RoleName") for e in puts],
                         [self.w.quarantine.role])
        self.assertEqual(home_state(self.world), self.home_before)

    def test_every_call_of_the_run_is_made_with_the_assumed_credentials(self):
        result = self.contain(member_finding(self.w))
        self.assertEqual(result.outcome, "contained", result.describe())
        # The SSM agent's output uploads are the instance's own (the fake
        # logs them with principal "instance"), not deadbolt's.
        log = [e for e in self.world.log() if e.get("principal") != "instance"]
        actions = [e["action"] for e in log]
        self.assertEqual(actions[:2], ["GetCallerIdentity", "AssumeRole"], actions[:5])
        self.assertEqual({e["key"] for e in log[:2]}, {"AKIAIOSFODNN7EXAMPLE"})
        run_keys = {e["key"] for e in log[2:]}
        self.assertEqual(len(run_keys), 1, run_keys)
        self.assertNotIn("AKIAIOSFODNN7EXAMPLE", run_keys)

    def test_two_findings_of_one_member_assume_the_role_once(self):
        doc = [member_finding(self.w), member_finding(self.w)]
        result = run(self.world, doc, env=self.env)
        self.assertEqual([f["end"]["outcome"] for f in result.findings],
                         ["contained", "contained"], result.describe())
        self.assertEqual(self.world.attempts("GetCallerIdentity"), 1)
        self.assertEqual(self.world.attempts("AssumeRole"), 1)


class TestRefusals(MemberAccountCase):
    def assert_refused_without_writes(self, result, *in_reason):
        self.assertEqual((result.rc, result.outcome), (1, "failed"), result.describe())
        for text in in_reason:
            self.assertIn(text, result.reason)
        self.assertEqual(result.calls(), [], "no call of the playbook")
        # Only the caller's identity, maybe the AssumeRole, and the
        # notification from home: nothing in the member account.
        sent = [(e["service"], e["action"]) for e in self.world.log()]
        self.assertTrue(set(sent) <= {("sts", "GetCallerIdentity"), ("sts", "AssumeRole"),
                                      ("sns", "Publish")}, sent)
        publish = [e for e in self.world.log() if e["action"] == "Publish"]
        self.assertEqual([e["key"] for e in publish], ["AKIAIOSFODNN7EXAMPLE"])
        self.assertEqual(ec2_state(self.member, self.w), self.member_before)
        self.assertEqual(home_state(self.world), self.home_before)
        sent = notifications(self.world, self.home_queue)
        self.assertEqual(len(sent), 1)
        self.assertIn(MEMBER, sent[0])
        self.assertIn(result.reason, sent[0])

    def test_member_finding_without_a_configured_role_fails_with_no_writes(self):
        pb = playbooks_with_config({f'role_name = "{ROLE}",': ""})
        try:
            result = run(self.world, member_finding(self.w), env=self.env, playbooks=pb)
        finally:
            shutil.rmtree(os.path.dirname(pb), ignore_errors=True)
        self.assert_refused_without_writes(result, MEMBER, "accounts.role_name")
        self.assertEqual(self.world.attempts("AssumeRole"), 0)
        self.assertEqual(self.account_line(result)["decision"], "refused")

    def test_role_that_cannot_be_assumed_fails_with_no_writes(self):
        self.world.fault("AssumeRole", "500", count=100)  # every attempt, past the retries
        result = run(self.world, member_finding(self.w), env=self.env)
        self.assert_refused_without_writes(
            result, MEMBER, f"arn:aws:iam::{MEMBER}:role/{ROLE}", f"in {REGION}")

    def test_dry_run_refusal_only_journals_the_notification(self):
        pb = playbooks_with_config({f'role_name = "{ROLE}",': ""})
        try:
            result = run(self.world, member_finding(self.w), "--dry-run", env=self.env,
                         playbooks=pb)
        finally:
            shutil.rmtree(os.path.dirname(pb), ignore_errors=True)
        self.assertEqual(result.outcome, "failed", result.describe())
        notes = [l for l in result.lines if l.get("event") == "account_notify"]
        self.assertEqual([n["status"] for n in notes], ["not sent: dry run"])
        self.assertEqual(self.world.attempts("Publish"), 0)


class TestMemberRestore(MemberAccountCase):
    # deadbolt restore of a member account's containment: it acts as the
    # role the run assumed, in that account (engine/run/restore.c, assume).
    # The IAM check holds every undo call to template-member.yaml's response
    # role (its Restore* statements) and the notification to the home
    # topic's policy.
    EVIDENCE = ("snapshots", "objects", "groups")

    def setUp(self):
        super().setUp()
        self.tmp = tempfile.mkdtemp(prefix="deadbolt-member-restore-")
        self.addCleanup(shutil.rmtree, self.tmp, True)
        self.journal = os.path.join(self.tmp, "journal.jsonl")

    def comparable(self, state):
        return {k: v for k, v in state.items() if k not in self.EVIDENCE}

    def contain_to_journal(self):
        path = os.path.join(self.tmp, "finding.json")
        with open(path, "w") as f:
            json.dump(member_finding(self.w), f)
        rc, out, err = self.world.deadbolt("run", "--journal", self.journal, path, env=self.env,
                                           timeout=120)
        self.assertEqual(rc, 0, out + err)

    def test_member_containment_is_restored_in_its_account_as_the_member_role(self):
        before = ec2_state(self.member, self.w)
        self.contain_to_journal()
        contained = ec2_state(self.member, self.w)
        self.assertNotEqual(self.comparable(contained), self.comparable(before))
        notifications(self.world, self.home_queue)  # the containment's
        start = len(self.world.log())

        rc, out, err = self.world.deadbolt("restore", self.journal, env=self.env, timeout=120)
        self.assertEqual(rc, 0, out + err)
        after = ec2_state(self.member, self.w)
        self.assertEqual(self.comparable(after), self.comparable(before), out)
        self.assertEqual(after["snapshots"], contained["snapshots"])  # evidence kept
        self.assertEqual(home_state(self.world), self.home_before)

        # One AssumeRole of the member role with the caller's keys, then
        # every call of the restore with the keys it gave.
        role = f"arn:aws:iam::{MEMBER}:role/{ROLE}"
        log = self.world.log()[start:]
        assume = [i for i, e in enumerate(log) if e["action"] == "AssumeRole"]
        self.assertEqual([(log[i]["iam_params"]["RoleArn"], log[i]["key"]) for i in assume],
                         [(role, "AKIAIOSFODNN7EXAMPLE")])
        self.assertTrue(all(e["key"] == "AKIAIOSFODNN7EXAMPLE" for e in log[:assume[0]]))
        keys = {e["key"] for e in log[assume[0] + 1:]}
        self.assertEqual(len(keys), 1, keys)
        self.assertNotIn("AKIAIOSFODNN7EXAMPLE", keys)
        self.assertIn("ModifyNetworkInterfaceAttribute", [e["action"] for e in log])
        own = [json.loads(l) for l in open(self.journal + ".restore.jsonl") if l.strip()]
        self.assertEqual(own[0]["role"], role)
        self.assertEqual(len(notifications(self.world, self.home_queue)), 1)

    def test_a_journal_naming_another_role_is_not_assumed(self):
        self.contain_to_journal()
        contained = ec2_state(self.member, self.w)
        with open(self.journal) as f:
            text = f.read()
        with open(self.journal, "w") as f:
            f.write(text.replace(f"role/{ROLE}", "role/OrganizationAccountAccessRole"))
        start = len(self.world.log())
        rc, out, err = self.world.deadbolt("restore", self.journal, env=self.env, timeout=120)
        self.assertEqual(rc, 2, out + err)
        self.assertIn("accounts.role_name", err)
        self.assertEqual([e["action"] for e in self.world.log()[start:]], [])
        self.assertEqual(ec2_state(self.member, self.w), contained)


import test_lambda as lambda_cases  # noqa: E402  (its LambdaCase; its tests stay in their module)


class TestMemberRestoreThroughTheLambda(lambda_cases.LambdaCase):
    """A member finding contained by the Lambda (its journal kept in the home
    bucket by finding, with the function's own credentials) and restored with
    the Lambda's restore event: the journal read with the function's
    credentials, every undo made as the member role."""

    def test_contain_and_restore_a_member_finding_by_id(self):
        member = member_world(self.world, MEMBER)
        w = ec2_world(member)
        bucket = self.world.bucket("deadbolt-home-artifacts")
        topic, _ = notification_queue(self.world, "deadbolt-home")
        before = ec2_state(member, w)
        self.bootstrap(extra_env={"DEADBOLT_DRY_RUN": "false", "QUARANTINE_PROFILE_ARN": w.quarantine.arn,
                                  "NOTIFICATION_TOPIC_ARN": topic, "ARTIFACT_BUCKET": bucket})
        event = lambda_cases.finding_event(w.inst.id)
        event["detail"]["accountId"] = MEMBER
        event["detail"]["arn"] = event["detail"]["arn"].replace(ACCOUNT, MEMBER)
        fid = event["detail"]["id"]
        got = self.assert_response(self.answer(self.api.enqueue(event), timeout=120))
        self.assertEqual(got["outcome"], "contained", got)
        self.assertNotEqual(ec2_state(member, w)["eni_groups"], before["eni_groups"])

        start = len(self.world.log())
        got = self.assert_response(self.answer(self.api.enqueue({"deadbolt": "restore", "finding_id": fid}),
                                               timeout=120))
        self.assertEqual(got["outcome"], "restored", got)
        after = ec2_state(member, w)
        evidence = ("snapshots", "objects", "groups")
        self.assertEqual({k: v for k, v in after.items() if k not in evidence},
                         {k: v for k, v in before.items() if k not in evidence}, got)
        log = self.world.log()[start:]
        assumed = {e["assumed_key"] for e in log if e["action"] == "AssumeRole"}
        journal = [e["key"] for e in log if e.get("service") == "s3" and "/journal/" in (e.get("path") or "")]
        self.assertTrue(journal and set(journal) == {"AKIAIOSFODNN7EXAMPLE"}, journal)
        undo = [e["key"] for e in log if e["action"] == "ModifyNetworkInterfaceAttribute"]
        self.assertTrue(undo and set(undo) <= assumed, (undo, assumed))
        keys = [o["Key"] for o in self.world.s3.list_objects_v2(
            Bucket=bucket, Prefix=f"journal/by-finding/{fid}/").get("Contents", [])]
        self.assertTrue(keys[-1].endswith("-restore.jsonl"), keys)


class TestAuthorisationErrors(MemberAccountCase):
    # Runs with moto's own IAM enforcement and a role with no policy, so
    # that calls are refused: the harness's check of template.yaml's roles
    # does not apply.
    iam_checked = False
    def test_a_call_the_member_role_may_not_make_names_its_region_and_account(self):
        # moto's own IAM enforcement: the member role exists with no policy,
        # so every call under it is denied, as a region an SCP closes would be.
        with self.world.moto_auth() as admin:
            env = dict(self.env, AWS_ACCESS_KEY_ID=admin.key, AWS_SECRET_ACCESS_KEY=admin.secret)
            result = run(self.world, member_finding(self.w), env=env)
        self.assertEqual(self.account_line(result)["decision"], "assumed role", result.describe())
        self.assertTrue([c for c in result.calls() if c.get("error")], result.describe())
        errors = [st["error"] for st in result.only()["steps"].values() if st.get("error")]
        self.assertTrue(errors, result.describe())
        for message in errors:
            self.assertIn(f"[region {REGION}, account {MEMBER}, as arn:aws:iam::{MEMBER}:role/{ROLE}]",
                          message)
        self.assertEqual(ec2_state(self.member, self.w), self.member_before)


class TestOwnAccount(WorldTestCase):
    def test_finding_of_the_callers_own_account_assumes_nothing(self):
        self.world.bucket("open-bucket", public=True)
        f = finding("Policy:S3/BucketAnonymousAccessGranted",
                    bucket_resource([("open-bucket", True)]), severity=5)
        result = run(self.world, f)
        self.assertEqual(result.outcome, "contained", result.describe())
        self.assertEqual(self.world.attempts("AssumeRole"), 0)
        self.assertEqual({e["key"] for e in self.world.log()}, {"AKIAIOSFODNN7EXAMPLE"})
        acct = [l for l in result.lines if l.get("event") == "account"]
        self.assertEqual([(a["decision"], a["role"]) for a in acct], [("own account", None)])


if __name__ == "__main__":
    import unittest
    unittest.main()
