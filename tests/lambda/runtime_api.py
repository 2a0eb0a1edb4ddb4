"""A fake of the AWS Lambda Runtime API (2018-06-01) for testing the custom
runtime in engine/lambda.c.

It behaves as the AWS documentation ("Using the Lambda runtime API") and the
AWS Lambda Runtime Interface Emulator describe it:

  GET  /2018-06-01/runtime/invocation/next
       blocks until an event is queued; 200 with the event as the body and the
       headers Lambda-Runtime-Aws-Request-Id, Lambda-Runtime-Deadline-Ms (epoch
       ms), Lambda-Runtime-Invoked-Function-Arn, Lambda-Runtime-Trace-Id.
       403 InvalidStateTransition while an invocation is still unanswered.
  POST /2018-06-01/runtime/invocation/{id}/response
       202 {"status":"OK"}; 400 InvalidRequestID when {id} is not the
       invocation in progress; 403 InvalidStateTransition when no invocation
       is in progress (already answered); 413 RequestEntityTooLarge above
       6 MiB, and the invocation then ends as an error
       (Function.ResponseSizeTooLarge), as Lambda does.
  POST /2018-06-01/runtime/invocation/{id}/error
       as .../response; the Lambda-Runtime-Function-Error-Type header and the
       body are recorded.
  POST /2018-06-01/runtime/init/error
       202 before the first GET next, 403 after it.

A control API for tests lives under /test/ on the same port (and as methods of
RuntimeAPI for in-process use):

  POST /test/events          {"event": <json> | "body": "<raw text>",
                              "timeout_ms": 120000 | "deadline_ms": <epoch ms>,
                              "request_id": opt, "trace_id": opt}
                             -> {"request_id": ...}
  GET  /test/results/{id}?wait=S   the answer to an invocation (404 if none yet)
  GET  /test/init-error?wait=S     the init error (404 if none)
  POST /test/fail-next       {"count": n, "status": 503}: the next n GET next
                             calls fail with that status (0: the connection
                             is closed without a response)
  GET  /test/state           state, counters, the request log

Run alone:  python3 tests/lambda/runtime_api.py --port 9001
"""

import argparse
import http.server
import json
import re
import socketserver
import threading
import time
import uuid
from urllib.parse import parse_qs, urlparse

PREFIX = "/2018-06-01/runtime"
MAX_PAYLOAD = 6 * 1024 * 1024  # interop.MaxPayloadSize in the emulator
DEFAULT_ARN = "arn:aws:lambda:us-east-1:123456789012:function:deadbolt"

_INVOKE_PATH = re.compile(r"^" + re.escape(PREFIX) + r"/invocation/([^/]+)/(response|error)$")


def new_trace_id():
    """An X-Ray trace header as Lambda hands it to the runtime."""
    root = "1-%08x-%s" % (int(time.time()), uuid.uuid4().hex[:24])
    return "Root=%s;Parent=%s;Sampled=0" % (root, uuid.uuid4().hex[:16])


