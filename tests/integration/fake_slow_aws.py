#!/usr/bin/env python3
"""fake_slow_aws — one local endpoint that answers every AWS query-protocol
call (ec2, iam, sts, ...) after a fixed delay, for the client's unit tests
of calls that overlap (tests/unit/test_client_async.c): what was sent when,
and how many requests were in hand at once.

Listens on 127.0.0.1 only, on a free port written to --port-file once ready.
Every POST is answered, after --delay-ms, with an empty success of its
Action (EC2's shape for ec2, <Action>Result for the others). Just before
it is answered, one line is appended to --log-file:

    <service> <action> <arrived> <answered> <tag>

arrived and answered are CLOCK_MONOTONIC seconds (Python's time.monotonic
reads the same clock as the C code's clock_gettime(CLOCK_MONOTONIC)), the
service is the SigV4 credential scope's, and tag names the call: its
InstanceId.1 (ec2.DescribeInstances) or UserName (iam.GetUser) parameter,
else "-".

The server exits after --max-seconds, or when its parent process goes away.
It is not AWS: it checks no signature and knows no resource.
"""
import argparse
import http.server
import os
import re
import sys
import threading
import time
from urllib.parse import parse_qs

EC2_NS = "http://ec2.amazonaws.com/doc/2016-11-15/"
LOCK = threading.Lock()


def answer(service, action):
    if service == "ec2":
        return (f'<{action}Response xmlns="{EC2_NS}"><requestId>fake-1</requestId>'
                f'</{action}Response>')
    return (f"<{action}Response><{action}Result></{action}Result>"
            f"<ResponseMetadata><RequestId>fake-1</RequestId></ResponseMetadata>"
            f"</{action}Response>")


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "fake-slow-aws"

    def log_message(self, fmt, *args):  # quiet; the log file is the record
        pass

    def do_POST(self):
        arrived = time.monotonic()
        n = int(self.headers.get("Content-Length") or 0)
        form = parse_qs(self.rfile.read(n).decode("utf-8", "replace"))
        action = form.get("Action", ["Unknown"])[0]
        tag = (form.get("InstanceId.1") or form.get("UserName") or ["-"])[0]
        m = re.search(r"Credential=[^/]+/[^/]+/[^/]+/([^/]+)/", self.headers.get("Authorization", ""))
        service = m.group(1) if m else "unknown"
        time.sleep(self.server.delay)
        body = answer(service, action).encode()
        # logged before the answer goes: the client may read the log as soon as it has it
        with LOCK, open(self.server.log_file, "a") as f:
            f.write(f"{service} {action} {arrived:.6f} {time.monotonic():.6f} {tag}\n")
        self.send_response(200)
        self.send_header("Content-Type", "text/xml")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)
        self.wfile.flush()


def watch_parent(parent, deadline):
    while time.time() < deadline and os.getppid() == parent:
        time.sleep(0.2)
    os._exit(0)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--port-file", required=True)
    ap.add_argument("--log-file", required=True)
    ap.add_argument("--delay-ms", type=int, default=200)
    ap.add_argument("--max-seconds", type=int, default=300)
    args = ap.parse_args()
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    server.delay = args.delay_ms / 1000.0
    server.log_file = args.log_file
    threading.Thread(target=watch_parent, args=(os.getppid(), time.time() + args.max_seconds),
                     daemon=True).start()
    tmp = args.port_file + ".tmp"
    with open(tmp, "w") as f:
        f.write(str(server.server_address[1]))
    os.rename(tmp, args.port_file)
    server.serve_forever()


if __name__ == "__main__":
    sys.exit(main())
