#!/usr/bin/env bash
# `make invoke FN=<function>`: one function with its sample event (events/<function>.json)
# against the running stack (PORT as for `make dev`). The event's credentials are made now:
# a client token for the same user and app from the token endpoint (`userctl token`, which
# registers the user when missing), a Qiniu signature over the event as it stands. A token
# committed once would be void after its user's first logout or password change (tokens issued
# before it are revoked), which the README's walkthrough does.
set -euo pipefail
cd "$(dirname "$0")/.."
fn=${1:?usage: tests/invoke.sh <function>}
port=${PORT:-9000}
[ -f "events/$fn.json" ] || { echo "no sample event events/$fn.json" >&2; exit 2; }
userctl() { cargo run -q -p shared --features cli --bin userctl -- "$@"; }
event=$(mktemp)
trap 'rm -f "$event"' EXIT

# The user and app a sample token names (its claims; the signature is not checked here).
claims=$(python3 - "events/$fn.json" <<'EOF'
import base64, json, sys
# Events without headers (the import batch: Step Functions, not HTTP) carry no credential.
headers = json.load(open(sys.argv[1])).get("headers", {})
for value in headers.values():
    token = value.split()[-1]
    if token.startswith("eyJ") and token.count(".") == 2:
        body = token.split(".")[1]
        claims = json.loads(base64.urlsafe_b64decode(body + "=" * (-len(body) % 4)))
        print(claims["UserId"], claims["AppId"])
EOF
)
token=""
if [ -n "$claims" ]; then
  read -r user app <<<"$claims"
  token=$(userctl token "http://127.0.0.1:$port" "$user" "$app")
fi

TOKEN="$token" PORT="$port" python3 - "events/$fn.json" "$event" <<'EOF'
import json, os, subprocess, sys
e = json.load(open(sys.argv[1]))
headers = e.get("headers", {})
for name, value in list(headers.items()):
    parts = value.split()
    if parts and parts[-1].startswith("eyJ") and os.environ["TOKEN"]:
        headers[name] = " ".join(parts[:-1] + [os.environ["TOKEN"]])
    elif value.startswith("Qiniu "):
        query = e.get("rawQueryString")
        url = f"http://{headers['host']}{e['rawPath']}" + (f"?{query}" if query else "")
        body = [e["body"]] if e.get("body") else []
        signed = subprocess.run(
            ["cargo", "run", "-q", "-p", "shared", "--features", "cli", "--bin", "userctl", "--",
             "sign", e["requestContext"]["http"]["method"], url, *body],
            check=True, capture_output=True, text=True)
        headers[name] = signed.stdout.strip()
    elif name == "cookie" and value.startswith("console_session="):
        # A console session of local.env's DEV_OPERATOR, logged in now.
        import urllib.request
        dev = next(l.split("=", 1)[1].strip() for l in open("local.env")
                   if l.startswith("DEV_OPERATOR="))
        user, password = dev.split(":", 1)
        login = urllib.request.Request(
            f"http://127.0.0.1:{os.environ['PORT']}/console/session", method="POST",
            data=json.dumps({"username": user, "password": password}).encode(),
            headers={"content-type": "application/json"})
        with urllib.request.urlopen(login) as answer:
            headers["cookie"] = answer.headers["set-cookie"].split(";")[0]
            headers["x-csrf-token"] = json.load(answer)["csrf_token"]
json.dump(e, open(sys.argv[2], "w"))
EOF

cargo lambda invoke "$fn" --data-file "$event" --invoke-port "$port" --invoke-address 127.0.0.1
