#!/usr/bin/env python3
"""sample_order — the peer for the time-to-containment bench: the calls that
aws-samples/amazon-guardduty-automated-response-sample makes for one EC2
finding, one at a time, in its order, with its waits. Its plugins run in
file order (01 .. 11), each in its own try/except, and it publishes an SNS
message after each plugin and at the end:

  01 console screenshot -> S3      02 DescribeInstances -> S3
  03 termination (+ stop) protection   04 shutdown behaviour 'stop'
  05 volumes DeleteOnTermination=false 06 tags     07 a snapshot per volume
  08 SSM: remove profiles; if managed: attach the quarantine profile,
     sleep 5 s, SendCommand, wait (command_executed, Delay 3), sleep 10 s
     (the upload drain), remove the profile
  09 Auto Scaling detach   10 classic ELB and target group deregistration
  11 isolation last: a quarantine group per VPC (created, egress revoked),
     every ENI moved to it

  sample_order.py --endpoint URL --instance-id I --finding-id F --bucket B
                  --profile-arn ARN --topic ARN [--account A]

Prints 'isolated_at=EPOCH end_at=EPOCH calls=N calls_to_isolation=N
failed_plugins=N' (epoch seconds; calls counts HTTP requests). Written for `make bench` from the sample's source (MIT-0); not a
copy of it."""

import argparse
import base64
import json
import sys
import time
from datetime import datetime, timezone

import boto3
from botocore.config import Config

SSM_COMMANDS = ["uname -a", "whoami", "netstat -ap", "lsof"]  # the sample's constants.py
SSM_SETTLE_SECS = 5
SSM_DRAIN_SECS = 10
# The sample's BOTO3_CONFIG: standard retries, 10 attempts.
CONFIG = Config(retries={"max_attempts": 10, "mode": "standard"},
                s3={"addressing_style": "path"})


