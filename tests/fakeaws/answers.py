"""answers — the operations the fake answers itself because moto 5.2.1 lacks
them or gets them wrong; every other request goes to moto unchanged.

  ec2  GetConsoleScreenshot          moto: not implemented
  ec2  Describe{NetworkInterfaces,Instances,Volumes} with a filter moto rejects
       (EC2_FILTERS: attachment.status on ENIs, ...; DescribeVolumes'
       attachment.status works in moto): moto answers the rest, the fake filters
  ssm  DescribeInstanceInformation   moto: not implemented
  ssm  SendCommand, GetCommandInvocation, ListCommandInvocations
       moto: Success at once, empty output, no S3 output, any instance accepted,
       ListCommandInvocations not implemented
  s3   GetBucketPolicyStatus         moto: always an empty PolicyStatus
  ec2  ModifyNetworkInterfaceAttribute  moto: the instance's launch groups stay on
       every attached ENI; the fake makes the instance's groups follow its primary ENI

Each handler takes (req, ctx) and returns a wire.Response, or None to forward.
ctx gives .state (State), .client(service, req) (boto3, straight to moto) and
.forward(req)."""

import json
import re
import threading
import time
import uuid
import xml.etree.ElementTree as ET
from datetime import datetime, timezone
from fnmatch import fnmatchcase
from urllib.parse import urlencode

from botocore.exceptions import BotoCoreError, ClientError

import wire

ACCOUNT = "123456789012"
# A real 1x1 PNG: ImageData is "the data that comprises the image", base64.
SCREENSHOT = ("iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk"
              "YPhfDwAChwGA60e6kgAAAABJRU5ErkJggg==")
PLUGINS = {"AWS-RunShellScript": "aws:runShellScript",
           "AWS-RunPowerShellScript": "aws:runPowerShellScript"}
DEFAULT_RESULT = {"status": "Success", "stdout": None, "stderr": "",
                  "response_code": 0, "pending_polls": 0}


class State:
    """What the fake remembers between requests; cleared by /__fake/reset."""

    def __init__(self):
        self.lock = threading.Lock()
        self.reset()

    def reset(self):
        with self.lock:
            self.managed = {}          # instance id -> {"ping": ..., "since": epoch}
            self.commands = {}         # command id -> record (see send_command)
            self.result = dict(DEFAULT_RESULT)
            self.screenshot_error = None  # {"code": ..., "message": ...}


def _relay(req, exc):
    """A ClientError from the fake's own call to moto, in req's protocol."""
    if isinstance(exc, BotoCoreError):
        return wire.error(req, 500, "InternalError", str(exc))
    err = exc.response.get("Error", {})
    status = exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode", 400)
    return wire.error(req, status, err.get("Code", "InternalError"), err.get("Message", ""))


def _json(req):
    try:
        value = json.loads(req.body or b"{}")
    except ValueError:
        return None
    return value if isinstance(value, dict) else None


# --- EC2 ---------------------------------------------------------------------

def get_console_screenshot(req, ctx):
    iid = req.params.get("InstanceId")
    if not iid:
        return wire.error(req, 400, "MissingParameter",
                          "The request must contain the parameter InstanceId")
    try:
        ctx.client("ec2", req).describe_instances(InstanceIds=[iid])
    except (ClientError, BotoCoreError) as exc:
        return _relay(req, exc)
    with ctx.state.lock:
        fail = ctx.state.screenshot_error
    if fail:
        return wire.error(req, 400, fail["code"], fail["message"])
    rid = wire.request_id()
    body = ('<?xml version="1.0" encoding="UTF-8"?>\n'
            '<GetConsoleScreenshotResponse xmlns="http://ec2.amazonaws.com/doc/2016-11-15/">'
            f"<requestId>{rid}</requestId><instanceId>{iid}</instanceId>"
            f"<imageData>{SCREENSHOT}</imageData></GetConsoleScreenshotResponse>")
    return wire.xml_response(200, body, rid)


# Filters moto 5.2.1 rejects with FilterNotImplementedError (an HTML 500). The
# fake takes them out of the request, lets moto answer the rest, and applies
# them to moto's XML itself. action -> (item sets, (parent set, child that
# must remain) or None, {filter: path of the value inside an item}).
EC2_FILTERS = {
    "DescribeNetworkInterfaces": ("networkInterfaceSet", None, {
        "attachment.status": "attachment/status",
        "attachment.device-index": "attachment/deviceIndex",
        "attachment.delete-on-termination": "attachment/deleteOnTermination"}),
    "DescribeVolumes": ("volumeSet", None, {
        "attachment.delete-on-termination": "attachmentSet/item/deleteOnTermination"}),
    "DescribeInstances": ("reservationSet/item/instancesSet",
                          ("reservationSet", "instancesSet/item"), {
        "network-interface.attachment.status": "networkInterfaceSet/item/attachment/status",
        "network-interface.network-interface-id": "networkInterfaceSet/item/networkInterfaceId",
        "iam-instance-profile.arn": "iamInstanceProfile/arn"}),
}
_FILTER_RE = re.compile(r"Filter\.(\d+)\.(Name|Value\.(\d+))$")


