"""The operator console's API over HTTP (issue 21, "Must show"): the session cookie's
attributes; the `userve` list with the cookie; a write without the CSRF token, or from another
origin, is 403 and changes nothing; a viewer's write is 403; the cookie is refused after logout;
an operator's change is in the user's audit records; a disabled user cannot log in and its
tokens are refused in all three dialects until it is enabled.

The cookie is sent by hand: it is `Secure`, which a browser honours on localhost but Python's
cookie jar does not over plain HTTP."""

import uuid

import requests


def dev_operator(stack):
    name, password = stack.env["DEV_OPERATOR"].split(":", 1)
    return name, password


class Console:
    """One logged-in operator: its cookie and CSRF token, sent as the console page sends them."""

    def __init__(self, stack, name, password):
        self.stack = stack
        r = requests.post(stack.url("/console/session"), json={"username": name, "password": password},
                          timeout=120)
        assert r.status_code == 200, r.text
        self.login = r
        self.cookie = r.headers["Set-Cookie"].split(";")[0]
        self.csrf = r.json()["csrf_token"]
        self.origin = stack.base

    def call(self, method, path, csrf=True, origin=True, **kw):
        headers = {"Cookie": self.cookie, **kw.pop("headers", {})}
        if csrf:
            headers["X-CSRF-Token"] = self.csrf
        if origin:
            headers["Origin"] = self.origin
        return requests.request(method, self.stack.url(path), headers=headers, timeout=120, **kw)


def new_user(stack, tag):
    """A MinApp user signed up with a password: its numeric id and a client token."""
    r = requests.post(stack.url("/hserve/v2.1/register/username/"),
                      json={"username": f"c_{tag}", "password": f"pw-{tag}-right"}, timeout=120)
    assert r.status_code == 201, r.text
    return r.json()["id"], r.json()["token"]


def test_the_session_cookie_is_strict_and_the_userve_list_takes_it(stack):
    admin = Console(stack, *dev_operator(stack))
    attributes = [a.strip() for a in admin.login.headers["Set-Cookie"].split(";")]
    assert attributes[0].startswith("console_session=")
    for attribute in ["HttpOnly", "SameSite=Strict", "Secure", "Path=/", "Max-Age=1800"]:
        assert attribute in attributes, attributes
    body = admin.login.json()
    assert (body["username"], body["role"], body["expires_in"]) == (dev_operator(stack)[0], "admin", 1800)

    uid, _ = new_user(stack, uuid.uuid4().hex[:10])
    r = admin.call("GET", f"/userve/v2.2/miniapp/user_profile/?where={{\"id\":{uid}}}&return_total_count=1")
    assert r.status_code == 200, r.text
    assert [o["id"] for o in r.json()["objects"]] == [uid]
    assert "console_session=" in r.headers["Set-Cookie"], "renewed while in use"
    r = admin.call("GET", f"/userve/v2.2/miniapp/user_profile/{uid}/")
    assert r.status_code == 200 and r.json()["_disabled"] is False, r.text
    # Wrong credentials: 401 in MinApp form, no cookie.
    r = requests.post(stack.url("/console/session"), json={"username": "nobody", "password": "wrong"}, timeout=120)
    assert r.status_code == 401 and r.json()["status"] == "error" and "Set-Cookie" not in r.headers, r.text


def test_writes_need_the_csrf_token_and_the_own_origin_and_a_viewer_cannot_write(stack):
    tag = uuid.uuid4().hex[:10]
    admin = Console(stack, *dev_operator(stack))
    uid, _ = new_user(stack, tag)
    path = f"/userve/v2.6/miniapp/user_profile/{uid}/"
    change = {"nickname": "changed"}
    r = admin.call("PUT", path, csrf=False, json=change)
    assert r.status_code == 403 and "X-CSRF-Token" in r.json()["error_msg"], r.text
    r = admin.call("PUT", path, headers={"Origin": "https://evil.example"}, origin=False, json=change)
    assert r.status_code == 403 and "Origin" in r.json()["error_msg"], r.text
    r = admin.call("GET", f"/userve/v2.2/miniapp/user_profile/{uid}/")
    assert r.json()["nickname"] == "", "nothing changed"

    viewer_name, viewer_password = f"viewer_{tag}", f"pw-{tag}-viewer"
    r = admin.call("POST", "/console/operators",
                   json={"username": viewer_name, "password": viewer_password, "role": "viewer"})
    assert r.status_code == 201, r.text
    viewer = Console(stack, viewer_name, viewer_password)
    assert viewer.login.json()["role"] == "viewer"
    r = viewer.call("PUT", path, json=change)
    assert r.status_code == 403 and r.json()["status"] == "error", r.text
    r = viewer.call("GET", f"/userve/v2.2/miniapp/user_profile/{uid}/")
    assert r.status_code == 200 and r.json()["nickname"] == "", "nothing changed"

    r = admin.call("PUT", path, json=change)
    assert r.status_code == 200 and r.json()["nickname"] == "changed", r.text


