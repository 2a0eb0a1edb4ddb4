"""Real GuardDuty finding types, in the EventBridge envelope and bare: every
one routed to the right playbook (or skipped for the right reason), and
every one ending contained or skipped, never crashed. Also the findings in
tests/findings/ (real shapes, sample and archived ones included) replayed on
an empty account.

The types are GuardDuty's active finding types (its user guide's "finding
types" pages) with the resource type each arrives with."""

import json
import os
import unittest

from harness.world import ROOT, WorldTestCase
from playbook_cases import (bucket_resource, envelope, finding, instance_resource, key_resource, run)

EC2_TYPES = """
Backdoor:EC2/C&CActivity.B Backdoor:EC2/C&CActivity.B!DNS Backdoor:EC2/DenialOfService.Dns
Backdoor:EC2/DenialOfService.Tcp Backdoor:EC2/DenialOfService.Udp Backdoor:EC2/DenialOfService.UdpOnTcpPorts
Backdoor:EC2/DenialOfService.UnusualProtocol Backdoor:EC2/Spambot Behavior:EC2/NetworkPortUnusual
Behavior:EC2/TrafficVolumeUnusual CryptoCurrency:EC2/BitcoinTool.B CryptoCurrency:EC2/BitcoinTool.B!DNS
DefenseEvasion:EC2/UnusualDNSResolver DefenseEvasion:EC2/UnusualDoHActivity DefenseEvasion:EC2/UnusualDoTActivity
Impact:EC2/AbusedDomainRequest.Reputation Impact:EC2/BitcoinDomainRequest.Reputation
Impact:EC2/MaliciousDomainRequest.Reputation Impact:EC2/PortSweep Impact:EC2/SuspiciousDomainRequest.Reputation
Impact:EC2/WinRMBruteForce Recon:EC2/PortProbeEMRUnprotectedPort Recon:EC2/PortProbeUnprotectedPort
Recon:EC2/Portscan Trojan:EC2/BlackholeTraffic Trojan:EC2/BlackholeTraffic!DNS Trojan:EC2/DGADomainRequest.B
Trojan:EC2/DGADomainRequest.C!DNS Trojan:EC2/DNSDataExfiltration Trojan:EC2/DriveBySourceTraffic!DNS
Trojan:EC2/DropPoint Trojan:EC2/DropPoint!DNS Trojan:EC2/PhishingDomainRequest!DNS
UnauthorizedAccess:EC2/MaliciousIPCaller.Custom UnauthorizedAccess:EC2/MetadataDNSRebind
UnauthorizedAccess:EC2/RDPBruteForce UnauthorizedAccess:EC2/SSHBruteForce UnauthorizedAccess:EC2/TorClient
UnauthorizedAccess:EC2/TorRelay
Backdoor:Runtime/C&CActivity.B CryptoCurrency:Runtime/BitcoinTool.B!DNS DefenseEvasion:Runtime/FilelessExecution
Execution:Runtime/NewBinaryExecuted Execution:Runtime/ReverseShell Impact:Runtime/CryptoMinerExecuted
PrivilegeEscalation:Runtime/DockerSocketAccessed UnauthorizedAccess:Runtime/MetadataDNSRebind
""".split()

EC2_MALWARE_TYPES = ["Execution:EC2/MaliciousFile", "Execution:EC2/SuspiciousFile"]

IAM_TYPES = """
CredentialAccess:IAMUser/AnomalousBehavior DefenseEvasion:IAMUser/AnomalousBehavior
Discovery:IAMUser/AnomalousBehavior Exfiltration:IAMUser/AnomalousBehavior Impact:IAMUser/AnomalousBehavior
InitialAccess:IAMUser/AnomalousBehavior PenTest:IAMUser/KaliLinux PenTest:IAMUser/ParrotLinux
PenTest:IAMUser/PentooLinux Persistence:IAMUser/AnomalousBehavior PrivilegeEscalation:IAMUser/AnomalousBehavior
Recon:IAMUser/MaliciousIPCaller Recon:IAMUser/MaliciousIPCaller.Custom Recon:IAMUser/TorIPCaller
Stealth:IAMUser/CloudTrailLoggingDisabled Stealth:IAMUser/PasswordPolicyChange
UnauthorizedAccess:IAMUser/ConsoleLoginSuccess.B UnauthorizedAccess:IAMUser/InstanceCredentialExfiltration.InsideAWS
UnauthorizedAccess:IAMUser/InstanceCredentialExfiltration.OutsideAWS UnauthorizedAccess:IAMUser/MaliciousIPCaller
UnauthorizedAccess:IAMUser/MaliciousIPCaller.Custom UnauthorizedAccess:IAMUser/TorIPCaller
""".split()