def _split_filters(params, ours):
    """(params with our filters taken out and the rest renumbered from 1, as
    EC2 requires, [(name, [values])] of ours)."""
    others, filters = [], {}
    for key, value in params:
        m = _FILTER_RE.match(key)
        if not m:
            others.append((key, value))
            continue
        f = filters.setdefault(int(m[1]), {"name": None, "values": []})
        if m[2] == "Name":
            f["name"] = value
        else:
            f["values"].append((int(m[3]), value))
    mine, kept = [], []
    for _, f in sorted(filters.items()):
        values = [v for _, v in sorted(f["values"])]
        (mine if f["name"] in ours else kept).append((f["name"], values))
    for i, (name, values) in enumerate(kept, 1):
        others.append((f"Filter.{i}.Name", name))
        others += [(f"Filter.{i}.Value.{j}", v) for j, v in enumerate(values, 1)]
    return others, mine


def _with_params(req, params):
    if req.params_in_body():
        return wire.Request(req.method, req.target, req.headers, urlencode(params).encode())
    return wire.Request(req.method, req.path + "?" + urlencode(params), req.headers, req.body)


def _filter_xml(body, spec, mine):
    sets, prune, paths = spec
    root = ET.fromstring(body)
    ns = root.tag[1:].partition("}")[0] if root.tag.startswith("{") else ""

    def q(path):
        return "/".join(f"{{{ns}}}{p}" if ns else p for p in path.split("/"))

    def keep(item):
        return all(any(fnmatchcase(e.text or "", v) for e in item.findall(q(paths[name]))
                       for v in values) for name, values in mine)
    for container in root.findall(q(sets)):
        for item in container.findall(q("item")):
            if not keep(item):
                container.remove(item)
    if prune:
        for parent in root.findall(q(prune[0])):
            for item in parent.findall(q("item")):
                if item.find(q(prune[1])) is None:
                    parent.remove(item)
    # default_namespace keeps moto's xmlns="..." instead of ns0: prefixes,
    # which a parser without namespace support (expat as used) would trip on.
    text = ET.tostring(root, encoding="unicode", default_namespace=ns or None)
    return ('<?xml version="1.0" encoding="UTF-8"?>\n' + text).encode()


def ec2_filters(req, ctx):
    spec = EC2_FILTERS[req.action]
    params, mine = _split_filters(req.form_params(), spec[2])
    if not mine:
        return None
    resp = ctx.forward(_with_params(req, params), resign=True)
    if resp.status == 200:
        resp.body = _filter_xml(resp.body, spec, mine)
    return resp


# --- SSM ---------------------------------------------------------------------

# DescribeInstanceInformation filter keys -> the field they select on.
INFO_FIELDS = {"InstanceIds": "InstanceId", "PingStatus": "PingStatus",
               "PlatformTypes": "PlatformType", "ResourceType": "ResourceType",
               "AgentVersion": "AgentVersion"}


def _info(iid, reg):
    return {"InstanceId": iid, "PingStatus": reg["ping"], "LastPingDateTime": reg["since"],
            "AgentVersion": "3.3.987.0", "IsLatestVersion": True, "PlatformType": "Linux",
            "PlatformName": "Amazon Linux", "PlatformVersion": "2023",
            "ResourceType": "EC2Instance", "AssociationStatus": "Success",
            "ComputerName": f"ip-{iid[2:10]}.ec2.internal"}


