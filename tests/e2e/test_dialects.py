"""One user, three dialects, over HTTP through `cargo lambda watch` + DynamoDB Local: a user
registered through Qiniu gets a login name and an email through MinApp's account endpoint,
then Deepin ID finds it, shows it and its token sees it."""

import time

import requests

from test_client_api import forge, token_for
from test_server_api import ok, register, uid


def deepin(stack, path, **kw):
    r = requests.get(stack.url(path), timeout=60, **kw)
    assert r.headers["Content-Type"] == "application/json; charset=utf-8", r.headers
    return r


def minapp_server_token(stack):
    r = requests.post(stack.url("/api/oauth2/hydrogen/openapi/authorize/"), timeout=60,
                      json={"client_id": stack.ak, "client_secret": stack.sk})
    assert r.status_code == 200, r.text
    code = r.json()["code"]
    r = requests.post(stack.url("/api/oauth2/access_token/"), timeout=60, data={
        "client_id": stack.ak, "client_secret": stack.sk,
        "grant_type": "authorization_code", "code": code,
    })
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["token_type"] == "Bearer" and body["expires_in"] > 0 and body["scope"]
    return body["access_token"]


def set_account(stack, server_token, im_userid, **fields):
    return requests.put(stack.url(f"/userve/v2.2/miniapp/user/account/{im_userid}/"), timeout=60,
                        json=fields, headers={"Authorization": f"Bearer {server_token}"})


def qiniu_user_with_account(stack, server_token, name, email):
    a = uid("dl")
    register(stack, a, nick=f"nick {name}", avatar="https://img.example/a.png",
             extends={"website": "https://w.example", "signature": "hi"})
    im_userid = ok(stack.call("GET", f"/server/user/info/{a}"))["im_userid"]
    for _ in range(50):  # the im_userid index is eventually consistent
        r = set_account(stack, server_token, im_userid, username=name, email=email)
        if r.status_code != 404:
            break
        time.sleep(0.1)
    assert r.status_code == 200, r.text
    assert r.json() == {"email": email, "email_verified": False, "username": name,
                        "phone": None, "phone_verified": False}
    return a, im_userid


def test_a_qiniu_user_with_a_minapp_account_is_found_by_deepin_every_way(stack):
    token = minapp_server_token(stack)
    name, email = uid("Name"), uid("mail") + "@Example.org"
    a, im_userid = qiniu_user_with_account(stack, token, name, email)
    expected = {"uid": im_userid, "username": name, "nickname": f"nick {name}",
                "avatar": "https://img.example/a.png", "profile_image": "https://img.example/a.png",
                "website": "https://w.example", "signature": "hi"}
    for identify in (name.upper(), str(im_userid), email.lower()):
        r = deepin(stack, f"/v1/users/{identify}")
        assert r.status_code == 200, (identify, r.text)
        assert r.json() == expected, identify
        assert "@" not in r.text
    # Never by the string id (the Qiniu dialect's key), nor by nobody.
    for identify in (a, uid('nobody')):
        r = deepin(stack, f"/v1/users/{identify}")
        assert (r.status_code, r.json()) == (404, {"message": "Invaild User Name"}), identify


def test_the_multi_lookup_ors_within_and_ands_across_parameters_sorted_by_uid(stack):
    token = minapp_server_token(stack)
    names = [uid("N") for _ in range(3)]
    users = [qiniu_user_with_account(stack, token, n, uid("m") + "@x.example") for n in names]
    (a, ua), (b, ub), (c, uc) = users
    r = deepin(stack, "/v1/users", params=[("id", uc), ("id", ua)])
    assert [u["uid"] for u in r.json()] == sorted([ua, uc])
    r = deepin(stack, "/v1/users", params=[("id", ua), ("id", ub), ("username", names[1].lower())])
    assert [u["uid"] for u in r.json()] == [ub]
    r = deepin(stack, "/v1/users", params=[("id", ua), ("username", names[2])])
    assert (r.status_code, r.json()) == (404, {"message": "Invaild User Name"})
    # A string id is never a username.
    r = deepin(stack, "/v1/users", params=[("username", b)])
    assert (r.status_code, r.json()) == (404, {"message": "Invaild User Name"})
    r = deepin(stack, "/v1/users", params=[("id", "x")])
    assert r.status_code == 400 and "id[0]" in r.json()["message"]
    assert "@" not in deepin(stack, "/v1/users", params=[("id", ua)]).text


def test_strangers_see_only_users_with_a_username_and_a_signature_sees_everyone(stack):
    token = minapp_server_token(stack)
    name = uid("Seen")
    seen, seen_uid = qiniu_user_with_account(stack, token, name, uid("s") + "@x.example")
    hidden = uid("hidden")
    register(stack, hidden, nick="registered by the app server")
    hidden_uid = ok(stack.call("GET", f"/server/user/info/{hidden}"))["im_userid"]
    # A stranger's walk over 100 uids (both users' among them: blocks of ids are per process).
    uids = sorted({seen_uid, hidden_uid} | set(range(max(1, seen_uid - 49), seen_uid + 49)))[:100]
    walk = [("id", str(n)) for n in uids]
    r = deepin(stack, "/v1/users", params=walk)
    assert r.status_code == 200, r.text
    shown = {u["uid"] for u in r.json()}
    assert seen_uid in shown and hidden_uid not in shown
    assert all(u["username"] for u in r.json()), "anonymous callers see only users with a username"
    for path in (f"/v1/users/{hidden_uid}", f"/v1/users/{hidden}", f"/v1/users/{seen}"):
        r = deepin(stack, path)
        assert (r.status_code, r.json()) == (404, {"message": "Invaild User Name"}), path
    # Signed by the official SDK: the same lookups see everyone, the string id still never.
    r = stack.call("GET", "/v1/users", params=walk)
    assert r.status_code == 200, r.text
    by_uid = {u["uid"]: u for u in r.json()}
    assert {seen_uid, hidden_uid} <= set(by_uid)
    assert by_uid[hidden_uid]["username"] == "" and by_uid[seen_uid]["username"] == name
    assert stack.call("GET", f"/v1/users/{hidden_uid}").json()["uid"] == hidden_uid
    assert stack.call("GET", f"/v1/users/{hidden}").status_code == 404


