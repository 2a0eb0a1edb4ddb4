#!/usr/bin/env python3
"""Generate tests/vectors/codec_build.lua: what botocore sends for given params.

Each case is (name, service, operation, params). The params are serialized
with botocore's own serializer (botocore.serialize.create_serializer) over the
installed service model, and the result is written, with the same params as a
Lua table, for tests/unit/test_codec_build.c to compare with
codec_build_request's output byte for byte.

How botocore's output is turned into deadbolt's aws_request form:
  - params are first put in the model's member order (deadbolt serializes in
    model order; botocore in the order of the dict), map keys sorted;
  - query/ec2: the body dict is encoded as botocore's AWSPreparedRequest does
    (urllib.parse.urlencode, doseq=True);
  - json: botocore's body is re-encoded compactly and with UTF-8 as is
    (json.dumps(..., separators=(',', ':'), ensure_ascii=False)): the same
    JSON value, deadbolt's spelling;
  - rest-xml (S3): the bucket is taken out of the path (deadbolt's client
    puts it in the host or in front of the path); the requestUri's own query
    ("?publicAccessBlock") comes first in the query, then the querystring
    members percent-encoded (botocore.utils.percent_encode_sequence), as
    botocore.awsrequest.prepare_request_dict appends them; Content-MD5 is
    computed here (base64 MD5 of the body) for operations whose model
    requires a checksum, as botocore's MD5 handler does.
Avoid operations that botocore fills with a random idempotency token, or pass
the token explicitly.

Usage: python3 tools/gen_codec_vectors.py [--out tests/vectors/codec_build.lua]
"""

import argparse
import base64
import hashlib
import json
import os
import re
import sys
from urllib.parse import urlencode

import botocore.session
from botocore.serialize import create_serializer
from botocore.utils import percent_encode_sequence

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

POLICY = json.dumps({
    "Version": "2012-10-17",
    "Statement": [{"Effect": "Deny", "Action": "*", "Resource": "*",
                   "Condition": {"DateLessThan": {"aws:TokenIssueTime": "2024-05-01T12:00:00Z"}}}],
})

# S3 keys a playbook (or a finding's attacker-chosen names) could hand over.
HOSTILE_KEYS = [
    "../../other-bucket/x", "a/./b", "./a", "a/..", ".", "..", "%2e%2e/x", "%2F%2e%2E%5c",
    "a?b#c", "?x=1&y", "#frag", "a\x01b\x7fc", "tab\tnl\ncr\r", "sp ace+plus",
    "/lead//double//", "trailing/", "ünï/日本 ~!*'()", "a;b=c&d@e:f,g$h",
    "[x]{y}|z^`\"<>\\", "..\\..\\win", "%", "%zz", "\u2024\u2025/\uff0e\uff0e",
]

