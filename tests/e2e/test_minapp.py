"""MinApp's `userve` user module over HTTP (cargo lambda watch + DynamoDB Local), as its
server code calls it: signed by the official Qiniu SDK or with MinApp's server Bearer token,
list with a `where`, update with `$incr_by`, batch update, and the same user through Qiniu."""

import json
import time
import uuid

from test_dialects import minapp_server_token
from test_server_api import ok, register, uid
from test_userctl import userctl

LIST = "/userve/v2.2/miniapp/user_profile/"
BATCH = "/userve/v2.6/miniapp/user_profile/"


def one(id_):
    return f"/userve/v2.2/miniapp/user_profile/{id_}/"


def update_path(id_):
    return f"/userve/v2.6/miniapp/user_profile/{id_}/"


def qiniu_user(stack, nick):
    user_id = uid("ma")
    register(stack, user_id, nick=nick, avatar="https://img.example/m.png")
    return user_id, ok(stack.call("GET", f"/server/user/info/{user_id}"))["im_userid"]


def eventually(call, until):
    """The im_userid and directory indexes are eventually consistent."""
    for _ in range(50):
        r = call()
        if until(r):
            return r
        time.sleep(0.1)
    return r


def test_list_with_a_where_update_with_incr_by_and_batch_update(stack):
    tag = uuid.uuid4().hex[:10]
    users = [qiniu_user(stack, f"nick {i}") for i in range(3)]
    for i, (_, im_userid) in enumerate(users):
        r = eventually(lambda: stack.call("PUT", update_path(im_userid), json={"bio": tag, "level": i}),
                       lambda r: r.status_code != 404)
        assert r.status_code == 200, r.text
        assert r.json()["bio"] == tag and r.json()["level"] == i

    where = json.dumps({"bio": tag, "level": {"$gte": 1}})
    r = stack.call("GET", LIST, params={"where": where, "order_by": "-level", "return_total_count": 1})
    assert r.status_code == 200, r.text
    body = r.json()
    assert [o["id"] for o in body["objects"]] == [users[2][1], users[1][1]]
    assert body["meta"]["total_count"] == 2 and body["meta"]["next"] is None

    # $incr_by through the server Bearer token, as MinApp's open API calls it.
    bearer = {"Authorization": f"Bearer {minapp_server_token(stack)}"}
    r = stack.call("PUT", update_path(users[0][1]), auth=None, headers=bearer, json={"level": {"$incr_by": 5}})
    assert r.status_code == 200 and r.json()["level"] == 5, r.text

    r = stack.call("PUT", BATCH, params={"where": json.dumps({"bio": tag, "level": {"$lt": 5}})},
                   json={"vip": True, "level": {"$incr_by": 100}})
    assert r.status_code == 200, r.text
    assert r.json()["succeed"] == 2 and len(r.json()["operation_result"]) == 2
    r = stack.call("GET", LIST, params={"bio": tag, "order_by": "level"})  # a legacy shortcut
    assert [(o["level"], o["vip"]) for o in r.json()["objects"]] == [(5, None), (101, True), (102, True)]


def test_a_user_changed_through_qiniu_shows_through_minapp_and_the_reverse(stack):
    user_id, im_userid = qiniu_user(stack, "from qiniu")
    r = eventually(lambda: stack.call("GET", one(im_userid)), lambda r: r.status_code == 200)
    assert r.json()["nickname"] == "from qiniu" and r.json()["_user_id"] == user_id
    assert r.json()["avatar"] == "https://img.example/m.png"
    r = stack.call("PUT", update_path(im_userid), json={"nickname": "from minapp", "avatar": "b.png"})
    assert r.status_code == 200, r.text
    info = ok(stack.call("GET", f"/server/user/info/{user_id}"))
    assert (info["nick"], info["avatar"]) == ("from minapp", "b.png")
    ok(stack.call("PUT", f"/server/user/{user_id}", json={"nick": "qiniu again"}))
    assert stack.call("GET", one(im_userid)).json()["nickname"] == "qiniu again"


def test_errors_are_minapp_errors_naming_the_field_and_change_nothing(stack):
    _, im_userid = qiniu_user(stack, "errors")
    eventually(lambda: stack.call("GET", one(im_userid)), lambda r: r.status_code == 200)
    before = stack.call("GET", one(im_userid)).json()
    for body, field in [({"id": 1}, "id"), ({"openid": "x"}, "openid"), ({"nope": 1}, "nope"),
                        ({"level": "high"}, "level")]:
        r = stack.call("PUT", update_path(im_userid), json=body)
        assert r.status_code == 400 and r.json()["status"] == "error", r.text
        assert r.json()["error_msg"].startswith(field), r.text
    assert stack.call("GET", one(im_userid)).json() == before
    r = stack.call("GET", LIST, params={"where": '{"level": {"$contains": 1}}'})
    assert r.status_code == 400 and r.json()["error_msg"].startswith("level"), r.text
    r = stack.call("GET", one(999999999))
    assert r.status_code == 404 and r.json()["status"] == "error"
    r = stack.call("GET", LIST, auth=None)
    assert r.status_code == 401


def test_userctl_calls_the_minapp_endpoints(stack):
    _, im_userid = qiniu_user(stack, "cli")
    eventually(lambda: stack.call("GET", one(im_userid)), lambda r: r.status_code == 200)
    rc, out, err = userctl("call", "PUT", stack.url(update_path(im_userid)), json.dumps({"level": {"$incr_by": 3}}))
    assert rc == 0 and json.loads(out)["level"] == 3, (out, err)
    where = json.dumps({"id": im_userid})
    rc, out, err = userctl("call", "GET", stack.url(LIST + "?where=" + requests_quote(where)))
    assert rc == 0 and [o["id"] for o in json.loads(out)["objects"]] == [im_userid], (out, err)


def requests_quote(text):
    from urllib.parse import quote
    return quote(text, safe="")
