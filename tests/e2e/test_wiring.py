"""Every function is wired everywhere a user meets it, and the table `make dev` creates is
the table `template.yaml` deploys."""

import json
import os
import pathlib
import subprocess
import tomllib

import requests
from cfnlint.decode import decode

ROOT = pathlib.Path(__file__).resolve().parents[2]
READ_ACTIONS = {"dynamodb:GetItem", "dynamodb:BatchGetItem", "dynamodb:Query"}


def template():
    tpl, errors = decode(str(ROOT / "template.yaml"))
    assert not errors, errors
    return tpl


def template_routes():
    routes = set()
    for res in template()["Resources"].values():
        if res["Type"] != "AWS::Serverless::Function":
            continue
        function = pathlib.PurePath(res["Properties"]["CodeUri"]).name
        for event in res["Properties"].get("Events", {}).values():
            assert event["Type"] == "HttpApi"
            routes.add((event["Properties"]["Method"], event["Properties"]["Path"], function))
    return routes


def gateway(path):
    """API Gateway matches `/x/` to the route `/x`: routes are declared without the slash that
    MinApp's documented paths end in, and compared so."""
    return path.rstrip("/") or "/"


PREFLIGHT = ("OPTIONS", "/{proxy+}", "minapp-not-served")
#: What `ANY` covers in the template, spelled out for `cargo lambda watch` (OPTIONS aside).
ANY = {"GET", "POST", "PUT", "PATCH", "DELETE"}


def router():
    cargo = tomllib.loads((ROOT / "Cargo.toml").read_text())
    return cargo["workspace"]["metadata"]["lambda"]["watch"]["router"]


def router_routes():
    """The router in the template's terms: watch routes by path first, so every path lists its
    own OPTIONS (the template's one `OPTIONS /{proxy+}`), and a catch-all `{*rest}` with every
    method is the template's `ANY /.../{proxy+}`."""
    routes = set()
    for path, rs in router().items():
        path = gateway(path.replace("{*path}", "{proxy+}"))
        methods = {r["method"] for r in rs if r["method"] != "OPTIONS"}
        functions = {r["function"] for r in rs if r["method"] != "OPTIONS"}
        if "{proxy+}" in path and methods == ANY and len(functions) == 1:
            routes.add(("ANY", path, functions.pop()))
        else:
            routes |= {(r["method"], path, r["function"]) for r in rs if r["method"] != "OPTIONS"}
    return routes | {PREFLIGHT}


def test_every_local_path_answers_its_preflight_as_aws_does():
    """Browsers preflight every SDK call: under `make dev` each path's OPTIONS goes to the
    function the template's `OPTIONS /{proxy+}` reaches."""
    for path, rs in router().items():
        assert {"method": "OPTIONS", "function": PREFLIGHT[2]} in rs, path


def openapi_routes():
    import yaml
    doc = yaml.safe_load((ROOT / "openapi.yaml").read_text())
    return {(method.upper(), gateway(path)) for path, ops in doc["paths"].items() for method in ops}


# Functions that no route serves: Step Functions invokes them (their sample event is theirs).
EVENT_FUNCTIONS = {"import-batch"}


def test_template_router_openapi_events_and_functions_agree():
    functions = {p.name for p in (ROOT / "functions").iterdir() if (p / "Cargo.toml").exists()}
    functions -= EVENT_FUNCTIONS
    routes = template_routes()
    assert routes == router_routes()
    # The preflight and the MinApp catch-all are not operations of the API.
    assert {(m, p) for m, p, _ in routes if "{proxy+}" not in p} == openapi_routes()
    assert {f for _, _, f in routes} == functions
    for function in functions:
        # A function may serve more than one route (MinApp's v2.0 and v2.1 paths): its sample
        # event is one of them.
        own = {f"{m} {p}" for m, p, f in routes if f == function}
        event = json.loads((ROOT / "events" / f"{function}.json").read_text())
        assert event["routeKey"] in own, function
        assert event["requestContext"]["http"]["method"] == event["routeKey"].split(" ")[0]


def test_every_path_parameter_is_the_last_segment_of_its_route():
    """`Call::path_param` reads a parameter from the raw path's last segment (decoding it once,
    whatever API Gateway or watch did to the parameter map): no route may break that."""
    for _, path, function in template_routes() | router_routes():
        segments = [s for s in path.split("/") if s and s != "{proxy+}"]
        params = [i for i, s in enumerate(segments) if s.startswith("{")]
        # The console's user actions name a fixed action after the id
        # (`Call::path_number_before_action`).
        action = path.startswith("/console/users/") and params == [len(segments) - 2]
        assert params in ([], [len(segments) - 1]) or action, (function, path)


