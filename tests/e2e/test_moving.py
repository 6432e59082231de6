"""Moving in and out (issue 22): `userctl import` of MinApp's and QNLiveKit's exports keeps
ids, values and password hashes; reruns change nothing; conflicts are reported and change
nothing; sign-ups racing an import never share an id; export then import gives the same users;
the import batch function of the Step Functions path over chunks of a file."""

import base64
import concurrent.futures
import csv
import hashlib
import io
import json
import os
import pathlib
import subprocess
import uuid

import bcrypt
import pytest
import requests
from conftest import dynamodb

ROOT = pathlib.Path(__file__).resolve().parents[2]
USERCTL = ROOT / "target" / "debug" / "userctl"
SAMPLES = ROOT / "docs" / "moving"
FIELDS = {"level": int, "score": float, "vip": bool, "tags": list, "bio": str, "prefs": dict, "birthday": str}
RUN = uuid.uuid4().int % 10**6


@pytest.fixture(scope="module")
def stack(tmp_path_factory):
    """A stack of its own, fresh: the samples' fixed ids and account values, and the id counter
    this module moves by millions, meet no other module's users (other modules sign up the
    samples' phone numbers, and this module's ids would take theirs). Several instances per
    function, as on Lambda, for the sign-ups that race an import."""
    from conftest import start_stack
    with start_stack(tmp_path_factory, "moving-stack", WATCH_CONCURRENCY="4") as s:
        yield s


def userctl(stack, *args, table=None, timeout=600):
    env = {**os.environ, "AWS_ENDPOINT_URL": stack.dynamodb, "AWS_REGION": "us-east-1",
           "AWS_ACCESS_KEY_ID": "local", "AWS_SECRET_ACCESS_KEY": "local",
           "TABLE_NAME": table or stack.env["TABLE_NAME"]}
    out = subprocess.run([str(USERCTL), *args], cwd=ROOT, env=env, capture_output=True, text=True, timeout=timeout)
    lines = out.stdout.strip().splitlines()
    reports = [json.loads(line) for line in lines if line.startswith("{")]
    last = lines[-1] if lines else ""
    return out.returncode, reports, last, out


def import_file(stack, source, path, *flags, table=None):
    return userctl(stack, "import", stack.base, "--from", source, str(path), *flags, table=table)


def stored_item(stack, user_id):
    out = dynamodb(stack, "GetItem", {"TableName": stack.env["TABLE_NAME"], "ConsistentRead": True,
                                      "Key": {"pk": {"S": f"USER#{user_id}"}, "sk": {"S": "USER"}}})
    return out.get("Item")


def minapp_user(stack, uid):
    return stack.call("GET", f"/userve/v2.2/miniapp/user_profile/{uid}/")


def instant(text):
    """A date or date-time as the instant it names (a date alone: its midnight UTC)."""
    from datetime import datetime, timezone
    t = datetime.fromisoformat(text.replace("Z", "+00:00"))
    return t if t.tzinfo else t.replace(tzinfo=timezone.utc)


def typed(name, text):
    kind = FIELDS[name]
    if name == "birthday":
        return instant(text)
    if kind in (list, dict):
        return json.loads(text)
    if kind is bool:
        return text == "true"
    return kind(text) if kind is not str else text


# --- MinApp -----------------------------------------------------------------------------------