ROOT_TYPES = ["Policy:IAMUser/RootCredentialUsage", "Policy:IAMUser/ShortTermRootCredentialUsage"]

S3_TYPES = """
Discovery:S3/AnomalousBehavior Discovery:S3/MaliciousIPCaller Discovery:S3/MaliciousIPCaller.Custom
Discovery:S3/TorIPCaller Exfiltration:S3/AnomalousBehavior Exfiltration:S3/MaliciousIPCaller
Impact:S3/AnomalousBehavior.Delete Impact:S3/AnomalousBehavior.Permission Impact:S3/AnomalousBehavior.Write
Impact:S3/MaliciousIPCaller PenTest:S3/KaliLinux PenTest:S3/ParrotLinux PenTest:S3/PentooLinux
Policy:S3/BucketAnonymousAccessGranted Policy:S3/BucketBlockPublicAccessDisabled Policy:S3/BucketPublicAccessGranted
Stealth:S3/ServerAccessLoggingDisabled UnauthorizedAccess:S3/MaliciousIPCaller.Custom UnauthorizedAccess:S3/TorIPCaller
""".split()

# S3 findings GuardDuty files under the access key that was used.
S3_ACCESS_KEY_TYPES = ["Policy:S3/BucketBlockPublicAccessDisabled", "Discovery:S3/MaliciousIPCaller",
                       "Policy:S3/AccountBlockPublicAccessDisabled"]

# (type, resource type, the playbook whose handles entry skips it)
ATTACK_SEQUENCES = [("AttackSequence:S3/CompromisedData", "S3Bucket", "s3"),
                    ("AttackSequence:IAM/CompromisedCredentials", "AccessKey", "iam")]

UNSUPPORTED = [("Execution:Kubernetes/ExecInKubeSystemPod", "EKSCluster"),
               ("AttackSequence:EKS/CompromisedCluster", "EKSCluster"),
               ("Execution:Runtime/NewBinaryExecuted", "ECSCluster"),
               ("PrivilegeEscalation:Runtime/DockerSocketAccessed", "Container"),
               ("Backdoor:Lambda/C&CActivity.B", "Lambda"),
               ("CredentialAccess:RDS/AnomalousBehavior.SuccessfulLogin", "RDSDBInstance"),
               ("Object:S3/MaliciousFile", "S3Object"),
               ("Execution:ECS/MaliciousFile", "ECSCluster")]


