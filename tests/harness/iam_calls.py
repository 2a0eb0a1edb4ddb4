"""iam_calls — the IAM authorization each AWS call of a deadbolt run needs, and
the check of a run's calls against the template's roles (iam_eval).

The fake AWS logs every request it relays (method, path, query, service,
operation, parameters) and the SSM agent's output uploads it makes as the
instance. OPERATIONS maps each operation the allow-list (sandbox/allowlist.c)
permits to the IAM action(s) AWS checks and the resource ARN(s), from the
Service Authorization Reference ("Actions, resources, and condition keys for
Amazon EC2 / Amazon S3 / IAM / ..."). A call is checked against the role
that makes it in AWS: the function's calls against ExecutionRole, the
agent's uploads against QuarantineRole (with the context keys of an EC2 role
session reaching S3 through the VPC's gateway endpoint). A member account's
run (calls signed with the keys an AssumeRole gave) is checked against
template-member.yaml's ResponseRole (its agent's uploads against that
template's QuarantineRole), and its calls to the home bucket and topic
against template.yaml's bucket and topic policies too (MemberView).

Limits: a resource the request does not name (DisassociateIamInstanceProfile
names an association, not its instance) is checked as instance/*; request
headers are not logged, so an x-amz-acl on PutObject (s3:PutObjectAcl) is not
seen. Owned by the test harness."""

import re
from urllib.parse import parse_qsl, unquote

from harness.iam_eval import (ACCOUNT, MEMBER_TEMPLATE, REGION, Stack, Template,
                              evaluate_resource_policy)

# The organisation of the tests' accounts (template.yaml's MemberOrganizationId).
ORG_ID = "o-deadbolt01"

# boto3 client name -> IAM service prefix
PREFIX = {"ec2": "ec2", "autoscaling": "autoscaling", "elb": "elasticloadbalancing",
          "elasticloadbalancing": "elasticloadbalancing", "elbv2": "elasticloadbalancing",
          "ssm": "ssm", "s3": "s3", "iam": "iam", "sns": "sns", "sts": "sts", "sqs": "sqs"}
# Operations IAM does not authorize.
UNAUTHORIZED = {("sts", "GetCallerIdentity")}
EC2_TYPES = {"i": "instance", "sg": "security-group", "snap": "snapshot", "vol": "volume",
             "eni": "network-interface", "vpc": "vpc", "subnet": "subnet", "ami": "image"}


def indexed(params, name):
    """The values of a query-protocol list: Name.1, Name.2 ... (or Name_1)."""
    out = []
    for k, v in params.items():
        if re.fullmatch(re.escape(name) + r"[._]\d+", k):
            out.append(v)
    return out


class Arns:
    def __init__(self, account=ACCOUNT, region=REGION):
        self.a, self.r = account, region

    def ec2(self, rid):
        kind = EC2_TYPES.get(rid.split("-", 1)[0])
        if kind is None:
            raise KeyError(f"no EC2 resource type for {rid}")
        if kind == "snapshot":
            return f"arn:aws:ec2:{self.r}::snapshot/{rid}"
        return f"arn:aws:ec2:{self.r}:{self.a}:{kind}/{rid}"

    def user(self, name):
        return f"arn:aws:iam::{self.a}:user/{name}"

    def role(self, name):
        return f"arn:aws:iam::{self.a}:role/{name}"


def _describe(service):
    return lambda e, p, n: [(f"{PREFIX[service]}:{e['action']}", "*", {})]


def _ec2_instance(e, p, n):
    out = [(f"ec2:{e['action']}", n.ec2(p["InstanceId"]), {})]
    out += [(f"ec2:{e['action']}", n.ec2(g), {}) for g in indexed(p, "GroupId")]
    return out


def _ec2_tags(e, p, n):
    return [("ec2:CreateTags", n.ec2(r), {}) for r in indexed(p, "ResourceId")]


