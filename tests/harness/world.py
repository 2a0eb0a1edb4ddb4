"""world — the base of deadbolt's integration tests.

Starts nothing: tests/run-integration.sh starts moto_server and the fake AWS
(tests/fakeaws) in front of it and exports MOTO_URL and FAKEAWS_URL. A test
builds the world (the simulated account) with boto3 straight at moto, runs
build/deadbolt against the fake, and checks the world with boto3 again: never
with deadbolt's own client.

    class TestQuarantine(WorldTestCase):
        def test_instance_is_isolated(self):
            inst = self.world.instance(enis=2, volumes=1)
            rc, out, err = self.world.deadbolt("respond", finding_path)
            ..."""

import contextlib
import ipaddress
import json
import os
import shutil
import signal
import subprocess
import tempfile
import time
import types
import unittest
import urllib.error
import urllib.request

import boto3
from botocore.config import Config

from harness.playbooks import test_playbooks

REGION = "us-east-1"
ACCESS_KEY = "AKIAIOSFODNN7EXAMPLE"
SECRET_KEY = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"
ACCOUNT = "123456789012"  # moto's default account
ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
DEADBOLT = os.environ.get("DEADBOLT_BIN", os.path.join(ROOT, "build", "deadbolt"))
AMI = "ami-12c6146b"  # moto takes any ami- id unless MOTO_ENABLE_AMI_VALIDATION is set
SERVICES = ("ec2", "s3", "iam", "ssm", "sts", "autoscaling", "elb", "elbv2", "sns")
ADMIN_POLICY = json.dumps({"Version": "2012-10-17", "Statement": [
    {"Effect": "Allow", "Action": "*", "Resource": "*"}]})
EC2_TRUST = json.dumps({"Version": "2012-10-17", "Statement": [{
    "Effect": "Allow", "Principal": {"Service": "ec2.amazonaws.com"}, "Action": "sts:AssumeRole"}]})


def _env(name):
    value = os.environ.get(name)
    if not value:
        raise RuntimeError(f"{name} is not set: run the tests through tests/run-integration.sh")
    return value.rstrip("/")


def http(method, url, body=None, content_type="application/json"):
    """(status, body bytes) of a plain HTTP call, errors included."""
    data = body if body is None or isinstance(body, bytes) else json.dumps(body).encode()
    req = urllib.request.Request(url, data=data, method=method)
    if data is not None:
        req.add_header("Content-Type", content_type)
    try:
        with urllib.request.urlopen(req, timeout=30) as resp:
            return resp.status, resp.read()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read()


