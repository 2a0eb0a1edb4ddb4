"""iam_eval — an IAM policy evaluator for the roles of template.yaml.

Reads the template (cfn-lint's decoder knows !Sub, !GetAtt, !Ref, !If ...),
resolves a role's statements with the stack's physical names substituted
(Stack: account, region, stack name, the bucket/topic/role names the tests
use), and answers allow or deny for (action, resource ARN, context keys):

    tpl = Template.load()
    role = tpl.role("ExecutionRole", Stack(names={"ArtifactBucket": "my-bucket"}))
    decision = role.evaluate("s3:GetObject", "arn:aws:s3:::my-bucket/k", {})
    decision.allowed, decision.reason

What it evaluates, as the IAM User Guide's policy evaluation logic does for
one principal in one account: the role's identity policies (inline, the
template's managed policies, the AWS managed policies in AWS_MANAGED) and its
permissions boundary. An explicit Deny in either wins; otherwise the action is
allowed only if an identity policy allows it and the boundary (when there is
one) allows it too. Action, NotAction, Resource, NotResource; wildcards * and
? (case-insensitive in actions; in ARNs per colon-separated part, * spanning
"/"); policy variables (${aws:userid}, ${key, 'default'}, ${*} ${?} ${$}), a
variable that cannot be resolved makes its statement not apply (the IAM User
Guide: it may make the statement invalid). Conditions: the String*, Arn*,
Bool, Null, Numeric* and Date* operators, ...IfExists, and the
ForAnyValue:/ForAllValues: set operators; condition keys case-insensitive.

Across accounts (a member account's role writing to the home stack's
bucket or topic), the resource's policy in the template (bucket policy,
topic policy: Template.resource_policy) must allow the call as well:
evaluate_resource_policy, with the principal's context keys
(aws:PrincipalArn, aws:PrincipalAccount, aws:PrincipalOrgID).

What it cannot show: service control policies and resource control policies
(an organization's), session policies, KMS key policies and grants (an
encrypted topic's key), resource policies on calls within one account (the
bucket policy's plain-HTTP deny does not apply to TLS calls), and anything
IAM decides outside policies (a service refusing an operation itself).
Owned by the test harness."""

import datetime
import json
import os
import re

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
TEMPLATE = os.path.join(ROOT, "template.yaml")
MEMBER_TEMPLATE = os.path.join(ROOT, "template-member.yaml")

ACCOUNT = "123456789012"
REGION = "us-east-1"
PARTITION = "aws"

# AWS managed policies the template attaches, as AWS publishes them.
AWS_MANAGED = {
    "service-role/AWSLambdaBasicExecutionRole": [
        {"Effect": "Allow", "Resource": "*",
         "Action": ["logs:CreateLogGroup", "logs:CreateLogStream", "logs:PutLogEvents"]}],
    "AmazonSSMManagedInstanceCore": [
        {"Effect": "Allow", "Resource": "*",
         "Action": ["ssm:DescribeAssociation", "ssm:GetDeployablePatchSnapshotForInstance",
                    "ssm:GetDocument", "ssm:DescribeDocument", "ssm:GetManifest",
                    "ssm:GetParameter", "ssm:GetParameters", "ssm:ListAssociations",
                    "ssm:ListInstanceAssociations", "ssm:PutInventory", "ssm:PutComplianceItems",
                    "ssm:PutConfigurePackageResult", "ssm:UpdateAssociationStatus",
                    "ssm:UpdateInstanceAssociationStatus", "ssm:UpdateInstanceInformation"]},
        {"Effect": "Allow", "Resource": "*",
         "Action": ["ssmmessages:CreateControlChannel", "ssmmessages:CreateDataChannel",
                    "ssmmessages:OpenControlChannel", "ssmmessages:OpenDataChannel"]},
        {"Effect": "Allow", "Resource": "*",
         "Action": ["ec2messages:AcknowledgeMessage", "ec2messages:DeleteMessage",
                    "ec2messages:FailMessage", "ec2messages:GetEndpoint",
                    "ec2messages:GetMessages", "ec2messages:SendReply"]}],
}


class TemplateError(Exception):
    pass


# --- the template ---------------------------------------------------------------

class Stack:
    """A deployment of the template: where, and the physical name of each
    resource the tests name (logical id -> name); the others get
    CloudFormation's generated form <stack>-<LogicalId>-<suffix>."""

    def __init__(self, account=ACCOUNT, region=REGION, name="deadbolt", names=None,
                 parameters=None):
        self.account, self.region, self.name = account, region, name
        self.partition = PARTITION
        self.names = dict(names or {})
        self.parameters = dict(parameters or {})

    def physical(self, logical_id, rtype):
        if logical_id in self.names:
            return self.names[logical_id]
        name = f"{self.name}-{logical_id}-EXAMPLE1234"
        return name.lower() if rtype == "AWS::S3::Bucket" else name