def _tagged_on_create(p, arn, op):
    """Tags given with a create (TagSpecification.N) need ec2:CreateTags on
    the new resource too, with ec2:CreateAction naming the create."""
    if any(k.startswith("TagSpecification") for k in p):
        return [("ec2:CreateTags", arn, {"ec2:CreateAction": op})]
    return []


def _ec2_snapshot(e, p, n):
    new = f"arn:aws:ec2:{n.r}::snapshot/*"
    return [("ec2:CreateSnapshot", n.ec2(p["VolumeId"]), {}),
            ("ec2:CreateSnapshot", new, {})] + _tagged_on_create(p, new, "CreateSnapshot")


def _ec2_associate(e, p, n):
    return [("ec2:AssociateIamInstanceProfile", n.ec2(p["InstanceId"]), {}),
            ("iam:PassRole", "PASSROLE:" + (p.get("IamInstanceProfile.Arn")
                                           or p.get("IamInstanceProfile.Name", "")),
             {"iam:PassedToService": "ec2.amazonaws.com"})]


def _ec2_disassociate(e, p, n):
    return [("ec2:DisassociateIamInstanceProfile", f"arn:aws:ec2:{n.r}:{n.a}:instance/*", {})]


def _ec2_eni(e, p, n):
    out = [("ec2:ModifyNetworkInterfaceAttribute", n.ec2(p["NetworkInterfaceId"]), {})]
    return out + [("ec2:ModifyNetworkInterfaceAttribute", n.ec2(g), {})
                  for g in indexed(p, "SecurityGroupId")]


def _ec2_create_group(e, p, n):
    new = f"arn:aws:ec2:{n.r}:{n.a}:security-group/*"
    out = [("ec2:CreateSecurityGroup", new, {})]
    if p.get("VpcId"):
        out.append(("ec2:CreateSecurityGroup", n.ec2(p["VpcId"]), {}))
    return out + _tagged_on_create(p, new, "CreateSecurityGroup")


def _ec2_group(e, p, n):
    # the group's tags as the fake saw them when the call came (the calls
    # template.yaml allows only on deadbolt's groups)
    ctx = {f"aws:ResourceTag/{k}": v for k, v in (e.get("resource_tags") or {}).items()}
    return [(f"ec2:{e['action']}", n.ec2(p["GroupId"]), ctx)]


def _ec2_delete_tags(e, p, n):
    """DeleteTags: aws:TagKeys is the keys the request names (none: every
    tag of the resource)."""
    keys = [v for k, v in p.items() if re.fullmatch(r"Tag[._]\d+[._]Key", k)]
    ctx = {"aws:TagKeys": keys} if keys else {}
    return [("ec2:DeleteTags", n.ec2(r), ctx) for r in indexed(p, "ResourceId")]


def _asg_detach(e, p, n):
    return [("autoscaling:DetachInstances",
             f"arn:aws:autoscaling:{n.r}:{n.a}:autoScalingGroup:*:autoScalingGroupName/"
             f"{p['AutoScalingGroupName']}", {})]


def _asg_attach(e, p, n):
    return [("autoscaling:AttachInstances",
             f"arn:aws:autoscaling:{n.r}:{n.a}:autoScalingGroup:*:autoScalingGroupName/"
             f"{p['AutoScalingGroupName']}", {})]


def _elb_instances(e, p, n):
    return [(f"elasticloadbalancing:{e['action']}",
             f"arn:aws:elasticloadbalancing:{n.r}:{n.a}:loadbalancer/{p['LoadBalancerName']}", {})]


def _elbv2_targets(e, p, n):
    return [(f"elasticloadbalancing:{e['action']}", p["TargetGroupArn"], {})]


def _ssm_send(e, p, n):
    doc = p["DocumentName"]
    out = [("ssm:SendCommand", doc if doc.startswith("arn:") else
            f"arn:aws:ssm:{n.r}::document/{doc}" if doc.startswith("AWS-") else
            f"arn:aws:ssm:{n.r}:{n.a}:document/{doc}", {})]
    out += [("ssm:SendCommand", n.ec2(i), {}) for i in p.get("InstanceIds", [])]
    if p.get("OutputS3BucketName"):
        out.append(("ssm:SendCommand", f"arn:aws:s3:::{p['OutputS3BucketName']}", {}))
    return out