def describe_instance_information(req, ctx):
    args = _json(req)
    if args is None:
        return wire.error(req, 400, "SerializationException", "Start of structure or map found where not expected.")
    filters = [(f.get("key"), f.get("valueSet", [])) for f in args.get("InstanceInformationFilterList", [])]
    filters += [(f.get("Key"), f.get("Values", [])) for f in args.get("Filters", [])]
    for key, _ in filters:
        if key not in INFO_FIELDS:
            return wire.error(req, 400, "InvalidFilterKey", f"The filter key {key} is not valid.")
    with ctx.state.lock:
        items = [_info(i, r) for i, r in sorted(ctx.state.managed.items())]
    items = [it for it in items
             if all(it[INFO_FIELDS[k]] in values for k, values in filters)]
    size = args.get("MaxResults", 50)
    if not isinstance(size, int) or not 5 <= size <= 50:
        return wire.error(req, 400, "ValidationException",
                          "MaxResults must be between 5 and 50.")
    token = args.get("NextToken") or "0"
    if not token.isdigit():
        return wire.error(req, 400, "InvalidNextToken", "The specified token is not valid.")
    start = int(token)
    out = {"InstanceInformationList": items[start:start + size]}
    if start + size < len(items):
        out["NextToken"] = str(start + size)
    return wire.json_response(200, out)