class Template:
    def __init__(self, tpl):
        self.tpl = tpl
        self.resources = tpl.get("Resources", {})

    @classmethod
    def load(cls, path=TEMPLATE):
        from cfnlint.decode import decode_str  # knows the short-form intrinsics
        with open(path) as f:
            tpl, matches = decode_str(f.read())
        if matches:
            raise TemplateError(f"{path} does not parse: {matches}")
        return cls(tpl)

    def role(self, logical_id, stack=None):
        """The role logical_id as a Role, resolved for stack."""
        res = self.resources.get(logical_id)
        if not res or res.get("Type") != "AWS::IAM::Role":
            raise TemplateError(f"{logical_id} is not an AWS::IAM::Role of the template")
        r = Resolver(self, stack or Stack())
        props = r.resolve(res["Properties"])
        identity = []
        for pol in props.get("Policies", []):
            identity += statements_of(pol["PolicyDocument"])
        for arn in props.get("ManagedPolicyArns", []):
            identity += r.managed_policy(arn)
        boundary = None
        if props.get("PermissionsBoundary"):
            boundary = r.managed_policy(props["PermissionsBoundary"])
        tags = {t["Key"]: t["Value"] for t in props.get("Tags", [])}
        return Role(logical_id, r.attribute(logical_id, "Arn"), identity, boundary, tags)


    def resource_policy(self, resource_arn, stack=None):
        """The statements of the template's bucket and topic policies on
        resource_arn (a bucket's objects count as the bucket's), resolved for
        stack: [] when none applies."""
        r = Resolver(self, stack or Stack())
        out = []
        for logical, res in self.resources.items():
            rtype = res.get("Type")
            if rtype not in ("AWS::S3::BucketPolicy", "AWS::SNS::TopicPolicy"):
                continue
            if res.get("Condition") and not r.condition(res["Condition"]):
                continue
            props = r.resolve(res["Properties"])
            if rtype == "AWS::S3::BucketPolicy":
                bucket = f"arn:{stack.partition if stack else PARTITION}:s3:::{props['Bucket']}"
                if resource_arn != bucket and not resource_arn.startswith(bucket + "/"):
                    continue
            elif resource_arn not in props.get("Topics", []):
                continue
            out += statements_of(props["PolicyDocument"])
        return out


def statements_of(document):
    sts = document.get("Statement", [])
    return [dict(s) for s in (sts if isinstance(sts, list) else [sts])]


NO_VALUE = object()