def _s3_parts(e):
    path = unquote(e["path"])
    bucket, _, key = path.lstrip("/").partition("/")
    return bucket, key


def _s3_bucket(action):
    return lambda e, p, n: [(action, f"arn:aws:s3:::{_s3_parts(e)[0]}", {})]


def _s3_object(action):
    return lambda e, p, n: [(action, "arn:aws:s3:::%s/%s" % _s3_parts(e), {})]


def _s3_head_object(e, p, n):
    bucket, key = _s3_parts(e)
    out = [("s3:GetObject", f"arn:aws:s3:::{bucket}/{key}", {})]
    if e.get("status") == 404 or e.get("missing"):
        # S3 answers 404 for a missing key only to a caller allowed
        # s3:ListBucket on the bucket; 403 otherwise.
        out.append(("s3:ListBucket", f"arn:aws:s3:::{bucket}", {}))
    return out


def _s3_list(e, p, n):
    q = dict(parse_qsl(e.get("query") or ""))
    ctx = {"s3:prefix": q["prefix"]} if "prefix" in q else {}
    return [("s3:ListBucket", f"arn:aws:s3:::{_s3_parts(e)[0]}", ctx)]


def _iam_user(e, p, n):
    return [(f"iam:{e['action']}", n.user(p.get("UserName", "*")), {})]


def _iam_role(e, p, n):
    return [(f"iam:{e['action']}", n.role(p["RoleName"]), {})]


def _sts_assume(e, p, n):
    return [("sts:AssumeRole", p["RoleArn"], {})]


def _s3_account_pab(e):
    """s3control's account-level Get/PutPublicAccessBlock (signed for "s3", path
    /v20180820/configuration/publicAccessBlock): no resource-level permission."""
    verb = {"GET": "Get", "PUT": "Put", "DELETE": "Put"}.get(e.get("method"), "Get")
    return [(f"s3:{verb}AccountPublicAccessBlock", "*", {})]


def _sns_publish(e, p, n):
    return [("sns:Publish", p["TopicArn"], {})]