class RuntimeAPI:
    """The fake, runnable in a thread of the test process."""

    def __init__(self, host="127.0.0.1", port=0, max_payload=MAX_PAYLOAD,
                 function_arn=DEFAULT_ARN):
        self.max_payload = max_payload
        self.function_arn = function_arn
        self._cond = threading.Condition()
        self._queue = []          # pending invocations (dicts)
        self._results = {}        # request id -> answer
        self._init_error = None
        self._state = "init"      # init -> ready -> invoke -> responded -> ready ...
        self._current = None      # the invocation in progress
        self._fail_next = []      # statuses for the next GET next calls
        self._stopping = False
        self.log = []             # (method, path, status)
        self.next_calls = 0
        handler = type("Handler", (_Handler,), {"api": self})
        self._server = _Server((host, port), handler)
        self._thread = None

    # -- lifecycle ---------------------------------------------------------

    @property
    def address(self):
        """host:port, the value of AWS_LAMBDA_RUNTIME_API."""
        host, port = self._server.server_address[:2]
        return "%s:%d" % (host, port)

    def start(self):
        self._thread = threading.Thread(target=self._server.serve_forever,
                                        kwargs={"poll_interval": 0.05}, daemon=True)
        self._thread.start()
        return self

    def stop(self):
        with self._cond:
            self._stopping = True
            self._cond.notify_all()
        self._server.shutdown()
        self._server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)

    # -- control -----------------------------------------------------------

    def enqueue(self, event=None, body=None, timeout_ms=120000, deadline_ms=None,
                request_id=None, trace_id=None):
        """Queues one invocation; returns its request id. event is JSON-encoded;
        body (str or bytes) is sent as is."""
        if body is None:
            body = json.dumps(event)
        if isinstance(body, str):
            body = body.encode()
        inv = {
            "request_id": request_id or str(uuid.uuid4()),
            "body": body,
            "timeout_ms": timeout_ms,
            "deadline_ms": deadline_ms,
            "trace_id": trace_id if trace_id is not None else new_trace_id(),
        }
        with self._cond:
            self._queue.append(inv)
            self._cond.notify_all()
        return inv["request_id"]

    def fail_next(self, count, status):
        with self._cond:
            self._fail_next.extend([status] * count)

    def wait_result(self, request_id, timeout=30.0):
        """The answer to an invocation, or None after timeout seconds:
        {"kind": "response"|"error", "body": bytes, "json": obj or None,
         "error_type": header value or None, "elapsed": seconds from the
         delivery of the event to the answer}."""
        return self._wait(lambda: self._results.get(request_id), timeout)

    def wait_init_error(self, timeout=30.0):
        return self._wait(lambda: self._init_error, timeout)

    def wait_next_calls(self, count, timeout=30.0):
        """Waits until GET next has been called count times."""
        return self._wait(lambda: self.next_calls >= count or None, timeout)

    def state(self):
        with self._cond:
            return {"state": self._state, "queued": len(self._queue),
                    "next_calls": self.next_calls,
                    "current": self._current["request_id"] if self._current else None,
                    "log": list(self.log)}

    def _wait(self, probe, timeout):
        end = time.monotonic() + timeout
        with self._cond:
            while True:
                got = probe()
                left = end - time.monotonic()
                if got is not None or left <= 0:
                    return got
                self._cond.wait(min(left, 0.2))

    # -- the Runtime API, called by the handler ------------------------------

    def _next(self):
        """(status, headers, body) for GET next; blocks for an event."""
        with self._cond:
            self.next_calls += 1
            self._cond.notify_all()
            if self._fail_next:
                return self._fail_next.pop(0), {}, b""
            if self._state == "invoke":
                return _forbidden(self._state, "ready")
            self._state = "ready"
            while not self._queue and not self._stopping:
                self._cond.wait(0.2)
            if self._stopping:
                return None, {}, b""
            inv = self._queue.pop(0)
            inv["delivered"] = time.monotonic()
            self._current = inv
            self._state = "invoke"
        deadline = inv["deadline_ms"]
        if deadline is None:
            deadline = int(time.time() * 1000) + inv["timeout_ms"]
        headers = {
            "Lambda-Runtime-Aws-Request-Id": inv["request_id"],
            "Lambda-Runtime-Deadline-Ms": str(deadline),
            "Lambda-Runtime-Invoked-Function-Arn": self.function_arn,
            "Content-Type": "application/json",
        }
        if inv["trace_id"]:
            headers["Lambda-Runtime-Trace-Id"] = inv["trace_id"]
        return 200, headers, inv["body"]

    def _answer(self, request_id, kind, body, error_type):
        with self._cond:
            if self._state != "invoke":
                return _forbidden(self._state, kind)
            if request_id != self._current["request_id"]:
                return _json(400, {"errorMessage": "Invalid request ID",
                                   "errorType": "InvalidRequestID"})
            inv, self._current = self._current, None
            self._state = "responded"
            if kind == "response" and len(body) > self.max_payload:
                self._record(inv, "error", b"", "Function.ResponseSizeTooLarge")
                return _json(413, {"errorMessage": "Exceeded maximum allowed payload size"
                                   " (%d bytes)." % self.max_payload,
                                   "errorType": "RequestEntityTooLarge"})
            self._record(inv, kind, body, error_type)
            return _json(202, {"status": "OK"})

    def _record(self, inv, kind, body, error_type):
        try:
            parsed = json.loads(body) if body else None
        except ValueError:
            parsed = None
        self._results[inv["request_id"]] = {
            "kind": kind, "body": body, "json": parsed, "error_type": error_type,
            "elapsed": time.monotonic() - inv["delivered"]}
        self._cond.notify_all()

    def _init_err(self, body, error_type):
        with self._cond:
            if self._state != "init":
                return _forbidden(self._state, "init error")
            try:
                parsed = json.loads(body)
            except ValueError:
                parsed = None
            self._init_error = {"body": body, "json": parsed, "error_type": error_type}
            self._cond.notify_all()
            return _json(202, {"status": "OK"})


