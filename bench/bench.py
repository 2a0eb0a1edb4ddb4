#!/usr/bin/env python3
"""bench — `make bench`: deadbolt against a peer run on the same machine in
the same run, printed as medians and ratios (never asserted: the machine is
shared and noisy). Run by bench/run.sh, which builds the C programs first.

Each result is one line:
  NAME: deadbolt X, peer Y, ratio Z (target ...) [meets target | MISSES target]
and a part that cannot run says "NAME: skipped: <why>".

  1. client (issue 2)   calls/s, start-up, peak RSS; against nginx (canned XML)
  2. runner (issue 3)   sandbox build, dry run as a process, 1,000 findings
  3. containment (issue 4)  time to isolation and to the end, on moto behind
                            a 20 ms round-trip delay, vs the aws-samples order
  4. startup (issue 10)  `deadbolt version` vs a do-nothing C program; the
                         Lambda loop's peak RSS over 1,000 invocations

Every server is started on a free 127.0.0.1 port and stopped by its PID.
Standard library only (boto3 in the peers)."""

import argparse
import json
import os
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time

sys.dont_write_bytecode = True  # no __pycache__ in bench/ or tests/harness/
import servers  # noqa: E402

BENCH = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(BENCH)
PY = sys.executable  # the real interpreter, not a pyenv shim
CANNED = os.path.join(BENCH, "canned")
REGION = "us-east-1"
ACCESS_KEY = "AKIAIOSFODNN7EXAMPLE"
SECRET_KEY = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"
CLIENT_CPU, SERVER_CPU = 0, 1
# The clients aws-samples/amazon-guardduty-automated-response-sample creates
# at start-up (the Lambda deadbolt replaces); deadbolt's one client serves all.
SAMPLE_CLIENTS = ("ec2", "s3", "ssm", "autoscaling", "elb", "elbv2", "sns")
# The deployment settings a real install has (template.yaml), so that the dry
# run plans the whole playbook: evidence upload, forensic commands, summary.
DEPLOYMENT = {"ARTIFACT_BUCKET": "deadbolt-evidence-123456789012",
              "QUARANTINE_PROFILE_ARN": "arn:aws:iam::123456789012:instance-profile/deadbolt-quarantine",
              "NOTIFICATION_TOPIC_ARN": "arn:aws:sns:us-east-1:123456789012:deadbolt"}


class Skip(Exception):
    """A part that cannot run; its message is the reason printed."""


# --- output ----------------------------------------------------------------

def fmt_ms(s):
    return f"{s * 1000:.2f} ms" if s < 1 else f"{s:.2f} s"


def fmt_mib(kb):
    return f"{kb / 1024:.1f} MiB"


def report(name, ours, peer, ratio, target, ok=None):
    verdict = "" if ok is None else (" [meets target]" if ok else " [MISSES target]")
    print(f"{name}: deadbolt {ours}, peer {peer}, ratio {ratio} (target {target}){verdict}",
          flush=True)


def skipped(name, why):
    print(f"{name}: skipped: {why}", flush=True)


def note(msg):
    print(f"  # {msg}", flush=True)


# --- processes -----------------------------------------------------------

def cpu_argv(argv, cpu):
    if cpu is None or not shutil.which("taskset"):
        return list(argv)
    return ["taskset", "-c", str(cpu)] + list(argv)


def kv(line):
    """'a=1 b=2.5' -> {'a': 1.0, 'b': 2.5} (non-numbers kept as strings)."""
    out = {}
    for part in line.split():
        k, _, v = part.partition("=")
        try:
            out[k] = float(v)
        except ValueError:
            out[k] = v
    return out


def run_kv(argv, env, cpu=None, timeout=300):
    """Runs a bench program and parses its last stdout line of key=value pairs."""
    proc = subprocess.run(cpu_argv(argv, cpu), env=env, capture_output=True, text=True,
                          timeout=timeout)
    lines = proc.stdout.strip().splitlines()
    if proc.returncode != 0 or not lines:
        raise Skip(f"{os.path.basename(argv[0])} failed (exit {proc.returncode}): "
                   f"{(proc.stderr or proc.stdout).strip().splitlines()[-1:] or ['no output']}")
    return kv(lines[-1])


TIME = "/usr/bin/time"