class Sample:
    def __init__(self, a):
        self.a = a
        self.calls = 0
        session = boto3.session.Session(region_name="us-east-1")
        mk = lambda s: session.client(s, endpoint_url=a.endpoint, config=CONFIG)  # noqa: E731
        self.ec2, self.s3, self.ssm = mk("ec2"), mk("s3"), mk("ssm")
        self.asg, self.elb, self.elbv2, self.sns = mk("autoscaling"), mk("elb"), mk("elbv2"), mk("sns")
        for c in (self.ec2, self.s3, self.ssm, self.asg, self.elb, self.elbv2, self.sns):
            c.meta.events.register("before-send", self._count)
        self.iid = a.instance_id
        self.prefix = f"{datetime.now(timezone.utc):%Y/%m/%d}/{self.iid}"

    def _count(self, **_):
        self.calls += 1

    def now(self):
        return datetime.now(timezone.utc).isoformat()

    def put(self, key, body):
        self.s3.put_object(ACL="bucket-owner-full-control", Bucket=self.a.bucket,
                           Key=f"{self.prefix}/{key}", Metadata={"instance_id": self.iid},
                           ExpectedBucketOwner=self.a.account, Body=body)

    def describe(self):
        r = self.ec2.describe_instances(InstanceIds=[self.iid])
        return r["Reservations"][0]["Instances"][0]

    def publish(self, message):
        self.sns.publish(TopicArn=self.a.topic, MessageStructure="json",
                         Message=json.dumps({"default": message, "instance_id": self.iid}),
                         MessageAttributes={"InstanceId": {"DataType": "String",
                                                           "StringValue": self.iid}})

    # --- the plugins, in the sample's order -------------------------------

    def p01_screenshot(self):
        data = self.ec2.get_console_screenshot(InstanceId=self.iid, WakeUp=True)["ImageData"]
        self.put(f"console_screenshot_{self.iid}.jpg", base64.b64decode(data))

    def p02_metadata(self):
        self.put(f"metadata_file_{self.iid}.json", json.dumps(self.describe(), default=str))

    def p03_termination_protection(self):
        self.ec2.modify_instance_attribute(InstanceId=self.iid, DisableApiTermination={"Value": True})
        self.ec2.modify_instance_attribute(InstanceId=self.iid, DisableApiStop={"Value": True})

    def p04_shutdown_behavior(self):
        self.ec2.modify_instance_attribute(InstanceId=self.iid,
                                           InstanceInitiatedShutdownBehavior={"Value": "stop"})

    def p05_preserve_volumes(self):
        names = [b["DeviceName"] for b in self.describe().get("BlockDeviceMappings", [])]
        if names:
            self.ec2.modify_instance_attribute(InstanceId=self.iid, BlockDeviceMappings=[
                {"DeviceName": n, "Ebs": {"DeleteOnTermination": False}} for n in names])

    def p06_tag(self):
        self.ec2.create_tags(Resources=[self.iid], Tags=[
            {"Key": "SOC-Status", "Value": "quarantined"},
            {"Key": "SOC-ContainedAt", "Value": self.now()},
            {"Key": "SOC-FindingId", "Value": self.a.finding_id},
            {"Key": "SOC-FindingSource", "Value": "GuardDuty"}])

    def p07_snapshots(self):
        for b in self.describe().get("BlockDeviceMappings", []):
            vol = b.get("Ebs", {}).get("VolumeId")
            if vol:
                self.ec2.create_snapshot(VolumeId=vol, Description=(
                    f"Security Response automated copy of {vol} for instance {self.iid}"))

    def remove_profiles(self):
        r = self.ec2.describe_iam_instance_profile_associations(Filters=[
            {"Name": "instance-id", "Values": [self.iid]},
            {"Name": "state", "Values": ["associating", "associated"]}])
        for assoc in r.get("IamInstanceProfileAssociations", []):
            self.ec2.disassociate_iam_instance_profile(AssociationId=assoc["AssociationId"])

    def p08_command_output(self):
        info = self.ssm.describe_instance_information(
            Filters=[{"Key": "InstanceIds", "Values": [self.iid]}])
        managed = len(info.get("InstanceInformationList", [])) > 0
        self.remove_profiles()
        if not managed:
            return
        self.ec2.associate_iam_instance_profile(IamInstanceProfile={"Arn": self.a.profile_arn},
                                                InstanceId=self.iid)
        time.sleep(SSM_SETTLE_SECS)
        cmd = self.ssm.send_command(
            InstanceIds=[self.iid], DocumentName="AWS-RunShellScript", TimeoutSeconds=240,
            Parameters={"commands": SSM_COMMANDS, "executionTimeout": ["3600"],
                        "workingDirectory": ["/tmp"]},
            OutputS3BucketName=self.a.bucket, OutputS3KeyPrefix=f"{self.prefix}/ssm-output-file")
        try:
            self.ssm.get_waiter("command_executed").wait(
                CommandId=cmd["Command"]["CommandId"], InstanceId=self.iid,
                WaiterConfig={"Delay": 3, "MaxAttempts": 20})
            time.sleep(SSM_DRAIN_SECS)
        except Exception as exc:  # the sample logs and goes on
            print(f"sample_order: SSM wait: {exc}", file=sys.stderr)
        self.remove_profiles()

    def p09_detach_asg(self):
        r = self.asg.describe_auto_scaling_instances(InstanceIds=[self.iid])
        for inst in r.get("AutoScalingInstances", []):
            self.asg.detach_instances(InstanceIds=[self.iid],
                                      AutoScalingGroupName=inst["AutoScalingGroupName"],
                                      ShouldDecrementDesiredCapacity=False)

    def p10_deregister(self):
        for lb in self.elb.describe_load_balancers().get("LoadBalancerDescriptions", []):
            name = lb["LoadBalancerName"]
            states = self.elb.describe_instance_health(LoadBalancerName=name)
            if any(s["InstanceId"] == self.iid for s in states.get("InstanceStates", [])):
                self.elb.deregister_instances_from_load_balancer(
                    LoadBalancerName=name, Instances=[{"InstanceId": self.iid}])
        for tg in self.elbv2.describe_target_groups().get("TargetGroups", []):
            arn = tg["TargetGroupArn"]
            health = self.elbv2.describe_target_health(TargetGroupArn=arn)
            if any(t["Target"]["Id"] == self.iid for t in health.get("TargetHealthDescriptions", [])):
                self.elbv2.deregister_targets(TargetGroupArn=arn, Targets=[{"Id": self.iid}])

    def p11_isolate(self):
        enis = self.ec2.describe_network_interfaces(Filters=[
            {"Name": "attachment.instance-id", "Values": [self.iid]},
            {"Name": "attachment.status", "Values": ["attaching", "attached"]}]
        ).get("NetworkInterfaces", [])
        tags = [{"Key": "Name", "Value": f"quarantine-{self.iid}"},
                {"Key": "SOC-InstanceId", "Value": self.iid},
                {"Key": "SOC-Status", "Value": "quarantined"},
                {"Key": "SOC-ContainedAt", "Value": self.now()},
                {"Key": "SOC-FindingId", "Value": self.a.finding_id},
                {"Key": "SOC-FindingSource", "Value": "GuardDuty"}]
        groups = {}
        for vpc in sorted({e["VpcId"] for e in enis}):
            found = self.ec2.describe_security_groups(Filters=[
                {"Name": "tag:SOC-Status", "Values": ["quarantined"]},
                {"Name": "tag:SOC-InstanceId", "Values": [self.iid]},
                {"Name": "vpc-id", "Values": [vpc]}]).get("SecurityGroups", [])
            if found:
                groups[vpc] = found[0]["GroupId"]
                continue
            gid = self.ec2.create_security_group(
                GroupName=f"quarantine-{self.iid}-{int(time.time())}", VpcId=vpc,
                Description=f"Quarantine group for {self.iid}",
                TagSpecifications=[{"ResourceType": "security-group", "Tags": tags}])["GroupId"]
            self.ec2.revoke_security_group_egress(GroupId=gid, IpPermissions=[
                {"IpProtocol": "-1", "IpRanges": [{"CidrIp": "0.0.0.0/0"}]}])
            groups[vpc] = gid
        for eni in enis:
            self.ec2.modify_network_interface_attribute(
                NetworkInterfaceId=eni["NetworkInterfaceId"], Groups=[groups[eni["VpcId"]]])


