"""The audit trail over HTTP: the records of a sign-up, a login, a failed login and a password
forced through the account endpoint, read back through the admin endpoint; and the stack's
log lines of those requests, naming both request ids, the source IP, the caller and the
target, with no secret anywhere."""

import json
import uuid

import requests


def post(stack, path, body, reqid):
    return requests.post(stack.url(path), json=body, headers={"X-Reqid": reqid}, timeout=120)


def log_lines(stack):
    lines = []
    for line in stack.log_path.read_text(errors="replace").splitlines():
        start = line.find("{")
        if start < 0:
            continue
        try:
            lines.append(json.loads(line[start:]))
        except ValueError:
            pass
    return lines


def test_security_events_are_stored_listed_and_logged_without_secrets(stack):
    tag = uuid.uuid4().hex[:10]
    name, password, forced = f"audit_{tag}", f"pw-{tag}-correct", f"pw-{tag}-forced"
    r = post(stack, "/hserve/v2.1/register/username/", {"username": name, "password": password}, f"{tag}-up")
    assert r.status_code == 201, r.text
    uid, token = r.json()["id"], r.json()["token"]
    assert r.headers["X-Reqid"] == f"{tag}-up", "the client's id is still echoed"
    r = post(stack, "/hserve/v2.1/login/username/", {"username": name, "password": password}, f"{tag}-in")
    assert r.status_code == 201, r.text
    r = post(stack, "/hserve/v2.1/login/username/", {"username": name, "password": "wrong"}, f"{tag}-bad")
    assert r.status_code == 400, r.text
    r = stack.call("PUT", f"/userve/v2.2/miniapp/user/account/{uid}/", json={"new_password": forced},
                   headers={"X-Reqid": f"{tag}-force"})
    assert r.status_code == 200, r.text

    r = stack.call("GET", f"/userve/v2.2/miniapp/user/audit/{uid}/")
    assert r.status_code == 200, r.text
    page = r.json()
    assert [(o["event"], o["outcome"]) for o in page["objects"]] == [
        ("account_changed", "success"), ("login", "failure"), ("login", "success"), ("sign_up", "success"),
    ]
    changed = page["objects"][0]
    assert (changed["caller"], changed["caller_id"], changed["detail"]) == ("signature", stack.ak, "password")
    assert [o["client_reqid"] for o in page["objects"]] == [f"{tag}-force", f"{tag}-bad", f"{tag}-in", f"{tag}-up"]
    for o in page["objects"]:
        assert o["request_id"] and o["request_id"] != o["client_reqid"], o
        assert o["source_ip"] == "127.0.0.1", o
    # Paging: one record a page, the cursor of `next` continuing.
    r = stack.call("GET", f"/userve/v2.2/miniapp/user/audit/{uid}/?limit=1")
    assert r.status_code == 200 and len(r.json()["objects"]) == 1, r.text
    r = stack.call("GET", r.json()["meta"]["next"])
    assert r.status_code == 200 and r.json()["objects"][0]["event"] == "login", r.text
    # Admins only.
    assert stack.call("GET", f"/userve/v2.2/miniapp/user/audit/{uid}/", auth=None).status_code == 401

    lines = log_lines(stack)
    forced_lines = [l for l in lines if l.get("client_reqid") == f"{tag}-force"]
    assert forced_lines, "the account change's lines reach the stack's output"
    for line in forced_lines:
        assert line["request_id"] and line["request_id"] != f"{tag}-force", line
        assert line["source_ip"] == "127.0.0.1", line
        assert (line["caller"], line["caller_id"]) == ("signature", stack.ak), line
        assert line["target"].startswith("hs_"), line
    assert any(l.get("audit") == "account_changed" for l in forced_lines)
    assert any(l.get("status") == 200 for l in forced_lines)
    assert all(l.get("request_id") != f"{tag}-up" for l in lines), "X-Reqid never replaces the request id"

    everything = stack.log_path.read_text(errors="replace") + json.dumps(page)
    for secret in (password, forced, token, stack.sk):
        assert secret not in everything
