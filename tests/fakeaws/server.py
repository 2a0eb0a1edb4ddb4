#!/usr/bin/env python3
"""fakeaws — an HTTP server in front of a moto server, for what moto lacks.

Every request is passed to moto unchanged (method, path and query, headers
including Host and Authorization, body) and moto's answer comes back
unchanged (status, headers, body), except:
  - the operations the fake answers itself (answers.py);
  - faults a test asked for;
  - when signature checking is on (--verify-sigv4, POST /__fake/auth), a
    request not validly SigV4-signed by a known key gets the service's error.

Control endpoints (JSON; never faulted, logged or signature-checked):
  POST /__fake/faults       {"match": Action | X-Amz-Target | path substring | "*",
                             "kind": throttle|500|503|denied|drop|slow|html500|empty503|skew|
                                     expired|snapshot-rate (EC2's SnapshotCreationPerVolumeRateExceeded)|
                                     s3-conflict (S3's 409 ConditionalRequestConflict),
                             "count": N, "delay_ms": D, "skew_s": S, "params": {name: value}}:
                            the next N matching requests fail so (params: only requests whose
                            form/query parameters have every value named, as sent on the wire,
                            e.g. {"NetworkInterfaceId": "eni-1", "SecurityGroupId.1": "sg-2"}). skew: the protocol's clock-skew error with a
                            Date S seconds (default 3600) from now; expired: the protocol's
                            expired-session-token error
  GET  /__fake/log          {"requests": [{method, path, query, service, action, target,
                             had_auth, amz_date, key, region, params, time, fault, auth,
                             assumed_key (an AssumeRole's answer: the access key id it gave),
                             status, done, conn}]} (params: wire.LOGGED_PARAMS only;
                            time when it arrived, done when answered (faults other than
                            slow: none), conn the client's address:port, one per TCP
                            connection)
  POST /__fake/reset        faults, log, SSM and screenshot state, learned keys
  POST /__fake/auth         {"verify": true|false}
  POST /__fake/bucket-region {"bucket", "region", "answer": redirect|auth|illegal,
                             "header": true|false, "says": region}: S3 requests for the
                            bucket signed for another region get S3's wrong-region answer
                            (wire.wrong_region), naming "says" (default: region); header
                            false: x-amz-bucket-region only on a HEAD of the bucket
  POST /__fake/credentials  {"access_key_id", "secret_access_key", "session_token"}
  POST /__fake/ssm-managed  {"instance_ids": [...], "ping": "Online"}
  POST /__fake/ssm-result   {"status", "stdout", "stderr", "response_code", "pending_polls"}
                            for commands sent from now on (stdout null: the command lines)
  GET  /__fake/ssm-commands the commands sent, with their parameters
  POST /__fake/screenshot   {"error": "UnsupportedOperation" | null, "message": "..."}
  GET  /__fake/health
/moto-api/* goes to moto as is, unlogged."""

import argparse
import http.client
import json
import os
import signal
import sys
import threading
import time
import traceback
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import urlsplit

import boto3
from botocore.config import Config

import answers
import auth
import wire

FAULT_KINDS = {"throttle", "500", "503", "denied", "drop", "slow", "html500", "empty503", "skew",
               "expired", "snapshot-rate", "s3-conflict"}
DEFAULT_SKEW_S = 3600
# Headers about one connection, not the message: never relayed either way.
HOP_BY_HOP = {"connection", "keep-alive", "proxy-connection", "transfer-encoding", "te",
              "trailer", "upgrade", "expect"}
UPSTREAM_TIMEOUT = 60


class Faults:
    def __init__(self):
        self._lock = threading.Lock()
        self._faults = []

    def clear(self):
        with self._lock:
            self._faults = []

    def add(self, spec):
        kind = str(spec.get("kind"))
        if kind not in FAULT_KINDS or not spec.get("match"):
            raise ValueError(f"kind must be one of {sorted(FAULT_KINDS)} and match given")
        fault = {"match": str(spec["match"]), "kind": kind, "count": int(spec.get("count", 1)),
                 "delay_ms": int(spec.get("delay_ms", 0)),
                 "skew_s": int(spec.get("skew_s", DEFAULT_SKEW_S)),
                 "params": {str(k): str(v) for k, v in (spec.get("params") or {}).items()}}
        with self._lock:
            self._faults.append(fault)

    @staticmethod
    def _matches(fault, req):
        match = fault["match"]
        if not (match in ("*", req.action, req.header("x-amz-target")) or match in req.target):
            return False
        if fault["params"]:
            sent = dict(req.form_params())
            return all(sent.get(k) == v for k, v in fault["params"].items())
        return True

    def take(self, req):
        """The first fault with requests left that matches req, counted down."""
        with self._lock:
            for fault in self._faults:
                if fault["count"] > 0 and self._matches(fault, req):
                    fault["count"] -= 1
                    return dict(fault)
        return None


