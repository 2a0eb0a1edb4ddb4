"""The demo: deadbolt contains three GuardDuty findings in a simulated AWS
account (moto, with tests/fakeaws in front for what moto lacks).

Run through `make demo` (tools/demo.sh starts and stops the servers). It
builds the world with boto3, shows the dry-run plan, runs for real, and then
shows the world as boto3 sees it: never through deadbolt's own client."""

import json
import os
import sys
import tempfile

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path[:0] = [os.path.join(ROOT, "tests"), os.path.join(ROOT, "tests", "integration")]

from harness.world import World  # noqa: E402
from playbook_cases import (bucket_resource, ec2_world, envelope, finding,  # noqa: E402
                            instance_resource, key_resource)


def say(title):
    print(f"\n=== {title}")


def build(world):
    w = ec2_world(world)
    world.bucket("demo-public-site", public=True)
    world.bucket("demo-private-logs")
    user = world.iam_user("demo-ci-bot", keys=2)
    findings = {
        "ec2": envelope(finding("UnauthorizedAccess:EC2/SSHBruteForce",
                                instance_resource(w.inst.id), severity=8)),
        "s3": envelope(finding("Policy:S3/BucketAnonymousAccessGranted", bucket_resource(
            [("demo-public-site", True), ("demo-private-logs", False)]), severity=7)),
        "iam": envelope(finding(
            "UnauthorizedAccess:IAMUser/InstanceCredentialExfiltration.OutsideAWS",
            key_resource("IAMUser", user.name, user.keys[0]["id"]), severity=8)),
    }
    return w, user, findings


def write_findings(findings, folder):
    paths = []
    for name, doc in findings.items():
        path = os.path.join(folder, f"{name}.json")
        with open(path, "w") as f:
            json.dump(doc, f, indent=1)
        paths.append(path)
    return paths


def show_world(world, w, user):
    inst = world.describe(w.inst.id).raw
    groups = {n["NetworkInterfaceId"]: [g["GroupName"] for g in n["Groups"]]
              for n in inst["NetworkInterfaces"]}
    print("instance ENIs and their groups:", json.dumps(groups))
    for attr in ("disableApiTermination", "instanceInitiatedShutdownBehavior"):
        value = world.ec2.describe_instance_attribute(InstanceId=w.inst.id, Attribute=attr)
        print(f"{attr}:", json.dumps({k: v for k, v in value.items() if k not in
                                      ("InstanceId", "ResponseMetadata")}))
    volumes = [m["Ebs"]["VolumeId"] for m in inst.get("BlockDeviceMappings", [])]
    snaps = world.ec2.describe_snapshots(Filters=[{"Name": "volume-id", "Values": volumes}])
    print("snapshots of the instance's volumes:",
          sorted(s["VolumeId"] for s in snaps["Snapshots"]), "of", sorted(volumes))
    profiles = world.ec2.describe_iam_instance_profile_associations()["IamInstanceProfileAssociations"]
    print("instance profile associations:", [(a["InstanceId"], a["State"]) for a in profiles])
    asg = world.autoscaling.describe_auto_scaling_instances(InstanceIds=[w.inst.id])
    print("in an Auto Scaling group:", bool(asg["AutoScalingInstances"]))
    objects = world.s3.list_objects_v2(Bucket=w.bucket).get("Contents", [])
    print("evidence objects:", len(objects))
    for bucket in ("demo-public-site", "demo-private-logs"):
        try:
            pab = world.s3.get_public_access_block(Bucket=bucket)["PublicAccessBlockConfiguration"]
        except world.s3.exceptions.ClientError:
            pab = "none"
        print(f"{bucket} public access block:", pab)
    policies = world.iam.list_user_policies(UserName=user.name)["PolicyNames"]
    keys = world.iam.list_access_keys(UserName=user.name)["AccessKeyMetadata"]
    print(f"{user.name} inline policies:", policies)
    print(f"{user.name} keys:", [(k["AccessKeyId"], k["Status"]) for k in keys])


def main():
    world = World()
    world.reset()
    w, user, findings = build(world)
    with tempfile.TemporaryDirectory(prefix="deadbolt-demo-") as tmp:
        paths = write_findings(findings, tmp)
        say("dry run: the plan (nothing is changed)")
        rc, out, err = world.deadbolt("run", "--dry-run", *paths, env=w.env, timeout=180)
        print(out + err)
        say("live run")
        journal = os.path.join(tmp, "journal.jsonl")
        rc, out, err = world.deadbolt("run", "--journal", journal, *paths, env=w.env, timeout=300)
        with open(journal) as f:
            for line in f:
                event = json.loads(line)
                if event.get("event") == "run_end":
                    print("outcome:", event.get("outcome"), event.get("reason") or "",
                          json.dumps(event.get("counts")))
        print(f"deadbolt exited {rc}" + (f": {err.strip()}" if err.strip() else ""))
        say("the world, as boto3 sees it")
        show_world(world, w, user)
    return 0 if rc == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
