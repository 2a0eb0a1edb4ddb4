"""template.yaml: cfn-lint clean, and the function's role allows exactly the
operations on the sandbox allow-list (sandbox/allowlist.c), as IAM actions.
template-member.yaml: cfn-lint clean, and its response role allows the same
actions, scoped the same way in any region of its account.

    python3 -m unittest tests/integration/test_template.py -v
"""

import json
import os
import re
import subprocess
import unittest

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
TEMPLATE = os.path.join(ROOT, "template.yaml")
MEMBER_TEMPLATE = os.path.join(ROOT, "template-member.yaml")
ALLOWLIST = os.path.join(ROOT, "sandbox", "allowlist.c")
MAKEFILE = os.path.join(ROOT, "Makefile")
LAMBDA_INC = os.path.join(ROOT, "tools", "Makefile.lambda.inc")

# boto3 client name -> IAM service prefix.
IAM_PREFIX = {
    "ec2": "ec2", "autoscaling": "autoscaling", "elb": "elasticloadbalancing",
    "elbv2": "elasticloadbalancing", "ssm": "ssm", "s3": "s3", "iam": "iam",
    "sns": "sns", "sts": "sts", "s3control": "s3",
}
# Where the IAM action is not the API operation's name.
IAM_ACTION = {
    ("s3", "GetPublicAccessBlock"): "s3:GetBucketPublicAccessBlock",
    ("s3", "PutPublicAccessBlock"): "s3:PutBucketPublicAccessBlock",
    ("s3", "DeletePublicAccessBlock"): "s3:PutBucketPublicAccessBlock",
    ("s3", "HeadObject"): ("s3:GetObject", "s3:ListBucket"),  # ListBucket: 404, not 403
    ("s3", "HeadBucket"): "s3:ListBucket",
    ("s3", "GetBucketPolicy"): "s3:GetBucketPolicy",
    ("s3control", "GetPublicAccessBlock"): "s3:GetAccountPublicAccessBlock",
    ("s3control", "PutPublicAccessBlock"): "s3:PutAccountPublicAccessBlock",
    ("s3control", "DeletePublicAccessBlock"): "s3:PutAccountPublicAccessBlock",
}
# Operations IAM does not authorize at all.
NO_IAM_ACTION = {("sts", "GetCallerIdentity")}
# What the role needs beyond the playbooks' calls: handing the quarantine role
# to EC2, Lambda's own delivery to the dead-letter queue, and the member
# accounts' response role (engine/run/account.c).
EXTRA_ACTIONS = {"iam:PassRole", "sqs:SendMessage", "sts:AssumeRole"}
# The member role: handing its account's quarantine role to EC2.
MEMBER_EXTRA_ACTIONS = {"iam:PassRole"}

_ENTRY = re.compile(r'"(' + "|".join(IAM_PREFIX) + r')"\s*,\s*"([A-Za-z][A-Za-z0-9_]*)"')


def strip_c_comments(src):
    src = re.sub(r"/\*.*?\*/", " ", src, flags=re.S)
    return re.sub(r"//[^\n]*", " ", src)


def camel(op):
    """The model name of a boto3 name: describe_instances -> DescribeInstances."""
    if "_" not in op and op[:1].isupper():
        return op
    return "".join(w[:1].upper() + w[1:] for w in op.split("_"))


def parse_allowlist(src):
    """[(service, Operation)] in the order of the table, comments ignored."""
    return [(s, camel(o)) for s, o in _ENTRY.findall(strip_c_comments(src))]


def iam_actions(ops):
    out = set()
    for service, op in ops:
        if (service, op) in NO_IAM_ACTION:
            continue
        action = IAM_ACTION.get((service, op), "%s:%s" % (IAM_PREFIX[service], op))
        out.update(action if isinstance(action, tuple) else (action,))
    return out


def load_template(path=TEMPLATE):
    from cfnlint.decode import decode_str  # knows !Ref, !GetAtt, !Sub ...

    with open(path) as f:
        tpl, matches = decode_str(f.read())
    if matches:
        raise AssertionError("%s does not parse: %s" % (os.path.basename(path), matches))
    return tpl


def allowlist_ops():
    with open(ALLOWLIST) as f:
        return parse_allowlist(f.read())


