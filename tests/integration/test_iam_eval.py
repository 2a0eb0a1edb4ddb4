"""The IAM policy evaluator of the tests (tests/harness/iam_eval.py) on
statements of its own, and the template's roles through it: what the
quarantine role gives whoever holds its credentials, what the execution role
may do to deadbolt's own roles, and the operation table of iam_calls.py
against the allow-list. No server needed.

What these cannot show: SCPs, permission boundaries other than the
template's, resource policies other than the template's bucket and topic
policies, KMS; the evaluator follows the IAM User
Guide's evaluation logic, AWS's own engine is not run here."""

import os
import re
import unittest

from harness.iam_calls import (ORG_ID, OPERATIONS, UNAUTHORIZED, MemberView, StackView,
                               instance_session, requests_of, role_id)
from harness.iam_eval import Role, Stack, Template, evaluate, evaluate_resource_policy, glob

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
BUCKET = "deadbolt-artifacts"


def allow(**st):
    return dict(Effect="Allow", **st)


def deny(**st):
    return dict(Effect="Deny", **st)


class Evaluator(unittest.TestCase):
    def test_allow_and_implicit_deny(self):
        sts = [allow(Action="s3:GetObject", Resource="arn:aws:s3:::b/*")]
        self.assertTrue(evaluate(sts, "s3:GetObject", "arn:aws:s3:::b/k"))
        self.assertFalse(evaluate(sts, "s3:PutObject", "arn:aws:s3:::b/k"))
        self.assertFalse(evaluate(sts, "s3:GetObject", "arn:aws:s3:::other/k"))

    def test_explicit_deny_wins(self):
        sts = [allow(Action="*", Resource="*"),
               deny(Action="ssm:GetParameter*", Resource="*")]
        d = evaluate(sts, "ssm:GetParameters", "arn:aws:ssm:us-east-1:1:parameter/x")
        self.assertFalse(d)
        self.assertIn("explicit deny", d.reason)
        self.assertTrue(evaluate(sts, "ssm:SendCommand", "*"))

    def test_wildcard_actions_are_case_insensitive(self):
        sts = [allow(Action="EC2:describe*", Resource="*")]
        self.assertTrue(evaluate(sts, "ec2:DescribeInstances", "*"))
        self.assertFalse(evaluate(sts, "ec2:CreateTags", "*"))
        self.assertTrue(evaluate([allow(Action="ec2:?escribeVolumes", Resource="*")],
                                 "ec2:DescribeVolumes", "*"))

    def test_not_action_and_not_resource(self):
        sts = [allow(NotAction="iam:*", Resource="*")]
        self.assertTrue(evaluate(sts, "s3:GetObject", "arn:aws:s3:::b/k"))
        self.assertFalse(evaluate(sts, "iam:PutRolePolicy", "arn:aws:iam::1:role/r"))
        sts = [allow(Action="s3:*", NotResource="arn:aws:s3:::secret/*")]
        self.assertFalse(evaluate(sts, "s3:GetObject", "arn:aws:s3:::secret/k"))
        self.assertTrue(evaluate(sts, "s3:GetObject", "arn:aws:s3:::open/k"))

    def test_arn_wildcards_stay_in_their_part(self):
        self.assertTrue(evaluate([allow(Action="ec2:*", Resource="arn:aws:ec2:*:1:instance/*")],
                                 "ec2:CreateTags", "arn:aws:ec2:us-east-1:1:instance/i-1"))
        self.assertFalse(evaluate([allow(Action="ec2:*", Resource="arn:aws:ec2:*:1:instance/*")],
                                  "ec2:CreateTags", "arn:aws:ec2:us-east-1:2:instance/i-1"))
        self.assertTrue(glob("a/*/c", "a/x/y/c"), "* spans / in the resource part")

    def test_condition_mismatch_and_missing_keys(self):
        st = allow(Action="iam:PassRole", Resource="*",
                   Condition={"StringEquals": {"iam:PassedToService": "ec2.amazonaws.com"}})
        self.assertTrue(evaluate([st], "iam:PassRole", "r", {"iam:PassedToService": "ec2.amazonaws.com"}))
        self.assertFalse(evaluate([st], "iam:PassRole", "r", {"iam:PassedToService": "lambda.amazonaws.com"}))
        self.assertFalse(evaluate([st], "iam:PassRole", "r", {}), "a missing key does not match")
        like = allow(Action="s3:ListBucket", Resource="*",
                     Condition={"StringLikeIfExists": {"s3:prefix": ["evidence/*"]}})
        self.assertTrue(evaluate([like], "s3:ListBucket", "b", {}), "IfExists: absent key holds")
        self.assertTrue(evaluate([like], "s3:ListBucket", "b", {"s3:prefix": "evidence/x/"}))
        self.assertFalse(evaluate([like], "s3:ListBucket", "b", {"s3:prefix": "other/"}))

    def test_negated_null_bool_date_operators(self):
        tagged = deny(Action="iam:PutRolePolicy", Resource="*",
                      Condition={"StringNotEqualsIfExists": {"aws:ResourceTag/kind": "q"}})
        base = [allow(Action="iam:*", Resource="*"), tagged]
        self.assertTrue(evaluate(base, "iam:PutRolePolicy", "r", {"aws:ResourceTag/kind": "q"}))
        self.assertFalse(evaluate(base, "iam:PutRolePolicy", "r", {"aws:resourcetag/kind": "x"}))
        self.assertFalse(evaluate(base, "iam:PutRolePolicy", "r", {}))
        null = [allow(Action="*", Resource="*"),
                deny(Action="*", Resource="*", Condition={"Null": {"aws:SourceVpc": "true"}})]
        self.assertFalse(evaluate(null, "s3:PutObject", "x", {}))
        self.assertTrue(evaluate(null, "s3:PutObject", "x", {"aws:SourceVpc": "vpc-1"}))
        tls = [allow(Action="*", Resource="*", Condition={"Bool": {"aws:SecureTransport": "true"}})]
        self.assertTrue(evaluate(tls, "s3:GetObject", "x", {"aws:SecureTransport": True}))
        revoke = [allow(Action="*", Resource="*"),
                  deny(Action="*", Resource="*", Condition={
                      "DateLessThan": {"aws:TokenIssueTime": "2026-12-03T09:00:00Z"}})]
        self.assertFalse(evaluate(revoke, "s3:GetObject", "x",
                                  {"aws:TokenIssueTime": "2026-12-03T08:00:00Z"}))
        self.assertTrue(evaluate(revoke, "s3:GetObject", "x",
                                 {"aws:TokenIssueTime": "2026-12-03T10:00:00Z"}))

    def test_policy_variables(self):
        st = allow(Action="s3:PutObject", Resource="arn:aws:s3:::b/home/${aws:userid}/*")
        ctx = {"aws:userid": "AROAX:i-1"}
        self.assertTrue(evaluate([st], "s3:PutObject", "arn:aws:s3:::b/home/AROAX:i-1/k", ctx))
        self.assertFalse(evaluate([st], "s3:PutObject", "arn:aws:s3:::b/home/AROAX:i-2/k", ctx))
        self.assertFalse(evaluate([st], "s3:PutObject", "arn:aws:s3:::b/home/AROAX:i-1/k", {}),
                         "an unresolved variable: the statement does not apply")
        star = {"aws:userid": "*"}  # a value's wildcard characters are literal
        self.assertFalse(evaluate([st], "s3:PutObject", "arn:aws:s3:::b/home/anything/k", star))
        vpc = deny(Action="*", Resource="*",
                   Condition={"StringNotEquals": {"aws:SourceVpc": "${aws:ec2InstanceSourceVPC}"}})
        sts = [allow(Action="*", Resource="*"), vpc]
        self.assertTrue(evaluate(sts, "a:b", "x", {"aws:SourceVpc": "v1", "aws:ec2InstanceSourceVPC": "v1"}))
        self.assertFalse(evaluate(sts, "a:b", "x", {"aws:SourceVpc": "v2", "aws:ec2InstanceSourceVPC": "v1"}))

    def test_permissions_boundary_caps_the_identity_policies(self):
        role = Role("R", "arn:aws:iam::1:role/r",
                    identity=[allow(Action="*", Resource="*")],
                    boundary=[allow(Action="s3:PutObject", Resource="*")])
        self.assertTrue(role.evaluate("s3:PutObject", "arn:aws:s3:::b/k"))
        self.assertFalse(role.evaluate("iam:CreateUser", "arn:aws:iam::1:user/u"))