class TestEveryFindingType(WorldTestCase):
    def setUp(self):
        super().setUp()
        self.inst = self.world.instance(enis=1, volumes=0)
        self.world.bucket("deadbolt-artifacts")
        self.world.bucket("reports-public", public=True)
        self.user = self.world.iam_user("ci-runner", keys=1)
        self.world.role("web-role")
        self.env = {"ARTIFACT_BUCKET": "deadbolt-artifacts"}

    def replay(self, cases, wrap):
        """cases: [(finding, expected playbook, expected outcome, reason part)]."""
        result = run(self.world, [wrap(f) for f, *_ in cases], env=self.env, timeout=600)
        self.assertNotIn("Traceback", result.err)
        self.assertEqual(len(result.findings), len(cases), result.describe())
        for got, (f, playbook, outcome, reason) in zip(result.findings, cases):
            what = f"{f['type']} ({f['resource']['resourceType']})"
            pb = got["start"]["playbook"]
            self.assertEqual(pb and pb["name"], playbook, what)
            self.assertEqual(got["end"]["outcome"], outcome, f"{what}: {got['end']}")
            if reason:
                self.assertIn(reason, got["end"]["reason"] or "", what)
        return result

    def access_key(self, user_type="IAMUser"):
        return key_resource(user_type, self.user.name, self.user.keys[0]["id"])

    def test_every_type_bare_and_in_an_envelope(self):
        key = self.access_key()["accessKeyDetails"]
        contained = [(finding(t, instance_resource(self.inst.id)), "ec2", "contained", None) for t in EC2_TYPES]
        contained += [(finding(t, self.access_key()), "iam", "contained", None) for t in IAM_TYPES]
        contained += [(finding(t, bucket_resource([("reports-public", True)])), "s3", "contained", None)
                      for t in S3_TYPES]
        contained += [(finding(t, bucket_resource([("reports-public", True)], "AccessKey", key)), "s3",
                       "contained", None) for t in S3_ACCESS_KEY_TYPES[:2]]
        # the account's own block: turned back on, with no bucket named
        contained += [(finding(S3_ACCESS_KEY_TYPES[2], {"resourceType": "AccessKey", "accessKeyDetails": key}),
                       "s3", "contained", None)]
        contained += [(finding("UnauthorizedAccess:IAMUser/InstanceCredentialExfiltration.OutsideAWS", key_resource(
            "AssumedRole", "web-role", "ASIAQXVTRV5EXAMPLE11", "AROAQXVTRV5EXAMPLE5:" + self.inst.id)),
            "iam", "contained", None)]
        skipped = [(finding(t, instance_resource(self.inst.id)), "ec2", "skipped", "unsupported finding type")
                   for t in EC2_MALWARE_TYPES]
        skipped += [(finding(t, key_resource("Root", "Root", "ASIAQXVTRV5EXAMPLE00", "123456789012")), "iam",
                     "skipped", "Root credentials") for t in ROOT_TYPES]
        skipped += [(finding(S3_ACCESS_KEY_TYPES[1], {"resourceType": "AccessKey", "accessKeyDetails": key}),
                     "s3", "skipped", "names no bucket")]
        skipped += [(finding(t, {"resourceType": r, "s3BucketDetails": [], "accessKeyDetails": key}), pb,
                     "skipped", "unsupported finding type") for t, r, pb in ATTACK_SEQUENCES]
        skipped += [(finding(t, {"resourceType": r}), None, "skipped", "unsupported resource type " + r)
                    for t, r in UNSUPPORTED]
        self.replay(contained + skipped, envelope)
        # Bare, and for instances that are gone: every EC2 type is routed and skipped.
        gone = [(finding(t, instance_resource("i-0123456789abcdef0")), "ec2", "skipped", "no longer exists")
                for t in EC2_TYPES]
        others = [(finding(f["type"], f["resource"]), pb, o, r) for f, pb, o, r in contained + skipped
                  if pb != "ec2"]
        self.replay(gone + others, lambda f: f)

    def test_sample_findings_are_skipped_unless_asked_for(self):
        samples = [finding("UnauthorizedAccess:EC2/SSHBruteForce", instance_resource("i-99999999"), sample=True),
                   finding("Recon:IAMUser/MaliciousIPCaller", key_resource(
                       "IAMUser", "GeneratedFindingUserName", "GeneratedFindingAccessKeyId"), sample=True)]
        result = run(self.world, samples, env=self.env)
        self.assertEqual(result.rc, 0, result.describe())
        for f in result.findings:
            self.assertEqual(f["end"]["outcome"], "skipped")
            self.assertIn("sample finding", f["end"]["reason"])
        result = run(self.world, samples, "--include-samples", env=self.env)
        ec2, iam = result.findings
        self.assertEqual(ec2["end"]["outcome"], "skipped")
        self.assertIn("i-99999999 no longer exists", ec2["end"]["reason"])
        # GuardDuty's placeholder is no access key id: rejected, nothing called.
        self.assertEqual(iam["end"]["outcome"], "failed")
        self.assertIn("malformed finding: resource.accessKeyDetails.accessKeyId", iam["end"]["reason"])
        self.assertEqual(iam["calls"], [])


class TestRecordedFindings(WorldTestCase):
    """tests/findings/ (see its MANIFEST) on an empty account: whatever they
    name does not exist here, so each ends skipped, with the reason."""

    def test_every_recorded_finding_ends_skipped_with_a_reason(self):
        folder = os.path.join(ROOT, "tests", "findings")
        manifest = {}
        with open(os.path.join(folder, "MANIFEST")) as f:
            for line in f:
                if line.strip() and not line.startswith("#"):
                    cols = line.rstrip("\n").split("\t")
                    manifest[(cols[0], int(cols[1]))] = cols[10]
        files = sorted({name for name, _ in manifest})
        self.assertGreater(len(files), 10)
        for name in files:
            with open(os.path.join(folder, name)) as f:
                document = json.load(f)
            result = run(self.world, document, env={"ARTIFACT_BUCKET": "none"})
            self.assertNotIn("Traceback", result.err)
            self.assertEqual(result.rc, 0, f"{name}: {result.describe()} {[f['end'] for f in result.findings]}")
            for index, got in enumerate(result.findings):
                route = manifest[(name, index)]
                pb = got["start"]["playbook"]
                if route in ("ec2", "s3", "iam"):
                    self.assertEqual(pb and pb["name"], route, name)
                self.assertEqual(got["end"]["outcome"], "skipped", f"{name}[{index}]: {got['end']}")
                self.assertTrue(got["end"]["reason"], name)


if __name__ == "__main__":
    unittest.main()
