"""playbook_cases — shared by the playbook tests (test_playbook_*.py): GuardDuty
findings built from a world's ids, deadbolt runs with their journal read
back, the worlds the playbooks are tested on, and the world's state as boto3
sees it (never as deadbolt does)."""

import hashlib
import json
import os
import shutil
import tempfile
import types
import uuid
from datetime import timedelta

from harness.playbooks import test_playbooks
from harness.world import ACCOUNT, REGION
FORENSIC_COMMANDS = ["uname -a", "whoami", "netstat -ap", "lsof", "ps auxww", "last"]


# --- findings ----------------------------------------------------------------

def finding(ftype, resource, severity=5, role="TARGET", fid=None, sample=False):
    """A bare GuardDuty finding (the API's form) with the given resource."""
    fid = fid or uuid.uuid4().hex
    return {
        "schemaVersion": "2.0", "accountId": ACCOUNT, "region": REGION, "partition": "aws",
        "id": fid, "arn": f"arn:aws:guardduty:{REGION}:{ACCOUNT}:detector/d0/finding/{fid}",
        "type": ftype, "resource": resource, "severity": severity,
        "createdAt": "2024-03-11T08:19:31.419Z", "updatedAt": "2024-03-11T09:54:12.006Z",
        "title": ftype, "description": ftype,
        "service": {"serviceName": "guardduty", "detectorId": "d0", "resourceRole": role,
                    "archived": False, "count": 1, "eventFirstSeen": "2024-03-11T08:12:40Z",
                    "eventLastSeen": "2024-03-11T09:47:02Z",
                    "additionalInfo": {"sample": True} if sample else {}},
    }


def active_after_keys(world, doc, user):
    """doc with service.eventFirstSeen one second after the newest key of
    user was made: the keys already there count as older than the activity
    (moto stamps a key with the time it is created)."""
    newest = max(k["CreateDate"] for k in world.iam.list_access_keys(UserName=user)["AccessKeyMetadata"])
    doc["service"]["eventFirstSeen"] = (newest + timedelta(seconds=1)).strftime("%Y-%m-%dT%H:%M:%SZ")
    return doc


def envelope(bare):
    """The EventBridge event that carries a finding."""
    return {"version": "0", "id": str(uuid.uuid4()), "detail-type": "GuardDuty Finding",
            "source": "aws.guardduty", "account": ACCOUNT, "time": "2024-03-11T09:54:20Z",
            "region": REGION, "resources": [], "detail": bare}


def instance_resource(instance_id):
    return {"resourceType": "Instance", "instanceDetails": {
        "instanceId": instance_id, "instanceType": "t3.micro", "instanceState": "running",
        "availabilityZone": REGION + "a", "networkInterfaces": [], "tags": []}}


def bucket_detail(name, public):
    return {"arn": f"arn:aws:s3:::{name}", "name": name, "type": "Destination",
            "createdAt": 1693468800.123, "owner": {"id": "79a59df900b949e5"},
            "publicAccess": {"effectivePermission": "PUBLIC" if public else "NOT_PUBLIC"}}


def bucket_resource(buckets, resource_type="S3Bucket", key=None):
    """buckets: [(name, public)]."""
    res = {"resourceType": resource_type,
           "s3BucketDetails": [bucket_detail(n, p) for n, p in buckets]}
    if key:
        res["accessKeyDetails"] = key
    return res


def key_resource(user_type, user_name, access_key_id, principal_id=None):
    return {"resourceType": "AccessKey", "accessKeyDetails": {
        "accessKeyId": access_key_id, "principalId": principal_id or "AIDAEXAMPLE0000000001",
        "userName": user_name, "userType": user_type}}


# --- running deadbolt ----------------------------------------------------------

class Run:
    """One `deadbolt run` and what its journal says, finding by finding."""

    def __init__(self, rc, out, err, lines):
        self.rc, self.out, self.err, self.lines = rc, out, err, lines
        self.findings = []
        current = None
        for line in lines:
            event = line.get("event")
            if event == "run_start":
                current = {"start": line, "steps": {}, "calls": [], "cached": [], "saved": {},
                           "logs": [], "end": None}
                self.findings.append(current)
            elif current is None:
                continue
            elif event == "step":
                current["steps"][line["step"]] = line
                current["saved"].update(line.get("saved") or {})
            elif event == "aws_call":
                current["calls"].append(line)
            elif event == "aws_cached":  # an aws.cached read the engine answered: not sent
                current["cached"].append(line)
            elif event == "log":
                current["logs"].append(line["msg"])
            elif event == "run_end":
                current["end"] = line

    def only(self):
        assert len(self.findings) == 1, f"{len(self.findings)} findings in the journal"
        return self.findings[0]

    @property
    def outcome(self):
        return self.only()["end"]["outcome"]

    @property
    def reason(self):
        return self.only()["end"]["reason"]

    def calls(self, index=0):
        return self.findings[index]["calls"]

    def ops(self, index=0, access=None):
        return [c["op"] for c in self.calls(index) if access is None or c["access"] == access]

    def writes(self, index=0):
        return [(c["op"], c["params"]) for c in self.calls(index) if c["access"] == "write"]

    def saved(self, index=0):
        return self.findings[index]["saved"]

    def step_status(self, name, index=0):
        step = self.findings[index]["steps"].get(name)
        return step and step["status"]

    def describe(self):
        return f"rc={self.rc}\nstdout:\n{self.out}\nstderr:\n{self.err}"