def test_a_minapp_export_moves_in_keeping_ids_and_values_and_a_rerun_changes_nothing(stack):
    rows = list(csv.DictReader((SAMPLES / "minapp-sample.csv").open(encoding="utf-8")))
    assert {len(r["id"]) for r in rows} >= {8, 14}, "the sample has ids of 8 and 14 digits"

    # A dry run reports what it would do and writes nothing.
    rc, reports, last, out = import_file(stack, "minapp", SAMPLES / "minapp-sample.csv", "--dry-run")
    assert rc == 0, out.stderr
    assert last.startswith(f"imported {len(rows)}, unchanged 0, failed 0"), last
    assert minapp_user(stack, rows[0]["id"]).status_code == 404

    rc, reports, last, out = import_file(stack, "minapp", SAMPLES / "minapp-sample.csv")
    assert rc == 0, out.stdout + out.stderr
    assert last == f"imported {len(rows)}, unchanged 0, failed 0", last
    assert [r["outcome"] for r in reports] == ["imported"] * len(rows), reports

    for row in rows:
        r = minapp_user(stack, row["id"])
        assert r.status_code == 200, r.text
        user = r.json()
        assert user["id"] == int(row["id"]) and user["user_id"] == int(row["id"])
        assert user["_user_id"].startswith("hs_"), "a MinApp user gets a user_id as sign-up gives one"
        for name in ("nickname", "avatar", "country", "province", "city", "language", "_username", "_email", "_phone"):
            if row.get(name):
                assert user[name] == row[name], (name, user)
        for name in ("gender", "created_at", "updated_at"):
            if row.get(name):
                assert user[name] == int(row[name]), (name, user)
        for name in ("_email_verified", "_phone_verified"):
            if row.get(name):
                assert user[name] == (row[name] == "true"), (name, user)
        for name in FIELDS:
            if row.get(name):
                got = instant(user[name]) if name == "birthday" else user[name]
                assert got == typed(name, row[name]), (name, user)
            else:
                assert user[name] is None, (name, user)

    # Account values hold through the guards: a sign-up with one in another case is refused.
    email_row = next(r for r in rows if r.get("_email"))
    r = requests.post(stack.url("/hserve/v2.1/register/email/"), timeout=60,
                      json={"email": email_row["_email"].upper(), "password": "correct horse"})
    assert r.status_code == 400 and "email" in r.text, r.text

    # A rerun finds every user as it is.
    rc, reports, last, out = import_file(stack, "minapp", SAMPLES / "minapp-sample.csv")
    assert rc == 0, out.stdout + out.stderr
    assert last == f"imported 0, unchanged {len(rows)}, failed 0", last
    # ...and each was recorded once, as imported, in its audit trail.
    uid = rows[0]["id"]
    trail = stack.call("GET", f"/userve/v2.2/miniapp/user/audit/{uid}/").json()["objects"]
    assert [e["event"] for e in trail].count("imported") == 1, trail


def test_the_import_shows_a_progress_bar_on_a_terminal(stack):
    """On a terminal (here `script`'s pseudo-terminal), stderr carries the bar; piped, the
    report alone."""
    env = {**os.environ, "AWS_ENDPOINT_URL": stack.dynamodb, "AWS_REGION": "us-east-1",
           "AWS_ACCESS_KEY_ID": "local", "AWS_SECRET_ACCESS_KEY": "local", "TABLE_NAME": stack.env["TABLE_NAME"]}
    command = f"{USERCTL} import {stack.base} --from minapp {SAMPLES / 'minapp-sample.csv'} --dry-run >/dev/null"
    out = subprocess.run(["script", "-qec", command, "/dev/null"], cwd=ROOT, env=env, capture_output=True,
                         text=True, timeout=120)
    assert out.returncode == 0, out.stdout
    rows = len(list(csv.DictReader((SAMPLES / "minapp-sample.csv").open(encoding="utf-8"))))
    assert f"{rows}/{rows} rows" in out.stdout.replace("\r", "\n"), out.stdout[-500:]


# --- QNLiveKit --------------------------------------------------------------------------------

def test_a_qnlivekit_table_moves_in_with_its_im_identity_and_skips_deleted_rows(stack):
    rows = list(csv.DictReader((SAMPLES / "qnlivekit-sample.csv").open(encoding="utf-8")))
    live = [r for r in rows if not r["deleted_at"]]
    deleted = [r for r in rows if r["deleted_at"]]
    assert deleted, "the sample has a soft-deleted row"
    rc, reports, last, out = import_file(stack, "qnlivekit", SAMPLES / "qnlivekit-sample.csv")
    assert rc == 0, out.stdout + out.stderr
    assert last.startswith(f"imported {len(live)}, unchanged 0, failed 0"), last
    assert [r["outcome"] for r in reports].count("skipped") == len(deleted)
    for row in live:
        r = stack.call("GET", f"/server/user/profile/{row['user_id']}")
        data = r.json()["data"]
        assert r.status_code == 200, r.text
        assert (data["user_id"], data["im_userid"], data["im_username"], data["im_password"]) == (
            row["user_id"], int(row["im_userid"]), row["im_username"], row["im_password"]), data
        assert data["nick"] == row["nick"] and data["avatar"] == row["avatar"]
        assert data["extends"] == json.loads(row["extends"] or "{}")
        # The same user through MinApp, by its id.
        assert minapp_user(stack, row["im_userid"]).json()["_user_id"] == row["user_id"]
    for row in deleted:
        assert stack.call("GET", f"/server/user/info/{row['user_id']}").status_code == 404


# --- Password hashes --------------------------------------------------------------------------

def django_pbkdf2(password, salt="seasalt", iterations=1000):
    digest = hashlib.pbkdf2_hmac("sha256", password.encode(), salt.encode(), iterations)
    return f"pbkdf2_sha256${iterations}${salt}${base64.b64encode(digest).decode()}"


