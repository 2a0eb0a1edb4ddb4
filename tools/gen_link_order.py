#!/usr/bin/env python3
"""gen_link_order — writes tools/link-order.txt: the archive members whose
code a dry run of one EC2 finding executes, which the link of deadbolt puts
first (tools/link-hot.sh says why).

    python3 tools/gen_link_order.py     (after make; needs valgrind and nginx)

What it does: relinks build/deadbolt's objects with a link map into a
temporary directory, runs `deadbolt run --dry-run` of bench/finding-ec2.json
against the bench's canned nginx endpoint (bench/bench.py's canned_nginx)
under callgrind, and maps each function callgrind saw execute in the
binary to the archive member that holds it (a name that several members
define selects them all). The list changes the order of the link only:
regenerate it when the playbooks, the engine or a library change what a
run executes, and commit it in a commit of its own."""
import os
import re
import subprocess
import sys
import tempfile

sys.dont_write_bytecode = True
ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BENCH = os.path.join(ROOT, "bench")
sys.path.insert(0, BENCH)
import bench  # noqa: E402
import servers  # noqa: E402

OUT = os.path.join(ROOT, "tools", "link-order.txt")
# An input file in the link map: "path/libX.a(member.o)", or a member the
# Makefile already extracted and linked first, "BUILD/hot/libX.a/member.o".
MEMBER = re.compile(r"(?:.*/)?([^/(]+\.a)\(([^)]+)\)$|.*/hot/([^/]+\.a)/([^/]+)$")


def relink_with_map(tmp, build="build"):
    out = subprocess.run(["make", "-n", "-W", f"{build}/obj/engine/cmd/main.o", f"{build}/deadbolt"],
                         cwd=ROOT, capture_output=True, text=True, check=True).stdout
    line = next((ln for ln in out.splitlines() if f" -o {build}/deadbolt " in ln), None)
    if not line:
        raise SystemExit("gen_link_order: no link line for deadbolt in `make -n`")
    binary, linkmap = os.path.join(tmp, "deadbolt"), os.path.join(tmp, "deadbolt.map")
    subprocess.run(line.replace(f" -o {build}/deadbolt ", f" -Wl,-Map={linkmap} -o {binary} "),
                   shell=True, cwd=ROOT, check=True)
    return binary, linkmap


def text_sections(linkmap):
    """(address, size, archive, member) of every .text input section."""
    rows, pending = [], None
    for line in open(linkmap):
        if re.match(r"^ \.text\S*\s*$", line):
            pending = True
            continue
        m = re.match(r"^ (\.\S+)?\s+0x([0-9a-f]+)\s+0x([0-9a-f]+)\s+(\S+)", line)
        if m and ((m.group(1) or "").startswith(".text") or (m.group(1) is None and pending)):
            mm = MEMBER.match(m.group(4))
            if mm and int(m.group(3), 16):
                archive, member = (mm.group(1), mm.group(2)) if mm.group(1) else (mm.group(3), mm.group(4))
                rows.append((int(m.group(2), 16), int(m.group(3), 16), archive, member))
        pending = None
    return sorted(rows)


def executed_functions(binary, tmp, url, finding):
    out = os.path.join(tmp, "callgrind.out")
    env = dict(bench.clean_env(tmp), **bench.DEPLOYMENT)
    argv = bench.run_argv(binary, url, finding, os.path.join(ROOT, "playbooks"))
    subprocess.run(["valgrind", "--tool=callgrind", f"--callgrind-out-file={out}"] + argv,
                   env=env, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=False)
    text = subprocess.run(["callgrind_annotate", "--threshold=100", out],
                          capture_output=True, text=True, check=True).stdout
    names = set()
    for line in text.splitlines():
        m = re.match(r"^\s*[0-9,]+ \(\s*[0-9.]+%\)\s+(?:\S*:)?(\S+) \[(.*)\]$", line)
        if m and m.group(2) == binary:
            names.add(m.group(1))
    return names


def members_of(binary, sections, names):
    nm = subprocess.run(["nm", binary], capture_output=True, text=True, check=True).stdout
    starts = [s[0] for s in sections]
    found = set()
    import bisect
    for line in nm.splitlines():
        parts = line.split()
        if len(parts) != 3 or parts[1] not in "tTwWi" or parts[2] not in names:
            continue
        addr = int(parts[0], 16)
        i = bisect.bisect_right(starts, addr) - 1
        if i >= 0 and addr < sections[i][0] + sections[i][1]:
            found.add((sections[i][2], sections[i][3]))
    return sorted(found)


def main():
    tmp = tempfile.mkdtemp(prefix="deadbolt-linkorder-")
    srv = servers.Servers()
    try:
        binary, linkmap = relink_with_map(tmp)
        url = bench.canned_nginx(srv, tmp)
        finding = os.path.join(tmp, "finding.json")
        with open(finding, "w") as f:
            import json
            json.dump(bench.finding_doc(os.path.join(BENCH, "finding-ec2.json"), 1, "i-0123456789abcdef0")[0], f)
        names = executed_functions(binary, tmp, url, finding)
        members = members_of(binary, text_sections(linkmap), names)
    finally:
        srv.close()
        subprocess.run(["rm", "-rf", tmp], check=False)
    if len(members) < 50:
        raise SystemExit(f"gen_link_order: only {len(members)} members executed: did the dry run run?")
    with open(OUT, "w") as f:
        f.write("# link-order.txt — generated by tools/gen_link_order.py — do not edit.\n"
                "# The archive members whose code a dry run of one EC2 finding executes,\n"
                "# linked first (tools/link-hot.sh). Lines: ARCHIVE MEMBER.\n")
        for archive, member in members:
            f.write(f"{archive} {member}\n")
    print(f"gen_link_order: {len(members)} members -> {os.path.relpath(OUT, ROOT)}")


if __name__ == "__main__":
    main()
