"""startup — the start-up part of `make bench` (issue 10, "a start-up that is
the program, not its libraries"): what the statically linked binary costs
before and around its own work.

  1. `deadbolt version` against bench/noop.c (a do-nothing C program built
     here with the machine's defaults), whole processes run in turn
     (A B A B ...) by bench/abtime.c: wall-time medians and the median of
     the pairwise ratios (a noisy neighbour's share falls alike on both
     sides of a pair), and the CPU time (user + system) beside them: on a
     loaded machine the steadier figure.
  2. The Lambda loop: `deadbolt lambda` serving 1,000 invocations (one EC2
     finding each, dry run) from tests/lambda/runtime_api.py, against the
     canned nginx endpoint of the runner part; its peak RSS (VmHWM) after
     100 invocations and after 1,000.

The peak RSS of a dry run of one EC2 finding is the runner part's line.
Owner: the bench engineer."""

import os
import subprocess
import sys
import time
import uuid

BENCH = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(BENCH)
sys.path.insert(0, os.path.join(ROOT, "tests", "lambda"))


def build(tmp, name, flags=()):
    """Compiles bench/NAME.c with the machine's defaults into tmp."""
    exe = os.path.join(tmp, name)
    cc = os.environ.get("CC", "cc")
    proc = subprocess.run([cc, "-O2", *flags, "-o", exe, os.path.join(BENCH, name + ".c")],
                          capture_output=True, text=True)
    if proc.returncode != 0:
        return None, f"{cc} could not build bench/{name}.c: {proc.stderr.strip()[-200:]}"
    return exe, None


def version_vs_noop(args, tmp, env, b):
    name = "start-up: `deadbolt version` vs a do-nothing C program (whole process)"
    deadbolt = b.deadbolt_path(args.build)
    if not deadbolt:
        b.skipped(name, f"{args.build}/deadbolt not built")
        return
    noop, why = build(tmp, "noop")
    abtime, why2 = build(tmp, "abtime")
    if not noop or not abtime:
        b.skipped(name, why or why2)
        return
    n = args.startup_pairs
    r = b.run_kv([abtime, str(n), deadbolt, "version", "--", noop], env, timeout=600)
    ok = r["ratio"] <= 2.5
    b.report(f"{name}, {n} pairs run in turn", f"{r['a_ms']:.2f} ms",
             f"noop {r['b_ms']:.2f} ms",
             f"{r['ratio']:.2f}x (median of pairs); CPU {r['a_cpu_ms']:.2f} ms vs "
             f"{r['b_cpu_ms']:.2f} ms, {r['a_cpu_ms'] / r['b_cpu_ms']:.2f}x", "<= 2.5x", ok)
    dk = b.rss_runs([deadbolt, "version"], env, 5)
    pk = b.rss_runs([noop], env, 5)
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