def log_in(stack, username, password):
    return requests.post(stack.url("/hserve/v2.1/login/username/"), timeout=60,
                         json={"username": username, "password": password})


def test_users_with_bcrypt_and_pbkdf2_hashes_log_in_with_their_old_passwords_then_hold_argon2id(stack, tmp_path):
    people = {
        "bcrypt": (f"old_bcrypt_{RUN}", bcrypt.hashpw(b"old bcrypt pw", bcrypt.gensalt(rounds=5)).decode(), "old bcrypt pw"),
        "pbkdf2": (f"old_pbkdf2_{RUN}", django_pbkdf2("old pbkdf2 pw"), "old pbkdf2 pw"),
    }
    path = tmp_path / "hashes.jsonl"
    with path.open("w") as f:
        for i, (name, hash_, _) in enumerate(people.values()):
            f.write(json.dumps({"id": 70_000_000 + RUN * 10 + i, "nickname": name, "created_at": 1600000000,
                                "updated_at": 1600000000, "_username": name, "password_hash": hash_}) + "\n")
    rc, reports, last, out = import_file(stack, "jsonl", path)
    assert rc == 0 and last == "imported 2, unchanged 0, failed 0", out.stdout + out.stderr
    for kind, (name, old_hash, password) in people.items():
        assert log_in(stack, name, "not the password").status_code == 400
        user_id = reports[list(people).index(kind)]["user_id"]
        assert stored_item(stack, user_id)["password_hash"]["S"] == old_hash, "kept as imported until a login"
        r = log_in(stack, name.upper(), password)
        assert r.status_code == 201 and r.json()["token"], (kind, r.text)
        rehashed = stored_item(stack, user_id)["password_hash"]["S"]
        assert rehashed.startswith("$argon2id$v=19$"), (kind, rehashed[:12])
        assert log_in(stack, name, password).status_code == 201, "the new hash verifies the same password"
        trail = stack.call("GET", f"/userve/v2.2/miniapp/user/audit/{r.json()['id']}/").json()["objects"]
        assert "password_rehashed" in [e["event"] for e in trail]
        assert old_hash not in json.dumps(trail) and rehashed not in json.dumps(trail)

    # A hash in no form we verify is refused, naming the column, and nothing is written.
    bad = tmp_path / "bad.jsonl"
    bad.write_text(json.dumps({"id": 71_000_000 + RUN, "nickname": "md5", "created_at": 1, "updated_at": 1,
                               "_username": f"md5_{RUN}", "password_hash": "5f4dcc3b5aa765d61d8327deb882cf99"}) + "\n")
    rc, reports, last, out = import_file(stack, "jsonl", bad)
    assert rc != 0 and last == "imported 0, unchanged 0, failed 1", last
    assert "password_hash" in reports[0]["message"] and "5f4dcc3b" not in out.stdout + out.stderr
    assert minapp_user(stack, 71_000_000 + RUN).status_code == 404


# --- Conflicts --------------------------------------------------------------------------------

def test_a_row_whose_id_or_account_value_belongs_to_another_user_is_reported_and_changes_nothing(stack, tmp_path):
    name = f"holder_{RUN}"
    r = requests.post(stack.url("/hserve/v2.1/register/username/"), timeout=60,
                      json={"username": name, "password": "correct horse"})
    assert r.status_code == 201, r.text
    holder = r.json()
    first = tmp_path / "first.jsonl"
    first.write_text(json.dumps({"id": 72_000_000 + RUN, "nickname": "first", "created_at": 1, "updated_at": 1}) + "\n")
    assert import_file(stack, "jsonl", first)[0] == 0
    rows = [
        # The id an earlier import gave another user (other values: not a rerun).
        {"id": 72_000_000 + RUN, "nickname": "someone else", "created_at": 2, "updated_at": 2},
        # A login name a signed-up user holds, in another case.
        {"id": 72_100_000 + RUN, "nickname": "taker", "created_at": 2, "updated_at": 2, "_username": name.upper()},
        # An id the counter has handed out (the signed-up user's).
        {"id": holder["id"], "nickname": "clash", "created_at": 2, "updated_at": 2},
    ]
    path = tmp_path / "conflicts.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    before = [minapp_user(stack, uid).json() for uid in (72_000_000 + RUN, holder["id"])]
    rc, reports, last, out = import_file(stack, "jsonl", path)
    assert rc != 0 and last == "imported 0, unchanged 0, failed 3", out.stdout
    messages = [r["message"] for r in reports]
    assert "nickname" in messages[0] or "nick" in messages[0], messages
    assert "username" in messages[1] and holder["_user_id"] in messages[1], messages
    assert f"id {holder['id']}" in messages[2], messages
    after = [minapp_user(stack, uid).json() for uid in (72_000_000 + RUN, holder["id"])]
    assert before == after
    assert minapp_user(stack, 72_100_000 + RUN).status_code == 404