class Resolver:
    """CloudFormation's intrinsic functions, on one Stack."""

    def __init__(self, template, stack):
        self.t, self.s = template, stack
        self.params = {k: str(v.get("Default", "")) for k, v in
                       template.tpl.get("Parameters", {}).items()}
        self.params.update({k: str(v) for k, v in stack.parameters.items()})

    def pseudo(self, name):
        return {"AWS::AccountId": self.s.account, "AWS::Region": self.s.region,
                "AWS::Partition": self.s.partition, "AWS::StackName": self.s.name,
                "AWS::URLSuffix": "amazonaws.com"}.get(name)

    def ref(self, name):
        if name == "AWS::NoValue":
            return NO_VALUE
        value = self.pseudo(name)
        if value is not None:
            return value
        if name in self.params:
            return self.params[name]
        res = self.t.resources.get(name)
        if res is None:
            raise TemplateError(f"!Ref {name}: no such parameter or resource")
        rtype = res["Type"]
        phys = self.s.physical(name, rtype)
        if rtype == "AWS::SNS::Topic":
            return phys if phys.startswith("arn:") else \
                f"arn:{self.s.partition}:sns:{self.s.region}:{self.s.account}:{phys}"
        if rtype == "AWS::SQS::Queue":
            return f"https://sqs.{self.s.region}.amazonaws.com/{self.s.account}/{phys}"
        if rtype == "AWS::IAM::ManagedPolicy":
            return f"arn:{self.s.partition}:iam::{self.s.account}:policy/{phys}"
        return phys

    def attribute(self, name, attr):
        res = self.t.resources.get(name)
        if res is None:
            raise TemplateError(f"!GetAtt {name}.{attr}: no such resource")
        rtype, phys = res["Type"], self.s.physical(name, res["Type"])
        p, a, r = self.s.partition, self.s.account, self.s.region
        table = {
            ("AWS::S3::Bucket", "Arn"): f"arn:{p}:s3:::{phys}",
            ("AWS::SQS::Queue", "Arn"): f"arn:{p}:sqs:{r}:{a}:{phys}",
            ("AWS::IAM::Role", "Arn"): f"arn:{p}:iam::{a}:role/{phys}",
            ("AWS::IAM::Role", "RoleId"): "AROA" + re.sub(r"[^A-Z0-9]", "", phys.upper())[:17],
            ("AWS::IAM::InstanceProfile", "Arn"): phys if phys.startswith("arn:")
            else f"arn:{p}:iam::{a}:instance-profile/{phys}",
            ("AWS::Serverless::Function", "Arn"): f"arn:{p}:lambda:{r}:{a}:function:{phys}",
            ("AWS::SNS::Topic", "TopicName"): phys.rsplit(":", 1)[-1],
        }
        if (rtype, attr) not in table:
            raise TemplateError(f"!GetAtt {name}.{attr} ({rtype}) is not known to iam_eval")
        return table[(rtype, attr)]

    def condition(self, name):
        return bool(self.resolve(self.t.tpl["Conditions"][name]))

    def sub(self, arg):
        text, variables = (arg, {}) if isinstance(arg, str) else (arg[0], arg[1])

        def one(m):
            inner = m.group(1)
            if inner.startswith("!"):
                return "${" + inner[1:] + "}"
            if inner in variables:
                return str(self.resolve(variables[inner]))
            if "." in inner and not inner.startswith("AWS::"):
                logical, attr = inner.split(".", 1)
                return self.attribute(logical, attr)
            return str(self.ref(inner))
        return re.sub(r"\$\{([^}]+)\}", one, text)

    def resolve(self, v):
        if isinstance(v, list):
            out = [self.resolve(x) for x in v]
            return [x for x in out if x is not NO_VALUE]
        if not isinstance(v, dict):
            return v
        if len(v) == 1:
            (k, arg), = v.items()
            if k == "Ref":
                return self.ref(arg)
            if k == "Fn::GetAtt":
                parts = arg if isinstance(arg, list) else arg.split(".", 1)
                return self.attribute(parts[0], parts[1])
            if k == "Fn::Sub":
                return self.sub(arg)
            if k == "Fn::If":
                return self.resolve(arg[1] if self.condition(arg[0]) else arg[2])
            if k == "Fn::Join":
                return arg[0].join(str(x) for x in self.resolve(arg[1]))
            if k == "Fn::Equals":
                a, b = self.resolve(arg)
                return str(a) == str(b)
            if k == "Fn::Not":
                return not self.resolve(arg[0])
            if k == "Fn::And":
                return all(self.resolve(x) for x in arg)
            if k == "Fn::Or":
                return any(self.resolve(x) for x in arg)
            if k == "Condition":
                return self.condition(arg)
            if k.startswith("Fn::"):
                raise TemplateError(f"{k} is not known to iam_eval")
        out = {}
        for k, x in v.items():
            x = self.resolve(x)
            if x is not NO_VALUE:
                out[k] = x
        return out

    def managed_policy(self, arn):
        """The statements of a managed policy ARN: one of the template's, or
        one of AWS_MANAGED."""
        for logical, res in self.t.resources.items():
            if res["Type"] == "AWS::IAM::ManagedPolicy" and self.ref(logical) == arn:
                return statements_of(self.resolve(res["Properties"]["PolicyDocument"]))
        m = re.match(r"arn:[^:]+:iam::aws:policy/(.+)$", str(arn))
        if m and m.group(1) in AWS_MANAGED:
            return [dict(s) for s in AWS_MANAGED[m.group(1)]]
        raise TemplateError(f"managed policy {arn} is not known to iam_eval: add it to AWS_MANAGED")


# --- evaluation ------------------------------------------------------------------

class Decision:
    def __init__(self, allowed, reason, statement=None):
        self.allowed, self.reason, self.statement = allowed, reason, statement

    def __bool__(self):
        return self.allowed

    def __repr__(self):
        return f"Decision({'allow' if self.allowed else 'deny'}: {self.reason})"


class Role:
    def __init__(self, logical_id, arn, identity, boundary=None, tags=None):
        self.logical_id, self.arn = logical_id, arn
        self.identity, self.boundary = identity, boundary
        self.tags = tags or {}

    def evaluate(self, action, resource, context=None):
        return evaluate(self.identity, action, resource, context, boundary=self.boundary)