def run(world, document, *flags, env=None, playbooks=None, timeout=120, journal=True):
    """Runs deadbolt on document (a finding, an event, or a list of them)
    and returns a Run with the journal read back. journal=False: no
    --journal, so the summary (the plan, in a dry run) is on stdout."""
    tmp = tempfile.mkdtemp(prefix="deadbolt-pb-")
    try:
        path = os.path.join(tmp, "finding.json")
        journal = os.path.join(tmp, "journal.jsonl") if journal else None
        with open(path, "w") as f:
            json.dump(document, f)
        args = ["run", *(["--journal", journal] if journal else []), *flags]
        if playbooks:
            args += ["--playbooks", playbooks]
        rc, out, err = world.deadbolt(*args, path, env=env, timeout=timeout)
        lines = []
        if journal and os.path.exists(journal):
            with open(journal) as f:
                lines = [json.loads(line) for line in f if line.strip()]
        return Run(rc, out, err, lines)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def playbooks_with_config(replacements):
    """A copy of the suite's playbooks (the shipped ones with the tests'
    config.lua, harness/playbooks.py) with config.lua edited: {old text: new
    text}. The caller removes the directory."""
    tmp = tempfile.mkdtemp(prefix="deadbolt-playbooks-")
    shutil.copytree(test_playbooks(), os.path.join(tmp, "playbooks"))
    path = os.path.join(tmp, "playbooks", "config.lua")
    with open(path) as f:
        text = f.read()
    for old, new in replacements.items():
        assert old in text, f"config.lua has no {old!r}"
        text = text.replace(old, new)
    with open(path, "w") as f:
        f.write(text)
    return os.path.join(tmp, "playbooks")


# --- worlds -----------------------------------------------------------------------

def notification_queue(world, name="deadbolt-notifications"):
    """An SNS topic with an SQS queue subscribed: (topic ARN, queue URL)."""
    topic = world.sns.create_topic(Name=name)["TopicArn"]
    sqs = world.client("sqs")
    url = sqs.create_queue(QueueName=name + "-q")["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    world.sns.subscribe(TopicArn=topic, Protocol="sqs", Endpoint=arn,
                        Attributes={"RawMessageDelivery": "true"})
    return topic, url


def notifications(world, url):
    """The messages published so far (raw delivery: the Message itself)."""
    sqs = world.client("sqs")
    got = []
    while True:
        batch = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10).get("Messages", [])
        if not batch:
            return got
        got += [m["Body"] for m in batch]
        for m in batch:
            sqs.delete_message(QueueUrl=url, ReceiptHandle=m["ReceiptHandle"])


def ec2_world(world, ssm=True):
    """The issue's EC2 world: an instance with two ENIs and two extra volumes,
    an instance profile, in an Auto Scaling group, behind a classic ELB and an
    ALB target group (two ports); an artifact bucket, a quarantine profile, a
    notification topic."""
    profile = world.instance_profile(name="web", role="web-role")
    # Named as its role, as template.yaml names them (the run finds the role by the profile's name).
    quarantine = world.instance_profile(name="deadbolt-quarantine", role="deadbolt-quarantine")
    inst = world.instance(enis=2, volumes=2, profile=profile.name)
    asg = world.asg(inst)
    elb = world.classic_elb(inst)
    tg = world.target_group(inst)
    # moto keeps one registration per target id and group, so "every port"
    # is shown with a second group, on another port.
    admin_tg = world.elbv2.create_target_group(
        Name="admin-tg", Protocol="HTTP", Port=8080, VpcId=inst.vpc,
        TargetType="instance")["TargetGroups"][0]["TargetGroupArn"]
    world.elbv2.register_targets(TargetGroupArn=admin_tg, Targets=[{"Id": inst.id, "Port": 8080}])
    bucket = world.bucket("deadbolt-artifacts")
    topic, queue = notification_queue(world)
    # The security group of the VPC's interface endpoints for SSM: the only
    # place the isolation group's forensic egress may go (see endpoint_config).
    endpoints = world.ec2.create_security_group(
        GroupName="vpc-endpoints", Description="interface endpoints: ssm, ssmmessages, ec2messages",
        VpcId=inst.vpc)["GroupId"]
    if ssm:
        world.ssm_managed([inst.id])
    env = {"ARTIFACT_BUCKET": bucket, "QUARANTINE_PROFILE_ARN": quarantine.arn,
           "NOTIFICATION_TOPIC_ARN": topic}
    return types.SimpleNamespace(inst=inst, profile=profile, quarantine=quarantine, asg=asg,
                                 elb=elb, tg=tg, admin_tg=admin_tg, bucket=bucket, topic=topic,
                                 queue=queue, env=env, endpoints=endpoints)