def run_measured(argv, env, cpu=None, cwd=ROOT, timeout=120):
    """Runs argv to completion; returns (exit code, wall seconds, peak RSS in
    KiB or None, start wall-clock time). The RSS comes from GNU time's %M:
    Linux carries a process's peak RSS across exec, so a child spawned
    straight from this (large) Python process would report Python's peak;
    GNU time forks from its own small image first."""
    argv = cpu_argv(argv, cpu)
    rss_file = None
    if os.access(TIME, os.X_OK):
        fd, rss_file = tempfile.mkstemp(prefix="deadbolt-bench-rss-")
        os.close(fd)
        argv = [TIME, "-f", "%M", "-o", rss_file] + argv
    try:
        wall0 = time.time()
        t0 = time.perf_counter()
        proc = subprocess.run(argv, env=env, cwd=cwd, stdin=subprocess.DEVNULL,
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                              timeout=timeout)
        dt = time.perf_counter() - t0
        kb = None
        if rss_file:
            with open(rss_file) as f:
                lines = [ln for ln in f.read().split() if ln.isdigit()]
            kb = int(lines[-1]) if lines else None
    finally:
        if rss_file:
            os.unlink(rss_file)
    return proc.returncode, dt, kb, wall0


def rss_runs(argv, env, runs, cpu=None, cwd=ROOT):
    """Median peak RSS (KiB) of runs whole-process runs, or None without GNU time."""
    rss = []
    for _ in range(runs):
        rc, _, kb, _ = run_measured(argv, env, cpu, cwd)
        if rc != 0:
            raise Skip(f"{' '.join(argv[:3])} ... exited {rc}")
        if kb is None:
            return None
        rss.append(kb)
    return statistics.median(rss)


def time_runs(argv, env, runs, cpu=None, warmup=2, cwd=ROOT):
    """Median wall time of runs whole-process runs (without hyperfine)."""
    for _ in range(warmup):
        run_measured(argv, env, cpu, cwd)
    times = []
    for _ in range(runs):
        rc, dt, _, _ = run_measured(argv, env, cpu, cwd)
        if rc != 0:
            raise Skip(f"{' '.join(argv[:3])} ... exited {rc}")
        times.append(dt)
    return statistics.median(times)


def hyperfine_median(argv, env, runs, cpu=None, warmup=3, cwd=ROOT, tmp=None):
    """Median wall time by hyperfine (no shell), or by time_runs without it.
    The mean CPU time (user + system) of the runs is kept in LAST_CPU: on a
    busy machine it says how much of the wall time was waiting for a core."""
    global LAST_CPU
    LAST_CPU = None
    hf = shutil.which("hyperfine")
    if not hf:
        return time_runs(argv, env, runs, cpu, warmup, cwd)
    out = os.path.join(tmp, "hyperfine.json")
    cmd = " ".join(shellquote(a) for a in argv)
    proc = subprocess.run(cpu_argv([hf, "-N", "--style", "none", "--warmup", str(warmup),
                                    "--runs", str(runs), "--export-json", out, cmd], cpu),
                          env=env, cwd=cwd, capture_output=True, text=True, timeout=600)
    if proc.returncode != 0:
        raise Skip(f"hyperfine failed: {proc.stderr.strip().splitlines()[-1:]}")
    with open(out) as f:
        res = json.load(f)["results"][0]
    LAST_CPU = res.get("user", 0.0) + res.get("system", 0.0)
    return res["median"]


LAST_CPU = None


def with_cpu(seconds):
    """'6.41 ms (CPU 4.10 ms)' after a hyperfine_median, else just the time."""
    return fmt_ms(seconds) + (f" (CPU {fmt_ms(LAST_CPU)})" if LAST_CPU else "")


def shellquote(s):
    if s and all(c.isalnum() or c in "-_./:=,@%+" for c in s):
        return s
    return "'" + s.replace("'", "'\"'\"'") + "'"


# --- the environment -------------------------------------------------------

def clean_env(tmp):
    """No AWS set-up or proxy of the caller's; credentials from shared files
    in tmp (so start-up includes resolving them from files, as on a laptop)."""
    env = {k: v for k, v in os.environ.items()
           if not k.startswith("AWS_") and k.lower() not in
           ("http_proxy", "https_proxy", "all_proxy", "no_proxy")}
    creds = os.path.join(tmp, "credentials")
    config = os.path.join(tmp, "config")
    with open(creds, "w") as f:
        f.write(f"[default]\naws_access_key_id = {ACCESS_KEY}\n"
                f"aws_secret_access_key = {SECRET_KEY}\n")
    with open(config, "w") as f:
        f.write(f"[default]\nregion = {REGION}\n")
    env.update({"AWS_SHARED_CREDENTIALS_FILE": creds, "AWS_CONFIG_FILE": config,
                "AWS_EC2_METADATA_DISABLED": "true", "NO_PROXY": "127.0.0.1",
                "no_proxy": "127.0.0.1", "LANG": "C.UTF-8", "TZ": "UTC"})
    return env