class Fake:
    """Everything the fake knows; shared by the handler threads."""

    def __init__(self, upstream, verify):
        parts = urlsplit(upstream)
        self.upstream = f"{parts.scheme}://{parts.netloc}"
        self.host, self.port = parts.hostname, parts.port or 80
        self.verify_default = verify
        self.verify = verify
        self.keys = auth.Keys()
        self.state = answers.State()
        self.faults = Faults()
        self._log_lock = threading.Lock()
        self._log = []
        self.clocks = {0}  # the server clock offsets (s) the fake has claimed; see _answer
        self.bucket_regions = {}  # bucket -> POST /__fake/bucket-region's args
        self._clients = {}
        self._clients_lock = threading.Lock()

    def reset(self):
        self.faults.clear()
        self.state.reset()
        self.keys.reset()
        self.verify = self.verify_default
        self.bucket_regions = {}
        with self._log_lock:
            self._log = []
            self.clocks = {0}

    def record(self, entry):
        """Logs a request the fake made itself on behalf of something in the
        simulated account (the SSM agent's output upload, as the instance)."""
        entry = dict(entry, time=time.time())
        with self._log_lock:
            self._log.append(entry)

    def log(self):
        with self._log_lock:
            return [dict(e) for e in self._log]

    def client(self, service, req):
        """A boto3 client straight to moto, signed with req's key when the
        fake knows it (moto may be checking signatures), else the test key."""
        key, secret, token = auth.credentials_for(req, self.keys)
        region = req.scope[2] if req.scope else "us-east-1"
        with self._clients_lock:
            cached = self._clients.get((service, key, region))
            if cached is None:
                cached = boto3.session.Session().client(
                    service, region_name=region, endpoint_url=self.upstream,
                    aws_access_key_id=key, aws_secret_access_key=secret,
                    aws_session_token=token,
                    config=Config(retries={"total_max_attempts": 1, "mode": "standard"},
                                  s3={"addressing_style": "path"}))
                self._clients[(service, key, region)] = cached
        return cached

    def forward(self, req, resign=False):
        """req sent to moto, moto's answer as a wire.Response.

        Host is sent as the client sent it, not as moto's own address: SigV4
        signs the Host header, and moto (like AWS) recomputes the signature from
        the Host it receives, so rewriting it would break every signature."""
        headers = auth.resign(req, self.upstream, self.keys) if resign else req.headers
        conn = http.client.HTTPConnection(self.host, self.port, timeout=UPSTREAM_TIMEOUT)
        try:
            conn.putrequest(req.method, req.target, skip_host=True, skip_accept_encoding=True)
            for name, value in headers:
                if name.lower() not in HOP_BY_HOP and name.lower() != "content-length":
                    conn.putheader(name, value)
            if req.body or req.method in ("POST", "PUT", "PATCH"):
                conn.putheader("Content-Length", str(len(req.body)))
            conn.endheaders(req.body or None)
            up = conn.getresponse()
            body = up.read()
        except (OSError, http.client.HTTPException) as exc:
            return wire.error(req, 502, "BadGateway", f"fakeaws: moto did not answer: {exc}")
        finally:
            conn.close()
        # A HEAD answer keeps moto's Content-Length; any other gets its own.
        keep = [(k, v) for k, v in up.getheaders() if k.lower() not in HOP_BY_HOP
                and (k.lower() != "content-length" or req.method == "HEAD")]
        return wire.Response(up.status, keep, body, up.reason)

    def handle(self, req):
        """The response to an AWS request, or None to drop the connection."""
        if req.path.startswith("/moto-api/"):  # test plumbing, not AWS
            return self.forward(req)
        entry = req.describe()
        entry.update(fault=None, auth=None, status=None)
        self._note_group_tags(req, entry)
        with self._log_lock:
            self._log.append(entry)
        fault = self.faults.take(req)
        if fault:
            entry["fault"] = fault["kind"]
            if fault["kind"] == "drop":
                return None
            if fault["kind"] == "slow":
                time.sleep(fault["delay_ms"] / 1000.0)
            else:
                resp = self._fault_answer(req, fault)
                entry["status"] = resp.status
                return resp
        moved = self._wrong_region(req)
        resp = moved or self._answer(req, entry)
        entry["status"] = resp.status
        entry["done"] = time.time()
        return resp

    # Calls IAM may allow only on a group with a tag (template.yaml's
    # RestoreOwnGroups): the group's tags as they were when the call came,
    # for tests/harness/iam_calls.py (a deleted group has none afterwards).
    GROUP_TAG_ACTIONS = ("DeleteSecurityGroup", "RevokeSecurityGroupIngress")

    def _note_group_tags(self, req, entry):
        gid = (entry.get("iam_params") or {}).get("GroupId")
        if req.service != "ec2" or entry.get("action") not in self.GROUP_TAG_ACTIONS or not gid:
            return
        try:
            groups = self.client("ec2", req).describe_security_groups(GroupIds=[gid])["SecurityGroups"]
        except Exception:  # noqa: BLE001 (no such group: no tags, as AWS would see)
            groups = []
        entry["resource_tags"] = {t["Key"]: t["Value"] for g in groups for t in g.get("Tags", [])}

    def _wrong_region(self, req):
        """S3's answer for a bucket of another region than req was signed for."""
        home = self.bucket_regions.get(req.bucket()) if req.service == "s3" else None
        if not home or not req.scope or req.scope[2] == home["region"]:
            return None
        return wire.wrong_region(req, req.bucket(), home["says"], home["answer"],
                                 home["header"])

    def _fault_answer(self, req, fault):
        if fault["kind"] != "skew":
            return wire.fault(req, fault["kind"])
        with self._log_lock:
            self.clocks.add(fault["skew_s"])
        return wire.skew_error(req, fault["skew_s"])

    def _answer(self, req, entry):
        # A skew fault's Date said the server's clock is off by skew_s; a
        # client that believes it signs for that time, and the fake, playing
        # that server, accepts it. The fake's other clients (boto3 in the
        # tests) still use the real time, so each clock it has claimed since
        # the last reset passes the 15-minute freshness check, 0 included.
        with self._log_lock:
            clocks = tuple(self.clocks)
        if self.verify:
            failure = auth.verify(req, self.keys, clocks)
            if failure:
                entry["auth"] = failure
                return wire.auth_error(req, failure)
        resp = answers.dispatch(req, self) or self.forward(req)
        if resp.status == 200:
            auth.learn(req, resp.body, self.keys)
            if (req.service, req.action) == ("sts", "AssumeRole"):
                entry["assumed_key"] = auth.handed_out_key(resp.body)
        return resp

    def control(self, method, path, body):
        """(status, JSON-able) for a /__fake/ request."""
        try:
            args = json.loads(body or b"{}")
        except ValueError:
            return 400, {"error": "body is not JSON"}
        route = CONTROL.get((method, path))
        if route is None:
            return 404, {"error": f"no control endpoint {method} {path}"}
        try:
            return 200, route(self, args)
        except (ValueError, TypeError, KeyError, AttributeError) as exc:
            return 400, {"error": f"{type(exc).__name__}: {exc}"}