def limit_counters_only(statement):
    """A statement that reaches only the per-caller limit counters (partition keys `LIMIT#…`)."""
    keys = statement.get("Condition", {}).get("ForAllValues:StringLike", {}).get("dynamodb:LeadingKeys", [])
    return bool(keys) and all(k.startswith("LIMIT#") for k in keys)


def test_read_only_functions_hold_no_write_permission():
    """Read-only functions write nothing but their per-IP limit counter (anonymous lookups)."""
    for res in template()["Resources"].values():
        if res["Type"] != "AWS::Serverless::Function":
            continue
        methods = {e["Properties"]["Method"] for e in res["Properties"].get("Events", {}).values()}
        statements = [st for p in res["Properties"].get("Policies", []) for st in p["Statement"]]
        actions = {a for st in statements for a in st["Action"]}
        assert not any(a.endswith("*") for a in actions)
        if methods == {"GET"} and "auth/token" not in json.dumps(res["Properties"].get("Events", {})):
            user_actions = {a for st in statements if not limit_counters_only(st) for a in st["Action"]}
            assert user_actions <= READ_ACTIONS, (res["Properties"]["CodeUri"], user_actions)


def describe_table(endpoint, name):
    r = requests.post(endpoint, timeout=30, data=json.dumps({"TableName": name}), headers={
        "X-Amz-Target": "DynamoDB_20120810.DescribeTable",
        "Content-Type": "application/x-amz-json-1.0",
        # DynamoDB Local wants the shape of SigV4, not a valid signature.
        "Authorization": "AWS4-HMAC-SHA256 Credential=local/20260101/us-east-1/dynamodb/aws4_request, "
                         "SignedHeaders=host, Signature=0",
    })
    assert r.status_code == 200, r.text
    return r.json()["Table"]


def test_local_table_matches_the_template(stack):
    declared = template()["Resources"]["UsersTable"]["Properties"]
    live = describe_table(stack.dynamodb, stack.env["TABLE_NAME"])
    key = lambda items: sorted((i["AttributeName"], i.get("AttributeType") or i.get("KeyType")) for i in items)
    assert key(live["AttributeDefinitions"]) == key(declared["AttributeDefinitions"])
    assert key(live["KeySchema"]) == key(declared["KeySchema"])
    live_gsis = {g["IndexName"]: g for g in live["GlobalSecondaryIndexes"]}
    gsis = {g["IndexName"]: g for g in declared["GlobalSecondaryIndexes"]}
    assert sorted(live_gsis) == sorted(gsis) == ["directory-index", "im_userid-index"]
    for name, gsi in gsis.items():
        live_gsi = live_gsis[name]
        assert key(live_gsi["KeySchema"]) == key(gsi["KeySchema"]), name
        assert live_gsi["Projection"]["ProjectionType"] == gsi["Projection"]["ProjectionType"], name
        assert sorted(live_gsi["Projection"]["NonKeyAttributes"]) == sorted(gsi["Projection"]["NonKeyAttributes"]), name
    assert live["BillingModeSummary"]["BillingMode"] == declared["BillingMode"]


# Every sample event in an order that works on a fresh stack; the sign-ups and logins answer 201.
SAMPLE_EVENTS = [
    "server-user-register", "server-user-register-batch", "server-user-update", "server-user-info",
    "server-user-infos", "server-user-profile", "server-user-profiles", "server-auth-token",
    "client-user-profile", "client-user-user", "client-user-users", "client-user-update",
    "client-user-imusers", "deepin-user", "minapp-not-served", "minapp-server-time", "console-page", "minapp-user-info-get",
    "minapp-user-info-update", "minapp-user-info-list",
    "minapp-user-account-update", "minapp-own-account-update", "minapp-oauth-authorize",
    "minapp-oauth-access-token", "minapp-user-profile-list", "minapp-user-profile-get",
    "minapp-user-profile-update", "minapp-user-profile-update-batch", "minapp-user-audit-list",
    "minapp-register-username", "minapp-register-email", "minapp-register-phone",
    # The public lookups find users who chose a login name: the sign-ups' sample_user.
    "deepin-users-get", "deepin-users-list",
    "minapp-login-username", "minapp-login-email", "minapp-login-phone", "minapp-login-anonymous",
    # The console, as local.env's DEV_OPERATOR (tests/invoke.sh logs it in): a sample operator
    # added, changed and removed; sample-1 revoked, disabled and enabled again before its own calls.
    "console-session-create", "console-session-get", "console-operators-list", "console-operator-add",
    "console-operator-update", "console-operator-remove", "console-user-revoke", "console-user-disable",
    "console-user-enable", "console-user-lookup", "console-session-delete",
    # Logout last: it voids sample-1's tokens (each event's is minted when it is invoked).
    "minapp-user-profile-current", "minapp-session-destroy",
    # Last: its ids move the IM id counter past them, and the samples above name IM ids 1 and 2.
    "import-batch",
]
SAMPLE_CREATES = {
    "minapp-register-username", "minapp-register-email", "minapp-register-phone",
    "minapp-login-username", "minapp-login-email", "minapp-login-phone", "minapp-login-anonymous",
    "minapp-session-destroy", "console-operator-add",
}