# (service as the fake logs it, operation) -> f(entry, params, Arns) -> [(action, arn, ctx)]
OPERATIONS = {
    ("ec2", "DescribeInstances"): _describe("ec2"),
    ("ec2", "DescribeInstanceAttribute"): _describe("ec2"),
    ("ec2", "DescribeSnapshots"): _describe("ec2"),
    ("ec2", "DescribeVolumes"): _describe("ec2"),
    ("ec2", "DescribeIamInstanceProfileAssociations"): _describe("ec2"),
    ("ec2", "DescribeNetworkInterfaces"): _describe("ec2"),
    ("ec2", "DescribeSecurityGroups"): _describe("ec2"),
    ("ec2", "GetConsoleScreenshot"): _ec2_instance,
    ("ec2", "ModifyInstanceAttribute"): _ec2_instance,
    ("ec2", "CreateTags"): _ec2_tags,
    ("ec2", "DeleteTags"): _ec2_delete_tags,
    ("ec2", "CreateSnapshot"): _ec2_snapshot,
    ("ec2", "AssociateIamInstanceProfile"): _ec2_associate,
    ("ec2", "DisassociateIamInstanceProfile"): _ec2_disassociate,
    ("ec2", "ModifyNetworkInterfaceAttribute"): _ec2_eni,
    ("ec2", "CreateSecurityGroup"): _ec2_create_group,
    ("ec2", "AuthorizeSecurityGroupIngress"): _ec2_group,
    ("ec2", "AuthorizeSecurityGroupEgress"): _ec2_group,
    ("ec2", "RevokeSecurityGroupEgress"): _ec2_group,
    ("ec2", "RevokeSecurityGroupIngress"): _ec2_group,
    ("ec2", "DeleteSecurityGroup"): _ec2_group,
    ("autoscaling", "DescribeAutoScalingInstances"): _describe("autoscaling"),
    ("autoscaling", "DetachInstances"): _asg_detach,
    ("autoscaling", "AttachInstances"): _asg_attach,
    ("elasticloadbalancing", "DescribeLoadBalancers"): _describe("elb"),
    ("elasticloadbalancing", "DescribeInstanceHealth"): _describe("elb"),
    ("elasticloadbalancing", "DescribeTargetGroups"): _describe("elb"),
    ("elasticloadbalancing", "DescribeTargetHealth"): _describe("elb"),
    ("elasticloadbalancing", "DeregisterInstancesFromLoadBalancer"): _elb_instances,
    ("elasticloadbalancing", "RegisterInstancesWithLoadBalancer"): _elb_instances,
    ("elasticloadbalancing", "DeregisterTargets"): _elbv2_targets,
    ("elasticloadbalancing", "RegisterTargets"): _elbv2_targets,
    ("ssm", "DescribeInstanceInformation"): _describe("ssm"),
    ("ssm", "GetCommandInvocation"): _describe("ssm"),
    ("ssm", "SendCommand"): _ssm_send,
    ("s3", "GetBucketPolicyStatus"): _s3_bucket("s3:GetBucketPolicyStatus"),
    ("s3", "GetPublicAccessBlock"): _s3_bucket("s3:GetBucketPublicAccessBlock"),
    ("s3", "PutPublicAccessBlock"): _s3_bucket("s3:PutBucketPublicAccessBlock"),
    ("s3", "DeletePublicAccessBlock"): _s3_bucket("s3:PutBucketPublicAccessBlock"),
    ("s3", "GetBucketPolicy"): _s3_bucket("s3:GetBucketPolicy"),
    ("s3", "HeadBucket"): _s3_bucket("s3:ListBucket"),
    ("s3", "ListObjects"): _s3_list,
    ("s3", "ListObjectsV2"): _s3_list,
    ("s3", "HeadObject"): _s3_head_object,
    ("s3", "GetObject"): _s3_object("s3:GetObject"),
    ("s3", "PutObject"): _s3_object("s3:PutObject"),
    ("s3", "DeleteObject"): _s3_object("s3:DeleteObject"),
    ("iam", "GetUser"): _iam_user,
    ("iam", "GetUserPolicy"): _iam_user,
    ("iam", "PutUserPolicy"): _iam_user,
    ("iam", "ListAccessKeys"): _iam_user,
    ("iam", "UpdateAccessKey"): _iam_user,
    ("iam", "DeleteUserPolicy"): _iam_user,
    ("iam", "DeleteRolePolicy"): _iam_role,
    ("iam", "GetRole"): _iam_role,
    ("iam", "GetRolePolicy"): _iam_role,
    ("iam", "PutRolePolicy"): _iam_role,
    ("sns", "Publish"): _sns_publish,
    ("sts", "AssumeRole"): _sts_assume,
}
# Describe* of these services have no resource-level permissions (the
# Service Authorization Reference lists no resource type for them): "*".
DESCRIBE_STAR = {"ec2", "autoscaling", "elasticloadbalancing"}


def requests_of(entry, arns=None):
    """[(action, resource ARN, context)] AWS authorizes for one logged request.
    Raises KeyError for an operation OPERATIONS does not know."""
    service = entry.get("service") or ""
    service = "elasticloadbalancing" if service in ("elb", "elbv2") else service
    op = entry.get("action") or ""
    if (service, op) in UNAUTHORIZED:
        return []
    if service == "s3" and (entry.get("path") or "").startswith("/v20180820/configuration/publicAccessBlock"):
        return _s3_account_pab(entry)
    fn = OPERATIONS.get((service, op))
    if fn is None and service in DESCRIBE_STAR and op.startswith("Describe"):
        fn = _describe(service)
    if fn is None:
        raise KeyError(f"{service} {op}: no IAM mapping in tests/harness/iam_calls.py "
                       "OPERATIONS (add its action and resource from the Service "
                       "Authorization Reference)")
    return fn(entry, entry.get("iam_params") or {}, arns or Arns())


