"""Names that cannot be confused, over HTTP through MinApp's sign-up and login: look-alike
usernames (Cyrillic, fullwidth, zero-width, bidi) are refused or found taken, and one phone
in two spellings is one phone."""

import random
import uuid

import requests

PASSWORD = "correct horse"
TAKEN = {"status": "error", "error_msg": "username: is already taken by another user"}


def post(stack, path, body):
    return requests.post(stack.url(path), json=body, timeout=120)


def register(stack, field, value):
    return post(stack, f"/hserve/v2.1/register/{field}/", {field: value, "password": PASSWORD})


def login(stack, field, value):
    return post(stack, f"/hserve/v2.1/login/{field}/", {field: value, "password": PASSWORD})


def test_look_alike_usernames_are_taken_or_refused(stack):
    # Letters only, none that the skeleton maps to another ASCII letter, so the variants
    # below are built from the name itself.
    base = "pa" + "".join(random.choice("abcdefghkpqstuvwxyz") for _ in range(10))
    r = register(stack, "username", base)
    assert r.status_code == 201, r.text
    uid = r.json()["id"]

    fullwidth = "".join(chr(ord(c) - ord("a") + 0xFF41) for c in base)
    cyrillic = "\u0440\u0430" + base[2:]  # Cyrillic р and а
    taken = [base.upper(), fullwidth, cyrillic]
    for alike in taken:
        r = register(stack, "username", alike)
        assert (r.status_code, r.json()) == (400, TAKEN), (alike, r.text)
    for hidden in [base[:3] + "\u200b" + base[3:], "\u202e" + base, base + "\u2066", base + "\u3164"]:
        r = register(stack, "username", hidden)
        assert r.status_code == 400, (hidden, r.text)
        assert r.json()["error_msg"] == (
            "username: must not contain invisible, bidi-control or other format characters"), r.text

    # A look-alike logs in to the one account (the password decides), stored as given.
    r = login(stack, "username", fullwidth)
    assert r.status_code == 201, r.text
    assert r.json()["id"] == uid and r.json()["_username"] == base

    # The account endpoint finds it taken too.
    r = register(stack, "username", f"other_{uuid.uuid4().hex[:8]}")
    assert r.status_code == 201, r.text
    other = r.json()["id"]
    r = stack.call("PUT", f"/userve/v2.2/miniapp/user/account/{other}/", json={"username": fullwidth})
    assert r.status_code == 400 and r.json() == TAKEN, r.text


def test_one_phone_in_two_spellings_is_one_phone(stack):
    national = "139" + "".join(random.choice("0123456789") for _ in range(8))
    r = register(stack, "phone", national)
    assert r.status_code == 201, r.text
    uid = r.json()["id"]
    assert r.json()["_phone"] == national

    r = register(stack, "phone", "+86" + national)
    assert r.status_code == 400, r.text
    assert r.json() == {"status": "error", "error_msg": "phone: is already taken by another user"}

    for spelling in ("+86" + national, "0086" + national, national):
        r = login(stack, "phone", spelling)
        assert r.status_code == 201, (spelling, r.text)
        assert r.json()["id"] == uid and r.json()["_phone"] == national
