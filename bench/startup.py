"""startup — the start-up part of `make bench` (issue 10, "a start-up that is
the program, not its libraries"): what the statically linked binary costs
before and around its own work.

  1. `deadbolt version` against bench/noop.c (a do-nothing C program built
     here with the machine's defaults): whole-process wall time by
     hyperfine, the two measured in alternating rounds so that a noisy
     neighbour hits both alike; the ratio is the median of the rounds'
     ratios. The CPU time (user + system) is given beside it.
  2. The Lambda loop: `deadbolt lambda` serving 1,000 invocations (one EC2
     finding each, dry run) from tests/lambda/runtime_api.py, against the
     canned nginx endpoint of the runner part; its peak RSS (VmHWM) after
     100 invocations and after 1,000.

The peak RSS of a dry run of one EC2 finding is the runner part's line.
Owner: the bench engineer."""

import os
import statistics
import subprocess
import sys
import time
import uuid

BENCH = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(BENCH)
sys.path.insert(0, os.path.join(ROOT, "tests", "lambda"))


def build_noop(tmp):
    exe = os.path.join(tmp, "noop")
    cc = os.environ.get("CC", "cc")
    proc = subprocess.run([cc, "-O2", "-o", exe, os.path.join(BENCH, "noop.c")],
                          capture_output=True, text=True)
    if proc.returncode != 0:
        return None, f"{cc} could not build bench/noop.c: {proc.stderr.strip()[-200:]}"
    return exe, None


def version_vs_noop(args, tmp, env, b):
    name = "start-up: `deadbolt version` vs a do-nothing C program (whole process)"
    deadbolt = b.deadbolt_path(args.build)
    if not deadbolt:
        b.skipped(name, f"{args.build}/deadbolt not built")
        return
    noop, why = build_noop(tmp)
    if not noop:
        b.skipped(name, why)
        return
    rounds, runs = args.startup_rounds, args.startup_round_runs
    ours, peer, ours_cpu, peer_cpu, ratios = [], [], [], [], []
    for _ in range(rounds):
        d = b.hyperfine_median([deadbolt, "version"], env, runs, b.CLIENT_CPU, warmup=10, tmp=tmp)
        dc = b.LAST_CPU
        p = b.hyperfine_median([noop], env, runs, b.CLIENT_CPU, warmup=10, tmp=tmp)
        pc = b.LAST_CPU
        ours.append(d)
        peer.append(p)
        ratios.append(d / p)
        if dc and pc:
            ours_cpu.append(dc)
            peer_cpu.append(pc)
    d, p, r = statistics.median(ours), statistics.median(peer), statistics.median(ratios)
    cpu = ""
    if ours_cpu:
        dc, pc = statistics.median(ours_cpu), statistics.median(peer_cpu)
        cpu = f"; CPU {b.fmt_ms(dc)} vs {b.fmt_ms(pc)}, {dc / pc:.2f}x"
    b.report(f"{name}, {rounds} alternating rounds of {runs} runs", b.fmt_ms(d),
             f"noop {b.fmt_ms(p)}", f"{r:.2f}x{cpu}", "<= 2.5x", r <= 2.5)
    dk = b.rss_runs([deadbolt, "version"], env, 5, b.CLIENT_CPU)
    pk = b.rss_runs([noop], env, 5, b.CLIENT_CPU)
    if dk is not None and pk is not None:
        b.note(f"peak RSS: `deadbolt version` {b.fmt_mib(dk)}, noop {b.fmt_mib(pk)}")


def lambda_event(detail):
    """The finding as EventBridge delivers it to the function."""
    return {"version": "0", "id": str(uuid.uuid4()), "detail-type": "GuardDuty Finding",
            "source": "aws.guardduty", "account": detail.get("accountId", "123456789012"),
            "time": detail.get("updatedAt", "2024-01-01T00:00:00Z"),
            "region": detail.get("region", "us-east-1"), "resources": [], "detail": detail}


def lambda_loop(args, srv, tmp, env, b, url):
    n = args.lambda_invocations
    mark = max(1, n // 10)
    name = f"Lambda loop, {n:,} invocations (one EC2 finding each, dry run), peak RSS"
    deadbolt = b.deadbolt_path(args.build)
    if not deadbolt:
        b.skipped(name, f"{args.build}/deadbolt not built")
        return
    try:
        from runtime_api import RuntimeAPI
    except ImportError as e:
        b.skipped(name, f"tests/lambda/runtime_api.py: {e}")
        return
    api = RuntimeAPI().start()
    proc = None
    try:
        lenv = {k: v for k, v in env.items() if not k.startswith("AWS_")}
        lenv.update(b.DEPLOYMENT)
        lenv.update({"AWS_LAMBDA_RUNTIME_API": api.address, "LAMBDA_TASK_ROOT": ROOT,
                     "DEADBOLT_PLAYBOOKS": args.playbooks, "_HANDLER": "bootstrap",
                     "AWS_LAMBDA_FUNCTION_NAME": "deadbolt",
                     "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": "256", "AWS_REGION": b.REGION,
                     "AWS_DEFAULT_REGION": b.REGION, "AWS_ACCESS_KEY_ID": b.ACCESS_KEY,
                     "AWS_SECRET_ACCESS_KEY": b.SECRET_KEY, "AWS_ENDPOINT_URL": url,
                     "AWS_EC2_METADATA_DISABLED": "true", "DEADBOLT_DRY_RUN": "true"})
        proc = subprocess.Popen(b.cpu_argv([deadbolt, "lambda"], b.CLIENT_CPU), env=lenv,
                                cwd=tmp, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                stderr=subprocess.DEVNULL)
        details = b.finding_doc(args.finding, n, args.instance_id)
        hwm, t0 = {}, time.perf_counter()
        for i, detail in enumerate(details, 1):
            rid = api.enqueue(lambda_event(detail))
            res = api.wait_result(rid, timeout=60)
            if res is None or res["kind"] != "response":
                why = "no answer in 60 s" if res is None else \
                    f"{res['kind']} {res.get('error_type')}: {res['body'][:120]!r}"
                raise b.Skip(f"invocation {i}: {why}")
            if i in (mark, n):
                kb = b.status_kb(proc.pid)
                if kb is None:
                    raise b.Skip(f"the process ended after {i} invocations")
                hwm[i] = kb
        dt = time.perf_counter() - t0
    finally:
        if proc is not None and proc.poll() is None:
            proc.terminate()
            try:
                proc.wait(5)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        api.stop()
    grow = hwm[n] / hwm[mark]
    b.report(name, f"after {n:,} {b.fmt_mib(hwm[n])}", f"after {mark:,} {b.fmt_mib(hwm[mark])}",
             f"{grow:.2f}", "flat (<= 1.05) and < 10 MiB",
             grow <= 1.05 and hwm[n] < 10 * 1024)
    b.note(f"{dt / n * 1000:.1f} ms per invocation, Runtime API round trips included")


def run(args, srv, tmp, env, b):
    """b: the bench module."""
    b.guarded("start-up vs noop", version_vs_noop, args, tmp, env, b)
    own = os.path.join(tmp, "startup")  # the runner part's nginx keeps tmp/nginx-canned
    os.makedirs(own, exist_ok=True)
    try:
        url = b.canned_nginx(srv, own)
    except b.Skip as e:
        b.skipped("Lambda loop", str(e))
        return
    b.guarded("Lambda loop", lambda_loop, args, srv, tmp, env, b, url)