def test_v1_user_takes_the_token_from_every_source_and_refuses_bad_ones(stack):
    token = minapp_server_token(stack)
    name, email = uid("Me"), uid("me") + "@example.org"
    a, im_userid = qiniu_user_with_account(stack, token, name, email)
    client = token_for(stack, a)
    for kw in ({"headers": {"Access-Token": client}}, {"params": {"access_token": client}},
               {"headers": {"Authorization": f"Bearer {client}"}}):
        r = deepin(stack, "/v1/user", **kw)
        assert r.status_code == 200, r.text
        body = r.json()
        assert (body["uid"], body["email"], body["scope"]) == (im_userid, email, "base,user:read")
    expired = forge({"AppId": "x", "UserId": a, "DeviceId": "", "Role": "user", "exp": int(time.time()) - 5},
                    stack.env["TOKEN_SECRETS"].split(",")[0])
    r = deepin(stack, "/v1/user", headers={"Access-Token": expired})
    assert (r.status_code, r.json()) == (401, {"message": "token expired"})
    for bad in ("garbage", client[:-2] + "xx", token):
        r = deepin(stack, "/v1/user", headers={"Access-Token": bad})
        assert r.status_code == 401 and set(r.json()) == {"message"}, r.text


def test_token_flow_grants_and_refusals(stack):
    # client_credentials needs no code.
    r = requests.post(stack.url("/api/oauth2/access_token/"), timeout=60, json={
        "client_id": stack.ak, "client_secret": stack.sk, "grant_type": "client_credentials"})
    assert r.status_code == 200, r.text
    server = r.json()["access_token"]
    r = requests.post(stack.url("/api/oauth2/hydrogen/openapi/authorize/"), timeout=60,
                      json={"client_id": stack.ak, "client_secret": "wrong"})
    assert r.status_code == 401 and r.json()["status"] == "error"
    code = requests.post(stack.url("/api/oauth2/hydrogen/openapi/authorize/"), timeout=60,
                         json={"client_id": stack.ak, "client_secret": stack.sk}).json()["code"]
    for grant in ({"code": code[:-2] + ("AA" if not code.endswith("AA") else "BB")},
                  {"code": code, "client_secret": "wrong"}):
        body = {"client_id": stack.ak, "client_secret": stack.sk, "grant_type": "authorization_code", **grant}
        r = requests.post(stack.url("/api/oauth2/access_token/"), timeout=60, json=body)
        assert r.status_code == 401, r.text
        assert set(r.json()) == {"status", "error_msg"}
    # A server token is no client token, and a client token is no server token.
    a = uid("tf")
    register(stack, a)
    client = token_for(stack, a)
    r = requests.get(stack.url("/client/user/profile"), timeout=60, headers={"Authorization": f"Bearer {server}"})
    assert r.status_code == 401
    r = deepin(stack, "/v1/user", headers={"Authorization": f"Bearer {server}"})
    assert r.status_code == 401
    im_userid = ok(stack.call("GET", f"/server/user/info/{a}"))["im_userid"]
    r = set_account(stack, client, im_userid, username=uid("x"))
    assert r.status_code == 401 and r.json()["status"] == "error"


def test_account_changes_are_validated_and_unknown_ids_are_404(stack):
    token = minapp_server_token(stack)
    a, im_userid = qiniu_user_with_account(stack, token, uid("V"), uid("v") + "@example.org")
    for body, field in (({"username": "has space"}, "username"), ({"email": "not-an-email"}, "email"),
                        ({"phone": "12ab"}, "phone"), ({"new_password": "short"}, "new_password"),
                        ({"nickname": "x"}, "nickname")):
        r = set_account(stack, token, im_userid, **body)
        assert r.status_code == 400, r.text
        assert r.json()["status"] == "error" and field in r.json()["error_msg"]
    r = set_account(stack, token, 987654321, username=uid("ghost"))
    assert r.status_code == 404 and r.json()["status"] == "error"
    # The password is hashed and shown nowhere.
    r = set_account(stack, token, im_userid, new_password="correct horse battery")
    assert r.status_code == 200 and "password" not in r.text
    assert "correct horse" not in stack.log_path.read_text()
    # A Qiniu signature is a server credential too (the MinApp admin endpoints take both).
    r = stack.call("PUT", f"/userve/v2.2/miniapp/user/account/{im_userid}/", json={"phone": "+8613800138000"})
    assert r.status_code == 200, r.text
    assert r.json()["phone"] == "+8613800138000" and r.json()["phone_verified"] is False
