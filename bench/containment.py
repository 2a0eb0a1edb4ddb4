"""containment — the time-to-containment part of `make bench` (issue 4).

The simulated account is moto behind the fake AWS server (tests/fakeaws, for
what moto lacks: the console screenshot, SSM instance information and
commands, the attachment.status filter), behind bench/delayproxy.py adding a
fixed round trip (20 ms) to every connection and request. For each side the
EC2 world is built afresh with boto3 straight at moto (tests/harness/world.py:
an SSM-managed instance with two ENIs, two volumes and an instance profile,
in an Auto Scaling group, behind a classic ELB and a target group), then:

  deadbolt   `deadbolt run --journal J` on one EC2 finding; the time of the
             isolation step's last call is read from the journal
  peer       bench/sample_order.py: the aws-samples responder's calls, one at
             a time, in its order, with its 5 s + 10 s SSM waits

Both are timed from process start (so both pay their start-up) to the end of
isolation and to the end of the run."""

import json
import os
import shutil
import statistics
import subprocess
import sys
import time
from datetime import datetime

import servers

BENCH = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(BENCH)
FAKE = os.path.join(ROOT, "tests", "fakeaws", "server.py")
HARNESS = os.path.join(ROOT, "tests", "harness", "world.py")
PY = sys.executable
NAME = "containment on moto + 20 ms round trip"


def missing(args, env):
    """Why this part cannot run, or None."""
    deadbolt = os.path.join(ROOT, args.build, "deadbolt")
    if not os.access(deadbolt, os.X_OK):
        return f"{args.build}/deadbolt not built"
    if not os.path.exists(os.path.join(args.playbooks, "ec2.lua")):
        return "playbooks/ec2.lua not present"
    for path in (FAKE, HARNESS):
        if not os.path.exists(path):
            return f"{os.path.relpath(path, ROOT)} not present"
    if not shutil.which("moto_server", path=env.get("PATH")):
        return "moto_server is not installed (make deps)"
    return None


def start_account(srv, tmp, env, rtt_ms):
    """moto, the fake in front of it, the delaying proxy in front of the fake.
    Returns (moto URL, fake URL, delayed URL)."""
    moto, fake, proxy = servers.free_port(), servers.free_port(), servers.free_port()
    logs = {n: open(os.path.join(tmp, n + ".log"), "w") for n in ("moto", "fake", "proxy")}
    try:
        srv.start([shutil.which("moto_server", path=env.get("PATH")), "-H", "127.0.0.1",
                   "-p", str(moto)], moto, "moto_server", env=env, stdout=logs["moto"],
                  stderr=subprocess.STDOUT)
        srv.start([PY, FAKE, "--upstream", f"http://127.0.0.1:{moto}", "--port", str(fake)],
                  fake, "the fake AWS server", env=env, cwd=os.path.dirname(FAKE),
                  stdout=logs["fake"], stderr=subprocess.STDOUT)
        srv.start([PY, os.path.join(BENCH, "delayproxy.py"), "--listen", str(proxy),
                   "--upstream", str(fake), "--rtt-ms", str(rtt_ms)], proxy, "delayproxy",
                  env=env, stdout=logs["proxy"], stderr=subprocess.STDOUT)
    finally:
        for f in logs.values():
            f.close()
    return (f"http://127.0.0.1:{moto}", f"http://127.0.0.1:{fake}",
            f"http://127.0.0.1:{proxy}")


def build_world(world_mod, tag):
    """A fresh account with the EC2 world of issue 4. Returns a dict."""
    w = world_mod.World()
    w.reset()
    w.instance_profile(name="web", role="web-role")
    quarantine = w.instance_profile(name="quarantine", role="quarantine-role")
    inst = w.instance(enis=2, volumes=1, profile="web")  # + moto's root volume: two
    w.asg(inst)
    w.classic_elb(inst)
    w.target_group(inst)
    bucket = w.bucket(f"deadbolt-evidence-{tag}")
    topic = w.sns.create_topic(Name=f"deadbolt-{tag}")["TopicArn"]
    w.ssm_managed([inst.id])
    return {"instance": inst.id, "enis": inst.enis, "volumes": inst.volumes, "bucket": bucket,
            "topic": topic, "quarantine_arn": quarantine.arn, "world": w}


def iso_epoch(ts):
    return datetime.fromisoformat(ts.replace("Z", "+00:00")).timestamp()


def read_journal(path):
    with open(path) as f:
        return [json.loads(line) for line in f if line.strip()]


def isolation_end(lines):
    """Epoch of the isolation step's last AWS call, the step's name and the
    run's outcome. The isolation step is the one whose name says so (the
    critical one, if several do)."""
    steps = [ln for ln in lines if ln.get("event") == "step"]
    names = [s.get("step") for s in steps if "isolat" in str(s.get("step", ""))]
    critical = [s.get("step") for s in steps
                if s.get("critical") and "isolat" in str(s.get("step", ""))]
    step = (critical or names or [None])[-1]
    calls = [ln for ln in lines if ln.get("event") == "aws_call" and ln.get("step") == step]
    outcome = next((ln.get("outcome") for ln in reversed(lines) if "outcome" in ln), None)
    last = iso_epoch(calls[-1]["ts"]) if calls and step else None
    sent = [ln["ms"] for ln in lines if ln.get("event") == "aws_call"
            and isinstance(ln.get("ms"), (int, float))]
    before = len([ln for ln in lines[:lines.index(calls[-1]) + 1] if ln.get("event") == "aws_call"]) \
        if calls else 0
    return last, step, outcome, {"calls": len([ln for ln in lines if ln.get("event") == "aws_call"]),
                                 "calls_to_isolation": before,
                                 "median_ms": statistics.median(sent) if sent else None}


