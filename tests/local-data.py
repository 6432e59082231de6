"""`make users` and `make reset`: see and empty the table of a running `make dev` (DynamoDB Local
on DYNAMODB_PORT, default 8000; TABLE_NAME from local.env), without restarting anything.

users: one JSON line per user, oldest first: user_id, im_userid and the account values and
       names (never a password hash, an IM password or a token).
reset: deletes every item but the IM id counter. The counter stays because running functions
       hold blocks of ids reserved from it: starting it over would hand out ids twice.
"""

import json
import os
import pathlib
import sys

import boto3

ROOT = pathlib.Path(__file__).resolve().parents[1]
SHOWN = ["user_id", "im_userid", "nick", "username", "email", "phone", "created_at"]
COUNTER = ("COUNTER#im_userid", "COUNTER")  # shared/store/src/lib.rs COUNTER_PK, COUNTER_SK


def table():
    env = dict(line.split("=", 1) for line in (ROOT / "local.env").read_text().splitlines()
               if "=" in line and not line.startswith("#"))
    port = os.environ.get("DYNAMODB_PORT", "8000")
    # DynamoDB Local takes any credentials; these never reach AWS.
    db = boto3.resource("dynamodb", endpoint_url=f"http://127.0.0.1:{port}", region_name="us-east-1",
                        aws_access_key_id="local", aws_secret_access_key="local")
    return db.Table(os.environ.get("TABLE_NAME", env["TABLE_NAME"]))


def items(t, **kw):
    page = t.scan(**kw)
    yield from page["Items"]
    while "LastEvaluatedKey" in page:
        page = t.scan(ExclusiveStartKey=page["LastEvaluatedKey"], **kw)
        yield from page["Items"]


def plain(v):
    return int(v) if hasattr(v, "as_integer_ratio") and v == int(v) else v


def users(t):
    found = [i for i in items(t) if i["pk"].startswith("USER#") and i["sk"] == "USER"]
    for user in sorted(found, key=lambda i: (i.get("created_at", 0), int(i.get("im_userid", 0)))):
        print(json.dumps({k: plain(user[k]) for k in SHOWN if k in user}, ensure_ascii=False))


def reset(t):
    n = 0
    with t.batch_writer() as batch:
        for i in items(t, ProjectionExpression="pk, sk"):
            if (i["pk"], i["sk"]) != COUNTER:
                batch.delete_item(Key={"pk": i["pk"], "sk": i["sk"]})
                n += 1
    print(f"deleted {n} items; the IM id counter stays")


if __name__ == "__main__":
    command = sys.argv[1:] or ["users"]
    {"users": users, "reset": reset}[command[0]](table())
