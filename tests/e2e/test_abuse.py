"""What a stranger can do to a user over HTTP (SPEC "Abuse and privacy"): wrong passwords never
log the victim out, a name nobody holds answers exactly as a real one at every step, and a burst
of concurrent guesses gets no more than the login limit through to password checking."""

import json
import time
import random
import uuid
from concurrent.futures import ThreadPoolExecutor

import requests
from test_auth import everywhere, post  # the sign-up tests' helpers
from conftest import dynamodb


LOGIN = "/hserve/v2.1/login/username/"
INVALID = {"status": "error", "error_msg": "Invalid username/email or password."}


def login_limit(stack):
    """LOGIN_LIMIT's attempts (local.env keeps the default, 5 per 900 s)."""
    return int(stack.env.get("LOGIN_LIMIT", "5/900").split("/")[0])


def sign_up(stack, name):
    r = post(stack, "/hserve/v2.1/register/username/", {"username": name, "password": "correct horse"})
    assert r.status_code == 201, r.text
    return r.json()["token"]


def wrong(stack, name):
    return post(stack, LOGIN, {"username": name, "password": "wrong horse"})


def at_the_start_of_a_second():
    time.sleep(1 - time.time() % 1 + 0.005)


def counters(stack, needle):
    """(pk, attempts) of every limit counter whose key contains `needle`, from the stack's table."""
    out = dynamodb(stack, "Scan", {
        "TableName": stack.env["TABLE_NAME"], "ConsistentRead": True,
        "FilterExpression": "begins_with(pk, :limit) AND contains(pk, :needle)",
        "ExpressionAttributeValues": {":limit": {"S": "LIMIT#"}, ":needle": {"S": needle}},
    })
    return [(i["pk"]["S"], int(i["attempts"]["N"])) for i in out["Items"]]


def test_a_strangers_ten_wrong_passwords_leave_the_victims_tokens_working_everywhere(stack):
    name = f"victim_{uuid.uuid4().hex[:10]}"
    token = sign_up(stack, name)
    statuses = [wrong(stack, name.upper()).status_code for _ in range(10)]
    assert statuses == [400] * login_limit(stack) + [429] * (10 - login_limit(stack))
    qiniu, deepin, minapp = everywhere(stack, token)
    assert qiniu.status_code == 200 and qiniu.json()["code"] == 0, qiniu.text
    assert deepin.status_code == 200, deepin.text
    assert minapp.status_code == 200, minapp.text


def test_ten_attempts_against_a_name_nobody_holds_answer_exactly_as_against_a_real_one(stack):
    real = f"real_{uuid.uuid4().hex[:10]}"
    sign_up(stack, real)
    nobody = f"nobody_{uuid.uuid4().hex[:10]}"
    for step in range(1, 11):
        if step > login_limit(stack):
            at_the_start_of_a_second()  # the same second: the same Retry-After
        a, b = wrong(stack, real), wrong(stack, nobody)
        seen = [(r.status_code, r.json(), r.headers.get("Retry-After")) for r in (a, b)]
        assert seen[0] == seen[1], (step, seen)
        status, body, retry_after = seen[0]
        if step <= login_limit(stack):
            assert (status, body, retry_after) == (400, INVALID, None), step
        else:
            assert status == 429 and 1 <= int(retry_after) <= 900, (step, seen)
            assert body == {"status": "error",
                            "error_msg": f"Too many attempts: try again in {retry_after} seconds."}


def test_a_burst_of_40_concurrent_wrong_attempts_gets_at_most_the_limit_through(stack):
    # Letters that are their own confusable skeleton, so the counter's key contains the name.
    name = "burst_" + "".join(random.choice("bcdefghkpqstuxyz") for _ in range(12))
    sign_up(stack, name)
    with ThreadPoolExecutor(max_workers=40) as pool:
        statuses = list(pool.map(lambda _: wrong(stack, name).status_code, range(40)))
    limit = login_limit(stack)
    assert (statuses.count(400), statuses.count(429)) == (limit, 40 - limit), statuses
    # The identifier's counter holds exactly the attempts that reached argon2.
    found = [(pk, n) for pk, n in counters(stack, name) if pk.startswith("LIMIT#login#")]
    assert [n for _, n in found] == [limit], found
    # The source address comes from the request context `cargo lambda watch` sets, as on AWS.
    assert any(pk.startswith("LIMIT#ip#127.0.0.1#login") for pk, _ in counters(stack, "127.0.0.1"))