def run_deadbolt(args, tmp, env, url, w, finding_doc, run_measured):
    deadbolt = os.path.join(ROOT, args.build, "deadbolt")
    finding = os.path.join(tmp, "containment-finding.json")
    with open(finding, "w") as f:
        json.dump(finding_doc(args.finding, 1, w["instance"])[0], f)
    journal = os.path.join(tmp, "containment-journal.jsonl")
    denv = dict(env, ARTIFACT_BUCKET=w["bucket"], QUARANTINE_PROFILE_ARN=w["quarantine_arn"],
                NOTIFICATION_TOPIC_ARN=w["topic"])
    argv = [deadbolt, "run", "--playbooks", args.playbooks, "--journal", journal,
            "--endpoint-url", url, "--region", "us-east-1", finding]
    rc, dt, _, wall0 = run_measured(argv, denv, timeout=180)
    if not os.path.exists(journal):
        return None, f"`deadbolt run` exited {rc} and wrote no journal"
    last, step, outcome, counts = isolation_end(read_journal(journal))
    if last is None:
        return None, f"no AWS call of an isolation step in the journal (exit {rc})"
    return dict(counts, isolated=last - wall0, end=dt, step=step, outcome=outcome, rc=rc), None


def run_peer(tmp, env, url, w, finding_id):
    argv = [PY, os.path.join(BENCH, "sample_order.py"), "--endpoint", url,
            "--instance-id", w["instance"], "--finding-id", finding_id,
            "--bucket", w["bucket"], "--profile-arn", w["quarantine_arn"], "--topic", w["topic"]]
    wall0 = time.time()
    proc = subprocess.run(argv, env=env, capture_output=True, text=True, timeout=300)
    lines = proc.stdout.strip().splitlines()
    if proc.returncode != 0 or not lines:
        return None, f"sample_order.py exited {proc.returncode}: {proc.stderr.strip()[-200:]}"
    r = {k: float(v) for k, v in (p.split("=") for p in lines[-1].split())}
    return {"isolated": r["isolated_at"] - wall0, "end": r["end_at"] - wall0,
            "calls": int(r["calls"]), "calls_to_isolation": int(r["calls_to_isolation"]),
            "failed": int(r["failed_plugins"])}, None


def isolated_in_moto(w):
    """True when every ENI of the instance is in one group with no rules."""
    ec2 = w["world"].ec2
    groups = set()
    for eni in ec2.describe_network_interfaces(NetworkInterfaceIds=w["enis"])["NetworkInterfaces"]:
        groups.update(g["GroupId"] for g in eni["Groups"])
    if len(groups) != 1:
        return False
    sg = ec2.describe_security_groups(GroupIds=list(groups))["SecurityGroups"][0]
    return not sg.get("IpPermissions") and not sg.get("IpPermissionsEgress")


def run(args, srv, tmp, env, b):
    """b: the bench module (report, skipped, note, finding_doc, run_measured, fmt_ms)."""
    report, skipped, note, fmt_ms = b.report, b.skipped, b.note, b.fmt_ms
    finding_doc, run_measured = b.finding_doc, b.run_measured
    why = missing(args, env)
    if why:
        skipped(NAME, why)
        return
    try:
        moto, fake, delayed = start_account(srv, tmp, env, args.rtt_ms)
    except RuntimeError as exc:
        skipped(NAME, f"the simulated account did not start: {exc}")
        return
    os.environ["MOTO_URL"], os.environ["FAKEAWS_URL"] = moto, fake
    sys.path.insert(0, os.path.join(ROOT, "tests"))
    from harness import world as world_mod
    note(f"containment: moto {moto} <- fake {fake} <- delayproxy {delayed} "
         f"({args.rtt_ms:g} ms round trip); EC2 world rebuilt for each side")

    w = build_world(world_mod, "deadbolt")
    ours, why = run_deadbolt(args, tmp, env, delayed, w, finding_doc, run_measured)
    if ours is None:
        skipped(NAME, why)
        return
    ours["isolated_ok"] = isolated_in_moto(w)
    w = build_world(world_mod, "peer")
    peer, why = run_peer(tmp, env, delayed, w, "bench-peer-finding")
    if peer is None:
        skipped(NAME, why)
        return
    peer["isolated_ok"] = isolated_in_moto(w)
    med = f"{ours['median_ms']:.0f} ms" if ours["median_ms"] is not None else "?"
    note(f"deadbolt: outcome {ours['outcome']}, {ours['calls']} calls ({ours['calls_to_isolation']}"
         f" up to the end of step '{ours['step']}'; median call {med} with the delay and moto), "
         f"ENIs isolated in moto: {ours['isolated_ok']}; peer: {peer['calls']} calls "
         f"({peer['calls_to_isolation']} up to isolation), {peer['failed']} plugins failed, "
         f"ENIs isolated in moto: {peer['isolated_ok']}")
    # Faster only counts if deadbolt really isolated the instance.
    ok = ours["isolated_ok"] and ours["outcome"] in ("contained", "partial") and \
        ours["isolated"] < peer["isolated"]
    report("time to isolation (from process start to the isolation step's last call)",
           fmt_ms(ours["isolated"]), f"aws-samples order, boto3 {fmt_ms(peer['isolated'])}",
           f"{peer['isolated'] / ours['isolated']:.1f}x sooner",
           "isolated, and not waiting on SSM evidence work", ok)
    report("time to the end of the run", fmt_ms(ours["end"]),
           f"aws-samples order, boto3 {fmt_ms(peer['end'])}",
           f"{peer['end'] / ours['end']:.1f}x sooner", "none set; printed for comparison")
