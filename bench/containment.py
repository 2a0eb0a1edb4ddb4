"""containment — the time-to-containment part of `make bench` (issue 10,
section 1).

The simulated account is moto behind the fake AWS server (tests/fakeaws, for
what moto lacks: the console screenshot, SSM instance information and
commands, the attachment.status filter, injected faults), behind
bench/delayproxy.py adding a fixed delay to every request (100 ms round trip
by default: 50 ms each way, and one round trip per new connection). For
each run the EC2 world is built afresh with boto3 straight at moto
(tests/harness/world.py: an SSM-managed instance with two ENIs, two volumes
and an instance profile, in an Auto Scaling group, behind a classic ELB and
a target group). Four `deadbolt run`s, the same binary each time:

  deadbolt   this tree's playbooks
  seed       the playbooks of the seed commit (SEED_COMMIT), taken out of
             git with `git show` into a temporary directory at bench time

each with the console screenshot answered, and answered 500 every time (a
fault of the fake). Then, for the record, bench/sample_order.py: the
aws-samples responder's calls, one at a time, in its order, with its
5 s + 10 s SSM waits.

Measured from process start (both sides pay their start-up):
  isolated    the end of the last ModifyNetworkInterfaceAttribute (every ENI
              in the isolation group), in seconds and in round trips
  whole run   the end of the run, less the SSM wait: the time of the steps
              open_forensic_access and run_forensic_commands (the agent and
              the commands), and their calls
Round trips are read from the journal: a call's depth is its attempts plus
the depth of the call that ended last before it started (the answer that
set it off), and the count is the deepest call by then, plus one for the
first connection. One after the other, that is every attempt; overlapping,
the dependency chain."""

import json
import os
import re
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
NAME = "containment on moto + a delay on every request"


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
    # The security group of the VPC's interface endpoints for SSM: the only
    # place the sandbox lets the isolation group's forensic egress go.
    endpoints = w.ec2.create_security_group(
        GroupName="vpc-endpoints", Description="interface endpoints: ssm, ssmmessages, ec2messages",
        VpcId=inst.vpc)["GroupId"]
    return {"instance": inst.id, "enis": inst.enis, "volumes": inst.volumes, "bucket": bucket,
            "topic": topic, "quarantine_arn": quarantine.arn, "endpoints": endpoints, "world": w}


def with_endpoints(src, tmp, tag, endpoints):
    """A copy of the playbook directory src whose config.lua names the
    world's endpoint group as the forensic egress (both sides alike)."""
    dest = os.path.join(tmp, f"playbooks-{tag}")
    shutil.rmtree(dest, ignore_errors=True)
    shutil.copytree(src, dest)
    path = os.path.join(dest, "config.lua")
    with open(path) as f:
        text = f.read()
    text, n = re.subn(r"(\n\s*)egress = \{.*?\},\n",
                      lambda m: f'{m.group(1)}egress = {{ UserIdGroupPairs = {{ {{ GroupId = "{endpoints}" }} }} }},\n',
                      text, count=1)
    if n != 1:
        raise RuntimeError(f"{path}: no forensics egress setting to point at the endpoints")
    with open(path, "w") as f:
        f.write(text)
    return dest


def iso_epoch(ts):
    return datetime.fromisoformat(ts.replace("Z", "+00:00")).timestamp()


def read_journal(path):
    with open(path) as f:
        return [json.loads(line) for line in f if line.strip()]


SEED_COMMIT = "5f54e21"  # the seed's playbooks: their order is the peer
SSM_WAIT_STEPS = ("open_forensic_access", "run_forensic_commands")
# What the seed's playbooks need to pass today's sandbox rules, which they
# predate; their calls and their order are unchanged: deadbolt's group tag on
# the groups they create, and evidence written only as new objects.
SEED_SHIMS = {
    "playbooks/lib/isolation.lua": [(
        "        { Key = cfg.isolation_tag, Value = ctx.state.instance_id },\n",
        "        { Key = cfg.isolation_tag, Value = ctx.state.instance_id },\n"
        "        { Key = \"deadbolt:group\", Value = purpose:match(\"^isolation\") and \"isolation\" or \"untrack\" },\n")],
    "playbooks/lib/evidence.lua": [(
        "    ChecksumSHA256 = base64.encode(digest),\n",
        "    ChecksumSHA256 = base64.encode(digest),\n    IfNoneMatch = \"*\",\n"), (
        "    ChecksumSHA256 = base64.encode(hash.sha256_raw(body)),\n",
        "    ChecksumSHA256 = base64.encode(hash.sha256_raw(body)),\n    IfNoneMatch = \"*\",\n")],
}
EPS = 0.002  # journal timestamps have millisecond resolution


