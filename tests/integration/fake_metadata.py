#!/usr/bin/env python3
"""fake_metadata — a local stand-in for the container credentials endpoint
(ECS / EKS Pod Identity) and EC2 IMDSv2, for the credential provider tests.

Listens on 127.0.0.1 only, on a free port written to --port-file once ready.
Every request is appended to --log-file as "METHOD PATH token=yes|no auth=yes|no".

Container (AWS_CONTAINER_CREDENTIALS_FULL_URI=http://127.0.0.1:PORT/container/...):
  GET /container/creds    200 credentials when Authorization equals --auth-token, else 403
  GET /container/garbage  200 with a body that is not JSON
  GET /container/slow     credentials after 3 seconds

IMDSv2 (AWS_EC2_METADATA_SERVICE_ENDPOINT=http://127.0.0.1:PORT[/SCENARIO]):
  PUT /latest/api/token   needs X-aws-ec2-metadata-token-ttl-seconds (1..21600) and
                          no X-Forwarded-For, as the real service; returns a fresh token
  GET /latest/meta-data/iam/security-credentials/        the role name ("fake-role")
  GET /latest/meta-data/iam/security-credentials/<role>  the role's credentials
  Both GETs answer 401 without a token this server issued (IMDSv2 required).
  SCENARIO prefixes: "badtoken" (token PUT refused, 403), "norole" (listing 404),
  "failcode" (credentials with "Code": "Failure").

The server exits after --max-seconds, or when its parent process goes away.
"""
import argparse
import http.server
import json
import os
import secrets
import sys
import threading
import time

ROLE = "fake-role"
CREDS_PATH = "/latest/meta-data/iam/security-credentials/"

CONTAINER_CREDS = {
    "AccessKeyId": "ASIACONTAINER",
    "SecretAccessKey": "container-secret-key",
    "Token": "container-session-token",
    "Expiration": "2031-01-01T00:00:00Z",
    "RoleArn": "arn:aws:iam::123456789012:role/task",
}

IMDS_CREDS = {
    "Code": "Success",
    "LastUpdated": "2030-12-31T23:00:00Z",
    "Type": "AWS-HMAC",
    "AccessKeyId": "ASIAIMDS",
    "SecretAccessKey": "imds-secret-key",
    "Token": "imds-session-token",
    "Expiration": "2031-02-03T04:05:06Z",
}


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "fake-metadata"

    def log_message(self, fmt, *args):  # quiet; the log file is the record
        pass

    def _log(self):
        token = "yes" if self.headers.get("X-aws-ec2-metadata-token") else "no"
        auth = "yes" if self.headers.get("Authorization") else "no"
        with self.server.log_lock, open(self.server.log_file, "a") as f:
            f.write(f"{self.command} {self.path} token={token} auth={auth}\n")

    def _send(self, status, body, ctype="text/plain"):
        data = body.encode() if isinstance(body, str) else body
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def _json(self, obj):
        self._send(200, json.dumps(obj), "application/json")

    def _scenario(self):
        """Splits "/SCENARIO/latest/..." into (scenario, "/latest/...")."""
        path = self.path
        if path.startswith("/latest/"):
            return "", path
        head, _, rest = path[1:].partition("/")
        return head, "/" + rest

    def do_PUT(self):
        self._log()
        self._drain()
        scenario, path = self._scenario()
        if path != "/latest/api/token":
            return self._send(404, "not found")
        ttl = self.headers.get("X-aws-ec2-metadata-token-ttl-seconds", "")
        if scenario == "badtoken" or self.headers.get("X-Forwarded-For"):
            return self._send(403, "forbidden")
        if not ttl.isdigit() or not 1 <= int(ttl) <= 21600:
            return self._send(400, "bad ttl")
        token = secrets.token_urlsafe(32)
        self.server.tokens.add(token)
        self._send(200, token)

    def do_GET(self):
        self._log()
        if self.path.startswith("/container/"):
            return self._container(self.path[len("/container/"):])
        scenario, path = self._scenario()
        if not path.startswith(CREDS_PATH):
            return self._send(404, "not found")
        if self.headers.get("X-aws-ec2-metadata-token") not in self.server.tokens:
            return self._send(401, "unauthorized")
        role = path[len(CREDS_PATH):]
        if role == "":
            if scenario == "norole":
                return self._send(404, "no role")
            return self._send(200, ROLE)
        if role != ROLE:
            return self._send(404, "no such role")
        creds = dict(IMDS_CREDS)
        if scenario == "failcode":
            creds["Code"] = "Failure"
        self._json(creds)

    def _container(self, what):
        if what == "garbage":
            return self._send(200, "<html>not json</html>")
        if what == "slow":
            time.sleep(3)
        elif what != "creds":
            return self._send(404, "not found")
        if self.headers.get("Authorization") != self.server.auth_token:
            return self._send(403, json.dumps({"message": "bad token"}), "application/json")
        self._json(CONTAINER_CREDS)

    def _drain(self):
        n = int(self.headers.get("Content-Length") or 0)
        if n:
            self.rfile.read(n)


def watch_parent(parent, deadline):
    while time.time() < deadline and os.getppid() == parent:
        time.sleep(0.2)
    os._exit(0)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--port-file", required=True)
    ap.add_argument("--log-file", required=True)
    ap.add_argument("--auth-token", default="fake-container-auth-token")
    ap.add_argument("--max-seconds", type=float, default=300)
    args = ap.parse_args()

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    server.tokens = set()
    server.auth_token = args.auth_token
    server.log_file = args.log_file
    server.log_lock = threading.Lock()
    threading.Thread(target=watch_parent, args=(os.getppid(), time.time() + args.max_seconds),
                     daemon=True).start()
    tmp = args.port_file + ".tmp"
    with open(tmp, "w") as f:
        f.write(str(server.server_address[1]))
    os.rename(tmp, args.port_file)
    server.serve_forever()


if __name__ == "__main__":
    sys.exit(main())
