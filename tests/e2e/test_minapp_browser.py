"""MinApp's web SDK in headless Chromium, on a page served from another local origin
(`CORS_ALLOW_ORIGINS` in local.env allows it), against the stack: the app user's journey
through the browser's own CORS checks. The page (tests/sdk/page/) loads the SDK straight from
tests/sdk/node_modules. The stack runs `cargo lambda watch --disable-cors`, so every preflight
is answered by the functions, as on AWS; a page on an origin not allowed is refused."""

import time

import pytest

RUN = f"{int(time.time() * 1000):x}"
USERNAME = f"Browser_{RUN}"
EMAIL = f"browser_{RUN}@example.com"
PHONE = f"+86138{int(RUN, 16) % 10**8:08d}"
PASSWORD = "correct horse battery"
NEW_PASSWORD = "new horse battery staple"


def open_page(browser, origin, stack):
    context = browser.new_context()
    page = context.new_page()
    console = []
    page.on("console", lambda m: console.append(f"{m.type}: {m.text}"))
    page.on("pageerror", lambda e: console.append(f"pageerror: {e}"))
    page.goto(f"{origin}/page/index.html")
    info = page.evaluate("([id, host]) => journey.init(id, host)", [stack.env["APP_ID"], stack.base])
    assert info["origin"] == origin != stack.base, info
    page.console = console
    return context, page


@pytest.fixture(scope="module")
def page(browser, sdk_page_origin, stack):
    context, page = open_page(browser, sdk_page_origin, stack)
    yield page
    context.close()


def run(page, step, *args):
    """One journey step in the page; fails with the SDK's error, its requests and the console."""
    result = page.evaluate(f"(args) => journey.{step}(...args)", list(args))
    if "ok" not in result:
        pytest.fail(f"{step}: {result['error']}; requests: {result['requests']}; console: {page.console[-5:]}")
    return result["ok"]


def test_sign_up_by_username_email_and_phone(page):
    for field, value in [("email", EMAIL), ("phone", PHONE), ("username", USERNAME)]:
        user = run(page, "register", field, value, PASSWORD)
        assert user[field] == value and user["token"] and user["anonymous"] is False, user


def test_log_in_with_the_username_in_another_case(page):
    user = run(page, "login", "username", USERNAME.lower(), PASSWORD)
    assert user["username"] == USERNAME, user
    assert run(page, "current")["_username"] == USERNAME


def test_update_own_profile(page):
    out = run(page, "update", {"nickname": "Browser", "bio": f"browser-{RUN}", "level": 1},
              {"field": "level", "by": 2})
    assert out["updated"]["level"] == 3, out
    assert (out["read"]["nickname"], out["read"]["bio"], out["read"]["level"]) == ("Browser", f"browser-{RUN}", 3)


def test_query(page):
    out = run(page, "query", "bio", f"browser-{RUN}")
    assert out["meta"]["total_count"] == 1 and len(out["ids"]) == 1, out


def test_account_values_and_password(page):
    user = run(page, "account", {"email": f"b2_{RUN}@example.com"})
    assert (user["username"], user["email"]) == (USERNAME, f"b2_{RUN}@example.com"), user
    out = run(page, "updatePassword", "not the password", PASSWORD, NEW_PASSWORD)
    assert out["refused"] == 400, out
    # The session that changed the password keeps working.
    assert out["after"]["username"] == USERNAME, out
    assert run(page, "login", "username", USERNAME, NEW_PASSWORD)["username"] == USERNAME


def test_anonymous_user_registers_and_keeps_its_id(page):
    anon = run(page, "anonymous")
    assert anon["anonymous"] is True and anon["username"] in (None, ""), anon
    user = run(page, "register", "username", f"Anon_{RUN}", PASSWORD)
    assert (user["id"], user["username"], user["anonymous"]) == (anon["id"], f"Anon_{RUN}", False), (anon, user)


def test_logout_voids_the_token(page):
    run(page, "login", "username", USERNAME, NEW_PASSWORD)
    assert run(page, "logoutAndReplay") == {"replayed": 401}


def test_a_page_on_an_origin_not_allowed_is_refused_by_the_browser(browser, sdk_page_origin, stack):
    """The same page from `localhost` instead of `127.0.0.1`: another origin, which
    CORS_ALLOW_ORIGINS does not name. The preflight gets no permission, so Chromium refuses:
    the SDK sees a network error, not an answer."""
    other = sdk_page_origin.replace("127.0.0.1", "localhost")
    context, page = open_page(browser, other, stack)
    try:
        result = page.evaluate("(args) => journey.register(...args)", ["username", f"Evil_{RUN}", PASSWORD])
        assert "ok" not in result, result
        assert "HError" not in result["error"], result  # no answer reached the SDK
    finally:
        context.close()