def _iso(epoch):
    return datetime.fromtimestamp(epoch, timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


def _output_key(cmd, iid, stream):
    plugin = cmd["plugin"].replace(":", "")
    prefix = cmd["OutputS3KeyPrefix"].rstrip("/")
    key = f"{cmd['CommandId']}/{iid}/{plugin}/0.{plugin}/{stream}"
    return f"{prefix}/{key}" if prefix else key


def _output_url(cmd, iid, stream):
    if not cmd["OutputS3BucketName"]:
        return ""
    return (f"https://s3.us-east-1.amazonaws.com/{cmd['OutputS3BucketName']}/"
            f"{_output_key(cmd, iid, stream)}")


def _write_output(ctx, req, cmd):
    """What the SSM agent does: each non-empty stream to the bucket, at
    prefix/command/instance/plugin/0.plugin/stdout|stderr."""
    if not cmd["OutputS3BucketName"]:
        return
    s3 = ctx.client("s3", req)
    for iid, inv in cmd["invocations"].items():
        for stream in ("stdout", "stderr"):
            if inv[stream]:
                key = _output_key(cmd, iid, stream)
                status = 200
                try:
                    s3.put_object(Bucket=cmd["OutputS3BucketName"], Body=inv[stream].encode(),
                                  Key=key)
                except (ClientError, BotoCoreError) as exc:  # the agent's failure is not the caller's
                    status = 0
                    print(f"fakeaws: SSM output to S3 failed: {exc}", flush=True)
                # In AWS the agent signs this with the instance profile's credentials.
                ctx.record({"method": "PUT", "path": f"/{cmd['OutputS3BucketName']}/{key}",
                            "query": "", "service": "s3", "action": "PutObject", "target": None,
                            "had_auth": True, "amz_date": None, "key": None, "params": {},
                            "iam_params": {}, "region": None,
                            "principal": "instance", "instance_id": iid, "fault": None,
                            "auth": None, "status": status})


PUBLIC_COMMAND = ("CommandId", "DocumentName", "DocumentVersion", "Comment", "ExpiresAfter",
                  "Parameters", "InstanceIds", "Targets", "RequestedDateTime", "Status",
                  "StatusDetails", "OutputS3Region", "OutputS3BucketName", "OutputS3KeyPrefix",
                  "MaxConcurrency", "MaxErrors", "TargetCount", "CompletedCount", "ErrorCount",
                  "DeliveryTimedOutCount", "ServiceRole", "NotificationConfig",
                  "CloudWatchOutputConfig", "TimeoutSeconds")


def _new_command(args, result):
    now = time.time()
    commands = args.get("Parameters", {}).get("commands", [])
    # stdout defaults to the command lines themselves, so a test can see what ran.
    stdout = result["stdout"] if result["stdout"] is not None else "".join(c + "\n" for c in commands)
    invocation = {"stdout": stdout, "stderr": result["stderr"], "status": result["status"],
                  "code": result["response_code"], "polls_left": result["pending_polls"]}
    return {
        "CommandId": str(uuid.uuid4()), "DocumentName": args["DocumentName"],
        "DocumentVersion": args.get("DocumentVersion", "$DEFAULT"),
        "Comment": args.get("Comment", ""), "ExpiresAfter": now + 3600,
        "Parameters": args.get("Parameters", {}), "InstanceIds": args["InstanceIds"],
        "Targets": [], "RequestedDateTime": now, "Status": "Pending", "StatusDetails": "Pending",
        "OutputS3Region": "us-east-1", "OutputS3BucketName": args.get("OutputS3BucketName", ""),
        "OutputS3KeyPrefix": args.get("OutputS3KeyPrefix", ""), "MaxConcurrency": "50",
        "MaxErrors": "0", "TargetCount": len(args["InstanceIds"]), "CompletedCount": 0,
        "ErrorCount": 0, "DeliveryTimedOutCount": 0, "ServiceRole": "",
        "NotificationConfig": {"NotificationArn": "", "NotificationEvents": [], "NotificationType": ""},
        "CloudWatchOutputConfig": {"CloudWatchLogGroupName": "", "CloudWatchOutputEnabled": False},
        "TimeoutSeconds": args.get("TimeoutSeconds", 3600),
        "plugin": PLUGINS.get(args["DocumentName"], "aws:runShellScript"),
        "invocations": {iid: dict(invocation) for iid in args["InstanceIds"]},
    }


def send_command(req, ctx):
    args = _json(req)
    if args is None or not args.get("DocumentName"):
        return wire.error(req, 400, "ValidationException", "DocumentName is required.")
    ids = args.get("InstanceIds") or []
    if not ids:
        return wire.error(req, 400, "InvalidInstanceId", "InstanceIds is required: Targets are not supported by the fake.")
    with ctx.state.lock:
        bad = [i for i in ids if ctx.state.managed.get(i, {}).get("ping") != "Online"]
        if bad:  # AWS: only instances whose agent is online can receive commands
            return wire.error(req, 400, "InvalidInstanceId",
                              f"Instances [[{', '.join(bad)}]] not in a valid state for account {ACCOUNT}")
        cmd = _new_command(args, ctx.state.result)
        ctx.state.commands[cmd["CommandId"]] = cmd
    _write_output(ctx, req, cmd)
    return wire.json_response(200, {"Command": {k: cmd[k] for k in PUBLIC_COMMAND}})


def _observe(cmd, iid):
    """An invocation's status now: InProgress for its first pending_polls looks."""
    inv = cmd["invocations"][iid]
    if inv["polls_left"] > 0:
        inv["polls_left"] -= 1
        return "InProgress", -1
    return inv["status"], inv["code"]


def _invocation(cmd, iid):
    inv = cmd["invocations"][iid]
    status, code = _observe(cmd, iid)
    done = status != "InProgress"
    start = cmd["RequestedDateTime"]
    return {
        "CommandId": cmd["CommandId"], "InstanceId": iid, "Comment": cmd["Comment"],
        "DocumentName": cmd["DocumentName"], "DocumentVersion": cmd["DocumentVersion"],
        "PluginName": cmd["plugin"], "ResponseCode": code,
        "ExecutionStartDateTime": _iso(start), "ExecutionElapsedTime": "PT0.05S",
        "ExecutionEndDateTime": _iso(start + 0.05) if done else "",
        "Status": status, "StatusDetails": status,
        "StandardOutputContent": inv["stdout"] if done else "",
        "StandardOutputUrl": _output_url(cmd, iid, "stdout"),
        "StandardErrorContent": inv["stderr"] if done else "",
        "StandardErrorUrl": _output_url(cmd, iid, "stderr"),
        "CloudWatchOutputConfig": cmd["CloudWatchOutputConfig"],
    }


def get_command_invocation(req, ctx):
    args = _json(req) or {}
    with ctx.state.lock:
        cmd = ctx.state.commands.get(args.get("CommandId"))
        if cmd is None:
            return wire.error(req, 400, "InvalidCommandId", "")
        if args.get("InstanceId") not in cmd["invocations"]:
            return wire.error(req, 400, "InvocationDoesNotExist", "")
        if args.get("PluginName") not in (None, cmd["plugin"]):
            return wire.error(req, 400, "InvalidPluginName", "")
        out = _invocation(cmd, args["InstanceId"])
    return wire.json_response(200, out)


def _listed(cmd, iid, details):
    inv = _invocation(cmd, iid)
    out = {"CommandId": cmd["CommandId"], "InstanceId": iid, "InstanceName": "",
           "Comment": cmd["Comment"], "DocumentName": cmd["DocumentName"],
           "DocumentVersion": cmd["DocumentVersion"], "RequestedDateTime": cmd["RequestedDateTime"],
           "Status": inv["Status"], "StatusDetails": inv["StatusDetails"],
           "StandardOutputUrl": inv["StandardOutputUrl"], "StandardErrorUrl": inv["StandardErrorUrl"],
           "CommandPlugins": [], "ServiceRole": "", "NotificationConfig": cmd["NotificationConfig"],
           "CloudWatchOutputConfig": cmd["CloudWatchOutputConfig"]}
    if details:
        out["CommandPlugins"] = [{
            "Name": cmd["plugin"], "Status": inv["Status"], "StatusDetails": inv["StatusDetails"],
            "ResponseCode": inv["ResponseCode"], "Output": inv["StandardOutputContent"],
            "StandardOutputUrl": inv["StandardOutputUrl"], "StandardErrorUrl": inv["StandardErrorUrl"],
            "OutputS3Region": cmd["OutputS3Region"], "OutputS3BucketName": cmd["OutputS3BucketName"],
            "OutputS3KeyPrefix": cmd["OutputS3KeyPrefix"]}]
    return out


def list_command_invocations(req, ctx):
    args = _json(req) or {}
    with ctx.state.lock:
        cmds = [c for c in ctx.state.commands.values()
                if args.get("CommandId") in (None, c["CommandId"])]
        if args.get("CommandId") and not cmds:
            return wire.error(req, 400, "InvalidCommandId", "")
        out = [_listed(c, i, args.get("Details", False)) for c in cmds for i in c["InstanceIds"]
               if args.get("InstanceId") in (None, i)]
    return wire.json_response(200, {"CommandInvocations": out})


# --- S3 ----------------------------------------------------------------------

def _principal_is_anyone(principal):
    if principal == "*":
        return True
    if isinstance(principal, dict):
        aws = principal.get("AWS")
        return aws == "*" or (isinstance(aws, list) and "*" in aws)
    return False


def policy_is_public(doc):
    """AWS's rule, reduced: public when a statement Allows a wildcard principal
    and no Condition restricts it to fixed values (any Condition counts here)."""
    statements = doc.get("Statement", [])
    if isinstance(statements, dict):
        statements = [statements]
    return any(s.get("Effect") == "Allow" and not s.get("Condition")
               and _principal_is_anyone(s.get("Principal")) for s in statements)


def get_bucket_policy_status(req, ctx):
    try:
        policy = ctx.client("s3", req).get_bucket_policy(Bucket=req.bucket())["Policy"]
    except (ClientError, BotoCoreError) as exc:  # NoSuchBucket, NoSuchBucketPolicy: as AWS
        return _relay(req, exc)
    public = "true" if policy_is_public(json.loads(policy)) else "false"
    body = ('<?xml version="1.0" encoding="UTF-8"?>\n'
            '<PolicyStatus xmlns="http://s3.amazonaws.com/doc/2006-03-01/">'
            f"<IsPublic>{public}</IsPublic></PolicyStatus>")
    return wire.s3_xml_response(200, body)


# --- EC2: an instance's groups follow its primary ENI ----------------------------

_GROUP_PARAM = re.compile(r"SecurityGroupId\.(\d+)$")


def modify_network_interface_attribute(req, ctx):
    """moto reports an attached ENI's groups as its own plus the groups the
    instance was launched with, so moving ENIs to another group never shows.
    In AWS an instance's groups are its primary ENI's: once moto has changed
    the groups of an ENI at device index 0, the fake sets the instance's
    groups to the same (ModifyInstanceAttribute Groups, which moto keeps
    apart). Used by the isolation tests."""
    resp = ctx.forward(req)
    groups = sorted((int(m[1]), v) for k, v in req.form_params() if (m := _GROUP_PARAM.match(k)))
    eni_id = req.params.get("NetworkInterfaceId")
    if resp.status != 200 or not groups or not eni_id:
        return resp
    try:
        ec2 = ctx.client("ec2", req)
        eni = ec2.describe_network_interfaces(NetworkInterfaceIds=[eni_id])["NetworkInterfaces"][0]
        attachment = eni.get("Attachment") or {}
        if attachment.get("DeviceIndex") == 0 and attachment.get("InstanceId"):
            ec2.modify_instance_attribute(InstanceId=attachment["InstanceId"], Groups=[v for _, v in groups])
    except (ClientError, BotoCoreError) as exc:
        return _relay(req, exc)
    return resp


HANDLERS = {
    ("ec2", "GetConsoleScreenshot"): get_console_screenshot,
    ("ec2", "DescribeNetworkInterfaces"): ec2_filters,
    ("ec2", "DescribeVolumes"): ec2_filters,
    ("ec2", "DescribeInstances"): ec2_filters,
    ("ec2", "ModifyNetworkInterfaceAttribute"): modify_network_interface_attribute,
    ("ssm", "DescribeInstanceInformation"): describe_instance_information,
    ("ssm", "SendCommand"): send_command,
    ("ssm", "GetCommandInvocation"): get_command_invocation,
    ("ssm", "ListCommandInvocations"): list_command_invocations,
    ("s3", "GetBucketPolicyStatus"): get_bucket_policy_status,
}


def dispatch(req, ctx):
    handler = HANDLERS.get((req.service, req.action))
    return handler(req, ctx) if handler else None