class TemplateRoles(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.tpl = Template.load()
        cls.stack = Stack(names={"ArtifactBucket": BUCKET})
        cls.execution = cls.tpl.role("ExecutionRole", cls.stack)
        cls.quarantine = cls.tpl.role("QuarantineRole", cls.stack)
        cls.session = instance_session("i-0abc", "vpc-1", cls.quarantine)
        cls.evidence = f"arn:aws:s3:::{BUCKET}/evidence/123456789012/us-east-1/i-0abc/f1/"
        cls.own = f"arn:aws:s3:::{BUCKET}/forensics/{role_id(cls.quarantine)}:i-0abc/"

    def q(self, action, resource, **extra):
        return self.quarantine.evaluate(action, resource, dict(self.session, **extra))

    def test_quarantine_role_writes_forensic_output_and_reads_no_data(self):
        self.assertTrue(self.q("s3:PutObject", self.own + "f1/output/cmd/i-0abc/awsrunShellScript/0.awsrunShellScript/stdout"))
        self.assertFalse(self.q("s3:PutObject", self.evidence + "manifest.json"),
                         "deadbolt's own evidence objects are out of the instance's reach")
        self.assertFalse(self.q("s3:PutObject", self.evidence + "forensics/cmd/i-0abc/x/stdout"),
                         "the evidence prefix is the function's, not the instance's")
        self.assertFalse(self.q("s3:PutObject", f"arn:aws:s3:::{BUCKET}/journal/x.jsonl"))
        self.assertFalse(self.q("s3:PutObject", "arn:aws:s3:::someone-elses-bucket/evidence/x"))
        for action, resource in (("s3:GetObject", self.evidence + "manifest.json"),
                                 ("s3:GetObject", self.own + "f1/output/x"),
                                 ("s3:ListBucket", f"arn:aws:s3:::{BUCKET}"),
                                 ("secretsmanager:GetSecretValue", "arn:aws:secretsmanager:us-east-1:123456789012:secret:x"),
                                 ("ec2:DescribeInstances", "*"),
                                 ("iam:PassRole", "arn:aws:iam::123456789012:role/admin")):
            self.assertFalse(self.q(action, resource), action)

    def test_an_instance_writes_only_under_its_own_forensic_prefix(self):
        # aws:userid of an EC2 session is "<role id>:<instance id>": the
        # prefix names the instance, and no wildcard comes before it.
        role = role_id(self.quarantine)
        other = f"arn:aws:s3:::{BUCKET}/forensics/{role}:i-0other/f1/output/x"
        self.assertFalse(self.q("s3:PutObject", other), "another instance's prefix")
        self.assertTrue(self.quarantine.evaluate("s3:PutObject", other,
                                                 instance_session("i-0other", "vpc-1", self.quarantine)))
        nested = f"arn:aws:s3:::{BUCKET}/forensics/{role}:i-0other/{role}:i-0abc/x"
        self.assertFalse(self.q("s3:PutObject", nested), "its own id deeper inside another's prefix")
        self.assertFalse(self.q("s3:PutObject", f"arn:aws:s3:::{BUCKET}/forensics/x"))

    def test_execution_role_revokes_the_quarantine_role_sessions_but_widens_no_other_own_role(self):
        view = StackView({"ARTIFACT_BUCKET": BUCKET}, quarantine_role_name="deadbolt-quarantine")
        arn = view.quarantine.arn
        self.assertEqual(arn, "arn:aws:iam::123456789012:role/deadbolt-quarantine")
        self.assertTrue(view.execution.evaluate("iam:PutRolePolicy", arn, view.resource_context("iam:PutRolePolicy", arn)),
                        "the quarantine role (tagged deadbolt:role=quarantine) gets AWSRevokeOlderSessions")
        own = "arn:aws:iam::123456789012:role/deadbolt-ExecutionRole-EXAMPLE1234"
        self.assertFalse(view.execution.evaluate("iam:PutRolePolicy", own, {}), "no other role of the stack")

    def test_quarantine_role_denies_parameters_explicitly(self):
        for action in ("ssm:GetParameter", "ssm:GetParameters", "ssm:GetParametersByPath"):
            d = self.q(action, "arn:aws:ssm:us-east-1:123456789012:parameter/db/password")
            self.assertFalse(d, action)
            self.assertIn("explicit deny", d.reason)

    def test_quarantine_role_keeps_what_the_ssm_agent_needs(self):
        for action in ("ssm:UpdateInstanceInformation", "ec2messages:GetMessages",
                       "ec2messages:SendReply", "ssmmessages:OpenControlChannel"):
            self.assertTrue(self.q(action, "*"), action)

    def test_quarantine_credentials_are_refused_off_the_instance(self):
        ec2 = self.quarantine.evaluate("ec2messages:GetMessages", "*", {
            k: v for k, v in self.session.items() if k != "aws:SourceVpc"})
        self.assertFalse(ec2, "used from the internet (no VPC endpoint)")
        self.assertFalse(self.q("ec2messages:GetMessages", "*", **{"aws:SourceVpc": "vpc-other"}))

    def test_execution_role_heads_missing_evidence_and_lists_only_its_prefixes(self):
        bucket = f"arn:aws:s3:::{BUCKET}"
        self.assertTrue(self.execution.evaluate("s3:GetObject", bucket + "/evidence/x/manifest.json"))
        self.assertTrue(self.execution.evaluate("s3:ListBucket", bucket, {}),
                        "HeadObject's 404 needs s3:ListBucket")
        self.assertTrue(self.execution.evaluate("s3:ListBucket", bucket, {"s3:prefix": "evidence/1/"}))
        self.assertFalse(self.execution.evaluate("s3:ListBucket", bucket, {"s3:prefix": "other/"}))
        self.assertFalse(self.execution.evaluate("s3:ListBucket", "arn:aws:s3:::customer-bucket", {}))
        self.assertTrue(self.execution.evaluate("s3:PutObject", bucket + "/journal/2026-12-03/run.jsonl"))

    def test_execution_role_may_revoke_the_quarantine_roles_sessions_only(self):
        tags = {f"aws:ResourceTag/{k}": v for k, v in self.quarantine.tags.items()}
        self.assertTrue(self.execution.evaluate("iam:PutRolePolicy", self.quarantine.arn, tags))
        own = "arn:aws:iam::123456789012:role/deadbolt-ExecutionRole-EXAMPLE1234"
        self.assertFalse(self.execution.evaluate("iam:PutRolePolicy", own, {}))
        self.assertFalse(self.execution.evaluate("iam:PutRolePolicy", own,
                                                 {"aws:ResourceTag/deadbolt:role": "other"}))
        self.assertTrue(self.execution.evaluate("iam:PutRolePolicy",
                                                "arn:aws:iam::123456789012:role/web-role", {}))

    def test_revoke_policy_ends_the_quarantine_roles_older_sessions(self):
        revoke = {"Effect": "Deny", "Action": "*", "Resource": "*",
                  "Condition": {"DateLessThan": {"aws:TokenIssueTime": "2026-12-03T09:00:00Z"}}}
        revoked = Role("QuarantineRole", self.quarantine.arn, self.quarantine.identity + [revoke],
                       self.quarantine.boundary)
        ctx = dict(self.session, **{"aws:TokenIssueTime": "2026-12-03T08:59:00Z"})
        self.assertFalse(revoked.evaluate("ec2messages:GetMessages", "*", ctx))
        grant = {"Effect": "Allow", "Action": "*", "Resource": "*"}
        widened = Role("QuarantineRole", self.quarantine.arn, self.quarantine.identity + [grant],
                       self.quarantine.boundary)
        self.assertFalse(widened.evaluate("iam:CreateUser", "arn:aws:iam::123456789012:user/x",
                                          self.session), "the boundary caps an inline Allow *")


class OperationTable(unittest.TestCase):
    def test_every_allowlisted_operation_has_an_iam_mapping(self):
        with open(os.path.join(ROOT, "sandbox", "allowlist.c")) as f:
            src = re.sub(r"/\*.*?\*/|//[^\n]*", " ", f.read(), flags=re.S)
        ops = set(re.findall(r'"(ec2|autoscaling|elb|elbv2|ssm|s3|iam|sns|sts)"\s*,\s*"([A-Za-z]+)"', src))
        self.assertGreater(len(ops), 20)
        fake_service = {"elb": "elasticloadbalancing", "elbv2": "elasticloadbalancing"}
        missing = sorted(f"{s} {o}" for s, o in ops
                         if (fake_service.get(s, s), o) not in OPERATIONS and (s, o) not in UNAUTHORIZED)
        self.assertEqual(missing, [])

    def test_head_object_on_a_missing_key_needs_list_bucket(self):
        entry = {"service": "s3", "action": "HeadObject", "path": f"/{BUCKET}/evidence/a/b",
                 "status": 404, "iam_params": {}}
        self.assertEqual([a for a, _, _ in requests_of(entry)], ["s3:GetObject", "s3:ListBucket"])
        entry["status"] = 200
        self.assertEqual([a for a, _, _ in requests_of(entry)], ["s3:GetObject"])

    def test_account_public_access_block_and_describe_calls(self):
        pab = {"service": "s3", "action": "PutObject", "method": "PUT",
               "path": "/v20180820/configuration/publicAccessBlock", "iam_params": {}}
        self.assertEqual(requests_of(pab), [("s3:PutAccountPublicAccessBlock", "*", {})])
        vpce = {"service": "ec2", "action": "DescribeVpcEndpoints", "iam_params": {}}
        self.assertEqual(requests_of(vpce), [("ec2:DescribeVpcEndpoints", "*", {})])

    def test_a_call_the_role_would_refuse_is_reported(self):
        view = StackView({"ARTIFACT_BUCKET": BUCKET})
        head = {"service": "s3", "action": "HeadObject", "path": f"/{BUCKET}/evidence/a",
                "status": 404, "iam_params": {}}
        self.assertEqual(view.check(head), [])
        other = dict(head, path="/customer-bucket/evidence/a")
        self.assertTrue(view.check(other))
        unknown = {"service": "ec2", "action": "TerminateInstances", "iam_params": {}}
        self.assertIn("no IAM mapping", view.check(unknown)[0])
        upload = {"service": "s3", "action": "PutObject", "principal": "instance",
                  "instance_id": "i-0abc", "path": f"/{BUCKET}/evidence/123456789012/us-east-1/i-0abc/f/manifest.json"}
        sessions = {"i-0abc": instance_session("i-0abc", "vpc-1", view.quarantine)}
        self.assertTrue(view.check(upload, sessions), "the instance may not write deadbolt's manifest")


MEMBER = "210987654321"
MEMBER_ROLE = f"arn:aws:iam::{MEMBER}:role/deadbolt-response"
TOPIC = "arn:aws:sns:us-east-1:123456789012:deadbolt-topic"


class MemberAccounts(unittest.TestCase):
    """template-member.yaml's roles writing to template.yaml's bucket and topic."""

    def setUp(self):
        self.view = MemberView(MEMBER_ROLE, {"ARTIFACT_BUCKET": BUCKET, "NOTIFICATION_TOPIC_ARN": TOPIC})

    def call(self, action, key, **kw):
        return dict({"service": "s3", "action": action, "path": f"/{BUCKET}/{key}", "iam_params": {}}, **kw)

    def test_the_member_role_writes_its_own_prefixes_of_the_home_bucket_only(self):
        own = f"evidence/{MEMBER}/us-east-1/i-0abc/f/manifest.json"
        self.assertEqual(self.view.check(self.call("PutObject", own)), [])
        self.assertEqual(self.view.check(self.call("HeadObject", own, status=404)), [])
        self.assertEqual(self.view.check(self.call("PutObject", f"locks/{MEMBER}/us-east-1/i-0abc/w1.0")), [])
        for key in ("evidence/123456789012/us-east-1/i-0abc/f/manifest.json",  # the home account's
                    "journal/2026-01-01/run.jsonl", f"locks/333333333333/us-east-1/i-1/w1.0"):
            self.assertTrue(self.view.check(self.call("PutObject", key)), key)
        publish = {"service": "sns", "action": "Publish", "iam_params": {"TopicArn": TOPIC}}
        self.assertEqual(self.view.check(publish), [])

    def test_without_the_organisation_the_home_bucket_and_topic_refuse_the_member(self):
        view = MemberView(MEMBER_ROLE, {"ARTIFACT_BUCKET": BUCKET, "NOTIFICATION_TOPIC_ARN": TOPIC})
        view.home_stack.parameters["MemberOrganizationId"] = ""
        problems = view.check(self.call("PutObject", f"evidence/{MEMBER}/us-east-1/i-0abc/f/x.json"))
        self.assertTrue(problems and "home bucket" in problems[0], problems)
        publish = {"service": "sns", "action": "Publish", "iam_params": {"TopicArn": TOPIC}}
        self.assertTrue(view.check(publish))

    def test_the_bucket_policy_grants_by_organisation_and_role_name(self):
        tpl, arn = Template.load(), f"arn:aws:s3:::{BUCKET}/evidence/{MEMBER}/x"
        sts = tpl.resource_policy(arn, Stack(names={"ArtifactBucket": BUCKET},
                                             parameters={"MemberOrganizationId": ORG_ID}))
        ctx = {"aws:PrincipalOrgID": ORG_ID, "aws:PrincipalAccount": MEMBER,
               "aws:PrincipalArn": MEMBER_ROLE, "aws:SecureTransport": "true"}
        self.assertTrue(evaluate_resource_policy(sts, MEMBER_ROLE, "s3:PutObject", arn, ctx))
        other_org = dict(ctx, **{"aws:PrincipalOrgID": "o-someoneelse1"})
        self.assertFalse(evaluate_resource_policy(sts, MEMBER_ROLE, "s3:PutObject", arn, other_org))
        other_role = f"arn:aws:iam::{MEMBER}:role/admin"
        self.assertFalse(evaluate_resource_policy(sts, other_role, "s3:PutObject", arn,
                                                  dict(ctx, **{"aws:PrincipalArn": other_role})))
        plain_http = dict(ctx, **{"aws:SecureTransport": "false"})
        self.assertFalse(evaluate_resource_policy(sts, MEMBER_ROLE, "s3:PutObject", arn, plain_http))

    def test_the_member_instance_writes_forensic_output_only(self):
        # aws:userid of the member quarantine role's session: "<RoleId>:<instance id>"
        sessions = {"i-0abc": instance_session("i-0abc", "vpc-1", self.view.quarantine, account=MEMBER,
                                               unique_id="AROAMEMBERQUARANTINE")}
        own = "forensics/AROAMEMBERQUARANTINE:i-0abc/f/output/c/i-0abc/p/0.p/stdout"
        out = self.call("PutObject", own, principal="instance", instance_id="i-0abc")
        self.assertEqual(self.view.check(out, sessions), [])
        for key in ("forensics/AROAMEMBERQUARANTINE:i-0def/f/output/c/i-0def/p/0.p/stdout",  # another instance's
                    "forensics/AROAOTHERROLE:i-0abc/f/output/x",  # another role's
                    f"evidence/{MEMBER}/us-east-1/i-0abc/f/manifest.json"):  # deadbolt's evidence
            self.assertTrue(self.view.check(self.call("PutObject", key, principal="instance",
                                                      instance_id="i-0abc"), sessions), key)

    def test_the_member_quarantine_role_is_named_as_its_profile_and_may_be_revoked(self):
        self.assertEqual(self.view.quarantine.arn, f"arn:aws:iam::{MEMBER}:role/deadbolt-quarantine")
        revoke = {"service": "iam", "action": "PutRolePolicy",
                  "iam_params": {"RoleName": "deadbolt-quarantine", "PolicyName": "AWSRevokeOlderSessions"}}
        self.assertEqual(self.view.check(revoke), [])
        own = dict(revoke, iam_params={"RoleName": "deadbolt-response", "PolicyName": "x"})
        self.assertTrue(self.view.check(own), "the response role's own policy")
        self.assertFalse(self.view.quarantine.evaluate("ssm:GetParameter", "*", {}).allowed)

if __name__ == "__main__":
    unittest.main()
