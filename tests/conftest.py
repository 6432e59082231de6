"""Starts the local stack (tests/local-stack.sh) once per test session on free ports."""

import os
import pathlib
import signal
import socket
import subprocess
import time

import pytest
import requests
from qiniu import QiniuMacAuth
from qiniu.auth import QiniuMacRequestsAuth

ROOT = pathlib.Path(__file__).resolve().parents[1]
STARTUP_SECONDS = 300


def local_env():
    env = {}
    for line in (ROOT / "local.env").read_text().splitlines():
        line = line.strip()
        if line and not line.startswith("#") and "=" in line:
            k, v = line.split("=", 1)
            env[k.strip()] = v.strip()
    return env


def dynamodb(stack, target, body):
    """One call of DynamoDB's JSON API on the stack's DynamoDB Local (any credentials do)."""
    import json
    r = requests.post(stack.dynamodb, timeout=60, data=json.dumps(body), headers={
        "X-Amz-Target": f"DynamoDB_20120810.{target}",
        "Content-Type": "application/x-amz-json-1.0",
        "Authorization": "AWS4-HMAC-SHA256 Credential=local/20260101/us-east-1/dynamodb/aws4_request, "
                         "SignedHeaders=host, Signature=0",
    })
    assert r.status_code == 200, r.text
    return r.json()


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Stack:
    def __init__(self, base, env):
        self.base = base
        self.env = env
        pairs = [p.split(":", 1) for p in env["ACCESS_KEYS"].split(",")]
        self.ak, self.sk = pairs[0]
        self.second_ak, self.second_sk = pairs[1]
        self.mac = QiniuMacAuth(self.ak, self.sk)
        self.auth = QiniuMacRequestsAuth(self.mac)

    def url(self, path):
        return self.base + path

    def call(self, method, path, auth="sdk", **kw):
        """A request signed by the official SDK unless `auth` says otherwise."""
        kw.setdefault("timeout", 60)
        if auth == "sdk":
            auth = self.auth
        return requests.request(method, self.url(path), auth=auth, **kw)


def start_stack(tmp_path_factory, name, **env_overrides):
    """Starts tests/local-stack.sh on free ports (fresh DynamoDB Local, in memory) and waits
    until it answers; a context manager that stops it (its whole process group) afterwards."""
    import contextlib

    @contextlib.contextmanager
    def running():
        port, ddb_port = free_port(), free_port()
        log_path = tmp_path_factory.mktemp(name) / "stack.log"
        log = open(log_path, "w")
        env = {**os.environ, "PORT": str(port), "DYNAMODB_PORT": str(ddb_port), **env_overrides}
        proc = subprocess.Popen(
            [str(ROOT / "tests" / "local-stack.sh")],
            cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
        )
        s = Stack(f"http://127.0.0.1:{port}", local_env())
        s.port, s.dynamodb = port, f"http://127.0.0.1:{ddb_port}"
        deadline = time.monotonic() + STARTUP_SECONDS
        try:
            while True:
                if proc.poll() is not None:
                    raise RuntimeError(f"stack exited early:\n{log_path.read_text()[-4000:]}")
                try:
                    r = requests.get(s.url("/server/user/info/probe"), timeout=60)
                    if r.status_code == 401 and r.json()["code"] == 401:
                        break
                except (requests.ConnectionError, requests.Timeout, ValueError):
                    pass
                if time.monotonic() > deadline:
                    raise RuntimeError(f"stack not ready in {STARTUP_SECONDS}s:\n{log_path.read_text()[-4000:]}")
                time.sleep(1)
            s.log_path = log_path
            yield s
        finally:
            try:
                os.killpg(proc.pid, signal.SIGTERM)
                proc.wait(timeout=30)
            except (ProcessLookupError, subprocess.TimeoutExpired):
                os.killpg(proc.pid, signal.SIGKILL)
            log.close()

    return running()


@pytest.fixture(scope="session")
def stack(tmp_path_factory):
    # Several instances per function: the suite's concurrency tests (20 concurrent increments,
    # 40 concurrent logins) are meant to run in parallel, as on Lambda.
    with start_stack(tmp_path_factory, "stack", WATCH_CONCURRENCY="4") as s:
        yield s


SDK_DIR = ROOT / "tests" / "sdk"


@pytest.fixture(scope="session")
def sdk_page_origin():
    """Serves tests/sdk (the test page, and MinApp's web SDK from its node_modules) on the local
    origin that `CORS_ALLOW_ORIGINS` in local.env allows, so the page is cross-origin to the
    stack. The exact port is needed (the origin must be allowed), so a busy port is an error."""
    import functools
    import http.server
    import threading
    import urllib.parse

    origins = [o.strip() for o in local_env().get("CORS_ALLOW_ORIGINS", "").split(",")]
    origin = next((o for o in origins if o.startswith("http://127.0.0.1:")), None)
    assert origin, "local.env CORS_ALLOW_ORIGINS names no http://127.0.0.1:<port> origin for the test page"

    class Quiet(http.server.SimpleHTTPRequestHandler):
        def log_message(self, *args):
            pass

    handler = functools.partial(Quiet, directory=str(SDK_DIR))
    try:
        server = http.server.ThreadingHTTPServer(("127.0.0.1", urllib.parse.urlsplit(origin).port), handler)
    except OSError as e:
        raise RuntimeError(f"the test page's origin {origin} is not free: {e}") from e
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield origin
    finally:
        server.shutdown()
        server.server_close()


@pytest.fixture(scope="session")
def browser():
    """One headless Chromium for the session: Debian's (`make tools` installs it), driven by
    Playwright; Playwright's own browser downloads are never used."""
    from playwright.sync_api import sync_playwright

    path = os.environ.get("CHROMIUM", "/usr/bin/chromium")
    assert os.path.exists(path), f"{path} is missing: run `make tools` (apt-get install chromium)"
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=path, args=["--no-sandbox"])
        try:
            yield b
        finally:
            b.close()