CASES = [
    # ---- ec2 -------------------------------------------------------------
    ("ec2 describe instances by id and filter", "ec2", "DescribeInstances", {
        "InstanceIds": ["i-0123456789abcdef0", "i-0fedcba9876543210"],
        "Filters": [{"Name": "instance-state-name", "Values": ["running", "stopped"]},
                    {"Name": "tag:Name", "Values": ["web server"]}],
        "DryRun": False,
    }),
    ("ec2 describe instances, no params", "ec2", "DescribeInstances", {}),
    ("ec2 create snapshot with tags and odd characters", "ec2", "CreateSnapshot", {
        "VolumeId": "vol-0abc",
        "Description": "deadbolt evidence: finding 1a2b&c=d+e/f ü~",
        "TagSpecifications": [{"ResourceType": "snapshot",
                               "Tags": [{"Key": "deadbolt:finding", "Value": "abc"},
                                        {"Key": "Name", "Value": ""}]}],
    }),
    ("ec2 modify instance attribute groups", "ec2", "ModifyInstanceAttribute", {
        "InstanceId": "i-1", "Groups": ["sg-1", "sg-2"],
    }),
    ("ec2 modify instance attribute boolean value", "ec2", "ModifyInstanceAttribute", {
        "InstanceId": "i-1", "DisableApiTermination": {"Value": True},
    }),
    ("ec2 authorize ingress with ip permissions", "ec2", "AuthorizeSecurityGroupIngress", {
        "GroupId": "sg-1",
        "IpPermissions": [{"IpProtocol": "tcp", "FromPort": 22, "ToPort": 22,
                           "IpRanges": [{"CidrIp": "10.0.0.0/8", "Description": "ssh"}],
                           "UserIdGroupPairs": [{"GroupId": "sg-2"}]}],
    }),
    ("ec2 revoke egress all traffic", "ec2", "RevokeSecurityGroupEgress", {
        "GroupId": "sg-1",
        "IpPermissions": [{"IpProtocol": "-1", "IpRanges": [{"CidrIp": "0.0.0.0/0"}],
                           "Ipv6Ranges": [{"CidrIpv6": "::/0"}]}],
    }),
    ("ec2 create security group", "ec2", "CreateSecurityGroup", {
        "GroupName": "deadbolt-quarantine", "Description": "no traffic", "VpcId": "vpc-1",
        "TagSpecifications": [{"ResourceType": "security-group",
                               "Tags": [{"Key": "k", "Value": "v"}]}],
    }),
    ("ec2 create and delete tags", "ec2", "CreateTags", {
        "Resources": ["i-1", "vol-2"], "Tags": [{"Key": "quarantined", "Value": "true"}],
    }),
    ("ec2 delete tags", "ec2", "DeleteTags", {"Resources": ["i-1"], "Tags": [{"Key": "a"}]}),
    ("ec2 describe snapshots, empty list sends nothing", "ec2", "DescribeSnapshots", {
        "OwnerIds": ["self"], "SnapshotIds": [], "MaxResults": 5,
    }),
    ("ec2 console screenshot", "ec2", "GetConsoleScreenshot", {"InstanceId": "i-1", "WakeUp": True}),
    ("ec2 iam profile associations", "ec2", "DescribeIamInstanceProfileAssociations", {
        "Filters": [{"Name": "instance-id", "Values": ["i-1"]}],
    }),
    ("ec2 associate iam profile", "ec2", "AssociateIamInstanceProfile", {
        "IamInstanceProfile": {"Arn": "arn:aws:iam::123456789012:instance-profile/q"},
        "InstanceId": "i-1",
    }),
    ("ec2 disassociate iam profile", "ec2", "DisassociateIamInstanceProfile", {
        "AssociationId": "iip-assoc-1",
    }),
    ("ec2 network interfaces", "ec2", "DescribeNetworkInterfaces", {
        "Filters": [{"Name": "attachment.instance-id", "Values": ["i-1"]}],
    }),
    ("ec2 modify eni groups", "ec2", "ModifyNetworkInterfaceAttribute", {
        "NetworkInterfaceId": "eni-1", "Groups": ["sg-q"],
    }),
    ("ec2 describe security groups", "ec2", "DescribeSecurityGroups", {"GroupIds": ["sg-1"]}),
    ("ec2 describe volumes", "ec2", "DescribeVolumes", {
        "Filters": [{"Name": "attachment.instance-id", "Values": ["i-1"]}],
    }),
    # ---- query -----------------------------------------------------------
    ("iam put user policy", "iam", "PutUserPolicy", {
        "UserName": "alice", "PolicyName": "AWSRevokeOlderSessions", "PolicyDocument": POLICY,
    }),
    ("iam list access keys, no params", "iam", "ListAccessKeys", {}),
    ("iam update access key", "iam", "UpdateAccessKey", {
        "UserName": "alice", "AccessKeyId": "AKIAIOSFODNN7EXAMPLE", "Status": "Inactive",
    }),
    ("iam get role policy", "iam", "GetRolePolicy", {"RoleName": "r", "PolicyName": "p"}),
    ("autoscaling detach instances", "autoscaling", "DetachInstances", {
        "InstanceIds": ["i-1", "i-2"], "AutoScalingGroupName": "asg",
        "ShouldDecrementDesiredCapacity": False,
    }),
    ("autoscaling describe instances", "autoscaling", "DescribeAutoScalingInstances", {
        "InstanceIds": ["i-1"], "MaxRecords": 10,
    }),
    ("elb deregister instances", "elb", "DeregisterInstancesFromLoadBalancer", {
        "LoadBalancerName": "lb", "Instances": [{"InstanceId": "i-1"}, {"InstanceId": "i-2"}],
    }),
    ("elb describe load balancers, empty list", "elb", "DescribeLoadBalancers", {
        "LoadBalancerNames": [],
    }),
    ("elbv2 register targets", "elbv2", "RegisterTargets", {
        "TargetGroupArn": "arn:tg", "Targets": [{"Id": "i-1", "Port": 8080}, {"Id": "i-2"}],
    }),
    ("elbv2 describe target health", "elbv2", "DescribeTargetHealth", {
        "TargetGroupArn": "arn:tg", "Targets": [{"Id": "i-1"}],
    }),
    ("sns publish with message attributes", "sns", "Publish", {
        "TopicArn": "arn:aws:sns:us-east-1:123456789012:t",
        "Message": "line 1\nline 2 — ünïcode & <xml>",
        "Subject": "deadbolt: contained i-1",
        "MessageAttributes": {
            "severity": {"DataType": "Number", "StringValue": "8.5"},
            "blob": {"DataType": "Binary", "BinaryValue": b"\x00\x01\xfe\xff bytes"},
            "a-type": {"DataType": "String", "StringValue": "x y"},
        },
    }),
    ("sts get caller identity", "sts", "GetCallerIdentity", {}),
    ("sts assume role", "sts", "AssumeRole", {
        "RoleArn": "arn:aws:iam::123456789012:role/r", "RoleSessionName": "deadbolt",
        "DurationSeconds": 900, "PolicyArns": [{"arn": "arn:aws:iam::aws:policy/ReadOnlyAccess"}],
        "Tags": [{"Key": "k", "Value": "v"}],
    }),
    # ---- json ------------------------------------------------------------
    ("ssm send command", "ssm", "SendCommand", {
        "InstanceIds": ["i-1"], "DocumentName": "AWS-RunShellScript",
        "Comment": "quote \" backslash \\ tab \t newline \n bell \x07 é 日本",
        "TimeoutSeconds": 600,
        "Parameters": {"commands": ["uname -a", "ps aux"], "executionTimeout": ["60"]},
    }),
    ("ssm get command invocation", "ssm", "GetCommandInvocation", {
        "CommandId": "0b9a3c2e-1f4d-4c8e-9a7b-5d6e7f801234", "InstanceId": "i-1",
    }),
    ("ssm describe instance information", "ssm", "DescribeInstanceInformation", {
        "InstanceInformationFilterList": [{"key": "InstanceIds", "valueSet": ["i-1", "i-2"]}],
        "MaxResults": 10,
    }),
    ("ssm describe instance information, no params", "ssm", "DescribeInstanceInformation", {}),
    # ---- rest-xml --------------------------------------------------------
    ("s3 put public access block", "s3", "PutPublicAccessBlock", {
        "Bucket": "evidence-bucket",
        "PublicAccessBlockConfiguration": {"BlockPublicAcls": True, "IgnorePublicAcls": True,
                                           "BlockPublicPolicy": True,
                                           "RestrictPublicBuckets": False},
        "ExpectedBucketOwner": "123456789012",
    }),
    ("s3 put public access block, empty configuration", "s3", "PutPublicAccessBlock", {
        "Bucket": "b1", "PublicAccessBlockConfiguration": {},
    }),
    ("s3 get public access block", "s3", "GetPublicAccessBlock", {"Bucket": "my.bucket-1"}),
    ("s3 delete public access block", "s3", "DeletePublicAccessBlock", {
        "Bucket": "b", "ExpectedBucketOwner": "123456789012",
    }),
    ("s3 get bucket policy status", "s3", "GetBucketPolicyStatus", {"Bucket": "b"}),
    ("s3 put object", "s3", "PutObject", {
        "Bucket": "evidence", "Key": "i-1/2024 05/memory dump+1.json",
        "Body": b'{"a":1}\x00\xff\n', "ContentType": "application/json",
        "Metadata": {"finding-id": "abc", "deadbolt": "1"},
        "ServerSideEncryption": "aws:kms", "Tagging": "a=b&c=d",
    }),
    ("s3 head object", "s3", "HeadObject", {
        "Bucket": "evidence", "Key": "a/b~c", "VersionId": "v 1", "PartNumber": 2,
        "IfModifiedSince": "2024-01-02T03:04:05Z",
    }),
    ("s3 put object, SHA-256 checksum asked for", "s3", "PutObject", {
        "Bucket": "evidence", "Key": "k", "Body": b"locked evidence", "ChecksumAlgorithm": "SHA256",
    }),
    ("s3 put object, the caller's Content-MD5 kept", "s3", "PutObject", {
        "Bucket": "evidence", "Key": "k", "Body": b"x", "ContentMD5": "bm90IHRoZSByZWFsIG1kNQ==",
    }),
    ("s3 put object, the caller's SHA-256 value, and Content-MD5 beside it", "s3", "PutObject", {
        "Bucket": "evidence", "Key": "k", "Body": b"x",
        "ChecksumSHA256": "LQHDvbCldJTiItL/qR2O8SeB4yfHmPFcHu9KYyhR0tw=",
    }),
    ("s3 put object only if absent (If-None-Match: *)", "s3", "PutObject", {
        "Bucket": "evidence", "Key": "locks/i-1", "Body": b"{}", "IfNoneMatch": "*",
    }),
    # ---- rest-xml: hostile keys (issue 11, "parameters cannot escape") ------
    # {Key+} is greedy: '/' stays, every byte outside A-Z a-z 0-9 - _ . ~ is
    # %XX. So "." and ".." segments go as they are (S3 takes the path
    # literally; the client tells libcurl not to normalise it), a literal
    # "%2e" becomes "%252e", and '?', '#', control bytes and spaces cannot end
    # the path or change the request line.
    *[("s3 put object, hostile key " + repr(k), "s3", "PutObject",
       {"Bucket": "evidence", "Key": k, "Body": b"x"}) for k in HOSTILE_KEYS],
    *[("s3 head object, hostile key " + repr(k), "s3", "HeadObject",
       {"Bucket": "my.evidence", "Key": k, "VersionId": k}) for k in HOSTILE_KEYS],
]