class StackView:
    """The template's roles for the names one deadbolt run was given (its
    environment): the artifact bucket, the topic, the quarantine profile and
    the role in it (looked up with boto3 by the caller)."""

    def __init__(self, env, quarantine_role_name=None, template=None):
        self.template = template or Template.load()
        names = {}
        if env.get("ARTIFACT_BUCKET"):
            names["ArtifactBucket"] = env["ARTIFACT_BUCKET"]
        if env.get("NOTIFICATION_TOPIC_ARN"):
            names["NotificationTopic"] = env["NOTIFICATION_TOPIC_ARN"]
        if env.get("QUARANTINE_PROFILE_ARN"):
            names["QuarantineInstanceProfile"] = env["QUARANTINE_PROFILE_ARN"]
        if quarantine_role_name:
            names["QuarantineRole"] = quarantine_role_name
        self.stack = Stack(names=names)
        self.execution = self.template.role("ExecutionRole", self.stack)
        self.quarantine = self.template.role("QuarantineRole", self.stack)
        self.profile_arn = env.get("QUARANTINE_PROFILE_ARN")

    def resource_context(self, action, arn):
        """Context keys of the resource (the quarantine role's tags)."""
        return quarantine_tags(self.quarantine, arn)

    def check(self, entry, instance_context=None):
        """[problem strings] for one logged request."""
        problems = []
        instance = entry.get("principal") == "instance"
        role = self.quarantine if instance else self.execution
        try:
            wanted = requests_of(entry)
        except KeyError as exc:
            return [str(exc).strip("'\"")]
        for action, arn, ctx in wanted:
            if arn.startswith("PASSROLE:"):
                profile = arn[len("PASSROLE:"):]
                if self.profile_arn and profile in (self.profile_arn, self.profile_arn.rsplit("/", 1)[-1]):
                    arn = self.quarantine.arn
                else:
                    arn = f"arn:aws:iam::{ACCOUNT}:role/role-of-{profile.rsplit('/', 1)[-1]}"
            context = dict(ctx)
            context.update(self.resource_context(action, arn))
            if instance:
                context.update((instance_context or {}).get(entry.get("instance_id"), {}))
            decision = role.evaluate(action, arn, context)
            if not decision.allowed:
                problems.append(f"{role.logical_id} would refuse {entry.get('service')} "
                                f"{entry.get('action')} ({action} on {arn}): {decision.reason}")
        return problems