def test_an_operator_s_change_is_in_the_user_s_audit_records(stack):
    tag = uuid.uuid4().hex[:10]
    name, _ = dev_operator(stack)
    admin = Console(stack, *dev_operator(stack))
    uid, _ = new_user(stack, tag)
    r = admin.call("PUT", f"/userve/v2.2/miniapp/user/account/{uid}/", json={"username": f"renamed_{tag}"})
    assert r.status_code == 200, r.text
    r = admin.call("GET", f"/userve/v2.2/miniapp/user/audit/{uid}/")
    assert r.status_code == 200, r.text
    changed = r.json()["objects"][0]
    assert (changed["event"], changed["caller"], changed["caller_id"]) == ("account_changed", "operator", name)


def test_after_logout_the_cookie_is_refused(stack):
    admin = Console(stack, *dev_operator(stack))
    assert admin.call("GET", "/console/session").status_code == 200
    r = admin.call("DELETE", "/console/session")
    assert r.status_code == 200 and r.json() == {}, r.text
    assert "Max-Age=0" in r.headers["Set-Cookie"]
    r = admin.call("GET", "/console/session")
    assert r.status_code == 401, r.text
    r = admin.call("GET", "/userve/v2.2/miniapp/user_profile/")
    assert r.status_code == 401, r.text


def client_calls(stack, token):
    """The user's own profile in each dialect, with its token."""
    return {
        "qiniu": requests.get(stack.url("/client/user/profile"), headers={"Authorization": token}, timeout=60),
        "deepin": requests.get(stack.url("/v1/user"), headers={"Access-Token": token}, timeout=60),
        "minapp": requests.get(stack.url("/userve/v1/user-profile/"),
                               headers={"Authorization": f"Hydrogen-r1 {token}"}, timeout=60),
    }


def test_a_disabled_user_cannot_log_in_and_its_tokens_are_refused_everywhere_until_enabled(stack):
    tag = uuid.uuid4().hex[:10]
    admin = Console(stack, *dev_operator(stack))
    uid, token = new_user(stack, tag)
    for dialect, r in client_calls(stack, token).items():
        assert r.status_code == 200, (dialect, r.text)
    r = admin.call("PUT", f"/console/users/{uid}/disabled", json={"until": None})
    assert r.status_code == 200 and r.json() == {"disabled": True, "until": None}, r.text
    r = admin.call("GET", f"/userve/v2.2/miniapp/user_profile/{uid}/")
    assert (r.json()["_disabled"], r.json()["_disabled_until"]) == (True, None), r.text

    login = {"username": f"c_{tag}", "password": f"pw-{tag}-right"}
    r = requests.post(stack.url("/hserve/v2.1/login/username/"), json=login, timeout=120)
    assert r.status_code == 403 and r.json()["status"] == "error", r.text
    r = requests.post(stack.url("/hserve/v2.1/login/username/"), json={**login, "password": "wrong"}, timeout=120)
    assert r.status_code == 400, "a wrong password tells a guesser nothing more"
    for dialect, r in client_calls(stack, token).items():
        assert r.status_code == 401, (dialect, r.text)

    r = admin.call("DELETE", f"/console/users/{uid}/disabled")
    assert r.status_code == 200 and r.json() == {"disabled": False}, r.text
    for dialect, r in client_calls(stack, token).items():
        assert r.status_code == 200, (dialect, r.text)
    r = requests.post(stack.url("/hserve/v2.1/login/username/"), json=login, timeout=120)
    assert r.status_code == 201, r.text

    # Revoke: every token of the user void.
    r = admin.call("POST", f"/console/users/{uid}/revoke")
    assert r.status_code == 200 and r.json() == {}, r.text
    for dialect, r in client_calls(stack, token).items():
        assert r.status_code == 401, (dialect, r.text)
