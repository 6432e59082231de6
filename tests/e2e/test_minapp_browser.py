"""MinApp's web SDK in headless Chromium, on a page served from another local origin
(`CORS_ALLOW_ORIGINS` in local.env), against the stack: sign up, log in, update the own profile,
query. The page (tests/sdk/page/) loads the SDK straight from tests/sdk/node_modules.

CORS is only real when the stack runs with DISABLE_WATCH_CORS=1 (tests/local-stack.sh): by
default `cargo lambda watch` answers every preflight itself, for any origin."""

import time

import pytest

# Sign-up and login reach our endpoints, then the SDK's read-back of the user
# (GET /hserve/v2.5/user/info/{id}/) gets 404; update and query have no route yet.
pytestmark = pytest.mark.xfail(reason="issue 19: hserve client user API not built yet", strict=False)

RUN = f"{int(time.time() * 1000):x}"
USERNAME = f"Browser_{RUN}"
PASSWORD = "correct horse battery"


@pytest.fixture(scope="module")
def page(browser, sdk_page_origin, stack):
    context = browser.new_context()
    page = context.new_page()
    console = []
    page.on("console", lambda m: console.append(f"{m.type}: {m.text}"))
    page.on("pageerror", lambda e: console.append(f"pageerror: {e}"))
    page.goto(f"{sdk_page_origin}/page/index.html")
    info = page.evaluate("([id, host]) => journey.init(id, host)", [stack.env["APP_ID"], stack.base])
    assert info["origin"] == sdk_page_origin != stack.base, info
    page.console = console
    yield page
    context.close()


def run(page, step, *args):
    """One journey step in the page; fails with the SDK's error, its requests and the console."""
    result = page.evaluate(f"(args) => journey.{step}(...args)", list(args))
    if "ok" not in result:
        pytest.fail(f"{step}: {result['error']}; requests: {result['requests']}; console: {page.console[-5:]}")
    return result["ok"]


def test_sign_up(page):
    user = run(page, "register", USERNAME, PASSWORD)
    assert user["username"] == USERNAME and user["token"], user


def test_log_in_with_the_username_in_another_case(page):
    user = run(page, "login", USERNAME.lower(), PASSWORD)
    assert user["username"] == USERNAME, user


def test_update_own_profile(page):
    out = run(page, "update", {"nickname": "Browser", "bio": f"browser-{RUN}", "level": 1},
              {"field": "level", "by": 2})
    assert out["updated"]["level"] == 3, out
    assert (out["read"]["nickname"], out["read"]["bio"], out["read"]["level"]) == ("Browser", f"browser-{RUN}", 3)


def test_query(page):
    out = run(page, "query", "bio", f"browser-{RUN}")
    assert out["meta"]["total_count"] == 1 and len(out["ids"]) == 1, out
