"""The demo: deadbolt contains three GuardDuty findings in a simulated AWS
account (moto, with tests/fakeaws in front for what moto lacks).

Run through `make demo` (tools/demo.sh starts and stops the servers). It
builds the world with boto3, shows the dry-run plan, runs for real, and then
shows the world as boto3 sees it: never through deadbolt's own client. The
playbooks are the repository's (playbooks/, with its config.lua).

`make demo KEEP=1` keeps the world: the servers stay up, and the finding
files, an env.sh with the settings, and the commands to replay the findings
against the account are printed, so that a playbook can be edited and the
findings replayed. `python3 tools/demo.py --fresh-world` (after `. env.sh`)
builds a new world on the kept servers and writes new finding files."""

import argparse
import json
import os
import shlex
import sys
import tempfile

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path[:0] = [os.path.join(ROOT, "tests"), os.path.join(ROOT, "tests", "integration")]

from harness.world import ACCESS_KEY, REGION, SECRET_KEY, World  # noqa: E402
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


PLAYBOOKS = os.path.join(ROOT, "playbooks")
DEADBOLT = os.path.relpath(os.environ.get("DEADBOLT_BIN", os.path.join(ROOT, "build", "deadbolt")), ROOT)


def settings(world, w):
    """What deadbolt needs to reach the simulated account (the fake AWS in
    front of moto, with the test keys) and the account's resources."""
    return {"AWS_ENDPOINT_URL": world.fake_url, "AWS_ACCESS_KEY_ID": ACCESS_KEY,
            "AWS_SECRET_ACCESS_KEY": SECRET_KEY, "AWS_REGION": REGION, "AWS_DEFAULT_REGION": REGION,
            "AWS_EC2_METADATA_DISABLED": "true", "DEADBOLT_PLAYBOOKS": PLAYBOOKS,
            "MOTO_URL": world.moto_url, "FAKEAWS_URL": world.fake_url,
            "SIMULATED_ACCOUNT_DIR": os.environ.get("SIMULATED_ACCOUNT_DIR", ""), **w.env}


def write_env(folder, env):
    """env.sh: `. env.sh` gives a shell the settings (and no AWS profile)."""
    path = os.path.join(folder, "env.sh")
    with open(path, "w") as f:
        f.write("# . this file, then replay the findings (tools/demo.py --fresh-world: a new world)\n")
        f.write("unset AWS_PROFILE AWS_SESSION_TOKEN AWS_DEFAULT_PROFILE\n")
        for k, v in {**env, "DEADBOLT_DEMO_DIR": folder}.items():
            f.write(f"export {k}={shlex.quote(v)}\n")
    return path


def say_kept(world, folder, paths):
    env = os.path.join(folder, "env.sh")
    q = shlex.quote
    say("the world is kept")
    print(f"moto (the simulated account): {world.moto_url}")
    print(f"the fake AWS in front of it:  {world.fake_url}  (deadbolt's endpoint)")
    print("finding files:", " ".join(paths))
    print(f"settings:      {env}")
    print("\nEdit playbooks/*.lua (or playbooks/config.lua), then, from the repository root:")
    print(f"  . {q(env)}")
    print(f"  {DEADBOLT} check")
    print(f"  {DEADBOLT} run --dry-run {q(paths[0])}      # the plan, nothing sent")
    print(f"  {DEADBOLT} run {' '.join(map(q, paths))}")
    print(f"  aws ec2 describe-instances --output text    # the world, through the AWS CLI")
    print(f"  python3 tools/demo.py --fresh-world          # a new world and new finding files")
    print("A live run contains the world: replaying it finds everything already done (and"
          " says so); --fresh-world starts again.")
    account = os.environ.get("SIMULATED_ACCOUNT_DIR")
    if account:
        print(f"Stop the servers: sh {q(os.path.join(account, 'stop.sh'))}")


def demo(world, w, user, paths, folder, env):
    say("dry run: the plan (nothing is changed)")
    rc, out, err = world.deadbolt("run", "--dry-run", *paths, env=env, timeout=180)
    print(out + err)
    say("live run")
    journal = os.path.join(folder, "journal.jsonl")
    rc, out, err = world.deadbolt("run", "--journal", journal, *paths, env=env, timeout=300)
    print(err.rstrip())  # the summary: with --journal FILE it goes to stderr
    with open(journal) as f:
        lines = sum(1 for _ in f)
    print(f"\ndeadbolt exited {rc}; its journal: {lines} JSON lines")
    say("the world, as boto3 sees it")
    show_world(world, w, user)
    return rc


def main(argv):
    ap = argparse.ArgumentParser(description="deadbolt's demo on a simulated account")
    ap.add_argument("--keep", metavar="DIR", help="write the finding files and env.sh in DIR "
                    "and print how to replay them (make demo KEEP=1)")
    ap.add_argument("--fresh-world", action="store_true", help="only build a new world and "
                    "new finding files in $DEADBOLT_DEMO_DIR (set by env.sh)")
    args = ap.parse_args(argv)
    world = World()
    world.reset()
    w, user, findings = build(world)
    if args.fresh_world:
        folder = os.environ.get("DEADBOLT_DEMO_DIR")
        if not folder or not os.path.isdir(folder):
            ap.error("--fresh-world needs DEADBOLT_DEMO_DIR: . the env.sh that make demo KEEP=1 wrote")
        paths = write_findings(findings, folder)
        write_env(folder, settings(world, w))
        say_kept(world, folder, paths)
        return 0
    if args.keep:
        os.makedirs(args.keep, exist_ok=True)
        paths = write_findings(findings, args.keep)
        rc = demo(world, w, user, paths, args.keep, settings(world, w))
        write_env(args.keep, settings(world, w))
        say_kept(world, args.keep, paths)
        return 0 if rc == 0 else 1
    with tempfile.TemporaryDirectory(prefix="deadbolt-demo-") as tmp:
        paths = write_findings(findings, tmp)
        rc = demo(world, w, user, paths, tmp, settings(world, w))
    return 0 if rc == 0 else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