def _json(status, obj):
    return status, {"Content-Type": "application/json"}, json.dumps(obj).encode()


def _forbidden(state, to):
    return _json(403, {"errorType": "InvalidStateTransition",
                       "errorMessage": "State transition from %s to %s failed for runtime"
                       % (state, to)})


class _Server(socketserver.ThreadingMixIn, http.server.HTTPServer):
    daemon_threads = True
    allow_reuse_address = True

    def handle_error(self, request, client_address):
        """A runtime that goes away mid-connection is normal here; say nothing."""


class _Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive, as the real endpoint
    api = None                     # set by RuntimeAPI

    def log_message(self, fmt, *args):  # quiet
        pass

    def _body(self):
        n = self.headers.get("Content-Length")
        if n is None:
            return None
        return self.rfile.read(int(n))

    def _send(self, status, headers, body):
        self.api.log.append((self.command, self.path, status))
        if not status:  # 0: a dropped connection; None: shutting down
            self.close_connection = True
            return
        self.send_response(status)
        for k, v in headers.items():
            self.send_header(k, v)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self):
        url = urlparse(self.path)
        wait = float(parse_qs(url.query).get("wait", ["0"])[0])
        if url.path == PREFIX + "/invocation/next":
            return self._send(*self.api._next())
        if url.path.startswith("/test/results/"):
            got = self.api.wait_result(url.path[len("/test/results/"):], wait)
            return self._send(*_control_answer(got))
        if url.path == "/test/init-error":
            return self._send(*_control_answer(self.api.wait_init_error(wait)))
        if url.path == "/test/state":
            return self._send(*_json(200, self.api.state()))
        return self._send(*_json(404, {"errorMessage": "not found"}))

    def do_POST(self):
        path = urlparse(self.path).path
        body = self._body()
        if body is None:
            return self._send(*_json(411, {"errorMessage": "Content-Length required"}))
        etype = self.headers.get("Lambda-Runtime-Function-Error-Type")
        m = _INVOKE_PATH.match(path)
        if m:
            return self._send(*self.api._answer(m.group(1), m.group(2), body, etype))
        if path == PREFIX + "/init/error":
            return self._send(*self.api._init_err(body, etype))
        if path == "/test/events":
            return self._send(*_json(200, {"request_id": self.api.enqueue(**json.loads(body))}))
        if path == "/test/fail-next":
            req = json.loads(body)
            self.api.fail_next(int(req["count"]), int(req["status"]))
            return self._send(*_json(200, {"status": "OK"}))
        return self._send(*_json(404, {"errorMessage": "not found"}))


def _control_answer(got):
    if got is None:
        return _json(404, {"errorMessage": "nothing yet"})
    out = dict(got)
    out["body"] = got["body"].decode("utf-8", "replace")
    return _json(200, out)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--host", default="127.0.0.1")
    ap.add_argument("--port", type=int, default=9001)
    args = ap.parse_args()
    api = RuntimeAPI(args.host, args.port).start()
    print("runtime api on %s" % api.address, flush=True)
    try:
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        api.stop()


if __name__ == "__main__":
    main()