def undo_only_ops():
    """The undo-only writes (allowlist.c's undo_entries): restore's, which
    runs in the home account only."""
    with open(ALLOWLIST) as f:
        src = strip_c_comments(f.read())
    table = src.split("undo_entries[] = {", 1)[1].split("};", 1)[0]
    return parse_allowlist(table)


def unregion(value):
    """An ARN pattern with the region made a wildcard: what template.yaml
    scopes to its own region, the member role scopes to every region."""
    return json.dumps(value, default=str).replace("${AWS::Region}", "*")


def as_list(v):
    return v if isinstance(v, list) else [v]


def mentions(value, logical_id):
    """True when value (an intrinsic) refers to the resource logical_id."""
    text = json.dumps(value, default=str)
    return re.search(r"(?<![A-Za-z0-9])%s(?![A-Za-z0-9])" % re.escape(logical_id), text) is not None


def statements(role):
    for pol in role["Properties"].get("Policies", []):
        for st in as_list(pol["PolicyDocument"]["Statement"]):
            yield st


class AllowlistParser(unittest.TestCase):
    def test_reads_entries_and_skips_comments(self):
        src = '''
            static const allow_entry entries[] = {
                { "ec2", "CreateSnapshot", ALLOW_WRITE, NULL, "evidence; \\"s3\\" kept" },
                /* { "ec2", "TerminateInstances", ALLOW_WRITE, NULL, "never" }, */
                // { "iam", "DeleteUser", ALLOW_WRITE, NULL, "never" },
                { "s3", "put_public_access_block", ALLOW_WRITE, "DeletePublicAccessBlock", "x" },
                W("elbv2", "DeregisterTargets", "RegisterTargets", "out of service"),
            };'''
        self.assertEqual(parse_allowlist(src), [
            ("ec2", "CreateSnapshot"), ("s3", "PutPublicAccessBlock"),
            ("elbv2", "DeregisterTargets")])

    def test_maps_operations_to_iam_actions(self):
        self.assertEqual(
            iam_actions([("elb", "DescribeLoadBalancers"), ("elbv2", "DescribeLoadBalancers"),
                         ("s3", "HeadObject"), ("s3", "PutPublicAccessBlock"),
                         ("sts", "GetCallerIdentity"), ("ssm", "SendCommand")]),
            {"elasticloadbalancing:DescribeLoadBalancers", "s3:GetObject", "s3:ListBucket",
             "s3:PutBucketPublicAccessBlock", "ssm:SendCommand"})