def endpoint_config(w):
    """The config.lua edit that names the world's endpoint group as the
    forensic egress (the default names none, and forensics on a contained
    instance is then skipped)."""
    return {"    egress = {},\n":
            f'    egress = {{ UserIdGroupPairs = {{ {{ GroupId = "{w.endpoints}" }} }} }},\n'}


# --- the world as boto3 sees it -----------------------------------------------------

def ec2_state(world, w):
    """Everything the EC2 playbook may change, in a comparable form."""
    iid = w.inst.id
    ec2 = world.ec2
    inst = ec2.describe_instances(InstanceIds=[iid])["Reservations"][0]["Instances"][0]
    enis = ec2.describe_network_interfaces(
        Filters=[{"Name": "attachment.instance-id", "Values": [iid]}])["NetworkInterfaces"]
    groups = ec2.describe_security_groups(
        Filters=[{"Name": "vpc-id", "Values": [w.inst.vpc]}])["SecurityGroups"]
    volumes = [m["Ebs"]["VolumeId"] for m in inst.get("BlockDeviceMappings", [])]
    snapshots = ec2.describe_snapshots(OwnerIds=["self"], Filters=[
        {"Name": "volume-id", "Values": volumes}])["Snapshots"]
    attrs = {a: ec2.describe_instance_attribute(InstanceId=iid, Attribute=a)
             for a in ("disableApiTermination", "disableApiStop", "instanceInitiatedShutdownBehavior")}
    assoc = ec2.describe_iam_instance_profile_associations(
        Filters=[{"Name": "instance-id", "Values": [iid]}])["IamInstanceProfileAssociations"]
    # Every object but the runs' lock objects (locks/: one set per run, by design).
    objects = [o for o in world.s3.list_objects_v2(Bucket=w.bucket).get("Contents", [])
               if not o["Key"].startswith("locks/")]
    return {
        "state": inst["State"]["Name"],
        "eni_groups": sorted((e["NetworkInterfaceId"], sorted(g["GroupId"] for g in e["Groups"]))
                             for e in enis),
        "groups": sorted((g["GroupName"], json.dumps(g["IpPermissions"], sort_keys=True),
                          json.dumps(g["IpPermissionsEgress"], sort_keys=True)) for g in groups),
        "snapshots": sorted((s["VolumeId"], s["SnapshotId"]) for s in snapshots),
        "delete_on_termination": sorted((m["DeviceName"], m["Ebs"]["DeleteOnTermination"])
                                        for m in inst.get("BlockDeviceMappings", [])),
        "termination_protection": attrs["disableApiTermination"]["DisableApiTermination"]["Value"],
        "stop_protection": attrs["disableApiStop"]["DisableApiStop"]["Value"],
        "shutdown": attrs["instanceInitiatedShutdownBehavior"]["InstanceInitiatedShutdownBehavior"]["Value"],
        "profiles": sorted(a["IamInstanceProfile"]["Arn"] for a in assoc
                           if a["State"] in ("associated", "associating")),
        "asg": sorted(a["AutoScalingGroupName"] for a in world.autoscaling.describe_auto_scaling_instances(
            InstanceIds=[iid])["AutoScalingInstances"]),
        "elb": sorted(lb["LoadBalancerName"] for lb in world.elb.describe_load_balancers()[
            "LoadBalancerDescriptions"] if any(i["InstanceId"] == iid for i in lb["Instances"])),
        "targets": sorted((t["Target"]["Id"], t["Target"]["Port"]) for tg in (w.tg, w.admin_tg)
                          for t in world.elbv2.describe_target_health(TargetGroupArn=tg)["TargetHealthDescriptions"]),
        "tags": sorted((t["Key"], t["Value"]) for t in inst.get("Tags", [])),
        "objects": sorted((o["Key"], o["ETag"]) for o in objects),
    }


def printed_plan(stdout):
    """The writes of a dry run's printed plan, in order: [(op, params)]. The
    plan's block lists, under each step's heading ("    name: why"), its
    numbered writes ("      3. ec2.CreateTags {...}")."""
    plan, inside = [], False
    for line in stdout.splitlines():
        if line.strip().startswith("plan (writes not sent"):
            inside = True
            continue
        if inside:
            if not line.startswith("    "):
                inside = False
                continue
            head, _, rest = line.strip().partition(" ")
            if not (head.endswith(".") and head[:-1].isdigit()):
                continue  # a step's heading
            op, _, params = rest.partition(" ")
            plan.append((op, json.loads(params)))
    return plan


def sha256_of(world, bucket, key):
    return hashlib.sha256(world.s3.get_object(Bucket=bucket, Key=key)["Body"].read()).hexdigest()


def fake_writes(world, read_prefixes=("Describe", "Get", "List", "Head")):
    """The actions the fake saw that are not reads."""
    return [e["action"] for e in world.log()
            if e["action"] and not e["action"].startswith(read_prefixes)]
