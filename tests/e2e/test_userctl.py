"""The operator CLI the README uses: sign, call, token, against the running stack."""

import json
import pathlib
import subprocess
import uuid

ROOT = pathlib.Path(__file__).resolve().parents[2]
USERCTL = ROOT / "target" / "debug" / "userctl"


def userctl(*args):
    out = subprocess.run([str(USERCTL), *args], cwd=ROOT, capture_output=True, text=True, timeout=60)
    return out.returncode, out.stdout.strip(), out.stderr.strip()


def test_call_signs_and_sends_and_token_drives_the_client_flow(stack):
    user = "cli-" + uuid.uuid4().hex[:8]
    rc, out, err = userctl("call", "POST", stack.url("/server/user/register"), json.dumps({"user_id": user, "nick": "CLI"}))
    assert rc == 0 and json.loads(out)["code"] == 0, (out, err)
    assert "HTTP 200" in err

    rc, out, _ = userctl("call", "GET", stack.url(f"/server/user/info/{user}"))
    assert rc == 0 and json.loads(out)["data"]["nick"] == "CLI"

    rc, token, err = userctl("token", stack.base, user)
    assert rc == 0 and token.count(".") == 2, err
    rc, out, _ = userctl("call", "GET", stack.url("/client/user/profile"), "--token", token)
    assert rc == 0 and json.loads(out)["data"]["user_id"] == user

    # A failing call exits non-zero and still shows the envelope.
    rc, out, err = userctl("call", "GET", stack.url("/server/user/info/nobody-" + user))
    assert rc != 0 and json.loads(out)["code"] == 404 and "HTTP 404" in err


def test_sign_output_works_with_plain_curl(stack):
    url = stack.url("/server/user/infos?user_ids=a&user_ids=b")
    rc, authorization, _ = userctl("sign", "GET", url)
    assert rc == 0 and authorization.startswith("Qiniu dev-ak:")
    out = subprocess.run(["curl", "-s", "-m", "60", url, "-H", f"Authorization: {authorization}"],
                         capture_output=True, text=True, timeout=90)
    assert json.loads(out.stdout)["code"] == 0
    rc, _, err = userctl("sign", "GET")
    assert rc != 0 and "usage" in err


def test_signup_and_login_read_the_password_from_stdin_and_print_a_token(stack):
    name = "cli_" + uuid.uuid4().hex[:8]
    run = lambda *args: subprocess.run([str(USERCTL), *args], cwd=ROOT, capture_output=True, text=True,
                                       timeout=120, input="correct horse\n")
    out = run("signup", stack.base, "username", name)
    assert out.returncode == 0 and out.stdout.strip().count(".") == 2, out.stderr
    out = run("login", stack.base, "username", name.upper())
    token = out.stdout.strip()
    assert out.returncode == 0 and token.count(".") == 2, out.stderr
    assert "correct horse" not in out.stdout + out.stderr
    rc, body, _ = userctl("call", "GET", stack.url("/v1/user"), "--access-token", token)
    assert rc == 0 and json.loads(body)["username"] == name
    wrong = subprocess.run([str(USERCTL), "login", stack.base, "username", name], cwd=ROOT,
                           capture_output=True, text=True, timeout=120, input="wrong horse\n")
    assert wrong.returncode != 0 and "Invalid username/email or password." in wrong.stderr


def test_help_is_an_answer_and_a_wrong_command_an_error():
    rc, out, _ = userctl("--help")
    assert rc == 0 and out.startswith("usage: userctl call")
    rc, out, err = userctl("no-such-command")
    assert rc != 0 and not out and "usage: userctl call" in err
