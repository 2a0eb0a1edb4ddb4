"""wait — waits until every URL given answers HTTP (any status), for at most
--timeout seconds, giving up early when --pid's process has died. Exits 0 when
all answered, 1 otherwise (saying which did not)."""

import argparse
import sys
import time
import urllib.error
import urllib.request


def answers(url):
    try:
        urllib.request.urlopen(url, timeout=2).close()
    except urllib.error.HTTPError:
        pass  # an HTTP error is an answer
    except OSError:
        return False
    return True


def alive(pid):
    """False once pid has exited, also while it waits, a zombie, for the
    shell that started it to reap it."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rpartition(")")[2].split()[0] != "Z"
    except OSError:
        return False


def main(argv=None):
    ap = argparse.ArgumentParser()
    ap.add_argument("urls", nargs="+")
    ap.add_argument("--timeout", type=float, default=30)
    ap.add_argument("--pid", type=int, action="append", default=[])
    args = ap.parse_args(argv)
    deadline = time.monotonic() + args.timeout
    pending = list(args.urls)
    while pending and time.monotonic() < deadline:
        pending = [u for u in pending if not answers(u)]
        dead = [p for p in args.pid if not alive(p)]
        if pending and dead:
            print(f"wait: process {dead[0]} exited before {pending[0]} answered", file=sys.stderr)
            return 1
        if pending:
            time.sleep(0.1)
    if pending:
        print(f"wait: no answer from {pending[0]} within {args.timeout:g}s", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