def deadbolt_path(build):
    path = os.path.join(ROOT, build, "deadbolt")
    return path if os.access(path, os.X_OK) else None


def deadbolt_has(deadbolt, command, env):
    """True when `deadbolt COMMAND --help`-ish probing shows the command exists."""
    proc = subprocess.run([deadbolt, command], env=env, capture_output=True, text=True,
                          timeout=10, cwd=ROOT)
    return "unknown command" not in proc.stderr


# --- 1. the client ---------------------------------------------------------

def need_nginx():
    if not os.access(servers.NGINX, os.X_OK):
        raise Skip(f"{servers.NGINX} is missing (apt-get install nginx-light)")


def client_nginx(srv, tmp):
    need_nginx()
    port = servers.free_port()
    with open(os.path.join(CANNED, "q-2016-11-15-DescribeInstances.xml")) as f:
        body = servers.minify_xml(f.read())
    # The run's account check (sts.GetCallerIdentity, once per process) is
    # told apart by its signature's credential scope.
    with open(os.path.join(CANNED, "q-2011-06-15-GetCallerIdentity.xml")) as f:
        sts = servers.minify_xml(f.read())
    block = (f"    map $http_authorization $bench_sts {{ \"~/sts/aws4_request\" 1; default 0; }}\n"
             f"    server {{\n        listen 127.0.0.1:{port};\n"
             f"        location / {{\n            default_type text/xml;\n"
             f"            if ($bench_sts) {{ {servers.nginx_return(200, sts)} }}\n"
             f"            {servers.nginx_return(200, body)}\n        }}\n    }}\n")
    servers.start_nginx(srv, os.path.join(tmp, "nginx-client"), block, port, cpu=SERVER_CPU)
    return f"http://127.0.0.1:{port}"


def med(rows, key):
    return statistics.median(r[key] for r in rows)


CALLS_PER_FINDING = 250  # under the sandbox's budget of 500 AWS calls a finding