def ordered(shape, value):
    """value with structure members in model order and map keys sorted."""
    if shape.type_name == "structure":
        return {k: ordered(shape.members[k], value[k]) for k in shape.members if k in value}
    if shape.type_name == "list":
        return [ordered(shape.member, v) for v in value]
    if shape.type_name == "map":
        return {k: ordered(shape.value, value[k])
                for k in sorted(value, key=lambda s: s.encode("utf-8"))}
    return value


def lua_string(v):
    data = v.encode("utf-8") if isinstance(v, str) else v
    out = []
    for b in data:
        ch = chr(b)
        if ch in '"\\':
            out.append("\\" + ch)
        elif 0x20 <= b < 0x7F:
            out.append(ch)
        else:
            out.append("\\%03d" % b)
    return '"' + "".join(out) + '"'


def lua(v, indent=""):
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, (int, float)):
        return repr(v)
    if isinstance(v, (str, bytes)):
        return lua_string(v)
    if isinstance(v, list):
        return "{ " + ", ".join(lua(x, indent) for x in v) + " }"
    if isinstance(v, dict):
        if not v:
            return "{}"
        inner = indent + "  "
        items = [f"{inner}[{lua_string(k)}] = {lua(x, inner)}," for k, x in v.items()]
        return "{\n" + "\n".join(items) + "\n" + indent + "}"
    raise TypeError(type(v))