def as_list(v):
    return v if isinstance(v, list) else [v]


def sid(st):
    return st.get("Sid") or json.dumps(st.get("Action", st.get("NotAction")))


def first_applying(statements, effect, action, resource, ctx):
    """The first statement with this Effect that applies to the request, or None."""
    return next((st for st in statements if st.get("Effect") == effect
                 and applies(st, action, resource, ctx)), None)


def evaluate(statements, action, resource, context=None, boundary=None):
    """Decision for one request against identity statements (and a
    permissions boundary's). Explicit deny > allow > implicit deny."""
    ctx = Context(context or {})
    for name, sts in (("identity policy", statements), ("permissions boundary", boundary or [])):
        deny = first_applying(sts, "Deny", action, resource, ctx)
        if deny is not None:
            return Decision(False, f"explicit deny in the {name}: {sid(deny)}", deny)
    allow = first_applying(statements, "Allow", action, resource, ctx)
    if allow is None:
        return Decision(False, "no statement allows it (implicit deny)")
    if boundary is not None and first_applying(boundary, "Allow", action, resource, ctx) is None:
        return Decision(False, "the permissions boundary does not allow it")
    return Decision(True, f"allowed by {sid(allow)}", allow)


class Unresolved(Exception):
    """A policy variable with no value in the request context."""


class Context:
    def __init__(self, values):
        self.values = {k.lower(): v for k, v in values.items()}

    def has(self, key):
        return key.lower() in self.values

    def get(self, key):
        v = self.values.get(key.lower())
        return None if v is None else [str(x) for x in as_list(v)]

    def substitute(self, text, wildcard_escape=False):
        """text with its ${...} policy variables filled in."""
        def one(m):
            inner = m.group(1).strip()
            if inner in ("*", "?", "$"):
                return "[" + inner + "]" if wildcard_escape and inner != "$" else inner
            key, _, default = inner.partition(",")
            value = self.get(key.strip())
            if value is None or len(value) != 1:
                if default.strip():
                    return default.strip().strip("'")
                raise Unresolved(key.strip())
            v = value[0]
            return v.replace("[", "[[]").replace("*", "[*]").replace("?", "[?]") \
                if wildcard_escape else v
        return re.sub(r"\$\{([^}]*)\}", one, str(text))


def glob(pattern, value, case=True):
    """IAM wildcards: * any run of characters, ? one; nothing else special."""
    out = []
    i = 0
    while i < len(pattern):
        c = pattern[i]
        if c == "[" and pattern[i + 2:i + 3] == "]":  # "[x]": a literal x (see substitute)
            out.append(re.escape(pattern[i + 1]))
            i += 3
            continue
        out.append(".*" if c == "*" else "." if c == "?" else re.escape(c))
        i += 1
    return re.fullmatch("".join(out), value, 0 if case else re.I) is not None


def action_matches(patterns, action):
    return any(glob(p, action, case=False) for p in as_list(patterns))


def arn_matches(pattern, arn):
    """Resource element matching: "*" alone matches anything; otherwise the
    six colon-separated parts match one by one (the last keeps its colons)."""
    if pattern == "*":
        return True
    pp, ap = pattern.split(":", 5), arn.split(":", 5)
    if len(pp) != 6 or len(ap) != 6:
        return glob(pattern, arn)
    return all(glob(p, a) for p, a in zip(pp, ap))


def applies(st, action, resource, ctx):
    try:
        if "Action" in st:
            if not action_matches(st["Action"], action):
                return False
        elif action_matches(st.get("NotAction", []), action):
            return False
        if "Resource" in st:
            if not any(arn_matches(ctx.substitute(p, True), resource) for p in as_list(st["Resource"])):
                return False
        elif "NotResource" in st:
            if any(arn_matches(ctx.substitute(p, True), resource) for p in as_list(st["NotResource"])):
                return False
        return conditions_hold(st.get("Condition", {}), ctx)
    except Unresolved:
        return False


def principal_matches(principal, arn):
    """A resource policy's Principal against the role arn (an assumed-role
    session of it): "*", {"AWS": "*"}, the role's ARN, its account's root
    or bare id."""
    if principal == "*":
        return True
    if not isinstance(principal, dict):
        return False
    account = arn.split(":")[4]
    for p in as_list(principal.get("AWS", [])):
        if p in ("*", arn, account) or p == f"arn:{arn.split(':')[1]}:iam::{account}:root":
            return True
    return False