class World:
    """boto3 clients on the simulated account, the fake's controls, world
    builders, and deadbolt itself. Clients are made on first use:
    world.ec2, world.s3, ... (all straight at moto)."""

    def __init__(self):
        self.moto_url = _env("MOTO_URL")
        self.fake_url = _env("FAKEAWS_URL")
        self.deadbolt_bin = DEADBOLT
        self._clients = {}
        self.runs = []  # (start, end, env) of each `deadbolt run` / `deadbolt lambda`

    def client(self, service, endpoint=None, key=ACCESS_KEY, secret=SECRET_KEY, token=None,
               attempts=1):
        """A boto3 client, at moto unless endpoint says otherwise, making
        attempts attempts in all (1: no retries, so a test sees every error)."""
        endpoint = endpoint or self.moto_url
        cache = (service, endpoint, key, secret, token, attempts)
        if cache not in self._clients:
            self._clients[cache] = boto3.session.Session().client(
                service, region_name=REGION, endpoint_url=endpoint,
                aws_access_key_id=key, aws_secret_access_key=secret, aws_session_token=token,
                config=Config(retries={"total_max_attempts": attempts, "mode": "standard"},
                              s3={"addressing_style": "path"}))
        return self._clients[cache]

    def fake_client(self, service, **kw):
        """A boto3 client through the fake, as deadbolt talks."""
        return self.client(service, endpoint=self.fake_url, **kw)

    def __getattr__(self, name):
        if name in SERVICES:
            return self.client(name)
        raise AttributeError(name)

    # --- the servers -------------------------------------------------------

    def control(self, path, body=None):
        """A fake control call (/__fake/...): GET without body, else POST."""
        status, data = http("GET" if body is None else "POST", self.fake_url + path, body)
        if status != 200:
            raise AssertionError(f"fake control {path}: {status} {data!r}")
        return json.loads(data)

    def _moto_api(self, path, body=b""):
        # text/plain: moto reads reset-auth's body raw, and a form-encoded
        # body would read as empty (a 500).
        status, data = http("POST", self.moto_url + path, body, "text/plain")
        if status != 200:
            raise AssertionError(f"moto {path}: {status} {data!r}")

    def reset(self):
        """An empty account, moto's signature checking off, the fake cleared."""
        self._moto_api("/moto-api/reset")
        self._moto_api("/moto-api/reset-auth", b"inf")
        self.control("/__fake/reset", {})
        self.runs = []

    def log(self, action=None):
        """The requests the fake saw, oldest first; only action's when given."""
        entries = self.control("/__fake/log")["requests"]
        return [e for e in entries if action is None or e["action"] == action]

    def attempts(self, action):
        return len(self.log(action))

    def fault(self, match, kind, count=1, delay_ms=0, params=None):
        """The next count requests matching match (and params: wire
        parameter -> value, all of them) fail so."""
        self.control("/__fake/faults", {"match": match, "kind": kind, "count": count,
                                        "delay_ms": delay_ms, "params": params or {}})

    def ssm_managed(self, instance_ids, ping="Online"):
        self.control("/__fake/ssm-managed", {"instance_ids": list(instance_ids), "ping": ping})

    def ssm_result(self, **result):
        """status, stdout, stderr, response_code, pending_polls of the next commands."""
        self.control("/__fake/ssm-result", result)

    def ssm_commands(self):
        return self.control("/__fake/ssm-commands")["commands"]

    def screenshot_fails(self, code="UnsupportedOperation", message=None):
        body = {"error": code}
        if message:
            body["message"] = message
        self.control("/__fake/screenshot", body)

    def verify_signatures(self, on):
        """The fake's own SigV4 check (on by default in run-integration.sh)."""
        self.control("/__fake/auth", {"verify": bool(on)})

    @contextlib.contextmanager
    def moto_auth(self):
        """moto checking signatures and IAM permissions itself. moto knows only
        keys of its own IAM users, so this makes an admin user first and yields
        its credentials (SimpleNamespace key, secret); the fake learns them too.
        Inside, clients with the test key are refused by moto."""
        self.iam.create_user(UserName="moto-auth-admin")
        self.iam.put_user_policy(UserName="moto-auth-admin", PolicyName="admin",
                                 PolicyDocument=ADMIN_POLICY)
        key = self.iam.create_access_key(UserName="moto-auth-admin")["AccessKey"]
        creds = types.SimpleNamespace(key=key["AccessKeyId"], secret=key["SecretAccessKey"])
        self.control("/__fake/credentials", {"access_key_id": creds.key,
                                             "secret_access_key": creds.secret})
        self._moto_api("/moto-api/reset-auth", b"0")
        try:
            yield creds
        finally:
            self._moto_api("/moto-api/reset-auth", b"inf")

    # --- deadbolt ----------------------------------------------------------

    def deadbolt(self, *args, env=None, input=None, timeout=60, key=ACCESS_KEY,
                 secret=SECRET_KEY):
        """Runs build/deadbolt against the fake in a clean environment (nothing
        inherited but PATH; HOME an empty temporary directory, so no
        ~/.aws files) from the repository root, with the shipped playbooks
        and the tests' configuration (DEADBOLT_PLAYBOOKS, tests/harness/
        playbooks.py). env adds variables (None removes one). Returns (rc,
        stdout, stderr)."""
        if not os.access(self.deadbolt_bin, os.X_OK):
            raise AssertionError(f"{self.deadbolt_bin} is not built: run make")
        home = tempfile.mkdtemp(prefix="deadbolt-home-")
        full = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": home,
                "LANG": "C.UTF-8", "TZ": "UTC", "AWS_ENDPOINT_URL": self.fake_url,
                "AWS_ACCESS_KEY_ID": key, "AWS_SECRET_ACCESS_KEY": secret,
                "AWS_REGION": REGION, "AWS_DEFAULT_REGION": REGION,
                "AWS_EC2_METADATA_DISABLED": "true", "DEADBOLT_PLAYBOOKS": test_playbooks()}
        full.update(env or {})
        # Its own process group, so that a timeout ends whatever it started
        # too (a child left holding stdout would make the wait hang).
        started = time.time()
        if args and str(args[0]) in ("run", "lambda", "restore"):  # what the function does in AWS
            self.runs.append((started, None, dict(full)))
        proc = subprocess.Popen([self.deadbolt_bin, *map(str, args)], cwd=ROOT, text=True,
                                stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE, start_new_session=True,
                                env={k: v for k, v in full.items() if v is not None})
        try:
            out, err = proc.communicate(input, timeout=timeout)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            _, err = proc.communicate()
            raise AssertionError(f"deadbolt {' '.join(map(str, args))} still running after "
                                 f"{timeout}s; its stderr: {err!r}") from None
        finally:
            shutil.rmtree(home, ignore_errors=True)
            if self.runs and self.runs[-1][0] == started and self.runs[-1][1] is None:
                self.runs[-1] = (started, time.time(), self.runs[-1][2])
        return proc.returncode, out, err

    # --- IAM ---------------------------------------------------------------

    def track_run(self, env):
        """Counts the calls from now until the test ends as a run of the
        function with environment env (a Lambda bootstrap the test starts
        itself): iam_problems() checks them."""
        self.runs.append((time.time(), None, dict(env)))

    def iam_problems(self):
        """Every AWS call the fake logged during a `deadbolt run`, `deadbolt
        lambda` or `deadbolt restore` checked against the template's role that would make it in
        AWS (tests/harness/iam_calls.py): [problem strings], empty when each
        call would be allowed."""
        from harness.iam_calls import MemberView, StackView, instance_session
        if not self.runs:
            return []
        log = self.log()
        problems, views = [], {}
        for start, end, env in self.runs:
            end = end or time.time()
            key = env.get("AWS_ACCESS_KEY_ID")
            window = [e for e in log if start - 0.5 <= e["time"] <= end + 0.5]
            # A member account's run: the keys its AssumeRole gave -> the role.
            assumed = {e["assumed_key"]: (e.get("iam_params") or {}).get("RoleArn")
                       for e in window if e.get("action") == "AssumeRole"
                       and e.get("key") == key and e.get("assumed_key")}
            entries = [e for e in window if e.get("principal") == "instance"
                       or e.get("key") == key or e.get("key") in assumed]
            if not entries:
                continue
            view_key = (env.get("ARTIFACT_BUCKET"), env.get("NOTIFICATION_TOPIC_ARN"),
                        env.get("QUARANTINE_PROFILE_ARN"))
            if view_key not in views:
                role_name = self._quarantine_role_name(env)
                views[view_key] = (StackView(env, role_name), self._role_id(role_name))
            home, home_unique_id = views[view_key]
            members = {}
            for role_arn in sorted(set(assumed.values())):
                members[role_arn] = views.setdefault(
                    view_key + (role_arn,),
                    MemberView(role_arn, env, home_template=home.template))
            sessions, owner = {}, {}
            for e in entries:
                iid = e.get("instance_id")
                if iid and iid not in sessions:
                    vpc, view, account = self._instance_home(iid, home, members)
                    owner[iid] = view
                    # the quarantine role's RoleId is its sessions' aws:userid prefix
                    # (the home role's, or the member account's role named as its profile)
                    unique_id = home_unique_id if view is home else \
                        self._member_role_id(view.account, view.profile_name)
                    sessions[iid] = instance_session(iid, vpc, view.quarantine, account=account,
                                                     unique_id=unique_id)
            for e in entries:
                if e.get("key") in assumed:
                    view = members[assumed[e["key"]]]
                else:
                    view = owner.get(e.get("instance_id"), home)
                for problem in view.check(e, sessions):
                    if problem not in problems:
                        problems.append(problem)
        return problems

    def _member_client(self, service, account):
        creds = self.sts.assume_role(RoleArn=f"arn:aws:iam::{account}:role/OrganizationAccountAccessRole",
                                     RoleSessionName="iam-check")["Credentials"]
        return self.client(service, None, creds["AccessKeyId"], creds["SecretAccessKey"],
                           creds["SessionToken"])

    def _member_role_id(self, account, name):
        """The RoleId of role name in a member account, or None."""
        try:
            return self._member_client("iam", account).get_role(RoleName=name)["Role"]["RoleId"]
        except Exception:  # noqa: BLE001 - no such role there
            return None

    def _instance_home(self, iid, home, members):
        """(VPC, view, account) of instance iid: the home account's, else the
        member account's that has it."""
        vpc = self._vpc_of(iid)
        if vpc is not None or not members:
            return vpc, home, ACCOUNT
        for view in members.values():
            try:
                res = self._member_client("ec2", view.account).describe_instances(
                    InstanceIds=[iid])["Reservations"]
            except Exception:  # noqa: BLE001 - not this account's
                continue
            if res:
                return res[0]["Instances"][0].get("VpcId"), view, view.account
        return None, home, ACCOUNT

    def _quarantine_role_name(self, env):
        arn = env.get("QUARANTINE_PROFILE_ARN")
        if not arn:
            return None
        try:
            roles = self.iam.get_instance_profile(
                InstanceProfileName=arn.rsplit("/", 1)[-1])["InstanceProfile"]["Roles"]
        except self.iam.exceptions.NoSuchEntityException:
            return None
        return roles[0]["RoleName"] if roles else None

    def _role_id(self, name):
        """The role's RoleId (aws:userid's first part in its EC2 sessions), or None."""
        if not name:
            return None
        try:
            return self.iam.get_role(RoleName=name)["Role"]["RoleId"]
        except self.iam.exceptions.NoSuchEntityException:
            return None

    def _vpc_of(self, iid):
        try:
            res = self.ec2.describe_instances(InstanceIds=[iid])["Reservations"]
        except Exception:  # noqa: BLE001 - a terminated or unknown instance: no VPC
            return None
        return res[0]["Instances"][0].get("VpcId") if res else None

    # --- worlds ------------------------------------------------------------

    def network(self, cidr="10.0.0.0/16"):
        """A VPC with one subnet and one extra security group."""
        vpc = self.ec2.create_vpc(CidrBlock=cidr)["Vpc"]["VpcId"]
        first = str(next(ipaddress.ip_network(cidr).subnets(new_prefix=24)))
        subnet = self.ec2.create_subnet(VpcId=vpc, CidrBlock=first,
                                        AvailabilityZone=REGION + "a")["Subnet"]["SubnetId"]
        sg = self.ec2.create_security_group(GroupName=f"web-{vpc}", Description="web",
                                            VpcId=vpc)["GroupId"]
        return types.SimpleNamespace(vpc=vpc, subnet=subnet, sg=sg)

    def instance(self, enis=1, volumes=1, profile=None, tags=None, net=None):
        """A running instance in a fresh network with enis network interfaces
        (the primary included) and volumes extra EBS volumes attached besides
        moto's root volume. profile: an instance profile name to associate.
        Returns SimpleNamespace(id, vpc, subnet, sg, enis, volumes, net)."""
        net = net or self.network()
        spec = {"ImageId": AMI, "MinCount": 1, "MaxCount": 1, "InstanceType": "t3.micro",
                "SubnetId": net.subnet, "SecurityGroupIds": [net.sg]}
        if tags:
            spec["TagSpecifications"] = [{"ResourceType": "instance",
                                          "Tags": [{"Key": k, "Value": v} for k, v in tags.items()]}]
        if profile:
            spec["IamInstanceProfile"] = {"Name": profile}
        iid = self.ec2.run_instances(**spec)["Instances"][0]["InstanceId"]
        for index in range(1, enis):
            eni = self.ec2.create_network_interface(SubnetId=net.subnet, Groups=[net.sg])
            self.ec2.attach_network_interface(NetworkInterfaceId=eni["NetworkInterface"]["NetworkInterfaceId"],
                                              InstanceId=iid, DeviceIndex=index)
        for index in range(volumes):
            vol = self.ec2.create_volume(AvailabilityZone=REGION + "a", Size=8)["VolumeId"]
            self.ec2.attach_volume(VolumeId=vol, InstanceId=iid, Device=f"/dev/sd{'fghijklmnop'[index]}")
        return self.describe(iid, net)

    def describe(self, iid, net=None):
        """The instance as moto sees it now (same shape as instance())."""
        inst = self.ec2.describe_instances(InstanceIds=[iid])["Reservations"][0]["Instances"][0]
        enis = sorted(inst["NetworkInterfaces"], key=lambda n: n["Attachment"]["DeviceIndex"])
        vols = [m["Ebs"]["VolumeId"] for m in inst.get("BlockDeviceMappings", [])]
        return types.SimpleNamespace(
            id=iid, vpc=inst.get("VpcId"), subnet=inst.get("SubnetId"), raw=inst, net=net,
            sg=net.sg if net else None, enis=[n["NetworkInterfaceId"] for n in enis], volumes=vols)

    def instance_profile(self, name="web", role="web-role", policy=None):
        """A role EC2 may assume, with an inline policy, in a profile of that name."""
        arn = self.iam.create_role(RoleName=role, AssumeRolePolicyDocument=EC2_TRUST)["Role"]["Arn"]
        if policy:
            self.iam.put_role_policy(RoleName=role, PolicyName="inline", PolicyDocument=json.dumps(policy))
        prof = self.iam.create_instance_profile(InstanceProfileName=name)["InstanceProfile"]
        self.iam.add_role_to_instance_profile(InstanceProfileName=name, RoleName=role)
        return types.SimpleNamespace(name=name, arn=prof["Arn"], role=role, role_arn=arn)

    def asg(self, inst, name="web-asg"):
        """An Auto Scaling group that inst is in (attached, desired 1)."""
        self.autoscaling.create_launch_configuration(LaunchConfigurationName=name + "-lc",
                                                     ImageId=AMI, InstanceType="t3.micro")
        self.autoscaling.create_auto_scaling_group(
            AutoScalingGroupName=name, LaunchConfigurationName=name + "-lc", MinSize=0,
            MaxSize=2, DesiredCapacity=0, VPCZoneIdentifier=inst.subnet)
        self.autoscaling.attach_instances(AutoScalingGroupName=name, InstanceIds=[inst.id])
        return name

    def classic_elb(self, inst, name="web-elb"):
        self.elb.create_load_balancer(LoadBalancerName=name, Subnets=[inst.subnet], Listeners=[
            {"Protocol": "HTTP", "LoadBalancerPort": 80, "InstancePort": 80}])
        self.elb.register_instances_with_load_balancer(LoadBalancerName=name,
                                                       Instances=[{"InstanceId": inst.id}])
        return name

    def target_group(self, inst, name="web-tg"):
        arn = self.elbv2.create_target_group(Name=name, Protocol="HTTP", Port=80, VpcId=inst.vpc,
                                             TargetType="instance")["TargetGroups"][0]["TargetGroupArn"]
        self.elbv2.register_targets(TargetGroupArn=arn, Targets=[{"Id": inst.id, "Port": 80}])
        return arn

    def bucket(self, name, policy=None, public=False, tags=None):
        """A bucket; policy a dict; public=True gives it a policy letting anyone read."""
        self.s3.create_bucket(Bucket=name)
        if public:
            policy = {"Version": "2012-10-17", "Statement": [{
                "Sid": "PublicRead", "Effect": "Allow", "Principal": "*",
                "Action": "s3:GetObject", "Resource": f"arn:aws:s3:::{name}/*"}]}
        if policy:
            self.s3.put_bucket_policy(Bucket=name, Policy=json.dumps(policy))
        if tags:
            self.s3.put_bucket_tagging(Bucket=name, Tagging={
                "TagSet": [{"Key": k, "Value": v} for k, v in tags.items()]})
        return name

    def iam_user(self, name, keys=1, policy=None):
        """A user with keys access keys (SimpleNamespace name, arn, keys=[{id, secret}])."""
        arn = self.iam.create_user(UserName=name)["User"]["Arn"]
        if policy:
            self.iam.put_user_policy(UserName=name, PolicyName="inline", PolicyDocument=json.dumps(policy))
        made = [self.iam.create_access_key(UserName=name)["AccessKey"] for _ in range(keys)]
        return types.SimpleNamespace(name=name, arn=arn, keys=[
            {"id": k["AccessKeyId"], "secret": k["SecretAccessKey"]} for k in made])

    def role(self, name, service="ec2.amazonaws.com", policy=None):
        trust = json.dumps({"Version": "2012-10-17", "Statement": [{
            "Effect": "Allow", "Principal": {"Service": service}, "Action": "sts:AssumeRole"}]})
        arn = self.iam.create_role(RoleName=name, AssumeRolePolicyDocument=trust)["Role"]["Arn"]
        if policy:
            self.iam.put_role_policy(RoleName=name, PolicyName="inline", PolicyDocument=json.dumps(policy))
        return arn


class WorldTestCase(unittest.TestCase):
    """A test on a fresh, empty simulated account: self.world.

    After each test, every AWS call made during a `deadbolt run` or `deadbolt
    lambda` is checked against the IAM policy of the role that makes it in
    AWS (template.yaml's execution role; the quarantine role for the SSM
    agent's uploads): a call the role would refuse fails the test. A test
    class that runs deadbolt with a role of its own sets iam_checked = False
    and says why."""

    iam_checked = True

    @classmethod
    def setUpClass(cls):
        cls.world = World()

    def setUp(self):
        self.world.reset()
        if self.iam_checked:
            self.addCleanup(self._check_iam)

    def _check_iam(self):
        problems = self.world.iam_problems()
        if problems:
            self.fail("calls the template's roles would refuse in AWS "
                      "(tests/harness/iam_calls.py):\n  " + "\n  ".join(problems))
