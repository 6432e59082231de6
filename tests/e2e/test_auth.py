"""MinApp's hserve sign-up, login and logout over HTTP, and the one client token they issue
working (then refused) on a client endpoint of every dialect."""

import uuid

import pytest
import requests

INVALID = {"status": "error", "error_msg": "Invalid username/email or password."}


def post(stack, path, body, headers=None):
    return requests.post(stack.url(path), json=body, headers=headers or {}, timeout=120)


def everywhere(stack, token):
    """Status codes of the token's user on Qiniu, Deepin and MinApp client endpoints."""
    qiniu = requests.get(stack.url("/client/user/profile"), headers={"Authorization": token}, timeout=60)
    deepin = requests.get(stack.url("/v1/user"), headers={"Access-Token": token}, timeout=60)
    minapp = requests.get(stack.url("/userve/v1/user-profile/"),
                          headers={"Authorization": f"Hydrogen-r1 {token}"}, timeout=60)
    return qiniu, deepin, minapp


def unique():
    return uuid.uuid4().hex[:10]


CASES = [
    # (field, value at sign-up, value at login, the login's path version)
    ("username", lambda u: f"Auth_{u}", lambda v: v.upper(), "v2.1"),
    ("email", lambda u: f"Auth.{u}@Example.com", lambda v: v.lower(), "v2.0"),
    ("phone", lambda u: "+86" + str(int(u, 16))[:11].rjust(11, "1"), lambda v: v, "v2.1"),
]


@pytest.mark.parametrize("field,make,other_case,version", CASES, ids=[c[0] for c in CASES])
def test_sign_up_log_in_use_the_token_everywhere_and_log_out(stack, field, make, other_case, version):
    value = make(unique())
    r = post(stack, f"/hserve/v2.1/register/{field}/", {field: value, "password": "correct horse"},
             {"X-Hydrogen-Client-ID": stack.env["APP_ID"]})
    assert r.status_code == 201, r.text
    signed_up = r.json()
    assert signed_up[f"_{field}"] == value and signed_up["id"] == signed_up["user_id"] > 0
    assert signed_up["expires_in"] > 0 and signed_up["token"]

    r = post(stack, f"/hserve/{version}/login/{field}/", {field: other_case(value), "password": "correct horse"})
    assert r.status_code == 201, r.text
    login = r.json()
    assert login["id"] == signed_up["id"]
    token = login["token"]

    qiniu, deepin, minapp = everywhere(stack, token)
    assert qiniu.status_code == 200 and qiniu.json()["code"] == 0, qiniu.text
    assert qiniu.json()["data"]["im_userid"] == signed_up["id"]
    assert deepin.status_code == 200, deepin.text
    assert deepin.json()["uid"] == signed_up["id"]
    assert minapp.status_code == 200, minapp.text
    assert minapp.json()["user_id"] == signed_up["id"]

    r = requests.post(stack.url("/hserve/v2.0/session/destroy/"),
                      headers={"Authorization": f"Hydrogen-r1 {token}"}, timeout=60)
    assert r.status_code == 201, r.text
    assert r.json() == {"message": "Destroy succeed.", "status": "ok"}
    # Logout voids every earlier token of the user, the sign-up's too, on every dialect.
    for old in (token, signed_up["token"]):
        qiniu, deepin, minapp = everywhere(stack, old)
        assert qiniu.status_code == 401 and qiniu.json()["code"] == 401, qiniu.text
        assert deepin.status_code == 401, deepin.text
        assert minapp.status_code == 401 and minapp.json()["status"] == "error", minapp.text


def test_a_password_change_voids_older_tokens_and_the_new_password_logs_in(stack):
    name = f"changer_{unique()}"
    r = post(stack, "/hserve/v2.1/register/username/", {"username": name, "password": "old password"})
    assert r.status_code == 201, r.text
    uid, old_token = r.json()["id"], r.json()["token"]
    assert all(x.status_code == 200 for x in everywhere(stack, old_token))

    r = stack.call("PUT", f"/userve/v2.2/miniapp/user/account/{uid}/", json={"new_password": "new password"})
    assert r.status_code == 200, r.text

    for x in everywhere(stack, old_token):
        assert x.status_code == 401, x.text
    r = post(stack, "/hserve/v2.1/login/username/", {"username": name, "password": "old password"})
    assert (r.status_code, r.json()) == (400, INVALID)
    r = post(stack, "/hserve/v2.1/login/username/", {"username": name, "password": "new password"})
    assert r.status_code == 201, r.text
    assert all(x.status_code == 200 for x in everywhere(stack, r.json()["token"]))


def test_wrong_password_and_unknown_user_are_the_same_answer(stack):
    name = f"guess_{unique()}"
    assert post(stack, "/hserve/v2.1/register/username/", {"username": name, "password": "correct horse"}).status_code == 201
    wrong = post(stack, "/hserve/v2.1/login/username/", {"username": name, "password": "wrong horse"})
    unknown = post(stack, "/hserve/v2.1/login/username/", {"username": f"nobody_{unique()}", "password": "wrong horse"})
    assert (wrong.status_code, wrong.json()) == (unknown.status_code, unknown.json()) == (400, INVALID)


def test_a_taken_value_is_400_naming_the_field(stack):
    email = f"taken.{unique()}@example.com"
    assert post(stack, "/hserve/v2.0/register/email/", {"email": email, "password": "correct horse"}).status_code == 201
    r = post(stack, "/hserve/v2.1/register/email/", {"email": email.upper(), "password": "correct horse"})
    assert r.status_code == 400 and r.json()["error_msg"].startswith("email: "), r.text