def evaluate_resource_policy(statements, principal_arn, action, resource, context=None):
    """Decision of a resource-based policy (bucket, topic) for a principal of
    another account: it must allow the call itself (the identity policy's
    allow is not enough across accounts), and an explicit deny wins."""
    ctx = Context(context or {})
    mine = [st for st in statements if principal_matches(st.get("Principal"), principal_arn)]
    deny = first_applying(mine, "Deny", action, resource, ctx)
    if deny is not None:
        return Decision(False, f"explicit deny in the resource policy: {sid(deny)}", deny)
    allow = first_applying(mine, "Allow", action, resource, ctx)
    if allow is None:
        return Decision(False, "the resource policy does not allow it (another account's principal)")
    return Decision(True, f"allowed by the resource policy's {sid(allow)}", allow)


# --- conditions ----------------------------------------------------------------------

def _date(v):
    v = str(v)
    if re.fullmatch(r"\d+(\.\d+)?", v):
        return datetime.datetime.fromtimestamp(float(v), datetime.timezone.utc)
    d = datetime.datetime.fromisoformat(v.replace("Z", "+00:00"))
    return d if d.tzinfo else d.replace(tzinfo=datetime.timezone.utc)


def _num(v):
    return float(v)


# base operator -> (compare(policy value, request value), negated)
OPERATORS = {
    "StringEquals": (lambda p, r: p == r, False),
    "StringNotEquals": (lambda p, r: p == r, True),
    "StringEqualsIgnoreCase": (lambda p, r: p.lower() == r.lower(), False),
    "StringNotEqualsIgnoreCase": (lambda p, r: p.lower() == r.lower(), True),
    "StringLike": (lambda p, r: glob(p, r), False),
    "StringNotLike": (lambda p, r: glob(p, r), True),
    "ArnEquals": (lambda p, r: arn_matches(p, r), False),
    "ArnLike": (lambda p, r: arn_matches(p, r), False),
    "ArnNotEquals": (lambda p, r: arn_matches(p, r), True),
    "ArnNotLike": (lambda p, r: arn_matches(p, r), True),
    "Bool": (lambda p, r: p.lower() == r.lower(), False),
    "NumericEquals": (lambda p, r: _num(r) == _num(p), False),
    "NumericNotEquals": (lambda p, r: _num(r) == _num(p), True),
    "NumericLessThan": (lambda p, r: _num(r) < _num(p), False),
    "NumericLessThanEquals": (lambda p, r: _num(r) <= _num(p), False),
    "NumericGreaterThan": (lambda p, r: _num(r) > _num(p), False),
    "NumericGreaterThanEquals": (lambda p, r: _num(r) >= _num(p), False),
    "DateEquals": (lambda p, r: _date(r) == _date(p), False),
    "DateNotEquals": (lambda p, r: _date(r) == _date(p), True),
    "DateLessThan": (lambda p, r: _date(r) < _date(p), False),
    "DateLessThanEquals": (lambda p, r: _date(r) <= _date(p), False),
    "DateGreaterThan": (lambda p, r: _date(r) > _date(p), False),
    "DateGreaterThanEquals": (lambda p, r: _date(r) >= _date(p), False),
}


def conditions_hold(block, ctx):
    for op, pairs in block.items():
        for key, wanted in pairs.items():
            if not condition_holds(op, key, as_list(wanted), ctx):
                return False
    return True


def condition_holds(op, key, wanted, ctx):
    if op == "Null":
        return (not ctx.has(key)) == (str(wanted[0]).lower() == "true")
    set_op = None
    if ":" in op:
        set_op, op = op.split(":", 1)
    if_exists = op.endswith("IfExists")
    base = op[:-len("IfExists")] if if_exists else op
    if base not in OPERATORS:
        raise ValueError(f"condition operator {op} is not known to iam_eval")
    compare, negated = OPERATORS[base]
    values = ctx.get(key)
    if values is None:
        # A missing key: ...IfExists holds; ForAllValues holds (empty set);
        # a negated operator holds (nothing equals the values); others fail.
        return if_exists or set_op == "ForAllValues" or (negated and set_op is None)
    needs_pattern = base.startswith("StringLike") or base.startswith("StringNotLike") \
        or base.startswith("Arn")
    wanted = [ctx.substitute(w, needs_pattern) for w in wanted]

    def one(value):
        hit = any(compare(w, value) for w in wanted)
        return not hit if negated else hit
    if set_op == "ForAllValues":
        return all(one(v) for v in values)
    if set_op == "ForAnyValue":
        return any(one(v) for v in values)
    return all(one(v) for v in values) if negated else any(one(v) for v in values)