def _set_managed(fake, args):
    with fake.state.lock:
        for iid in args["instance_ids"]:
            fake.state.managed[iid] = {"ping": args.get("ping", "Online"), "since": time.time()}
    return {"ok": True}


def _set_result(fake, args):
    unknown = set(args) - set(answers.DEFAULT_RESULT)
    if unknown:
        raise ValueError(f"unknown fields {sorted(unknown)}")
    with fake.state.lock:
        fake.state.result.update(args)
    return {"ok": True}


def _commands(fake, args):
    with fake.state.lock:
        return {"commands": [{k: c[k] for k in answers.PUBLIC_COMMAND + ("plugin",)}
                             for c in fake.state.commands.values()]}


def _set_screenshot(fake, args):
    code = args.get("error")
    with fake.state.lock:
        fake.state.screenshot_error = code and {
            "code": code,
            "message": args.get("message", "This instance does not support console screenshots.")}
    return {"ok": True}


def _set_auth(fake, args):
    fake.verify = bool(args["verify"])
    return {"ok": True, "verify": fake.verify}


def _add_key(fake, args):
    fake.keys.add(args["access_key_id"], args["secret_access_key"], args.get("session_token"))
    return {"ok": True}


def _bucket_region(fake, args):
    answer = args.get("answer", "redirect")
    if answer not in wire.WRONG_REGION:
        raise ValueError(f"answer must be one of {sorted(wire.WRONG_REGION)}")
    fake.bucket_regions[str(args["bucket"])] = {
        "region": str(args["region"]), "says": str(args.get("says", args["region"])),
        "answer": answer, "header": bool(args.get("header", True))}
    return {"ok": True}


