"""peers — the Python/boto3 side of `make bench`: what deadbolt is compared
with, run as separate processes by bench/bench.py. Not part of deadbolt.

  peers.py loop URL N    N DescribeInstances calls with one boto3 client

Prints one line of key=value pairs, as bench_client.c does. (The peer of the
time-to-containment bench is sample_order.py.)"""

import sys
import time


def status_kb(field):
    """A field of /proc/self/status in KiB (VmHWM: the peak RSS), or -1."""
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith(field):
                return int(line.split()[1])
    return -1


def loop(url, n):
    import boto3
    from botocore.config import Config
    c = boto3.client("ec2", endpoint_url=url, region_name="us-east-1",
                     config=Config(retries={"max_attempts": 1, "mode": "standard"}))
    c.describe_instances()  # warm-up: connection, credentials, loaders
    t0 = time.monotonic()
    for _ in range(n):
        c.describe_instances()
    dt = time.monotonic() - t0
    print(f"calls={n} seconds={dt:.6f} calls_s={n / dt:.1f} hwm_kb={status_kb('VmHWM:')} "
          f"anon_kb={status_kb('RssAnon:')} file_kb={status_kb('RssFile:')} errors=0")


def main(argv):
    if len(argv) >= 3 and argv[0] == "loop":
        loop(argv[1], int(argv[2]))
        return 0
    print(__doc__, file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
