"""The seven server endpoints over HTTP through `cargo lambda watch` + DynamoDB Local,
signed by the official Qiniu Python SDK exactly as customers' app servers sign."""

import datetime
import hashlib
import hmac
import base64
import uuid
from concurrent.futures import ThreadPoolExecutor

import requests
from qiniu import Auth, QiniuMacAuth
from qiniu.auth import QiniuMacRequestsAuth, RequestsAuth


def uid(prefix="u"):
    return f"{prefix}-{uuid.uuid4().hex[:12]}"


def ok(r):
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["code"] == 0 and body["message"] == "success", body
    assert r.headers["Content-Type"] == "application/json; charset=utf-8"
    assert r.headers["X-Reqid"] == body["request_id"]
    return body.get("data")


def error(r, status, code, needle):
    assert r.status_code == status, r.text
    body = r.json()
    assert body["code"] == code, body
    assert needle in body["message"], body
    assert "data" not in body
    return body


def register(stack, user_id, **fields):
    ok(stack.call("POST", "/server/user/register", json={"user_id": user_id, **fields}))


def test_every_server_endpoint_accepts_official_sdk_signatures(stack):
    a, b = uid(), uid()
    register(stack, a, nick="用户", avatar="http;//xxx.png", extends={"age": "18"})
    assert ok(stack.call("POST", "/server/user/register/batch", json=[{"user_id": b}])) is None
    assert ok(stack.call("PUT", f"/server/user/{a}", json={"extends": {"city": "杭州"}})) is None
    info = ok(stack.call("GET", f"/server/user/info/{a}"))
    assert info["extends"] == {"age": "18", "city": "杭州"}
    assert "im_password" not in info and "im_username" not in info
    infos = ok(stack.call("GET", "/server/user/infos", params=[("user_ids", b), ("user_ids", a)]))
    assert [u["user_id"] for u in infos] == [b, a]
    profile = ok(stack.call("GET", f"/server/user/profile/{a}"))
    assert profile["im_username"] == "ql" + a and len(profile["im_password"]) >= 16
    by_body = ok(stack.call("GET", "/server/user/profiles", json=[a, b]))
    by_query = ok(stack.call("GET", "/server/user/profiles", params=[("user_ids", a), ("user_ids", b)]))
    assert [p["user_id"] for p in by_body] == [a, b] == [p["user_id"] for p in by_query]
    assert by_body[0]["im_password"] == profile["im_password"]


def test_register_twice_returns_10001(stack):
    a = uid()
    register(stack, a)
    r = stack.call("POST", "/server/user/register", json={"user_id": a})
    error(r, 400, 10001, f"user already exists: {a}")


def test_concurrent_registrations_of_one_id_create_one_user(stack):
    a = uid("race")
    with ThreadPoolExecutor(max_workers=10) as pool:
        codes = list(pool.map(
            lambda i: stack.call("POST", "/server/user/register", json={"user_id": a, "nick": str(i)}).json()["code"],
            range(10),
        ))
    assert sorted(codes) == [0] + [10001] * 9


def test_batch_register_reports_each_failure(stack):
    existing, fresh = uid(), uid()
    register(stack, existing)
    data = ok(stack.call("POST", "/server/user/register/batch", json=[
        {"user_id": fresh}, {"user_id": existing}, {"user_id": "has space"},
    ]))
    assert data[existing] == {"code": 10001, "message": f"user already exists: {existing}"}
    assert data["has space"]["code"] == 400
    assert set(data) == {existing, "has space"}
    ok(stack.call("GET", f"/server/user/info/{fresh}"))


def test_update_is_visible_and_unknown_user_is_404(stack):
    a = uid()
    register(stack, a, nick="before", extends={"k": "v", "drop": "x"})
    ok(stack.call("PUT", f"/server/user/{a}", json={"nick": "after", "avatar": "", "extends": {"drop": None}}))
    info = ok(stack.call("GET", f"/server/user/info/{a}"))
    assert info["nick"] == "after" and info["extends"] == {"k": "v"}
    ghost = uid("ghost")
    error(stack.call("PUT", f"/server/user/{ghost}", json={"nick": "x"}), 404, 404, f"user not found: {ghost}")
    error(stack.call("GET", f"/server/user/info/{ghost}"), 404, 404, f"user not found: {ghost}")