# --- Sign-ups racing an import ------------------------------------------------------------------

def import_ranges(stack):
    """The id ranges earlier imports made the counter skip: (first, last)."""
    out = dynamodb(stack, "Query", {"TableName": stack.env["TABLE_NAME"], "ConsistentRead": True,
                                    "KeyConditionExpression": "pk = :pk",
                                    "ExpressionAttributeValues": {":pk": {"S": "IMPORT#ids"}}})
    return [(int(i["first"]["N"]), int(i["last"]["N"])) for i in out["Items"]]


def id_counter(stack):
    out = dynamodb(stack, "GetItem", {"TableName": stack.env["TABLE_NAME"], "ConsistentRead": True,
                                      "Key": {"pk": {"S": "COUNTER#im_userid"}, "sk": {"S": "COUNTER"}}})
    return int(out["Item"]["value"]["N"])


def test_sign_ups_racing_an_import_of_ten_thousand_users_never_share_an_id(stack, tmp_path):
    # Sign-up instances holding blocks of ids from the counter.
    def sign_up(i):
        r = requests.post(stack.url("/hserve/v2.1/register/username/"), timeout=120,
                          json={"username": f"racer_{RUN}_{i}", "password": "correct horse"})
        assert r.status_code == 201, r.text
        return r.json()["id"]

    with concurrent.futures.ThreadPoolExecutor(max_workers=8) as pool:
        warm = list(pool.map(sign_up, range(1000, 1008)))
    # And a block reserved as an instance reserves one (ADD to the counter), none of it used yet.
    dynamodb(stack, "UpdateItem", {"TableName": stack.env["TABLE_NAME"],
                                   "Key": {"pk": {"S": "COUNTER#im_userid"}, "sk": {"S": "COUNTER"}},
                                   "UpdateExpression": "ADD #v :n", "ExpressionAttributeNames": {"#v": "value"},
                                   "ExpressionAttributeValues": {":n": {"N": "100"}}})
    counter, ranges = id_counter(stack), import_ranges(stack)
    # Ids from below the counter (handed out, or in blocks the running instances hold) upwards.
    first = counter - 40
    ids = list(range(first, first + 10_000))
    handed_out = {i for i in ids if i <= counter and not any(a <= i <= b for a, b in ranges)}
    assert handed_out, "the file has ids the counter handed out"
    path = tmp_path / "many.csv"
    with path.open("w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["id", "nickname", "created_at", "updated_at", "level"])
        for i in ids:
            w.writerow([i, f"many {i}", 1_600_000_000, 1_600_000_000, i % 7])

    with concurrent.futures.ThreadPoolExecutor(max_workers=8) as pool:
        importing = pool.submit(import_file, stack, "minapp", path)
        racers = list(pool.map(sign_up, range(100)))
        rc, reports, last, out = importing.result()
    refused = {r["id"] for r in reports if r["outcome"] == "failed"}
    imported = {r["id"] for r in reports if r["outcome"] == "imported"}
    assert handed_out <= refused, "every id the counter had handed out is refused"
    # What else is refused, sign-ups took from the counter while the import started.
    assert all(i <= counter + 8 * 100 for i in refused), sorted(refused)[-5:]
    assert all("hands out to new users" in r["message"] for r in reports if r["outcome"] == "failed")
    assert len(imported) + len(refused) == 10_000, last
    assert not imported & set(racers + warm), "no sign-up got an imported id"
    # The table itself: every user item's id, held once.
    held, start = [], None
    while True:
        body = {"TableName": stack.env["TABLE_NAME"], "ConsistentRead": True,
                "FilterExpression": "sk = :user AND attribute_exists(im_userid)",
                "ProjectionExpression": "im_userid", "ExpressionAttributeValues": {":user": {"S": "USER"}}}
        if start:
            body["ExclusiveStartKey"] = start
        page = dynamodb(stack, "Scan", body)
        held += [int(i["im_userid"]["N"]) for i in page["Items"]]
        start = page.get("LastEvaluatedKey")
        if not start:
            break
    assert len(held) == len(set(held)), "an id is held twice"
    assert imported <= set(held) and set(racers) <= set(held)


# --- Export ------------------------------------------------------------------------------------

def test_export_then_import_into_an_empty_table_gives_the_same_users(stack):
    other = f"moved-{RUN}"
    rc, _, _, out = userctl(stack, "create-table", table=other)
    assert rc == 0, out.stderr
    where = json.dumps({"created_at": {"$lt": 1_700_000_000}})
    for fmt, source in (("jsonl", "jsonl"), ("minapp-csv", "minapp")):
        rc, _, _, out = userctl(stack, "export", stack.base, "--format", fmt, "--where", where)
        assert rc == 0, out.stderr
        exported = out.stdout
        assert "exported" in out.stderr
        path = ROOT / "target" / f"export-{RUN}.{fmt}"
        path.write_text(exported)
        target = f"{other}-{fmt}"
        assert userctl(stack, "create-table", table=target)[0] == 0
        rc, reports, last, out = userctl(stack, "import", stack.base, "--from", source, str(path), table=target)
        assert rc == 0, out.stdout[-2000:] + out.stderr[-2000:]
        rc, _, _, again = userctl(stack, "export", stack.base, "--format", fmt, "--where", where, table=target)
        assert rc == 0, again.stderr
        assert sorted_lines(fmt, again.stdout) == sorted_lines(fmt, exported), fmt
        path.unlink()


def sorted_lines(fmt, text):
    if fmt == "jsonl":
        return sorted((json.loads(line) for line in text.splitlines() if line), key=lambda u: u["id"])
    return sorted(csv.DictReader(io.StringIO(text)), key=lambda r: int(r["id"]))


def test_password_hashes_are_exported_only_when_asked_and_the_export_is_audited(stack):
    rc, _, _, out = userctl(stack, "export", stack.base, "--format", "jsonl")
    assert rc == 0 and "_password_hash" not in out.stdout and "$argon2id$" not in out.stdout
    where = json.dumps({"_username": {"$exists": True}})
    rc, _, _, out = userctl(stack, "export", stack.base, "--format", "jsonl", "--where", where,
                            "--with-password-hashes")
    assert rc == 0, out.stderr
    users = [json.loads(line) for line in out.stdout.splitlines()]
    with_hash = [u for u in users if u.get("_password_hash")]
    assert with_hash and all(u["_password_hash"].startswith(("$", "pbkdf2_sha256$")) for u in with_hash)
    trail = stack.call("GET", f"/userve/v2.2/miniapp/user/audit/{with_hash[0]['id']}/").json()["objects"]
    assert "password_hash_exported" in [e["event"] for e in trail]


# --- The Step Functions path's batch -----------------------------------------------------------

def invoke_batch(stack, items, source):
    r = requests.post(stack.url("/2015-03-31/functions/import-batch/invocations"), timeout=300,
                      json={"Items": items, "BatchInput": {"source": source, "dry_run": False}})
    assert r.status_code == 200, r.text
    return r.json()


def test_the_import_batch_function_takes_chunks_of_a_file_in_any_order(stack):
    header = ["user_id", "nick", "avatar", "extends", "im_userid", "im_username", "im_password",
              "created_at", "updated_at", "deleted_at"]
    rows = [{"user_id": f"chunk-{RUN}-{i}", "nick": f"Chunk {i}", "avatar": "", "extends": json.dumps({"n": str(i)}),
             "im_userid": str(80_000_000 + RUN * 100 + i), "im_username": f"im-chunk-{RUN}-{i}",
             "im_password": f"pw{i:022d}", "created_at": "2024-05-01 08:00:00", "updated_at": "2024-05-02 09:30:00",
             "deleted_at": ""} for i in range(9)]
    assert all(set(r) == set(header) for r in rows)
    # As Step Functions' CSV reader hands them over: column -> text, three batches, the last first.
    chunks = [rows[0:3], rows[3:6], rows[6:9]]
    for chunk in (chunks[2], chunks[0], chunks[1]):
        report = invoke_batch(stack, chunk, "qnlivekit")
        assert report["totals"]["imported"] == 3 and report["problems"] == [], report
    again = invoke_batch(stack, chunks[0], "qnlivekit")
    assert again["totals"]["unchanged"] == 3, again
    for row in rows:
        data = stack.call("GET", f"/server/user/profile/{row['user_id']}").json()["data"]
        assert (data["im_userid"], data["im_password"], data["extends"]) == (
            int(row["im_userid"]), row["im_password"], json.loads(row["extends"]))
    # A bad row is the batch's report, never a failed invocation.
    bad = invoke_batch(stack, [{**rows[0], "user_id": f"chunk-{RUN}-x", "im_userid": "not a number"}], "qnlivekit")
    assert bad["totals"]["failed"] == 1 and "im_userid" in bad["problems"][0]["message"], bad