PLUGINS = [Sample.p01_screenshot, Sample.p02_metadata, Sample.p03_termination_protection,
           Sample.p04_shutdown_behavior, Sample.p05_preserve_volumes, Sample.p06_tag,
           Sample.p07_snapshots, Sample.p08_command_output, Sample.p09_detach_asg,
           Sample.p10_deregister, Sample.p11_isolate]


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    for name in ("endpoint", "instance-id", "finding-id", "bucket", "profile-arn", "topic"):
        ap.add_argument("--" + name, required=True)
    ap.add_argument("--account", default="123456789012")
    a = ap.parse_args(argv)
    s = Sample(a)
    failed, isolated_at, calls_to_isolation = 0, None, 0
    for plugin in PLUGINS:
        try:
            plugin(s)
            message = f"{plugin.__name__} done on {s.iid}"
        except Exception as exc:  # each plugin is on its own, as in the sample
            failed += 1
            message = f"{plugin.__name__} failed on {s.iid}"
            print(f"sample_order: {plugin.__name__}: {exc}", file=sys.stderr)
        if plugin is Sample.p11_isolate:
            isolated_at = time.time()
            calls_to_isolation = s.calls
        try:
            s.publish(message)
        except Exception as exc:
            print(f"sample_order: publish: {exc}", file=sys.stderr)
    s.publish(f"Instance {s.iid} successfully quarantined")
    print(f"isolated_at={isolated_at:.6f} end_at={time.time():.6f} calls={s.calls} "
          f"calls_to_isolation={calls_to_isolation} failed_plugins={failed}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