def seed_playbooks(tmp):
    """The seed commit's playbooks/ written into tmp; (dir, None) or (None, why)."""
    git = shutil.which("git")
    if not git:
        return None, "git is not installed"
    ls = subprocess.run([git, "-C", ROOT, "ls-tree", "-r", "--name-only", SEED_COMMIT, "playbooks"],
                        capture_output=True, text=True)
    if ls.returncode != 0 or not ls.stdout.strip():
        return None, f"commit {SEED_COMMIT} is not in this checkout ({ls.stderr.strip()[:100]})"
    out = os.path.join(tmp, "seed")
    for path in ls.stdout.split():
        body = subprocess.run([git, "-C", ROOT, "show", f"{SEED_COMMIT}:{path}"],
                              capture_output=True).stdout
        dest = os.path.join(out, path)
        os.makedirs(os.path.dirname(dest), exist_ok=True)
        for old, shim in SEED_SHIMS.get(path, ()):
            if old.encode() not in body:
                return None, f"{path} of {SEED_COMMIT} is not as expected (a shim does not apply)"
            body = body.replace(old.encode(), shim.encode())
        with open(dest, "wb") as f:
            f.write(body)
    return os.path.join(out, "playbooks"), None


def spans(lines):
    """Every sent AWS call as (start, end, attempts, step, op), epoch
    seconds. A line with sent_ms (else start_ms) and end_ms (from the run's start: the
    engine's scheduler writes lines in a sequential run's order, not when
    each call ended) is placed by those; otherwise it ended at its ts."""
    out, run0 = [], None
    for ln in lines:
        if ln.get("event") == "run_start":
            run0 = iso_epoch(ln["ts"])
        # The account check (sts.GetCallerIdentity, before the first step,
        # once per process) is journaled as its decision, not as a call: one
        # request, from the run's start to that line.
        if ln.get("event") == "account" and ln.get("caller_account") and run0 is not None:
            out.append((run0, iso_epoch(ln["ts"]), 1, None, "sts.GetCallerIdentity"))
        if ln.get("event") != "aws_call" or ln.get("dry_run") or not isinstance(ln.get("ms"), (int, float)):
            continue
        # sent_ms: when its first attempt went out (a call waiting for a
        # free slot of its service starts its round trip then, not when
        # it was asked for: start_ms)
        sent = ln.get("sent_ms") if isinstance(ln.get("sent_ms"), (int, float)) else ln.get("start_ms")
        if run0 is not None and isinstance(ln.get("end_ms"), (int, float)) and isinstance(sent, (int, float)):
            start, end = run0 + sent / 1000.0, run0 + ln["end_ms"] / 1000.0
        else:
            end = iso_epoch(ln["ts"])
            start = end - ln["ms"] / 1000.0
        out.append((start, end, int(ln.get("attempts") or 1), ln.get("step"), ln.get("op")))
    return out


def chain(calls, until):
    """Round trips up to `until`: each call's depth is its attempts plus the
    depth of the call that ended last before it started (what set it off:
    a call starts as soon as the answer it waited for is in); the deepest
    call that ended by `until`. One after the other, that is the number of
    attempts; overlapping, the length of the dependency chain."""
    calls = sorted(calls, key=lambda c: c[0])
    ends = []  # (end, depth) of the calls seen so far
    deepest = 0
    for start, end, attempts, _, _ in calls:
        before = [e for e in ends if e[0] <= start + EPS]
        depth = attempts + (max(before, key=lambda e: e[0])[1] if before else 0)
        ends.append((end, depth))
        if end <= until + EPS:
            deepest = max(deepest, depth)
    return deepest


def overlap(calls):
    """The most calls in flight at once."""
    events = sorted([(c[0], 1) for c in calls] + [(c[1] - EPS, -1) for c in calls])
    most = cur = 0
    for _, d in events:
        cur += d
        most = max(most, cur)
    return most


