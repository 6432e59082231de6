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


@pytest.fixture(scope="session")
def stack(tmp_path_factory):
    port, ddb_port = free_port(), free_port()
    log_path = tmp_path_factory.mktemp("stack") / "stack.log"
    log = open(log_path, "w")
    env = {**os.environ, "PORT": str(port), "DYNAMODB_PORT": str(ddb_port)}
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
