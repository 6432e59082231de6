#!/usr/bin/env python3
"""Scaffolds one endpoint function everywhere a user meets it (`make function ...`):

  functions/<name>/ (Cargo.toml, src/main.rs naming its dialect and callers, src/tests.rs),
  events/<name>.json (an HTTP API v2 event), the `cargo lambda watch` route in Cargo.toml and
  the function with its log group in template.yaml (read-only GetItem to start with: widen
  it to what the operation needs, nothing more).

What it cannot write for you: the operation itself, its tests, its openapi.yaml entry and its
least-privilege policy. tests/e2e/test_wiring.py fails until template, router, openapi, events
and functions agree, so nothing half-wired can land.

  make function NAME=deepin-users-get METHOD=GET PATH=/v1/users/{identify} DIALECT=Deepin \
      AUTH=lookup SUMMARY="One user by email, uid or name"
"""

import argparse
import json
import pathlib
import re
import sys

ROOT = pathlib.Path(__file__).resolve().parents[1]
DIALECTS = ("Qiniu", "Deepin", "MinApp")
AUTHS = ("server", "client", "public", "lookup")


def camel(name):
    return "".join(part.capitalize() for part in name.split("-"))


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--name", required=True, help="dialect-operation, e.g. deepin-users-get")
    p.add_argument("--method", required=True, choices=["GET", "POST", "PUT", "DELETE"])
    p.add_argument("--path", required=True, help="route; a {parameter} may only be the last segment")
    p.add_argument("--dialect", required=True, choices=DIALECTS)
    p.add_argument("--auth", required=True, choices=AUTHS)
    p.add_argument("--summary", required=True)
    a = p.parse_args()

    if not re.fullmatch(r"[a-z][a-z0-9]*(-[a-z0-9]+)+", a.name):
        sys.exit("name: lower-case words joined by '-', dialect first")
    segments = [s for s in a.path.split("/") if s]
    params = [s[1:-1] for s in segments if s.startswith("{")]
    if any(not s.startswith("{") for s in segments[len(segments) - len(params):]) or len(params) > 1:
        sys.exit("path: at most one {parameter}, and only as the last segment (Call<C>::path_param)")
    crate = ROOT / "functions" / a.name
    if crate.exists():
        sys.exit(f"{crate} exists")
    op = a.name.split("-", 1)[1].replace("-", "_")
    # The verified caller the handler takes: the endpoint's auth, as a type.
    caller = {"server": "Server", "client": "Session", "public": "Anonymous", "lookup": "Lookup"}[a.auth]

    (crate / "src").mkdir(parents=True)
    (crate / "Cargo.toml").write_text(
        (ROOT / "functions" / "server-user-info" / "Cargo.toml").read_text()
        .replace('name = "server-user-info"', f'name = "{a.name}"'))
    (crate / "src" / "main.rs").write_text(f"""//! {a.method} {a.path}: {a.summary}.

use shared::prelude::*;

async fn {op}(call: Call<{caller}>) -> ApiResult<serde_json::Value> {{
    todo!("parse the input, call one domain operation, return its view: {{:?}}", call.request_id)
}}

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Error> {{
    run({a.dialect}.{a.auth}(), {op}).await
}}

#[cfg(test)]
mod tests;
""")
    (crate / "src" / "tests.rs").write_text(f"""use shared::testing::*;

use super::{op};

const ROUTE: &str = "{a.path}";
""")

    # API Gateway matches a request with or without a trailing slash to the route declared
    # without it (and may not take a route ending in one); watch routes the documented path.
    gateway_path = a.path.rstrip("/") or "/"
    sample_path = a.path.replace("{" + params[0] + "}", "sample") if params else a.path
    event = json.loads((ROOT / "events" / "client-user-profile.json").read_text())
    event["routeKey"] = event["requestContext"]["routeKey"] = f"{a.method} {gateway_path}"
    event["rawPath"] = event["requestContext"]["http"]["path"] = sample_path
    event["requestContext"]["http"]["method"] = a.method
    event["requestContext"]["requestId"] = f"sample-{a.name}-gw"
    event["headers"] = {"host": "localhost:9000", "x-reqid": f"sample-{a.name}"}
    if params:
        event["pathParameters"] = {params[0]: "sample"}
    (ROOT / "events" / f"{a.name}.json").write_text(json.dumps(event, indent=2) + "\n")

    cargo = ROOT / "Cargo.toml"
    cargo.write_text(cargo.read_text().rstrip("\n")
                     + f'\n"{a.path}" = [{{ method = "{a.method}", function = "{a.name}" }}, '
                     '{ method = "OPTIONS", function = "minapp-not-served" }]\n')

    logical = camel(a.name)
    template = ROOT / "template.yaml"
    text = template.read_text()
    resource = f"""  {logical}Logs:
    Type: AWS::Logs::LogGroup
    Properties:
      LogGroupName: !Sub "/aws/lambda/${{AWS::StackName}}-{a.name}"
      RetentionInDays: !Ref LogRetentionDays

  {logical}:
    Type: AWS::Serverless::Function
    Metadata:
      BuildMethod: rust-cargolambda
    Properties:
      FunctionName: !Sub "${{AWS::StackName}}-{a.name}"
      Description: "{a.method} {gateway_path}: {a.summary}"
      CodeUri: functions/{a.name}
      LoggingConfig:
        LogGroup: !Ref {logical}Logs
      Policies:
        - Version: "2012-10-17"
          Statement:
            - Effect: Allow
              Action:
                  - dynamodb:GetItem
              Resource: !GetAtt UsersTable.Arn
      Events:
        Api:
          Type: HttpApi
          Properties: {{ ApiId: !Ref Api, Method: {a.method}, Path: "{gateway_path}" }}

"""
    template.write_text(text.replace("\nOutputs:\n", "\n" + resource + "Outputs:\n", 1))
    print(f"scaffolded {a.name}: now write its operation and tests, its openapi.yaml entry "
          f"(operation under {a.path}) and its least-privilege policy in template.yaml")


if __name__ == "__main__":
    main()
