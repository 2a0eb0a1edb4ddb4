"""servers — the local servers `make bench` measures against, each started on
a free 127.0.0.1 port and stopped by its PID (never by name).

  Nginx       a private nginx (own prefix, own config, master_process off)
  Servers     a registry that stops everything it started, even on errors

Standard library only."""

import os
import re
import signal
import socket
import subprocess
import time

NGINX = "/usr/sbin/nginx"


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_port(port, proc, timeout=15.0, what="server"):
    """Waits until 127.0.0.1:port accepts a connection, or raises."""
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if proc.poll() is not None:
            raise RuntimeError(f"{what} exited with status {proc.returncode}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                return
        except OSError:
            time.sleep(0.02)
    raise RuntimeError(f"{what} did not listen on port {port} within {timeout:.0f} s")


class Servers:
    """Starts processes and stops each by its PID when closed."""

    def __init__(self):
        self.procs = []

    def start(self, argv, port, what, cpu=None, **kw):
        if cpu is not None and os.path.exists("/usr/bin/taskset"):
            argv = ["/usr/bin/taskset", "-c", str(cpu)] + list(argv)
        kw.setdefault("stdin", subprocess.DEVNULL)
        proc = subprocess.Popen(argv, start_new_session=True, **kw)
        self.procs.append(proc)
        wait_port(port, proc, what=what)
        return proc

    def stop(self, proc):
        if proc.poll() is None:
            try:
                # Our own session (start_new_session): its group is ours alone.
                os.killpg(proc.pid, signal.SIGTERM)
            except ProcessLookupError:
                pass
            try:
                proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait()
        if proc in self.procs:
            self.procs.remove(proc)

    def close(self):
        for proc in list(reversed(self.procs)):
            self.stop(proc)


NGINX_CONF = """\
daemon off;
master_process off;
worker_processes 1;
pid {prefix}/nginx.pid;
error_log {prefix}/error.log warn;
events {{ worker_connections 256; }}
http {{
    access_log off;
    client_body_temp_path {prefix}/tmp/body;
    proxy_temp_path {prefix}/tmp/proxy;
    fastcgi_temp_path {prefix}/tmp/fastcgi;
    uwsgi_temp_path {prefix}/tmp/uwsgi;
    scgi_temp_path {prefix}/tmp/scgi;
    keepalive_requests 1000000;
    keepalive_timeout 60s;
    client_max_body_size 1m;
    client_body_buffer_size 1m;
{http}
}}
"""


def nginx_return(status, body):
    """nginx directives answering with a fixed body. A directive parameter is
    limited to 4 KiB, so a longer body is set in pieces and returned joined."""
    if "'" in body or "$" in body or "\\" in body:
        raise ValueError("a canned body for nginx must not contain ' $ or \\")
    pieces = [body[i:i + 3000] for i in range(0, len(body), 3000)] or [""]
    lines = [f"set $canned{i} '{p}';" for i, p in enumerate(pieces)]
    joined = "".join(f"$canned{i}" for i in range(len(pieces)))
    return "\n".join(lines + [f"return {status} '{joined}';"])


def minify_xml(text):
    return re.sub(r">\s+<", "><", text.strip())


def start_nginx(servers, prefix, http_block, port, cpu=None):
    """Writes prefix/nginx.conf around http_block and starts nginx on it."""
    os.makedirs(os.path.join(prefix, "tmp"), exist_ok=True)
    conf = os.path.join(prefix, "nginx.conf")
    with open(conf, "w") as f:
        f.write(NGINX_CONF.format(prefix=prefix, http=http_block))
    log = open(os.path.join(prefix, "stderr.log"), "w")
    try:
        return servers.start([NGINX, "-p", prefix, "-c", conf, "-e", prefix + "/error.log"],
                             port, "nginx", cpu=cpu, stdout=log, stderr=log)
    finally:
        log.close()