def test_bad_input_gets_an_envelope_naming_the_field(stack):
    error(stack.call("POST", "/server/user/register", data=b"{not json", headers={"Content-Type": "application/json"}),
          400, 400, "body: malformed JSON")
    error(stack.call("POST", "/server/user/register", json={"user_id": "x" * 65}), 400, 400, "user_id: must be at most 64")
    error(stack.call("GET", "/server/user/infos", params=[("user_ids", f"u{i}") for i in range(201)]),
          400, 400, "user_ids: at most 200 ids")


ALL_ENDPOINTS = [
    ("POST", "/server/user/register", {"json": {"user_id": "nobody"}}),
    ("POST", "/server/user/register/batch", {"json": [{"user_id": "nobody"}]}),
    ("PUT", "/server/user/nobody", {"json": {"nick": "x"}}),
    ("GET", "/server/user/info/nobody", {}),
    ("GET", "/server/user/infos", {"params": {"user_ids": "nobody"}}),
    ("GET", "/server/user/profile/nobody", {}),
    ("GET", "/server/user/profiles", {"json": ["nobody"]}),
]


def test_unsigned_wrong_sk_and_unknown_ak_are_401_on_every_endpoint(stack):
    wrong_sk = QiniuMacRequestsAuth(QiniuMacAuth(stack.ak, "not-the-secret"))
    unknown_ak = QiniuMacRequestsAuth(QiniuMacAuth("nobody", stack.sk))
    for method, path, kw in ALL_ENDPOINTS:
        error(stack.call(method, path, auth=None, **kw), 401, 401, "missing Authorization")
        error(stack.call(method, path, auth=wrong_sk, **kw), 401, 401, "signature does not match")
        error(stack.call(method, path, auth=unknown_ak, **kw), 401, 401, "unknown access key")


def test_body_changed_after_signing_is_401(stack):
    a = uid()
    prepared = requests.Request("POST", stack.url("/server/user/register"), json={"user_id": a}).prepare()
    stack.auth(prepared)
    prepared.body = ('{"user_id": "%s"}' % uid()).encode()
    prepared.headers["Content-Length"] = str(len(prepared.body))
    r = requests.Session().send(prepared, timeout=60)
    error(r, 401, 401, "signature does not match")
    error(stack.call("GET", f"/server/user/info/{a}"), 404, 404, "user not found")


class DatedAuth(requests.auth.AuthBase):
    """The SDK's signing with a chosen X-Qiniu-Date."""

    def __init__(self, mac, date):
        self.mac, self.date = mac, date

    def __call__(self, r):
        r.headers.setdefault("Content-Type", "application/x-www-form-urlencoded")
        r.headers["X-Qiniu-Date"] = self.date.strftime("%Y%m%dT%H%M%SZ")
        token = self.mac.token_of_request(r.method, None, r.url, self.mac.qiniu_headers(r.headers),
                                          r.headers["Content-Type"], r.body)
        r.headers["Authorization"] = f"Qiniu {token}"
        return r


def test_signed_date_an_hour_old_is_403(stack):
    an_hour_ago = datetime.datetime.now(datetime.timezone.utc) - datetime.timedelta(hours=1)
    a = uid()
    r = stack.call("POST", "/server/user/register", auth=DatedAuth(stack.mac, an_hour_ago), json={"user_id": a})
    error(r, 403, 403, "request time skew too large")
    error(stack.call("GET", f"/server/user/info/{a}"), 404, 404, "user not found")
    recent = datetime.datetime.now(datetime.timezone.utc) - datetime.timedelta(minutes=2)
    ok(stack.call("POST", "/server/user/register", auth=DatedAuth(stack.mac, recent), json={"user_id": a}))


def v2_sign(stack, method, path, content_type=None, body=b""):
    """Qiniu v2 over exactly what the server signs: no body unless typed and not octet-stream."""
    host = stack.base.split("://", 1)[1]
    data = f"{method} {path}\nHost: {host}\n"
    if content_type:
        data += f"Content-Type: {content_type}\n"
    data = data.encode() + b"\n"
    if content_type and content_type != "application/octet-stream":
        data += body
    sign = base64.urlsafe_b64encode(hmac.new(stack.sk.encode(), data, hashlib.sha1).digest()).decode()
    return f"Qiniu {stack.ak}:{sign}"


