"""CORS as browsers see it, from the stack (watch runs with --disable-cors, so the functions
answer) and from the template (the same code answers on AWS: no gateway CorsConfiguration)."""

import tomllib

import pytest
import requests

from test_wiring import ROOT, template

PAGE = "http://127.0.0.1:19531"  # CORS_ALLOW_ORIGINS in local.env
OTHER = "http://localhost:19531"
ASKED = ("authorization,content-type,x-hydrogen-client-id,x-hydrogen-client-platform,"
         "x-hydrogen-client-sdk-type,x-hydrogen-client-version")


def served_paths():
    """Every routed path, with a sample value for its parameter."""
    router = tomllib.loads((ROOT / "Cargo.toml").read_text())["workspace"]["metadata"]["lambda"]["watch"]["router"]
    return sorted(p.replace("{*path}", "v2.0/user/email-verify/").replace("{id}", "1")
                  .replace("{user_id}", "u1").replace("{identify}", "u1") for p in router)


def preflight(stack, path, origin, method="PUT"):
    return requests.options(stack.url(path), timeout=60, headers={
        "Origin": origin, "Access-Control-Request-Method": method, "Access-Control-Request-Headers": ASKED})


def test_local_env_allows_the_test_page_only():
    from conftest import local_env
    assert [o.strip() for o in local_env()["CORS_ALLOW_ORIGINS"].split(",")] == [PAGE]


@pytest.mark.parametrize("path", served_paths())
def test_every_path_answers_a_preflight_for_the_allowed_origin_only(stack, path):
    r = preflight(stack, path, PAGE)
    assert r.status_code == 204, (path, r.status_code, r.text)
    assert r.headers["access-control-allow-origin"] == PAGE
    allowed = {h.strip() for h in r.headers["access-control-allow-headers"].split(",")}
    assert set(ASKED.split(",")) <= allowed
    assert {"GET", "POST", "PUT"} <= {m.strip() for m in r.headers["access-control-allow-methods"].split(",")}
    assert "access-control-allow-credentials" not in r.headers

    r = preflight(stack, path, OTHER)
    assert r.status_code == 204
    assert not any(h.startswith("access-control-allow") for h in r.headers), (path, dict(r.headers))


def test_answers_are_readable_by_the_allowed_origin_only(stack):
    r = requests.get(stack.url("/hserve/v2.2/server/time/"), headers={"Origin": PAGE}, timeout=60)
    assert r.status_code == 200
    assert r.headers["access-control-allow-origin"] == PAGE
    assert r.headers["vary"].lower() == "origin"
    r = requests.get(stack.url("/hserve/v2.2/server/time/"), headers={"Origin": OTHER}, timeout=60)
    assert r.status_code == 200 and "access-control-allow-origin" not in r.headers
    # Errors too: a page must be able to read why its call failed.
    r = requests.get(stack.url("/hserve/v2.5/user/info/1/"), headers={"Origin": PAGE}, timeout=60)
    assert r.status_code == 401 and r.headers["access-control-allow-origin"] == PAGE


def test_an_unserved_sdk_call_is_a_404_in_minapp_form(stack):
    r = requests.post(stack.url("/hserve/v2.0/user/password/reset/"), json={"email": "a@example.com"},
                      headers={"Origin": PAGE}, timeout=60)
    assert r.status_code == 404, r.text
    assert r.json() == {"status": "error",
                        "error_msg": "POST /hserve/v2.0/user/password/reset/ is not served by this service"}
    assert r.headers["access-control-allow-origin"] == PAGE


def test_the_template_answers_preflights_with_the_same_function_and_no_gateway_cors():
    tpl = template()
    api = tpl["Resources"]["Api"]["Properties"]
    assert "CorsConfiguration" not in api, "the gateway would answer preflights itself"
    env = tpl["Globals"]["Function"]["Environment"]["Variables"]
    assert env["CORS_ALLOW_ORIGINS"] == {"Ref": "CorsAllowOrigins"}
    assert tpl["Parameters"]["CorsAllowOrigins"]["Default"] == ""
    events = tpl["Resources"]["MinappNotServed"]["Properties"]["Events"]
    routes = {(e["Properties"]["Method"], e["Properties"]["Path"]) for e in events.values()}
    assert routes == {("OPTIONS", "/{proxy+}"), ("ANY", "/hserve/{proxy+}")}