class Template(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.tpl = load_template()
        cls.res = cls.tpl["Resources"]

    def of_type(self, rtype):
        return {k: v for k, v in self.res.items() if v["Type"] == rtype}

    def function(self):
        fns = self.of_type("AWS::Serverless::Function")
        self.assertEqual(len(fns), 1, "one function")
        return next(iter(fns.items()))

    def role_trusting(self, service):
        found = {k: v for k, v in self.of_type("AWS::IAM::Role").items()
                 if service in json.dumps(v["Properties"]["AssumeRolePolicyDocument"])}
        self.assertEqual(len(found), 1, "one role trusted by %s" % service)
        return next(iter(found.items()))

    # -- lint ---------------------------------------------------------------

    def test_cfn_lint_is_clean(self):
        p = subprocess.run(["cfn-lint", TEMPLATE], capture_output=True, text=True, timeout=300)
        self.assertEqual(p.returncode, 0, "cfn-lint:\n" + p.stdout + p.stderr)

    # -- the function -------------------------------------------------------

    def test_function_is_a_custom_runtime_built_by_make(self):
        _, fn = self.function()
        props = fn["Properties"]
        self.assertEqual(props["Runtime"], "provided.al2023")
        self.assertEqual(props["Handler"], "bootstrap")
        self.assertEqual(fn["Metadata"]["BuildMethod"], "makefile")
        self.assertTrue(60 <= int(props["Timeout"]) <= 900)
        self.assertEqual(int(props["MemorySize"]), 256)
        env = props["Environment"]["Variables"]
        for k in ("ARTIFACT_BUCKET", "QUARANTINE_PROFILE_ARN", "NOTIFICATION_TOPIC_ARN",
                  "DEADBOLT_DRY_RUN", "DEADBOLT_MIN_SEVERITY"):
            self.assertIn(k, env)
        self.assertTrue(mentions(env["ARTIFACT_BUCKET"], "ArtifactBucket"))
        self.assertTrue(mentions(env["NOTIFICATION_TOPIC_ARN"], "NotificationTopic"))
        self.assertTrue(mentions(env["QUARANTINE_PROFILE_ARN"], "QuarantineInstanceProfile"))

    def test_makefile_builds_the_function(self):
        logical_id, _ = self.function()
        with open(LAMBDA_INC) as f:
            inc = f.read()
        self.assertRegex(inc, r"(?m)^build-%s\s*:" % logical_id)
        self.assertIn("$(ARTIFACTS_DIR)", inc)
        with open(MAKEFILE) as f:
            included = re.search(r"(?m)^-?include\s+tools/Makefile\.lambda\.inc\s*$", f.read())
        self.assertTrue(included, "the Makefile must include tools/Makefile.lambda.inc (sam build)")

    def test_rule_matches_guardduty_findings(self):
        _, fn = self.function()
        rules = [e for e in fn["Properties"]["Events"].values()
                 if e["Type"] in ("EventBridgeRule", "CloudWatchEvent")]
        self.assertEqual(len(rules), 1)
        pattern = rules[0]["Properties"]["Pattern"]
        self.assertEqual(pattern["source"], ["aws.guardduty"])
        self.assertEqual(pattern["detail-type"], ["GuardDuty Finding"])

    def test_failed_invokes_retry_then_reach_an_encrypted_dlq(self):
        _, fn = self.function()
        props = fn["Properties"]
        self.assertEqual(props["DeadLetterQueue"]["Type"], "SQS")
        self.assertTrue(mentions(props["DeadLetterQueue"]["TargetArn"], "DeadLetterQueue"))
        self.assertIn("MaximumRetryAttempts", props["EventInvokeConfig"])
        q = self.res["DeadLetterQueue"]["Properties"]
        self.assertTrue(q.get("SqsManagedSseEnabled") is True or "KmsMasterKeyId" in q)

    # -- storage and notification --------------------------------------------

    def test_artifact_bucket_is_private_versioned_encrypted_tls_only(self):
        b = self.res["ArtifactBucket"]["Properties"]
        self.assertTrue(b["BucketEncryption"]["ServerSideEncryptionConfiguration"])
        self.assertEqual(b["VersioningConfiguration"]["Status"], "Enabled")
        pab = b["PublicAccessBlockConfiguration"]
        for k in ("BlockPublicAcls", "BlockPublicPolicy", "IgnorePublicAcls",
                  "RestrictPublicBuckets"):
            self.assertIs(pab[k], True, k)
        pols = [v for v in self.of_type("AWS::S3::BucketPolicy").values()
                if mentions(v["Properties"]["Bucket"], "ArtifactBucket")]
        self.assertEqual(len(pols), 1)
        deny = [s for s in as_list(pols[0]["Properties"]["PolicyDocument"]["Statement"])
                if s.get("Effect") == "Deny"
                and s.get("Condition", {}).get("Bool", {}).get("aws:SecureTransport") in
                ("false", False)]
        self.assertEqual(len(deny), 1, "a Deny on aws:SecureTransport false")

    def test_topic_uses_the_aws_managed_sns_key_unless_member_accounts_publish(self):
        # alias/aws/sns's key policy lets only this account use it: with
        # member accounts the topic takes the stack's key, which lets this
        # account (as alias/aws/sns does) and the member response roles in
        # through SNS only.
        self.assertEqual(self.res["NotificationTopic"]["Properties"]["KmsMasterKeyId"],
                         {"Fn::If": ["HasMemberOrganization", {"Ref": "NotificationKey"}, "alias/aws/sns"]})
        key = self.res["NotificationKey"]
        self.assertEqual(key["Condition"], "HasMemberOrganization")
        self.assertEqual(self.res["NotificationTopicPolicy"]["Condition"], "HasMemberOrganization")
        for st in key["Properties"]["KeyPolicy"]["Statement"]:
            if st["Sid"] == "AccountAdministers":
                continue
            self.assertEqual(sorted(st["Action"]), ["kms:Decrypt", "kms:GenerateDataKey*"])
            self.assertIn("kms:ViaService", st["Condition"]["StringEquals"])

    def test_member_grants_on_the_bucket_exist_only_with_an_organisation(self):
        pol = next(iter(self.of_type("AWS::S3::BucketPolicy").values()))
        conditional = [s["Fn::If"] for s in pol["Properties"]["PolicyDocument"]["Statement"]
                       if "Fn::If" in s]
        self.assertEqual(len(conditional), 4)
        for cond, st, otherwise in conditional:
            self.assertEqual((cond, otherwise), ("HasMemberOrganization", {"Ref": "AWS::NoValue"}))
            self.assertEqual(st["Effect"], "Allow")
            self.assertEqual(st["Condition"]["StringEquals"], {"aws:PrincipalOrgID": {"Ref": "MemberOrganizationId"}})
            self.assertIn("aws:PrincipalArn", st["Condition"]["ArnLike"])
            self.assertFalse({"s3:DeleteObject", "s3:*", "s3:PutBucketPolicy"} & set(as_list(st["Action"])))

    # -- the quarantine role --------------------------------------------------

    def quarantine_policy(self):
        """The quarantine role's one managed policy, which is also its boundary."""
        logical_id, role = self.role_trusting("ec2.amazonaws.com")
        props = role["Properties"]
        managed = props.get("ManagedPolicyArns", [])
        self.assertEqual(len(managed), 1, "one managed policy, the template's own")
        self.assertEqual(managed[0], {"Ref": "QuarantinePolicy"})
        self.assertEqual(props.get("PermissionsBoundary"), {"Ref": "QuarantinePolicy"},
                         "the same policy is the role's permissions boundary")
        self.assertNotIn("Policies", props, "no inline policy beside it")
        return logical_id, as_list(
            self.res["QuarantinePolicy"]["Properties"]["PolicyDocument"]["Statement"])

    def test_quarantine_role_is_ssm_agent_plus_forensic_output(self):
        logical_id, sts = self.quarantine_policy()
        allowed = {a for s in sts if s["Effect"] == "Allow" for a in as_list(s["Action"])}
        self.assertFalse({a for a in allowed if a.lower().startswith("ssm:getparameter")})
        for a in allowed:
            self.assertTrue(a.split(":")[0] in ("ssm", "ssmmessages", "ec2messages")
                            or a in ("s3:PutObject", "s3:PutObjectAcl",
                                     "s3:GetEncryptionConfiguration"), a)
        for s in sts:
            if s["Effect"] == "Allow" and any(a.startswith("s3:") for a in as_list(s["Action"])):
                for r in as_list(s["Resource"]):
                    self.assertTrue(mentions(r, "ArtifactBucket"), r)
        denied = {a for s in sts if s["Effect"] == "Deny" for a in as_list(s["Action"])}
        for a in ("ssm:GetParameter", "ssm:GetParameters", "ssm:GetParametersByPath"):
            self.assertIn(a, denied)
        profiles = [p for p in self.of_type("AWS::IAM::InstanceProfile").values()
                    if any(mentions(r, logical_id) for r in p["Properties"]["Roles"])]
        self.assertEqual(len(profiles), 1)

    def test_quarantine_output_is_confined_to_each_instances_own_prefix(self):
        _, sts = self.quarantine_policy()
        [out] = [s for s in sts if s["Effect"] == "Allow" and "s3:PutObject" in as_list(s["Action"])]
        [resource] = as_list(out["Resource"])
        text = resource["Fn::Sub"] if isinstance(resource, dict) else resource
        self.assertEqual(text, "${ArtifactBucket.Arn}/forensics/${!aws:userid}/*",
                         "aws:userid (<role id>:<instance id>) before the one wildcard")

    def test_quarantine_role_is_named_as_its_instance_profile(self):
        # The function finds the role (to revoke its sessions, to read its
        # RoleId) by the name in QUARANTINE_PROFILE_ARN.
        logical_id, role = self.role_trusting("ec2.amazonaws.com")
        [profile] = [p for p in self.of_type("AWS::IAM::InstanceProfile").values()
                     if any(mentions(r, logical_id) for r in p["Properties"]["Roles"])]
        self.assertEqual(role["Properties"]["RoleName"], profile["Properties"]["InstanceProfileName"])
        self.assertEqual(role["Properties"]["Tags"], [{"Key": "deadbolt:role", "Value": "quarantine"}])

    def test_concurrency_is_capped_by_a_parameter(self):
        _, fn = self.function()
        self.assertEqual(fn["Properties"]["ReservedConcurrentExecutions"],
                         {"Ref": "ReservedConcurrentExecutions"})
        param = self.tpl["Parameters"]["ReservedConcurrentExecutions"]
        self.assertEqual(param["Type"], "Number")
        self.assertGreaterEqual(int(param["Default"]), 1)

    # -- the execution role ---------------------------------------------------

    def execution_role(self):
        logical_id, role = self.role_trusting("lambda.amazonaws.com")
        _, fn = self.function()
        self.assertTrue(mentions(fn["Properties"]["Role"], logical_id))
        return role

    def allowed(self):
        return [s for s in statements(self.execution_role()) if s["Effect"] == "Allow"]

    def test_execution_role_allows_exactly_the_allowlist(self):
        self.assertTrue(os.path.exists(ALLOWLIST), "sandbox/allowlist.c is missing")
        with open(ALLOWLIST) as f:
            ops = parse_allowlist(f.read())
        self.assertGreaterEqual(len(ops), 20, "the allow-list parsed to %d entries" % len(ops))
        want = iam_actions(ops) | EXTRA_ACTIONS
        got = {a for s in self.allowed() for a in as_list(s["Action"])}
        self.assertEqual(sorted(got - want), [], "allowed but not on the allow-list")
        self.assertEqual(sorted(want - got), [], "on the allow-list but not allowed")

    def test_no_wildcard_actions(self):
        for s in statements(self.execution_role()):
            self.assertNotIn("NotAction", s)
            self.assertNotIn("NotResource", s)
            for a in as_list(s["Action"]):
                self.assertNotIn("*", a)

    def test_only_the_basic_execution_managed_policy(self):
        managed = [json.dumps(m) for m in
                   self.execution_role()["Properties"].get("ManagedPolicyArns", [])]
        self.assertEqual(len(managed), 1)
        self.assertIn("service-role/AWSLambdaBasicExecutionRole", managed[0])

    def test_pass_role_only_the_quarantine_role_only_to_ec2(self):
        qrole, _ = self.role_trusting("ec2.amazonaws.com")
        sts = [s for s in self.allowed() if "iam:PassRole" in as_list(s["Action"])
               and s.get("Sid") != "RestorePassOriginalRole"]
        self.assertEqual(len(sts), 1)
        self.assertEqual(as_list(sts[0]["Action"]), ["iam:PassRole"])
        res = as_list(sts[0]["Resource"])
        self.assertEqual(len(res), 1)
        self.assertTrue(mentions(res[0], qrole))
        self.assertEqual(sts[0]["Condition"]["StringEquals"]["iam:PassedToService"],
                         "ec2.amazonaws.com")

    def test_restore_passes_a_role_only_to_ec2_and_only_in_this_account(self):
        # the instance's own profile put back (the sandbox: only the one the
        # journal recorded on it before)
        st = next(s for s in self.allowed() if s.get("Sid") == "RestorePassOriginalRole")
        self.assertEqual(as_list(st["Action"]), ["iam:PassRole"])
        self.assertEqual(st["Condition"], {"StringEquals": {"iam:PassedToService": "ec2.amazonaws.com"}})
        self.assertEqual(len(as_list(st["Resource"])), 1)
        self.assertIn("${AWS::AccountId}:role/", json.dumps(st["Resource"]))

    def test_restore_deletes_only_deadbolt_tags_and_deadbolt_groups(self):
        tags = next(s for s in self.allowed() if "ec2:DeleteTags" in as_list(s["Action"]))
        self.assertEqual(tags["Condition"]["ForAllValues:StringLike"]["aws:TagKeys"], "deadbolt:*")
        self.assertEqual(tags["Condition"]["Null"]["aws:TagKeys"], "false", "no DeleteTags of every tag")
        for action in ("ec2:DeleteSecurityGroup", "ec2:RevokeSecurityGroupIngress"):
            st = next(s for s in self.allowed() if action in as_list(s["Action"]))
            self.assertEqual(sorted(st["Condition"]["StringEquals"]["aws:ResourceTag/deadbolt:group"]),
                             ["isolation", "untrack"], action)

    def test_send_command_only_runs_aws_run_shell_script(self):
        sts = [s for s in self.allowed() if "ssm:SendCommand" in as_list(s["Action"])]
        self.assertEqual(len(sts), 1)
        docs = [json.dumps(r) for r in as_list(sts[0]["Resource"]) if ":document/" in json.dumps(r)]
        self.assertEqual(len(docs), 1)
        self.assertIn("::document/AWS-RunShellScript", docs[0])
        self.assertNotIn("*", [r for r in as_list(sts[0]["Resource"])])

    def resources_of(self, action):
        return [r for s in self.allowed() if action in as_list(s["Action"])
                for r in as_list(s["Resource"])]

    def test_writes_to_deadbolts_own_resources_are_scoped_to_them(self):
        for action, logical_id in (("s3:PutObject", "ArtifactBucket"),
                                   ("s3:GetObject", "ArtifactBucket"),
                                   ("s3:ListBucket", "ArtifactBucket"),
                                   ("sns:Publish", "NotificationTopic"),
                                   ("sqs:SendMessage", "DeadLetterQueue")):
            res = self.resources_of(action)
            self.assertTrue(res, action)
            for r in res:
                self.assertTrue(mentions(r, logical_id), "%s on %r" % (action, r))

    def test_assume_role_only_the_member_response_role(self):
        sts = [s for s in self.allowed() if "sts:AssumeRole" in as_list(s["Action"])]
        self.assertEqual(len(sts), 1)
        self.assertEqual(as_list(sts[0]["Action"]), ["sts:AssumeRole"])
        res = [json.dumps(r) for r in as_list(sts[0]["Resource"])]
        self.assertEqual(len(res), 1)
        self.assertIn(":role/${MemberRoleName}", res[0])

    # The account-level public access block has no resource ARN: the
    # Service Authorization Reference lists no resource type for
    # s3:PutAccountPublicAccessBlock, so "*" is its only resource; the
    # sandbox's rule (sandbox/rules.c: account-block-all) limits it to the
    # run's own account and to turning every setting on.
    NO_RESOURCE_WRITES = {"s3:PutAccountPublicAccessBlock"}

    def test_star_resources_only_for_reads_without_resource_level_permissions(self):
        for s in self.allowed():
            if "*" in as_list(s["Resource"]):
                for a in as_list(s["Action"]):
                    verb = a.split(":")[1]
                    self.assertTrue(verb.startswith(("Describe", "Get", "List")) or a in self.NO_RESOURCE_WRITES,
                                    "%s on Resource *" % a)


class MemberTemplate(unittest.TestCase):
    """template-member.yaml: the role deadbolt assumes in a member account."""

    @classmethod
    def setUpClass(cls):
        cls.tpl = load_template(MEMBER_TEMPLATE)
        cls.res = cls.tpl["Resources"]
        cls.home = load_template()

    def response_role(self):
        found = {k: v for k, v in self.res.items() if v["Type"] == "AWS::IAM::Role"
                 and "HomeAccountId" in json.dumps(v["Properties"]["AssumeRolePolicyDocument"])}
        self.assertEqual(len(found), 1, "one role trusted by the home account")
        return next(iter(found.values()))

    def allowed(self):
        return [s for s in statements(self.response_role()) if s["Effect"] == "Allow"]

    def test_cfn_lint_is_clean(self):
        p = subprocess.run(["cfn-lint", MEMBER_TEMPLATE], capture_output=True, text=True,
                           timeout=300)
        self.assertEqual(p.returncode, 0, "cfn-lint:\n" + p.stdout + p.stderr)

    def test_response_role_allows_exactly_the_allowlist(self):
        # the undo-only writes included: a member's containment is restored
        # under this role too
        want = iam_actions(allowlist_ops()) | MEMBER_EXTRA_ACTIONS
        got = {a for s in self.allowed() for a in as_list(s["Action"])}
        self.assertEqual(sorted(got - want), [], "allowed but not on the allow-list")
        self.assertEqual(sorted(want - got), [], "on the allow-list but not allowed")

    def test_response_role_grants_what_the_execution_role_grants_in_any_region(self):
        exec_role = next(v for v in self.home["Resources"].values()
                         if v["Type"] == "AWS::IAM::Role"
                         and "lambda.amazonaws.com" in json.dumps(v["Properties"]))
        home = {s["Sid"]: s for s in statements(exec_role) if "Sid" in s}
        for st in statements(self.response_role()):
            self.assertIn(st["Sid"], home, "a statement the execution role does not have")
            h = home[st["Sid"]]
            self.assertEqual((st["Effect"], sorted(as_list(st["Action"]))),
                             (h["Effect"], sorted(as_list(h["Action"]))), st["Sid"])
            if "ArtifactBucket" in json.dumps(h["Resource"]) or "NotificationTopic" in json.dumps(
                    h["Resource"]) or "QuarantineRole" in json.dumps(h["Resource"]):
                continue  # the home account's resources, named by parameter here
            if st["Sid"] == "NotOwnRoles":
                continue  # this stack's own roles (actions compared above)
            self.assertEqual(unregion(st["Resource"]), unregion(h["Resource"]), st["Sid"])

    def test_restore_statements_are_the_execution_roles(self):
        home = {s["Sid"] for v in self.home["Resources"].values() if v["Type"] == "AWS::IAM::Role"
                for s in statements(v) if s.get("Sid", "").startswith("Restore")}
        mine = {s["Sid"] for s in statements(self.response_role()) if s.get("Sid", "").startswith("Restore")}
        self.assertTrue(home)
        self.assertEqual(mine, home)

    def member_quarantine(self):
        [(logical_id, role)] = [(k, v) for k, v in self.res.items() if v["Type"] == "AWS::IAM::Role"
                                and "ec2.amazonaws.com" in json.dumps(v["Properties"]["AssumeRolePolicyDocument"])]
        return logical_id, role

    def test_quarantine_role_is_the_home_ones_named_as_its_profile(self):
        logical_id, role = self.member_quarantine()
        [profile] = [p for p in self.res.values() if p["Type"] == "AWS::IAM::InstanceProfile"]
        self.assertEqual(role["Properties"]["RoleName"], profile["Properties"]["InstanceProfileName"])
        self.assertEqual(role["Properties"]["RoleName"], {"Ref": "QuarantineProfileName"})
        self.assertEqual(role["Properties"]["Tags"], [{"Key": "deadbolt:role", "Value": "quarantine"}])
        self.assertEqual(role["Properties"]["ManagedPolicyArns"], [{"Ref": "QuarantinePolicy"}])
        self.assertEqual(role["Properties"]["PermissionsBoundary"], {"Ref": "QuarantinePolicy"})
        self.assertNotIn("Policies", role["Properties"])
        mine = self.res["QuarantinePolicy"]["Properties"]["PolicyDocument"]["Statement"]
        home = self.home["Resources"]["QuarantinePolicy"]["Properties"]["PolicyDocument"]["Statement"]
        self.assertEqual([(s["Sid"], s["Effect"], as_list(s["Action"]), s.get("Condition")) for s in mine],
                         [(s["Sid"], s["Effect"], as_list(s["Action"]), s.get("Condition")) for s in home])
        [out] = [s for s in mine if s["Sid"] == "ForensicOutput"]
        self.assertEqual(out["Resource"], {"Fn::Sub": "arn:${AWS::Partition}:s3:::${ArtifactBucketName}"
                                                      "/forensics/${!aws:userid}/*"})
        self.assertEqual(self.tpl["Parameters"]["QuarantineProfileName"]["Default"],
                         self.home["Parameters"]["MemberQuarantineRoleName"]["Default"])

    def test_only_the_home_account_may_assume_it_with_the_external_id(self):
        trust = as_list(self.response_role()["Properties"]["AssumeRolePolicyDocument"]["Statement"])
        self.assertEqual(len(trust), 1)
        text = json.dumps(trust[0])
        self.assertIn("${HomeAccountId}:root", text)
        self.assertIn("sts:ExternalId", text)
        self.assertEqual(trust[0]["Action"], "sts:AssumeRole")

    def test_quarantine_profile_is_named_for_config(self):
        profiles = [v for v in self.res.values() if v["Type"] == "AWS::IAM::InstanceProfile"]
        self.assertEqual(len(profiles), 1)
        self.assertTrue(mentions(profiles[0]["Properties"]["InstanceProfileName"],
                                 "QuarantineProfileName"))
        with open(os.path.join(ROOT, "playbooks", "config.lua")) as f:
            config = f.read()
        default = self.tpl["Parameters"]["QuarantineProfileName"]["Default"]
        self.assertIn('quarantine_profile_name = "%s"' % default, config)
        self.assertIn('role_name = "%s"' % self.tpl["Parameters"]["RoleName"]["Default"], config)


if __name__ == "__main__":
    unittest.main()