class MemberView:
    """A member account's run: template-member.yaml's response role (and
    quarantine role), deployed in the account of role_arn for the home
    stack of env, and that home stack's bucket and topic policies
    (template.yaml, with MemberOrganizationId = ORG_ID), which a call of
    the member's roles to the home bucket or topic must pass as well."""

    def __init__(self, role_arn, env, home_template=None):
        # The member template names its roles and profile itself (RoleName;
        # the quarantine role named as its profile, QuarantineProfileName):
        # they are checked as deployed with the parameters' defaults.
        self.account = role_arn.split(":")[4]
        role_name = role_arn.rsplit("/", 1)[-1]
        bucket = env.get("ARTIFACT_BUCKET") or "no-artifact-bucket"
        topic = env.get("NOTIFICATION_TOPIC_ARN") or f"arn:aws:sns:{REGION}:{ACCOUNT}:no-topic"
        tpl = Template.load(MEMBER_TEMPLATE)
        self.profile_name = tpl.tpl["Parameters"]["QuarantineProfileName"]["Default"]
        stack = Stack(account=self.account, names={"ResponseRole": role_name,
                                                   "QuarantineRole": self.profile_name,
                                                   "QuarantineInstanceProfile": self.profile_name},
                      parameters={"HomeAccountId": ACCOUNT, "RoleName": role_name,
                                  "QuarantineProfileName": self.profile_name,
                                  "ArtifactBucketName": bucket, "NotificationTopicArn": topic})
        self.response = tpl.role("ResponseRole", stack)
        self.quarantine = tpl.role("QuarantineRole", stack)
        self.arns = Arns(self.account)
        self.home = home_template or Template.load()
        self.home_stack = Stack(names={"ArtifactBucket": bucket, "NotificationTopic": topic},
                                parameters={"MemberOrganizationId": ORG_ID,
                                            "MemberRoleName": role_name,
                                            "MemberQuarantineRoleName": self.profile_name})
        self.bucket_arn, self.topic_arn = f"arn:aws:s3:::{bucket}", topic

    def _home_resource(self, action, arn):
        """Whether the home resource's own policy decides too: an S3 action
        on the home bucket, sns:Publish to the home topic (ssm:SendCommand
        naming the bucket is SSM's, not S3's)."""
        if action.startswith("s3:"):
            return arn == self.bucket_arn or arn.startswith(self.bucket_arn + "/")
        return action.startswith("sns:") and arn == self.topic_arn

    def principal_context(self, role):
        return {"aws:PrincipalArn": role.arn, "aws:PrincipalAccount": self.account,
                "aws:PrincipalOrgID": ORG_ID, "aws:SecureTransport": "true"}

    def check(self, entry, instance_context=None):
        """[problem strings] for one logged request of the member's run."""
        problems = []
        instance = entry.get("principal") == "instance"
        role = self.quarantine if instance else self.response
        try:
            wanted = requests_of(entry, self.arns)
        except KeyError as exc:
            return [str(exc).strip("'\"")]
        for action, arn, ctx in wanted:
            if arn.startswith("PASSROLE:"):
                profile = arn[len("PASSROLE:"):].rsplit("/", 1)[-1]
                arn = self.quarantine.arn if profile == self.profile_name else \
                    f"arn:aws:iam::{self.account}:role/role-of-{profile}"
            context = dict(ctx, **self.principal_context(role))
            context.update(quarantine_tags(self.quarantine, arn))
            if instance:
                context.update((instance_context or {}).get(entry.get("instance_id"), {}))
            decision = role.evaluate(action, arn, context)
            if decision.allowed and self._home_resource(action, arn):
                decision = evaluate_resource_policy(
                    self.home.resource_policy(arn, self.home_stack), role.arn, action, arn, context)
                where = "template.yaml's policy on the home " + ("topic" if arn == self.topic_arn else "bucket")
            else:
                where = f"template-member.yaml's {role.logical_id}"
            if not decision.allowed:
                problems.append(f"{where} would refuse {entry.get('service')} {entry.get('action')} "
                                f"of account {self.account} ({action} on {arn}): {decision.reason}")
        return problems


def quarantine_tags(quarantine, arn):
    """The resource's context keys when arn is the quarantine role (its tags:
    the roles' own deny spares it by them), else none."""
    if arn == quarantine.arn:
        return {f"aws:ResourceTag/{k}": v for k, v in quarantine.tags.items()}
    return {}


def instance_session(iid, vpc, role, account=ACCOUNT, region=REGION, unique_id=None):
    """The request context of an EC2 role session of instance iid reaching a
    service through a VPC endpoint of its own VPC. aws:userid is
    "<role's unique id>:<instance id>" (IAM policy variables: a role EC2
    assumes for an instance profile); unique_id is the role's RoleId as the
    account shows it (moto's), else one made up from the logical id."""
    return {"aws:userid": f"{unique_id or role_id(role)}:{iid}", "aws:PrincipalAccount": account,
            "ec2:SourceInstanceARN": f"arn:aws:ec2:{region}:{account}:instance/{iid}",
            "aws:ec2InstanceSourceVPC": vpc, "aws:SourceVpc": vpc,
            "aws:PrincipalType": "AssumedRole", "aws:SecureTransport": "true"}


def role_id(role):
    return "AROA" + re.sub(r"[^A-Z0-9]", "", role.logical_id.upper())[:17]