def analyse(lines, wall0):
    calls = spans(lines)
    moves = [c for c in calls if c[4] == "ec2.ModifyNetworkInterfaceAttribute"]
    end = next((ln for ln in reversed(lines) if ln.get("event") == "run_end"), {})
    steps = {ln.get("step"): ln for ln in lines if ln.get("event") == "step"}
    r = {"outcome": end.get("outcome"), "calls": len(calls), "overlap": overlap(calls)}
    if moves:
        t = max(c[1] for c in moves)
        r["isolated"] = t - wall0
        r["rt_isolated"] = chain(calls, t) + 1
    last = max((c[1] for c in calls), default=wall0)
    wait = sum(steps[n].get("ms", 0) / 1000.0 for n in SSM_WAIT_STEPS if n in steps)
    rest = [c for c in calls if c[3] not in SSM_WAIT_STEPS]
    r["wait"] = wait
    r["rt_run"] = chain(rest, last) + 1
    # And without any forensic step: the run of an instance SSM does not manage.
    bare = [c for c in rest if c[3] != "end_forensics"]
    r["rt_bare"] = chain(bare, max((c[1] for c in bare), default=wall0)) + 1
    # The Lambda path: the same calls less the account check, which the
    # Lambda answers from its function ARN with no call (engine/cmd/lambda.c,
    # with the execution role's credentials). Derived from this journal,
    # not a run of the Lambda runtime.
    own = [c for c in calls if c[4] != "sts.GetCallerIdentity"]
    if moves:
        r["rt_isolated_lambda"] = chain(own, t) + 1
    own_rest = [c for c in own if c[3] not in SSM_WAIT_STEPS]
    r["rt_run_lambda"] = chain(own_rest, last) + 1
    r["account_check"] = int(len(own) < len(calls))
    return r


def run_deadbolt(args, tmp, env, url, w, finding_doc, run_measured, playbooks, tag):
    deadbolt = os.path.join(ROOT, args.build, "deadbolt")
    finding = os.path.join(tmp, f"containment-finding-{tag}.json")
    with open(finding, "w") as f:
        json.dump(finding_doc(args.finding, 1, w["instance"])[0], f)
    journal = os.path.join(tmp, f"containment-journal-{tag}.jsonl")
    denv = dict(env, ARTIFACT_BUCKET=w["bucket"], QUARANTINE_PROFILE_ARN=w["quarantine_arn"],
                NOTIFICATION_TOPIC_ARN=w["topic"])
    argv = [deadbolt, "run", "--playbooks", playbooks, "--journal", journal,
            "--endpoint-url", url, "--region", "us-east-1", finding]
    rc, dt, _, wall0 = run_measured(argv, denv, timeout=300)
    if not os.path.exists(journal):
        return None, f"`deadbolt run` exited {rc} and wrote no journal"
    if args.keep_journals:
        os.makedirs(args.keep_journals, exist_ok=True)
        shutil.copy(journal, args.keep_journals)
    r = analyse(read_journal(journal), wall0)
    if "isolated" not in r:
        return None, f"no ENI was moved (exit {rc}, outcome {r['outcome']})"
    r.update(end=dt, rc=rc, run=dt - r["wait"])
    return r, None


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


def one_side(args, tmp, env, delayed, world_mod, b, playbooks, tag, screenshot_5xx):
    w = build_world(world_mod, tag)
    if screenshot_5xx:
        w["world"].fault("GetConsoleScreenshot", "500", count=1000)
    playbooks = with_endpoints(playbooks, tmp, tag, w["endpoints"])
    r, why = run_deadbolt(args, tmp, env, delayed, w, b.finding_doc, b.run_measured, playbooks, tag)
    if r is not None:
        r["isolated_ok"] = isolated_in_moto(w)
    return r, why


def median_run(rs):
    """The median of each number over runs; the other fields of the first,
    and isolated_ok only if every run isolated."""
    out = dict(rs[0])
    for k, v in rs[0].items():
        if isinstance(v, (int, float)) and not isinstance(v, bool):
            out[k] = statistics.median(r[k] for r in rs)
    out["isolated_ok"] = all(r["isolated_ok"] for r in rs)
    out["reps"] = len(rs)
    return out


def rt(r, key, secs):
    return f"{b_fmt(r[secs])} ({r[key]:g} round trips)"


def b_fmt(s):
    return f"{s * 1000:.0f} ms" if s < 1 else f"{s:.2f} s"