def test_a_body_the_signature_did_not_cover_is_401_and_changes_nothing(stack):
    a = uid()
    register(stack, a, nick="before")
    path = f"/server/user/{a}"
    evil = b'{"nick": "injected"}'
    # QBox signs only path and query: a captured one could be replayed with any JSON body.
    prepared = requests.Request("PUT", stack.url(path), json={"nick": "signed"}).prepare()
    RequestsAuth(Auth(stack.ak, stack.sk))(prepared)
    prepared.body = evil
    prepared.headers["Content-Length"] = str(len(evil))
    error(requests.Session().send(prepared, timeout=60), 401, 401, "QBox signature does not cover")
    # v2 leaves the body out when there is no Content-Type or it is application/octet-stream.
    for content_type in (None, "application/octet-stream"):
        headers = {"Authorization": v2_sign(stack, "PUT", path, content_type)}
        if content_type:
            headers["Content-Type"] = content_type
        r = requests.put(stack.url(path), data=evil, headers=headers, timeout=60)
        error(r, 401, 401, "does not cover the body")
    assert ok(stack.call("GET", f"/server/user/info/{a}"))["nick"] == "before"


def test_a_user_id_holding_a_percent_sequence_is_addressable_through_its_path(stack):
    literal = uid("pct") + "%41"
    register(stack, literal, nick="literal")
    register(stack, literal.replace("%41", "A"), nick="decoded")
    encoded = literal.replace("%", "%25")
    ok(stack.call("PUT", f"/server/user/{encoded}", json={"nick": "changed"}))
    assert ok(stack.call("GET", f"/server/user/info/{encoded}"))["nick"] == "changed"
    assert ok(stack.call("GET", f"/server/user/info/{literal.replace('%41', 'A')}"))["nick"] == "decoded"


def test_legacy_qbox_form_is_accepted(stack):
    qbox = RequestsAuth(Auth(stack.ak, stack.sk))
    a = uid()
    register(stack, a)
    info = ok(stack.call("GET", f"/server/user/info/{a}", auth=qbox))
    assert info["user_id"] == a


def test_go_sdk_style_signature_over_the_decoded_path_is_accepted(stack):
    a = "go user-" + uuid.uuid4().hex[:6]  # invalid id (space), but the signature is checked first
    path = "/server/user/info/" + requests.utils.quote(a)
    host = stack.base.split("://", 1)[1]
    data = f"GET /server/user/info/{a}\nHost: {host}\nContent-Type: application/x-www-form-urlencoded\n\n"
    sign = base64.urlsafe_b64encode(hmac.new(stack.sk.encode(), data.encode(), hashlib.sha1).digest()).decode()
    r = requests.get(stack.url(path), timeout=60, headers={
        "Authorization": f"Qiniu {stack.ak}:{sign}",
        "Content-Type": "application/x-www-form-urlencoded",
    })
    error(r, 400, 400, "user_id: must not contain whitespace")


def test_second_active_key_is_accepted(stack):
    second = QiniuMacRequestsAuth(QiniuMacAuth(stack.second_ak, stack.second_sk))
    a = uid()
    ok(stack.call("POST", "/server/user/register", auth=second, json={"user_id": a}))


def test_x_reqid_is_echoed(stack):
    r = stack.call("GET", "/server/user/info/nobody", headers={"X-Reqid": "trace-e2e-1"})
    assert r.json()["request_id"] == "trace-e2e-1" and r.headers["X-Reqid"] == "trace-e2e-1"


def test_logs_never_carry_secrets_or_headers(stack):
    a = uid()
    register(stack, a)
    password = ok(stack.call("GET", f"/server/user/profile/{a}"))["im_password"]
    log = stack.log_path.read_text()
    for secret in (stack.sk, stack.second_sk, password, "Authorization", "Qiniu " + stack.ak):
        assert secret not in log
    assert '"route"' in log and '"latency_ms"' in log