def expected(session, service, op_name, params):
    model = session.get_service_model(service)
    op = model.operation_model(op_name)
    params = ordered(op.input_shape, params) if op.input_shape else params
    ser = create_serializer(model.metadata["protocol"], include_validation=True)
    r = ser.serialize_to_request(params, op)
    out = {"method": r["method"], "path": r["url_path"], "query": "", "bucket": "",
           "headers": dict(r["headers"])}
    protocol = model.metadata["protocol"]
    if protocol in ("query", "ec2"):
        out["body"] = urlencode(list(r["body"].items()), doseq=True).encode()
    elif protocol == "json":
        out["body"] = json.dumps(json.loads(r["body"]), separators=(",", ":"),
                                 ensure_ascii=False).encode()
    else:
        rest_xml(op, params, r, out)
    return params, out


def rest_xml(op, params, r, out):
    path, _, static_query = r["url_path"].partition("?")
    if op.http["requestUri"].startswith("/{Bucket}"):
        out["bucket"] = params["Bucket"]
        prefix = "/" + re.escape(params["Bucket"])  # bucket names need no encoding
        path = re.sub("^" + prefix, "", path) or "/"
    out["path"] = path
    query = [static_query] if static_query else []
    if r["query_string"]:
        query.append(percent_encode_sequence(r["query_string"]))
    out["query"] = "&".join(query)
    body = r["body"]
    out["body"] = body if isinstance(body, bytes) else body.encode()
    # deadbolt sends a checksum whenever the model takes one (httpChecksum,
    # required or not): Content-MD5 unless the caller gave one or chose an
    # algorithm (ChecksumAlgorithm), also beside a ChecksumXXX value given
    # alone. S3 Object Lock buckets refuse uploads without Content-MD5 or
    # x-amz-sdk-checksum-algorithm. botocore's default since 1.36 is a CRC32
    # for the same operations; deadbolt keeps Content-MD5.
    checksum = (op.http_checksum.get("requestChecksumRequired") or op.http_checksum_required
                or op.http_checksum.get("requestAlgorithmMember"))
    given = any(h.lower() == "content-md5" for h in out["headers"])
    alg = next((v for h, v in out["headers"].items()
                if h.lower() == "x-amz-sdk-checksum-algorithm"), None)
    if alg:  # as botocore's checksum handler does for the algorithm named
        out["headers"]["x-amz-checksum-" + alg.lower()] = checksum_of(alg, out["body"])
    elif checksum and not given:
        out["headers"]["Content-MD5"] = base64.b64encode(hashlib.md5(out["body"]).digest()).decode()