def run(args, srv, tmp, env, b):
    """b: the bench module (report, skipped, note, finding_doc, run_measured, fmt_ms)."""
    report, skipped, note = b.report, b.skipped, b.note
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
    rtt = args.rtt_ms / 1000.0
    note(f"containment: moto {moto} <- fake {fake} <- delayproxy {delayed} "
         f"({args.rtt_ms:g} ms added to every request); EC2 world rebuilt for each run; "
         f"peer: the same binary running the playbooks of {SEED_COMMIT} (the seed's order)")
    seed, why = seed_playbooks(tmp)
    if seed is None:
        note(f"no seed peer: {why}")
    runs = {}
    for i in range(args.containment_reps):  # interleaved: a noisy neighbour hits all alike
        for shot in ("answered", "5xx"):
            for side, playbooks in (("deadbolt", args.playbooks), ("seed", seed)):
                if playbooks is None or runs.get((side, shot)) == "failed":
                    continue
                r, why = one_side(args, tmp, env, delayed, world_mod, b, playbooks,
                                  f"{side}-{shot}-{i}", shot == "5xx")
                if r is None:
                    skipped(f"{NAME}: {side}, screenshot {shot}", why)
                    runs[(side, shot)] = "failed"
                    continue
                runs.setdefault((side, shot), []).append(r)
    results = {k: median_run(v) for k, v in runs.items() if v != "failed"}
    for shot in ("answered", "5xx"):
        ours, peer = results.get(("deadbolt", shot)), results.get(("seed", shot))
        if not ours:
            continue
        mode = (f"at most {ours['overlap']} calls in flight" if ours["overlap"] > 1
                else "aws.all ran sequentially (the Lua stand-in): no two calls overlapped")
        note(f"screenshot {shot}: deadbolt outcome {ours['outcome']}, {ours['calls']} calls, {mode}, "
             f"ENIs isolated in moto: {ours['isolated_ok']}; local cost to isolation "
             f"{b_fmt(max(0.0, ours['isolated'] - ours['rt_isolated'] * rtt))} beyond "
             f"{ours['rt_isolated']:g} x {args.rtt_ms:g} ms"
             + (f"; seed outcome {peer['outcome']}, {peer['calls']} calls, ENIs isolated: "
                f"{peer['isolated_ok']}" if peer else ""))
        lam_ok = ours["isolated_ok"] and ours["rt_isolated_lambda"] <= 8
        report(f"time to isolation, screenshot {shot}, the Lambda path (the same runs less the account "
               f"check, which the Lambda answers from its function ARN)",
               f"{ours['rt_isolated_lambda']:g} round trips",
               f"seed order {peer['rt_isolated']:g} round trips (with its account check)" if peer else "seed: none",
               "n/a", "<= 8 round trips", lam_ok)
        report(f"whole run without the SSM wait, screenshot {shot}, the Lambda path",
               f"{ours['rt_run_lambda']:g} round trips",
               f"seed order {peer['rt_run']:g} round trips (with its account check)" if peer else "seed: none",
               "n/a", "<= 12 round trips", ours["rt_run_lambda"] <= 12)
        if ours["account_check"]:
            note(f"screenshot {shot}: the CLI runs below include the account check "
                 "(sts.GetCallerIdentity, one round trip before the first step of a process: "
                 "`deadbolt run`'s credentials may be any account's)")
        ok = ours["isolated_ok"] and ours["rt_isolated"] <= 8 + ours["account_check"]
        report(f"time to isolation, screenshot {shot}, `deadbolt run` (process start to every ENI isolated, "
               f"{args.rtt_ms:g} ms a request, median of {ours['reps']})", rt(ours, "rt_isolated", "isolated"),
               f"seed order {rt(peer, 'rt_isolated', 'isolated')}" if peer else "seed: none",
               f"{peer['isolated'] / ours['isolated']:.1f}x sooner" if peer else "n/a",
               f"<= 8 round trips (+{ours['account_check']:g} the CLI's account check), "
               f"{8 * rtt:.1f} s + local costs", ok)
        note(f"screenshot {shot}, without any forensic step (open_forensic_access, run_forensic_commands, "
             f"end_forensics): deadbolt {ours['rt_bare']:g} round trips"
             + (f", seed order {peer['rt_bare']:g}" if peer else ""))
        report(f"whole run without the SSM wait, screenshot {shot}, `deadbolt run`", rt(ours, "rt_run", "run"),
               f"seed order {rt(peer, 'rt_run', 'run')}" if peer else "seed: none",
               f"{peer['run'] / ours['run']:.1f}x sooner" if peer else "n/a",
               f"<= 12 round trips (+{ours['account_check']:g} the CLI's account check)",
               ours["rt_run"] <= 12 + ours["account_check"])
    if args.no_samples:
        return
    w = build_world(world_mod, "peer")
    peer, why = run_peer(tmp, env, delayed, w, "bench-peer-finding")
    ours = results.get(("deadbolt", "answered"))
    if peer is None or ours is None:
        skipped(f"{NAME}: aws-samples order", why or "no deadbolt run to compare")
        return
    peer["isolated_ok"] = isolated_in_moto(w)
    note(f"aws-samples order (boto3, one call at a time, 5 s + 10 s SSM sleeps): {peer['calls']} calls "
         f"({peer['calls_to_isolation']} up to isolation), {peer['failed']} plugins failed, "
         f"ENIs isolated in moto: {peer['isolated_ok']}")
    report("time to isolation against the aws-samples order", b_fmt(ours["isolated"]),
           f"aws-samples order, boto3 {b_fmt(peer['isolated'])}",
           f"{peer['isolated'] / ours['isolated']:.1f}x sooner", "none set; printed for comparison")
