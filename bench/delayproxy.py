#!/usr/bin/env python3
"""delayproxy — a TCP proxy on 127.0.0.1 that adds a fixed round-trip delay,
as a network link would (what `tc netem delay` does, without root or a
network namespace). For `make bench` only.

  delayproxy.py --listen PORT --upstream PORT --rtt-ms 20

Every byte is held for half the round trip in each direction, and a new
connection waits one full round trip before its first byte goes through (the
TCP handshake). Bytes are delayed, not serialized: a chunk that arrives while
another is in flight leaves 'delay' after its own arrival, so the delay does
not cap throughput. Each connection is two pairs of threads (reader, writer).
Standard library only."""

import argparse
import collections
import signal
import socket
import sys
import threading
import time

CHUNK = 65536


class Pipe:
    """One direction of one connection: src -> (held for delay) -> dst."""

    def __init__(self, src, dst, delay):
        self.src, self.dst, self.delay = src, dst, delay
        self.queue = collections.deque()
        self.cond = threading.Condition()
        self.closed = False

    def read_loop(self):
        try:
            while True:
                data = self.src.recv(CHUNK)
                with self.cond:
                    self.queue.append((time.monotonic() + self.delay, data))
                    self.cond.notify()
                if not data:
                    return
        except OSError:
            with self.cond:
                self.queue.append((time.monotonic(), b""))
                self.cond.notify()

    def write_loop(self):
        try:
            while True:
                with self.cond:
                    while not self.queue:
                        self.cond.wait()
                    due, data = self.queue.popleft()
                wait = due - time.monotonic()
                if wait > 0:
                    time.sleep(wait)
                if not data:
                    self.dst.shutdown(socket.SHUT_WR)
                    return
                self.dst.sendall(data)
        except OSError:
            pass


def serve_one(client, upstream_port, rtt):
    time.sleep(rtt)  # the handshake's round trip
    try:
        upstream = socket.create_connection(("127.0.0.1", upstream_port))
    except OSError:
        client.close()
        return
    for s in (client, upstream):
        s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    threads = []
    for src, dst in ((client, upstream), (upstream, client)):
        pipe = Pipe(src, dst, rtt / 2)
        threads += [threading.Thread(target=pipe.read_loop, daemon=True),
                    threading.Thread(target=pipe.write_loop, daemon=True)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    client.close()
    upstream.close()


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--listen", type=int, required=True)
    ap.add_argument("--upstream", type=int, required=True)
    ap.add_argument("--rtt-ms", type=float, default=20.0)
    args = ap.parse_args(argv)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    srv = socket.socket()
    srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    srv.bind(("127.0.0.1", args.listen))
    srv.listen(128)
    while True:
        client, _ = srv.accept()
        threading.Thread(target=serve_one, args=(client, args.upstream, args.rtt_ms / 1000.0),
                         daemon=True).start()


if __name__ == "__main__":
    sys.exit(main())