def checksum_of(alg, body):
    if alg in ("CRC32", "CRC32C"):
        from botocore.httpchecksum import CrtCrc32cChecksum, Crc32Checksum
        digest = (Crc32Checksum() if alg == "CRC32" else CrtCrc32cChecksum())
        digest.update(body)
        return base64.b64encode(digest.digest()).decode()
    return base64.b64encode(hashlib.new(alg.lower(), body).digest()).decode()


def render(cases):
    session = botocore.session.get_session()
    lines = ["-- tests/vectors/codec_build.lua — generated by tools/gen_codec_vectors.py — do not edit.",
             "-- What botocore's serializers produce for these params (see the script).",
             "return {"]
    for name, service, op_name, params in cases:
        params, out = expected(session, service, op_name, params)
        headers = {k: out["headers"][k] for k in sorted(out["headers"])}
        lines += ["  {",
                  f"    name = {lua_string(name)},",
                  f"    service = {lua_string(service)}, op = {lua_string(op_name)},",
                  f"    params = {lua(params, '    ')},",
                  f"    method = {lua_string(out['method'])}, path = {lua_string(out['path'])},",
                  f"    query = {lua_string(out['query'])}, bucket = {lua_string(out['bucket'])},",
                  f"    headers = {lua(headers, '    ')},",
                  f"    body = {lua_string(out['body'])},",
                  "  },"]
    lines.append("}")
    return "\n".join(lines) + "\n"


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--out", default=os.path.join(ROOT, "tests", "vectors", "codec_build.lua"))
    args = ap.parse_args()
    os.makedirs(os.path.dirname(args.out), exist_ok=True)
    with open(args.out, "w", encoding="utf-8") as f:
        f.write(render(CASES))
    return 0


if __name__ == "__main__":
    sys.exit(main())
