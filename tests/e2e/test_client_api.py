"""The client flow end to end: the app server gets a token (signed with the official SDK),
the client uses it on the five client endpoints."""

import base64
import hashlib
import hmac
import json
import time
import uuid
from concurrent.futures import ThreadPoolExecutor

from test_server_api import error, ok, register, uid


def token_for(stack, user_id, **params):
    data = ok(stack.call("GET", "/server/auth/token", params={"app_id": "app-e2e", "user_id": user_id, **params}))
    assert data["expires_at"] > time.time()
    return data["access_token"]


def client(stack, method, path, token, **kw):
    headers = kw.pop("headers", {})
    if token is not None:
        headers["Authorization"] = token
    return stack.call(method, path, auth=None, headers=headers, **kw)


def b64(raw):
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def forge(claims, secret, alg="HS256"):
    header = b64(json.dumps({"alg": alg, "typ": "JWT"}).encode())
    payload = b64(json.dumps(claims).encode())
    if alg == "none":
        return f"{header}.{payload}."
    mac = hmac.new(secret.encode(), f"{header}.{payload}".encode(), hashlib.sha256).digest()
    return f"{header}.{payload}.{b64(mac)}"


def test_token_issue_and_use_on_every_client_endpoint(stack):
    me, other = uid("me"), uid("other")
    register(stack, other, nick="Other", extends={"level": "3"})
    token = token_for(stack, me, device_id="phone-1")  # `me` is new: created on the spot

    profile = ok(client(stack, "GET", "/client/user/profile", token))
    assert profile["user_id"] == me and profile["im_username"] == "ql" + me and len(profile["im_password"]) >= 16

    bearer = "Bearer " + token
    public = ok(client(stack, "GET", f"/client/user/user/{other}", bearer))
    assert public["nick"] == "Other" and "im_password" not in public

    users = ok(client(stack, "GET", "/client/user/users", token, params=[("user_ids", other), ("user_ids", "ghost"), ("user_ids", me)]))
    assert [u["user_id"] for u in users] == [other, me]

    ok(client(stack, "PUT", "/client/user/user", token, json={"nick": "from phone", "extends": {"theme": "dark"}}))
    info = ok(stack.call("GET", f"/server/user/info/{me}"))
    assert info["nick"] == "from phone" and info["extends"] == {"theme": "dark"}

    # imusers goes through the eventually consistent GSI: poll, bounded.
    im_ids = [str(profile["im_userid"]), str(public["im_userid"])]
    for _ in range(50):
        found = ok(client(stack, "GET", "/client/user/imusers", token, params=[("im_user_ids", i) for i in im_ids]))
        if len(found) == 2:
            break
        time.sleep(0.1)
    assert [u["user_id"] for u in found] == [me, other]
    error(client(stack, "GET", "/client/user/imusers", token, params={"im_user_ids": "abc"}),
          400, 400, "im_user_ids[0]: must be an integer")


def test_token_parameters_are_checked(stack):
    error(stack.call("GET", "/server/auth/token", params={"user_id": "x"}), 400, 400, "app_id: query parameter is required")
    error(stack.call("GET", "/server/auth/token", params={"app_id": "a"}), 400, 400, "user_id: query parameter is required")
    error(stack.call("GET", "/server/auth/token", params={"app_id": "a", "user_id": "x", "expires_at": int(time.time()) - 5}),
          400, 400, "expires_at: must be in the future")
    error(stack.call("GET", "/server/auth/token", params={"app_id": "a", "user_id": "x", "expires_at": int(time.time()) + 40 * 86400}),
          400, 400, "expires_at: must be at most")


def test_attacks_get_the_right_envelope(stack):
    me = uid("target")
    register(stack, me)
    secret, second = stack.env["TOKEN_SECRETS"].split(",")
    claims = {"AppId": "a", "UserId": me, "DeviceId": "", "Role": "user", "exp": int(time.time()) + 600}
    cases = [
        (None, 401, 401, "missing Authorization"),
        ("garbage", 401, 401, "malformed token"),
        (forge(claims, secret, alg="none"), 401, 401, "algorithm must be HS256"),
        (forge(claims, "another-secret-0123456789"), 401, 401, "signature does not match"),
        (forge({**claims, "exp": int(time.time()) - 10}, secret), 401, 499, "token expired"),
        (f"Qiniu {stack.ak}:c2lnbmF0dXJl", 401, 401, "malformed token"),
    ]
    for token, status, code, needle in cases:
        error(client(stack, "GET", "/client/user/profile", token), status, code, needle)
    # A real server signature on a client endpoint.
    error(stack.call("GET", "/client/user/profile"), 401, 401, "malformed token")
    # A real token on a server endpoint.
    token = token_for(stack, me)
    error(client(stack, "GET", f"/server/user/info/{me}", token), 401, 401, "Qiniu <AK>:<sign>")
    # Rotation: a token signed with the second configured secret is accepted.
    assert ok(client(stack, "GET", "/client/user/profile", forge(claims, second)))["user_id"] == me


def test_concurrent_token_requests_for_one_new_user_create_one_user(stack):
    # Each worker reads the profile its token leads to as soon as it has the token. Had two
    # creates both written, workers answered between the writes would see different IM
    # passwords; one create shows one IM identity to every token.
    newcomer = uid("crowd")

    def token_then_profile(_):
        return ok(client(stack, "GET", "/client/user/profile", token_for(stack, newcomer)))

    with ThreadPoolExecutor(max_workers=8) as pool:
        profiles = list(pool.map(token_then_profile, range(8)))
    assert {p["user_id"] for p in profiles} == {newcomer}
    identities = {(p["im_userid"], p["im_username"], p["im_password"]) for p in profiles}
    assert len(identities) == 1, identities
    final = ok(stack.call("GET", f"/server/user/profile/{newcomer}"))
    assert identities == {(final["im_userid"], final["im_username"], final["im_password"])}