def _reset(fake, args):
    fake.reset()
    return {"ok": True}


def _add_fault(fake, args):
    fake.faults.add(args)
    return {"ok": True}


CONTROL = {
    ("POST", "/__fake/faults"): _add_fault,
    ("GET", "/__fake/log"): lambda fake, args: {"requests": fake.log()},
    ("POST", "/__fake/reset"): _reset,
    ("POST", "/__fake/auth"): _set_auth,
    ("POST", "/__fake/bucket-region"): _bucket_region,
    ("POST", "/__fake/credentials"): _add_key,
    ("POST", "/__fake/ssm-managed"): _set_managed,
    ("POST", "/__fake/ssm-result"): _set_result,
    ("GET", "/__fake/ssm-commands"): _commands,
    ("POST", "/__fake/screenshot"): _set_screenshot,
    ("GET", "/__fake/health"): lambda fake, args: {"ok": True, "upstream": fake.upstream},
}


class Server(ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 64  # many clients connecting at once


class Handler(BaseHTTPRequestHandler):
    # HTTP/1.1 with Content-Length on every answer, so that keep-alive works:
    # deadbolt's libcurl handle reuses its connections.
    protocol_version = "HTTP/1.1"
    timeout = 120  # an idle kept-alive connection ends, and its thread with it

    def do_any(self):
        body = self._read_body()
        if self.path.startswith("/__fake/"):
            status, obj = self.server.fake.control(self.command, self.path.split("?")[0], body)
            payload = json.dumps(obj).encode()
            self._send(wire.Response(status, [("Content-Type", "application/json")], payload))
            return
        req = wire.Request(self.command, self.path, self.headers.items(), body)
        req.conn = "%s:%d" % self.client_address  # one TCP connection, for reuse checks
        try:
            resp = self.server.fake.handle(req)
        except Exception as exc:  # a bug of the fake's: say so, in the protocol
            traceback.print_exc()
            resp = wire.error(req, 500, "FakeAwsInternalError", f"fakeaws: {exc!r}")
        if resp is None:  # the "drop" fault: close with no answer at all
            self.close_connection = True
            return
        self._send(resp)

    do_GET = do_POST = do_PUT = do_DELETE = do_HEAD = do_PATCH = do_OPTIONS = do_any

    def _read_body(self):
        if "chunked" in (self.headers.get("Transfer-Encoding") or "").lower():
            return self._read_chunked()
        length = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(length) if length > 0 else b""

    def _read_chunked(self):
        out = bytearray()
        while True:
            size = int(self.rfile.readline().split(b";")[0].strip() or b"0", 16)
            if size == 0:
                break
            out += self.rfile.read(size)
            self.rfile.readline()
        while self.rfile.readline() not in (b"\r\n", b"\n", b""):  # trailers
            pass
        return bytes(out)

    def _send(self, resp):
        self.send_response_only(resp.status, resp.reason)
        has_length = False
        for name, value in resp.headers:
            if name.lower() in HOP_BY_HOP:
                continue
            has_length = has_length or name.lower() == "content-length"
            self.send_header(name, value)
        if not has_length:
            self.send_header("Content-Length", str(len(resp.body)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(resp.body)

    def log_message(self, fmt, *args):  # GET /__fake/log is the record
        pass


def _write_atomically(path, text):
    tmp = f"{path}.tmp{os.getpid()}"
    with open(tmp, "w") as f:
        f.write(text + "\n")
    os.replace(tmp, path)


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--upstream", required=True, help="moto server URL, http://127.0.0.1:PORT")
    ap.add_argument("--port", type=int, default=0, help="0: any free port")
    ap.add_argument("--port-file")
    ap.add_argument("--pid-file")
    ap.add_argument("--verify-sigv4", action="store_true",
                    help="check every request's SigV4 signature (POST /__fake/auth toggles)")
    args = ap.parse_args(argv)
    server = Server(("127.0.0.1", args.port), Handler)
    server.fake = Fake(args.upstream, args.verify_sigv4)
    if args.pid_file:
        _write_atomically(args.pid_file, str(os.getpid()))
    if args.port_file:  # written last: once it exists, the port answers
        _write_atomically(args.port_file, str(server.server_address[1]))
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    try:
        server.serve_forever(poll_interval=0.2)
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