def test_sample_events_invoke_cleanly(stack):
    """`make invoke FN=<function>` works as the README says, for every function."""
    assert sorted(SAMPLE_EVENTS) == sorted(p.stem for p in (ROOT / "events").glob("*.json"))
    for function in SAMPLE_EVENTS:
        check_sample_event(stack.port, function, 201 if function in SAMPLE_CREATES else 200)
    # `make invoke` makes the credentials at invoke time: after the logout above voided every
    # token of the sample user, its sample events still work.
    for function in ("client-user-profile", "deepin-user", "minapp-user-profile-current"):
        check_sample_event(stack.port, function, 200)


def invoke_sample_event(port, function):
    """`make invoke FN=<function>` (tests/invoke.sh) against the stack on `port`."""
    env = {**os.environ, "PORT": str(port), "PATH": f"{ROOT / '.venv' / 'bin'}:{os.environ['PATH']}"}
    out = subprocess.run([str(ROOT / "tests" / "invoke.sh"), function],
                         cwd=ROOT, env=env, capture_output=True, text=True, timeout=180)
    assert out.returncode == 0, out.stderr
    response = json.loads(out.stdout)
    body = response.get("body")
    return response, json.loads(body) if body and not body.lstrip().startswith("<") else body or None


def check_sample_event(port, function, status):
    response, body = invoke_sample_event(port, function)
    if function == "import-batch":  # a batch report, not an HTTP answer: moved in, or already in
        totals = response["totals"]
        assert totals["imported"] + totals["unchanged"] == 2 and response["problems"] == [], response
        return
    headers = {k.lower(): v for k, v in response["headers"].items()}
    if function == "minapp-not-served":  # a preflight from the page origin local.env allows
        assert response["statusCode"] == 204 and body is None, response
        assert headers["access-control-allow-origin"] == "http://127.0.0.1:19531", headers
        return
    if function == "console-page":  # the console's HTML, not JSON
        assert response["statusCode"] == 200, response
        assert headers["content-type"].startswith("text/html") and "<script" in response["body"], response
        assert headers["x-reqid"] == f"sample-{function}", headers
        return
    assert response["statusCode"] == status, (function, body)
    assert headers["x-reqid"] == f"sample-{function}", (function, headers)
    if not function.startswith(("deepin-", "minapp-", "console-")):  # the Qiniu envelope
        assert body["code"] == 0 and body["request_id"] == f"sample-{function}", (function, body)


def test_secrets_come_from_secrets_manager_and_nothing_secret_is_committed():
    env = template()["Globals"]["Function"]["Environment"]["Variables"]
    for name in ("ACCESS_KEYS", "TOKEN_SECRETS"):
        value = json.dumps(env[name])
        assert "{{resolve:secretsmanager:${SecretName}:SecretString:" + name + "}}" in value, value
    params = template()["Parameters"]
    assert not any("Default" in p and p.get("NoEcho") for p in params.values())
    samconfig = (ROOT / "samconfig.toml").read_text()
    local = dict(line.split("=", 1) for line in (ROOT / "local.env").read_text().splitlines()
                 if "=" in line and not line.startswith("#"))
    for name in ("ACCESS_KEYS", "TOKEN_SECRETS"):
        for piece in local[name].replace(":", ",").split(","):
            assert piece not in samconfig and piece not in (ROOT / "template.yaml").read_text()


def test_every_function_logs_to_a_group_with_retention():
    resources = template()["Resources"]
    for name, res in resources.items():
        if res["Type"] != "AWS::Serverless::Function":
            continue
        group = res["Properties"]["LoggingConfig"]["LogGroup"]["Ref"]
        assert resources[group]["Type"] == "AWS::Logs::LogGroup"
        assert "RetentionInDays" in resources[group]["Properties"], name
    api = resources["Api"]["Properties"]
    assert api["DefaultRouteSettings"]["ThrottlingRateLimit"] and api["AccessLogSettings"]["DestinationArn"]
    fmt = api["AccessLogSettings"]["Format"]
    assert "authorization" not in fmt.lower() and "$context.requestId" in fmt
