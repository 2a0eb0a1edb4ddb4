"""rss_link — what the link of build/deadbolt costs in peak RSS: the
binary as make links it (PIE, the executed archive members first:
tools/link-hot.sh) against the same objects linked in the archives' own
order, linked -no-pie, and with -z pack-relative-relocs (RELR, glibc >= 2.36
at run time), each measured as `make bench` measures the dry run's peak RSS
(GNU time's %M of `deadbolt run --dry-run` of one EC2 finding against the
canned endpoint, and `deadbolt version`), runs interleaved, medians. Every
variant runs the same main, which releases .rela.dyn's pages
(engine/util/reloc_pages.h). Not part of deadbolt.

    python3 bench/rss_link.py [--runs N]     (after make)

The variants are linked into a temporary directory from the link line
`make -n` prints; nothing in build/ changes."""
import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile

BENCH = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(BENCH)
sys.path.insert(0, BENCH)
import bench  # noqa: E402
import servers  # noqa: E402

HOT = "$(cat {build}/hot.list) "  # the executed members, first (the Makefile's link line)
# (label, flag added, the hot-first order kept, file name)
VARIANTS = (("PIE (as built)", None, True, None),
            ("PIE, archives in their own order", "", False, "archorder"),
            ("-no-pie", "-no-pie", True, "nopie"),
            ("PIE, RELR (-z pack-relative-relocs)", "-Wl,-z,pack-relative-relocs", True, "relr"))


def link_line(build):
    out = subprocess.run(["make", "-n", "-W", f"{build}/obj/engine/cmd/main.o", f"{build}/deadbolt"],
                         cwd=ROOT, capture_output=True, text=True, check=True).stdout
    for line in out.splitlines():
        if f" -o {build}/deadbolt " in line:
            return line
    raise SystemExit("rss_link: no link line for deadbolt in `make -n`")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--build", default=os.environ.get("BUILD", "build"))
    ap.add_argument("--runs", type=int, default=9)
    args = ap.parse_args()
    tmp = tempfile.mkdtemp(prefix="deadbolt-rsslink-")
    srv = servers.Servers()
    try:
        line = link_line(args.build)
        bins = []
        for label, flag, hot, name in VARIANTS:
            path = os.path.join(ROOT, args.build, "deadbolt") if flag is None else os.path.join(tmp, name)
            if flag is not None:
                cmd = line.replace(f" -o {args.build}/deadbolt ", f" {flag} -o {path} ")
                if not hot:
                    cmd = cmd.replace(HOT.format(build=args.build), "")
                subprocess.run(cmd, shell=True, cwd=ROOT, check=True)
            bins.append((label, path))
        env = dict(bench.clean_env(tmp), **bench.DEPLOYMENT)
        url = bench.canned_nginx(srv, tmp)
        one = os.path.join(tmp, "finding.json")
        with open(one, "w") as f:
            import json
            json.dump(bench.finding_doc(os.path.join(BENCH, "finding-ec2.json"), 1, "i-0123456789abcdef0")[0], f)
        dry = {label: [] for label, _ in bins}
        ver = {label: [] for label, _ in bins}
        for _ in range(args.runs):  # interleaved: a noisy neighbour hits all alike
            for label, path in bins:
                rc, _, kb, _ = bench.run_measured(bench.run_argv(path, url, one, os.path.join(ROOT, "playbooks")),
                                                  env, bench.CLIENT_CPU)
                if rc != 0 or kb is None:
                    raise SystemExit(f"rss_link: {label} dry run exited {rc} (or no GNU time)")
                dry[label].append(kb)
                ver[label].append(bench.run_measured([path, "version"], env, bench.CLIENT_CPU)[2])
        base = statistics.median(dry[bins[0][0]])
        print(f"rss_link: peak RSS, medians of {args.runs}, load {os.getloadavg()[0]:.2f}")
        for label, path in bins:
            d, v = statistics.median(dry[label]), statistics.median(ver[label])
            rel = subprocess.run(["readelf", "-S", "-W", path], capture_output=True, text=True).stdout
            size = sum(int(ln.split("]")[1].split()[4], 16) for ln in rel.splitlines()
                       if ".rela.dyn" in ln or ".relr.dyn" in ln)
            print(f"  {label}: dry run {d / 1024:.2f} MiB ({d / base:.2f}x PIE), "
                  f"`deadbolt version` {v / 1024:.2f} MiB; dynamic relocations {size / 1024:.0f} KiB")
    finally:
        srv.close()
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