def playbook_loop(args, tmp, env, url, n):
    """One `deadbolt run` whose playbook (bench/callloop/) calls
    ec2.describe_instances CALLS_PER_FINDING times in one step, over as many
    findings as make n calls: the Lua path a playbook's call takes (the
    sandbox primitive, the journal line, the result table). Returns calls/s
    over the steps' own time (the journal's step ms: no start-up)."""
    deadbolt = deadbolt_path(args.build)
    if not deadbolt:
        raise Skip(f"{args.build}/deadbolt not built")
    findings = max(1, n // CALLS_PER_FINDING)
    doc = os.path.join(tmp, "callloop-findings.json")
    with open(doc, "w") as f:
        json.dump(finding_doc(args.finding, findings, args.instance_id), f)
    journal = os.path.join(tmp, "callloop-journal.jsonl")
    if os.path.exists(journal):
        os.unlink(journal)
    argv = [deadbolt, "run", "--playbooks", os.path.join(BENCH, "callloop"), "--journal", journal,
            "--endpoint-url", url, "--region", REGION, doc]
    proc = subprocess.run(cpu_argv(argv, CLIENT_CPU), env=env, cwd=ROOT, capture_output=True,
                          text=True, timeout=300)
    with open(journal) as f:
        lines = [json.loads(ln) for ln in f if ln.strip()]
    steps = [ln for ln in lines if ln.get("event") == "step" and ln.get("step") == "calls"]
    calls = sum(1 for ln in lines if ln.get("event") == "aws_call" and not ln.get("error"))
    if proc.returncode != 0 or len(steps) != findings or any(st["status"] != "ok" for st in steps):
        raise Skip(f"the call loop playbook did not run cleanly (exit {proc.returncode}, "
                   f"{calls} calls): {proc.stderr.strip()[-200:]}")
    seconds = sum(st["ms"] for st in steps) / 1000.0
    return {"calls_s": calls / seconds, "calls": calls}


def client_loop(args, tmp, env, url):
    """(a) calls per second on one core through a playbook, against one
    boto3 client making the same calls; (c) the client's peak RSS. The C
    loop over aws_call (bench_client, no Lua around it) is printed beside
    for what the playbook path adds. Interleaved so that a noisy neighbour
    hits every side alike."""
    prog = os.path.join(ROOT, args.build, "bench", "bench_client")
    if not os.access(prog, os.X_OK):
        raise Skip(f"{prog} not built ({args.why_client or 'build failed'})")
    n, reps = args.calls, args.reps
    lua, bare, peer = [], [], []
    for _ in range(reps):
        lua.append(playbook_loop(args, tmp, env, url, n))
        bare.append(run_kv([prog, url, str(n), REGION], env, CLIENT_CPU))
        peer.append(run_kv([PY, os.path.join(BENCH, "peers.py"), "loop", url, str(n)],
                           env, CLIENT_CPU))
    d, c, p = med(lua, "calls_s"), med(bare, "calls_s"), med(peer, "calls_s")
    report(f"client calls/s through a playbook (1 core, {lua[0]['calls']:.0f} DescribeInstances "
           f"from Lua, journaled, median of {reps})",
           f"{d:.0f}/s", f"boto3 {p:.0f}/s", f"{d / p:.1f}x", ">= 30x", d / p >= 30)
    note(f"the client alone (bench_client: a C loop over aws_call, no sandbox, no journal) "
         f"{c:.0f}/s; a call takes {1e6 / d:.0f} us through a playbook, {1e6 / c:.0f} us bare")
    dk, pk = med(bare, "hwm_kb"), med(peer, "hwm_kb")
    report(f"client peak RSS ({n} sequential calls, one process, the client alone)", fmt_mib(dk),
           f"boto3 {fmt_mib(pk)}", f"{dk / pk:.2f}", "deadbolt < 8 MiB", dk < 8 * 1024)
    note(f"at the end, deadbolt's RSS is {fmt_mib(med(bare, 'anon_kb'))} private + "
         f"{fmt_mib(med(bare, 'file_kb'))} mapped files (shared libraries); boto3's "
         f"{fmt_mib(med(peer, 'anon_kb'))} + {fmt_mib(med(peer, 'file_kb'))}")


def client_startup(args, tmp, env, url):
    """(b) start-up to the first answer as whole processes, credentials from
    the shared files: `deadbolt call` against python3 importing boto3,
    creating the client and making the call."""
    deadbolt = deadbolt_path(args.build)
    if not deadbolt:
        raise Skip(f"{args.build}/deadbolt not built")
    ours_argv = [deadbolt, "call", "ec2", "DescribeInstances", "--endpoint-url", url,
                 "--region", REGION]
    rc, _, _, _ = run_measured(ours_argv, env)
    if rc != 0:
        raise Skip(f"`deadbolt call ec2 DescribeInstances` exits {rc}")
    # The Lambda deadbolt replaces creates its seven clients at start-up.
    code = ("import boto3; s = boto3.session.Session(region_name='us-east-1'); "
            f"c = [s.client(n, endpoint_url='{url}') for n in {SAMPLE_CLIENTS!r}]; "
            "c[0].describe_instances()")
    d = hyperfine_median(ours_argv, env, args.startup_runs, CLIENT_CPU, tmp=tmp)
    d_s = with_cpu(d)
    p = hyperfine_median([PY, "-c", code], env, args.peer_startup_runs, CLIENT_CPU, warmup=1,
                         tmp=tmp)
    report(f"client start-up to first answer (whole process, credentials from files, "
           f"median of {args.startup_runs}/{args.peer_startup_runs})",
           d_s, f"python3+boto3, {len(SAMPLE_CLIENTS)} clients {with_cpu(p)}", f"{p / d:.0f}x faster",
           "deadbolt < 10 ms and >= 50x", d < 0.010 and p / d >= 50)


def bench_client(args, srv, tmp, env):
    url = client_nginx(srv, tmp)
    note(f"client: nginx {url} returns a fixed DescribeInstances (4 KiB); clients on CPU "
         f"{CLIENT_CPU}, nginx on CPU {SERVER_CPU}; {args.calls} calls x {args.reps} runs each")
    guarded("client calls/s and peak RSS", client_loop, args, tmp, env, url)
    guarded("client start-up", client_startup, args, tmp, env, url)


# --- 2. the runner ---------------------------------------------------------

def canned_nginx(srv, tmp):
    """nginx answering each AWS request with a fixed body chosen by its
    operation: query/ec2 by Action and Version in the form body, json by
    X-Amz-Target, and anything else 404. nginx cannot route on a request body
    in its own server block (the body is read after the rewrite phase), so a
    front server reads the body and passes it on, in a header, to a back
    server that serves bench/canned/ files by name. Unknown operations get an
    empty, well-formed answer."""
    need_nginx()
    front, back = servers.free_port(), servers.free_port()
    block = f"""
    map $http_x_bench_body $bench_action {{ "~(^|&)Action=(?<a>[A-Za-z0-9]+)" $a; default ""; }}
    map $http_x_bench_body $bench_version {{ "~(^|&)Version=(?<v>[0-9-]+)" $v; default ""; }}
    types {{ text/xml xml; application/x-amz-json-1.1 json; }}
    upstream canned {{ server 127.0.0.1:{back}; keepalive 8; }}
    server {{
        listen 127.0.0.1:{front};
        location / {{
            proxy_pass http://canned;
            proxy_http_version 1.1;
            proxy_method GET;
            proxy_pass_request_body off;
            proxy_set_header Connection "";
            proxy_set_header Content-Length "";
            proxy_set_header X-Bench-Body $request_body;
        }}
    }}
    server {{
        listen 127.0.0.1:{back};
        root {CANNED};
        location / {{
            try_files /q-$bench_version-$bench_action.xml /j-$http_x_amz_target.json @empty;
        }}
        location @empty {{
            default_type text/xml;
            if ($http_x_amz_target) {{ return 200 '{{}}'; }}
            if ($bench_action) {{
                return 200 '<${{bench_action}}Response><requestId>bench</requestId><${{bench_action}}Result/><ResponseMetadata><RequestId>bench</RequestId></ResponseMetadata></${{bench_action}}Response>';
            }}
            return 404 '<Error><Code>NoSuchKey</Code><Message>not canned</Message></Error>';
        }}
    }}
"""
    servers.start_nginx(srv, os.path.join(tmp, "nginx-canned"), block, front, cpu=SERVER_CPU)
    return f"http://127.0.0.1:{front}"


def finding_doc(template, count, instance_id):
    with open(template) as f:
        base = json.load(f)
    out = []
    for i in range(count):
        one = json.loads(json.dumps(base))
        one["id"] = f"{base['id'][:-6]}{i:06d}"
        one["resource"]["instanceDetails"]["instanceId"] = instance_id
        out.append(one)
    return out


def run_argv(deadbolt, url, finding, playbooks, dry_run=True, journal=None):
    argv = [deadbolt, "run"] + (["--dry-run"] if dry_run else [])
    argv += ["--playbooks", playbooks, "--endpoint-url", url, "--region", REGION]
    if journal:
        argv += ["--journal", journal]
    return argv + [finding]


def bench_sandbox(args, env):
    prog = os.path.join(ROOT, args.build, "bench", "bench_sandbox")
    name = "runner sandbox + 3 playbooks loaded (in process)"
    if not os.access(prog, os.X_OK):
        skipped(name, f"{prog} not built ({args.why_sandbox or 'build failed'})")
        return
    missing = [p for p in ("ec2.lua", "s3.lua", "iam.lua")
               if not os.path.exists(os.path.join(args.playbooks, p))]
    if missing:
        skipped(name, f"{', '.join('playbooks/' + m for m in missing)} not present")
        return
    try:
        r = run_kv([prog, args.playbooks, str(args.sandbox_iters)], env, CLIENT_CPU)
    except Skip as e:
        skipped(name, str(e))
        return
    ours = r["sandbox_ms"]
    peer = r.get("bare_ms", -1.0)
    peer_s = f"bare lua_State+openlibs+dofile x3 {peer:.3f} ms" if peer > 0 else \
        "bare Lua: could not load the playbooks outside the sandbox"
    report(f"{name}, median of {int(r['iterations'])}", f"{ours:.3f} ms", peer_s,
           f"{ours / peer:.2f}x the bare cost" if peer > 0 else "n/a", "< 1 ms", ours < 1.0)
    if "one_ms" in r and "cold_ms" in r:
        note(f"the playbooks come compiled from the process's chunks (the runner compiles "
             f"each file once); per EC2 finding (sandbox + ec2.lua only, what the runner "
             f"loads) {r['one_ms']:.3f} ms; compiling the three from their text (the first "
             f"load in a process) {r['cold_ms']:.3f} ms")


def journal_summary(path):
    """'outcome planned, 47 AWS calls (18 sent, 29 writes planned), 12.5 ms in the run'."""
    with open(path) as f:
        lines = [json.loads(ln) for ln in f if ln.strip()]
    calls = [ln for ln in lines if ln.get("event") == "aws_call"]
    planned = sum(1 for c in calls if c.get("dry_run"))
    end = next((ln for ln in reversed(lines) if ln.get("event") == "run_end"), {})
    return (f"one run: outcome {end.get('outcome', '?')}, {len(calls)} AWS calls "
            f"({len(calls) - planned} sent, {planned} writes planned), "
            f"{end.get('ms', '?')} ms from run start to run end")


def bench_dry_run(args, srv, tmp, env):
    env = dict(env, **DEPLOYMENT)
    deadbolt = deadbolt_path(args.build)
    name = "runner dry run of one EC2 finding (whole process)"
    if not deadbolt:
        skipped(name, f"{args.build}/deadbolt not built")
        return None
    if not os.path.exists(os.path.join(args.playbooks, "ec2.lua")):
        skipped(name, "playbooks/ec2.lua not present")
        return None
    if not deadbolt_has(deadbolt, "run", env):
        skipped(name, "`deadbolt run` not built yet")
        return None
    url = canned_nginx(srv, tmp)
    one = os.path.join(tmp, "finding-1.json")
    with open(one, "w") as f:
        json.dump(finding_doc(args.finding, 1, args.instance_id)[0], f)
    journal = os.path.join(tmp, "dry-run-journal.jsonl")
    probe = subprocess.run(run_argv(deadbolt, url, one, args.playbooks, journal=journal),
                           env=env, cwd=ROOT, capture_output=True, text=True, timeout=60)
    if probe.returncode != 0:
        why = (probe.stderr or probe.stdout).strip().splitlines()[-1:] or ["no output"]
        skipped(name, f"`deadbolt run --dry-run` exits {probe.returncode} against the canned "
                      f"endpoint: {why[0]}")
        return None
    note(f"runner: canned endpoint {url} (nginx, a fixed answer per operation from "
         f"bench/canned/); finding {os.path.relpath(args.finding, ROOT)}; "
         f"{journal_summary(journal)}")
    ours = run_argv(deadbolt, url, one, args.playbooks)
    d = hyperfine_median(ours, env, args.dry_runs, CLIENT_CPU, tmp=tmp)
    d_s = with_cpu(d)
    p = hyperfine_median([deadbolt, "version"], env, args.dry_runs, CLIENT_CPU, tmp=tmp)
    report(f"{name}, median of {args.dry_runs}", d_s, f"`deadbolt version` {with_cpu(p)}",
           f"{d / p:.1f}x the floor", "< 20 ms", d < 0.020)
    dk = rss_runs(ours, env, 5, CLIENT_CPU)
    pk = rss_runs([deadbolt, "version"], env, 5, CLIENT_CPU)
    if dk is None or pk is None:
        skipped("runner dry run peak RSS", f"{TIME} (GNU time) is missing")
    else:
        report("runner dry run peak RSS (whole process, median of 5)", fmt_mib(dk),
               f"`deadbolt version` {fmt_mib(pk)}", f"{dk / pk:.1f}x the floor", "<= 6 MiB",
               dk <= 6 * 1024)
    bench_shipped_chunks(args, env, deadbolt, url, one, tmp)
    return url


def bench_shipped_chunks(args, env, deadbolt, url, one, tmp):
    """The same dry run with the playbooks shipped compiled (`deadbolt
    chunks`, what the Lambda package's playbooks.chunks holds) against the
    dry run that compiles them at start-up: five rounds of the two in turn
    (a noisy neighbour hits both alike), the medians of the rounds'
    medians, wall and CPU."""
    name = "runner dry run of one EC2 finding, playbooks shipped compiled (--chunks, as the Lambda package)"
    chunks = os.path.join(tmp, "playbooks.chunks")
    made = subprocess.run([deadbolt, "chunks", "--playbooks", args.playbooks, "-o", chunks],
                          env=env, cwd=ROOT, capture_output=True, text=True, timeout=60)
    if made.returncode != 0:
        skipped(name, f"`deadbolt chunks` exits {made.returncode}: {(made.stderr or made.stdout).strip()[-200:]}")
        return
    compiled = run_argv(deadbolt, url, one, args.playbooks)
    shipped = compiled[:2] + ["--chunks", chunks] + compiled[2:]
    rounds, each = 5, max(3, args.dry_runs // 5)
    got = {"compiled": [], "shipped": []}
    for _ in range(rounds):
        for key, argv in (("compiled", compiled), ("shipped", shipped)):
            t = hyperfine_median(argv, env, each, CLIENT_CPU, warmup=1, tmp=tmp)
            got[key].append((t, LAST_CPU))
    med = {k: (statistics.median(w for w, _ in v),
               statistics.median(c for _, c in v) if all(c for _, c in v) else None) for k, v in got.items()}
    (cw, cc), (sw, sc) = med["compiled"], med["shipped"]
    fmt = lambda w, c: fmt_ms(w) + (f" (CPU {fmt_ms(c)})" if c else "")  # noqa: E731
    report(f"{name}, {rounds} rounds of {each} in turn", fmt(sw, sc), f"compiled at start-up {fmt(cw, cc)}",
           f"{sw / cw:.2f}x the time" + (f", {sc / cc:.2f}x the CPU" if sc and cc else ""),
           "ship them only if that saves start-up (10, §2)")
    ck = rss_runs(shipped, env, 5, CLIENT_CPU)
    if ck is not None:
        note(f"peak RSS with the shipped chunks {fmt_mib(ck)} (median of 5)")


def status_kb(pid, field="VmHWM:"):
    """A field of /proc/PID/status in KiB, or None once the process is gone."""
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith(field):
                    return int(line.split()[1])
    except OSError:
        pass
    return None


def watch_replay(argv, env, journal, marks, timeout=300):
    """Runs argv and samples its memory (VmHWM: the peak so far, RssAnon:
    private memory now; KiB) when the journal has each of marks run_end
    lines, and last before it exits. Returns (exit code, seconds,
    {mark: {field: KiB}, "end": {field: KiB}}, findings seen)."""
    seen, mem, buf = 0, {}, ""
    t0 = time.perf_counter()
    proc = subprocess.Popen(argv, env=env, cwd=ROOT, stdin=subprocess.DEVNULL,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        while not os.path.exists(journal) and proc.poll() is None:
            time.sleep(0.002)
        with open(journal) as f:
            while True:
                done = proc.poll() is not None
                buf += f.read()
                seen += buf.count('"event":"run_end"')
                buf = buf[buf.rfind("\n") + 1:]
                now = None if done else {k: status_kb(proc.pid, k + ":") for k in ("VmHWM", "RssAnon")}
                if now and None not in now.values():
                    mem["end"] = now
                    for m in marks:
                        if seen >= m and m not in mem:
                            mem[m] = now
                if done:
                    break
                if time.perf_counter() - t0 > timeout:
                    raise Skip(f"the replay still runs after {timeout} s")
                time.sleep(0.005)
    finally:
        if proc.poll() is None:
            proc.kill()
        proc.wait()
    return proc.returncode, time.perf_counter() - t0, mem, seen


def replay_inputs(args, tmp, n, form):
    """The command-line inputs for n findings: n files of one finding each
    ("separate"), or one JSON array of n ("array")."""
    docs = finding_doc(args.finding, n, args.instance_id)
    if form == "array":
        path = os.path.join(tmp, f"findings-{n}.json")
        with open(path, "w") as f:
            json.dump(docs, f)
        return [path]
    folder = os.path.join(tmp, f"findings-{n}")
    os.makedirs(folder, exist_ok=True)
    paths = []
    for i, doc in enumerate(docs):
        paths.append(os.path.join(folder, f"{i:05d}.json"))
        with open(paths[-1], "w") as f:
            json.dump(doc, f)
    return paths


def bench_replay(args, tmp, env, url):
    """Memory per finding over n findings in one dry-run process, the
    findings given as n separate files and as one JSON array. Private memory
    (RssAnon) is sampled once a tenth of them are done and at the end: the
    difference over the findings between is what each leaves behind. The
    peak (VmHWM) is printed beside it; with one array the parsed document
    sets the peak before the first finding runs, so the peak alone cannot
    show growth."""
    env = dict(env, **DEPLOYMENT)
    deadbolt = deadbolt_path(args.build)
    n = args.replay
    mark = max(1, n // 10)
    name = f"runner memory per finding ({n:,} findings, one dry-run process)"
    if url is None:
        skipped(name, "the single dry run did not run (above)")
        return
    got = {}
    for form in ("separate", "array"):
        inputs = replay_inputs(args, tmp, n, form)
        journal = os.path.join(tmp, f"replay-journal-{form}.jsonl")
        argv = run_argv(deadbolt, url, inputs[0], args.playbooks, journal=journal) + inputs[1:]
        rc, dt, mem, seen = watch_replay(cpu_argv(argv, CLIENT_CPU), env, journal, (mark,))
        if rc != 0 or seen != n:
            raise Skip(f"`deadbolt run --dry-run` of {n} findings ({form}) exits {rc} after {seen} findings")
        if mark not in mem or "end" not in mem:
            raise Skip("the replay ended before its memory could be sampled")
        got[form] = (mem, dt, sum(os.path.getsize(p) for p in inputs))
    per = {form: (m["end"]["RssAnon"] - m[mark]["RssAnon"]) * 1024.0 / (n - mark)
           for form, (m, _, _) in got.items()}
    sep, arr = got["separate"][0], got["array"][0]
    report(name + ", private memory added per finding", f"{per['separate']:+.0f} B (separate inputs)",
           f"the same findings in one array {per['array']:+.0f} B",
           f"peaks {fmt_mib(sep['end']['VmHWM'])} separate, {fmt_mib(arr['end']['VmHWM'])} array",
           "< 1 KiB a finding: memory does not grow", max(per.values()) < 1024)
    note(f"between finding {mark:,} and {n:,}: RssAnon {fmt_mib(sep[mark]['RssAnon'])} -> "
         f"{fmt_mib(sep['end']['RssAnon'])} separate, {fmt_mib(arr[mark]['RssAnon'])} -> "
         f"{fmt_mib(arr['end']['RssAnon'])} array (the {got['array'][2] / 1048576:.1f} MiB document "
         f"is parsed before the first finding); {got['separate'][1] / n * 1000:.1f} and "
         f"{got['array'][1] / n * 1000:.1f} ms per finding")


# --- 3. time to containment ------------------------------------------------

def bench_containment(args, srv, tmp, env):
    import containment
    containment.run(args, srv, tmp, env, sys.modules[__name__])


# --- 4. start-up -------------------------------------------------------------

def bench_startup(args, srv, tmp, env):
    import startup
    startup.run(args, srv, tmp, env, sys.modules[__name__])


# --- main --------------------------------------------------------------------

def parse(argv):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--build", default=os.environ.get("BUILD", "build"))
    ap.add_argument("--playbooks", default=os.path.join(ROOT, "playbooks"))
    ap.add_argument("--finding", default=os.path.join(BENCH, "finding-ec2.json"))
    ap.add_argument("--instance-id", default="i-0123456789abcdef0",
                    help="the instance the canned endpoint describes")
    ap.add_argument("--calls", type=int, default=1000)
    ap.add_argument("--reps", type=int, default=3)
    ap.add_argument("--startup-runs", type=int, default=30)
    ap.add_argument("--peer-startup-runs", type=int, default=10)
    ap.add_argument("--sandbox-iters", type=int, default=1000)
    ap.add_argument("--dry-runs", type=int, default=30)
    ap.add_argument("--replay", type=int, default=1000, help="findings in the replay")
    ap.add_argument("--rtt-ms", type=float, default=100.0)
    ap.add_argument("--containment-reps", type=int, default=3)
    ap.add_argument("--keep-journals", metavar="DIR", help="containment: copy each run's journal to DIR")
    ap.add_argument("--no-samples", action="store_true",
                    help="containment: leave out the aws-samples order (its 15 s of sleeps)")
    ap.add_argument("--startup-pairs", type=int, default=500)
    ap.add_argument("--lambda-invocations", type=int, default=1000)
    ap.add_argument("--only", choices=("client", "runner", "containment", "startup"),
                    action="append")
    ap.add_argument("--why-client", default="")
    ap.add_argument("--why-sandbox", default="")
    return ap.parse_args(argv)


def guarded(name, fn, *args):
    """Runs one part; an unexpected failure ends that part only, said plainly."""
    try:
        return fn(*args)
    except Skip as e:
        skipped(name, str(e))
    except (OSError, subprocess.SubprocessError, RuntimeError, ValueError, KeyError) as e:
        skipped(name, f"error: {type(e).__name__}: {e}")
    return None


def on_signal(signum, _frame):
    raise KeyboardInterrupt(f"signal {signum}")


def main(argv=None):
    args = parse(argv)
    parts = args.only or ["client", "runner", "containment", "startup"]
    for sig in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
        signal.signal(sig, on_signal)  # also when started with SIGINT ignored
    tmp = tempfile.mkdtemp(prefix="deadbolt-bench-")
    srv = servers.Servers()
    t0 = time.monotonic()
    try:
        env = clean_env(tmp)
        print(f"deadbolt bench: {os.cpu_count()} CPUs, load {os.getloadavg()[0]:.2f}; "
              f"medians; ratios against a peer measured in this run", flush=True)
        if "client" in parts:
            guarded("client", bench_client, args, srv, tmp, env)
        if "runner" in parts:
            guarded("runner sandbox", bench_sandbox, args, env)
            url = guarded("runner dry run", bench_dry_run, args, srv, tmp, env)
            guarded("runner replay", bench_replay, args, tmp, env, url)
        if "containment" in parts:
            guarded("containment", bench_containment, args, srv, tmp, env)
        if "startup" in parts:
            guarded("startup", bench_startup, args, srv, tmp, env)
    except KeyboardInterrupt as e:
        print(f"deadbolt bench: interrupted ({e or 'SIGINT'}); servers stopped", flush=True)
        return 130
    finally:
        srv.close()
        shutil.rmtree(tmp, ignore_errors=True)
    print(f"deadbolt bench: done in {time.monotonic() - t0:.0f} s", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
