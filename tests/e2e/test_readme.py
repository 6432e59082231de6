"""README.md runs: every ```sh block, in document order, in one bash session (so variables
carry from block to block) against a fresh stack of its own, and each output the README shows
is compared with what the command printed.

The conventions (README "Calling the API from a shell" states them for readers):
- A fence ```sh runs; ```sh not-run: <reason> does not (it needs AWS, Docker, or is `make` itself).
- A command is its line plus `\\`-continued lines. It must exit 0, unless the comment after it
  starts with `HTTP <status>` (userctl prints the status on stderr and exits 1 when it is not
  2xx): then stderr must hold that status.
- Comment lines right after a command whose text starts with `{` or `[` (after an optional
  `HTTP <status>`) are its expected output: JSON, one document per line, a document may go on
  over further comment lines until its brackets close. Compared structurally (key order never
  matters), with placeholders for what varies:
    `…` as a value          any value (request ids, times, tokens, generated ids)
    `"abc…"`                 a string that starts with `abc`
    `…` in an object         more members may follow (without it the members must be exactly these)
    `…` in an array          more elements may follow
    `$NAME`                  the value of shell variable NAME (ids read from earlier answers)
- Any other comment is prose.
"""

import json
import os
import pathlib
import re
import select
import shlex
import subprocess
import tempfile

import pytest

ROOT = pathlib.Path(__file__).resolve().parents[2]
README = ROOT / "README.md"
COMMAND_SECONDS = 120


# ---- README -> commands ---------------------------------------------------------------

def blocks(text):
    """(line number, info string, lines) of every fenced block."""
    out, lines = [], text.splitlines()
    i = 0
    while i < len(lines):
        m = re.match(r"^(\s*)```(.*)$", lines[i])
        if m:
            indent, info, start = len(m.group(1)), m.group(2).strip(), i + 1
            j = start
            while not re.match(r"^\s*```\s*$", lines[j]):
                j += 1
            out.append((start, info, [l[indent:] for l in lines[start:j]]))
            i = j
        i += 1
    return out


def shell_blocks(text):
    run, skipped = [], []
    for line, info, body in blocks(text):
        lang = info.split()[0] if info else ""
        if lang not in ("sh", "bash", "shell", "console"):
            continue
        rest = info[len(lang):].strip()
        if not rest:
            run.append((line, body))
        else:
            assert re.match(r"^not-run: \S", rest), f"README line {line}: ```{info}: say `not-run: <reason>`"
            skipped.append(line)
    return run, skipped


class Command:
    def __init__(self, line, text):
        self.line, self.text = line, text
        self.status = None  # expected HTTP status (userctl's stderr), if shown
        self.expected = []  # expected JSON documents, as patterns


def commands(line0, body):
    """Splits a block into commands, each with the output its comments show."""
    out, i = [], 0
    while i < len(body):
        line = body[i]
        if not line.strip() or line.lstrip().startswith("#"):
            i += 1
            continue
        start, text = i, [line]
        while text[-1].rstrip().endswith("\\") or open_quote("\n".join(text)):
            i += 1
            text.append(body[i])
        cmd = Command(line0 + start + 1, "\n".join(text))
        i += 1
        pending = ""
        while i < len(body) and body[i].lstrip().startswith("#"):
            comment = body[i].lstrip()[1:].strip()
            if pending:
                pending += comment
            else:
                m = re.match(r"^HTTP (\d{3})\b\s*(.*)$", comment)
                if m and not cmd.expected and cmd.status is None:
                    cmd.status, comment = int(m.group(1)), m.group(2)
                if comment[:1] in ("{", "["):
                    pending = comment
                elif cmd.status is None or comment:
                    break  # prose
            if pending and balanced(pending):
                cmd.expected.append(parse(pending))
                pending = ""
            i += 1
        assert not pending, f"README line {cmd.line}: unclosed expected output {pending!r}"
        out.append(cmd)
    return out


def open_quote(text):
    """True while a quoted string is open (a JSON body over several lines)."""
    try:
        shlex.split(text, comments=True)
        return False
    except ValueError:
        return True


def balanced(s):
    depth, in_str, esc = 0, False, False
    for c in s:
        if in_str:
            esc, in_str = (False, in_str) if esc else (c == "\\", c != '"')
        elif c == '"':
            in_str = True
        elif c in "{[":
            depth += 1
        elif c in "}]":
            depth -= 1
    return depth == 0


# ---- expected JSON with placeholders ----------------------------------------------------

ANY, MORE = object(), object()


class Prefix(str):
    pass


class Var(str):
    pass


def parse(s):
    s = s.replace("...", "…")
    value, end = _value(s, _ws(s, 0))
    assert _ws(s, end) == len(s), f"trailing text in expected output: {s[end:]!r}"
    return value


def _ws(s, i):
    while i < len(s) and s[i] in " \t\n":
        i += 1
    return i


def _value(s, i):
    c = s[i]
    if c == "…":
        return ANY, i + 1
    if c == "$":
        m = re.compile(r"\$([A-Za-z_][A-Za-z_0-9]*)").match(s, i)
        return Var(m.group(1)), m.end()
    if c == '"':
        text, end = json.decoder.scanstring(s, i + 1)
        return (Prefix(text[:-1]) if text.endswith("…") else text), end
    if c == "{":
        obj, i = {}, _ws(s, i + 1)
        while s[i] != "}":
            if s[i] == "…":
                obj[MORE], i = True, _ws(s, i + 1)
            else:
                key, i = json.decoder.scanstring(s, i + 1)
                i = _ws(s, i)
                assert s[i] == ":", s[i:]
                obj[key], i = _value(s, _ws(s, i + 1))
                i = _ws(s, i)
            if s[i] == ",":
                i = _ws(s, i + 1)
        return obj, i + 1
    if c == "[":
        arr, i = [], _ws(s, i + 1)
        while s[i] != "]":
            if s[i] == "…":
                arr.append(MORE)
                i = _ws(s, i + 1)
            else:
                v, i = _value(s, i)
                arr.append(v)
                i = _ws(s, i)
            if s[i] == ",":
                i = _ws(s, i + 1)
        return arr, i + 1
    value, end = json.JSONDecoder().raw_decode(s, i)
    return value, end


def mismatch(pattern, actual, var, path="$"):
    """None when `actual` fits `pattern`, else where and why not."""
    if pattern is ANY:
        return None
    if isinstance(pattern, Var):
        raw = var(pattern)
        try:
            want = json.loads(raw)
        except ValueError:
            want = raw
        return None if actual == want else f"{path}: {actual!r} is not ${pattern} = {want!r}"
    if isinstance(pattern, Prefix):
        ok = isinstance(actual, str) and actual.startswith(pattern)
        return None if ok else f"{path}: {actual!r} does not start with {str(pattern)!r}"
    if isinstance(pattern, dict):
        if not isinstance(actual, dict):
            return f"{path}: {actual!r} is not an object"
        keys = {k for k in pattern if k is not MORE}
        if MORE not in pattern and set(actual) != keys:
            return f"{path}: members {sorted(actual)} are not {sorted(keys)}"
        for k in keys:
            if k not in actual:
                return f"{path}: no member {k!r}"
            m = mismatch(pattern[k], actual[k], var, f"{path}.{k}")
            if m:
                return m
        return None
    if isinstance(pattern, list):
        if not isinstance(actual, list):
            return f"{path}: {actual!r} is not an array"
        items = [p for p in pattern if p is not MORE]
        if len(actual) < len(items) or (MORE not in pattern and len(actual) != len(items)):
            return f"{path}: {len(actual)} elements, expected {len(items)}{' or more' if MORE in pattern else ''}"
        for n, (p, a) in enumerate(zip(items, actual)):
            m = mismatch(p, a, var, f"{path}[{n}]")
            if m:
                return m
        return None
    return None if pattern == actual and type(pattern) is type(actual) else f"{path}: {actual!r} is not {pattern!r}"


def documents(text):
    out, i, dec = [], 0, json.JSONDecoder()
    while True:
        i = _ws(text, i)
        if i >= len(text):
            return out
        doc, i = dec.raw_decode(text, i)
        out.append(doc)


# ---- one bash session -------------------------------------------------------------------

class Session:
    """One bash process: variables, functions and the working directory carry over."""

    def __init__(self, env, tmp):
        self.tmp = pathlib.Path(tmp)
        self.proc = subprocess.Popen(["bash", "--noprofile", "--norc"], cwd=ROOT, env=env, text=True,
                                     stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
        self.n = 0

    def run(self, text):
        self.n += 1
        script, out, err = (self.tmp / f"{self.n}.{x}" for x in ("sh", "out", "err"))
        script.write_text(text + "\n")
        self.proc.stdin.write(f'source "{script}" </dev/null >"{out}" 2>"{err}"; echo "__rc=$?"\n')
        self.proc.stdin.flush()
        ready, _, _ = select.select([self.proc.stdout], [], [], COMMAND_SECONDS)
        assert ready, f"no answer in {COMMAND_SECONDS}s: {text}"
        line = self.proc.stdout.readline()
        m = re.match(r"^__rc=(\d+)$", line.strip())
        assert m, f"the session said {line!r} (did a command exit the shell?)"
        return int(m.group(1)), out.read_text(), err.read_text()

    def var(self, name):
        rc, out, _ = self.run(f'printf %s "${name}"')
        assert rc == 0 and out, f"${name} is not set"
        return out

    def close(self):
        self.proc.stdin.close()
        self.proc.wait(timeout=30)


def check(session, cmd):
    rc, out, err = session.run(cmd.text)
    where = f"README line {cmd.line}: {cmd.text}\nexit {rc}\nstdout: {out}\nstderr: {err}"
    if cmd.status is None or 200 <= cmd.status < 300:
        assert rc == 0, where
    else:
        assert rc != 0, where
    if cmd.status is not None:
        assert f"HTTP {cmd.status}" in err, where
    if cmd.expected:
        try:
            got = documents(out)
        except ValueError as e:
            raise AssertionError(f"{where}\nnot JSON: {e}") from None
        assert len(got) == len(cmd.expected), f"{where}\n{len(got)} documents, README shows {len(cmd.expected)}"
        for pattern, actual in zip(cmd.expected, got):
            m = mismatch(pattern, actual, session.var)
            assert m is None, f"{where}\n{m}"


# ---- the tests --------------------------------------------------------------------------

def test_the_conventions_hold_on_a_sample():
    """The matcher itself: placeholders fit what varies and nothing else."""
    vars_ = {"ID": "34"}.__getitem__
    p = parse('{"id":$ID,"request_id":"…","token":"eyJ…","data":{…,"a":[1,…]}}')
    assert mismatch(p, {"id": 34, "request_id": "r", "token": "eyJx", "data": {"a": [1, 2], "b": 0}}, vars_) is None
    assert mismatch(p, {"id": 35, "request_id": "r", "token": "eyJx", "data": {"a": [1]}}, vars_)
    assert mismatch(p, {"id": 34, "request_id": "r", "token": "x", "data": {"a": [1]}}, vars_)
    assert mismatch(p, {"id": 34, "request_id": "r", "token": "eyJ", "data": {"a": [2]}}, vars_)
    assert mismatch(p, {"id": 34, "request_id": "r", "token": "eyJ", "data": {"a": [1]}, "x": 1}, vars_)
    assert mismatch(parse('{"a":1}'), {"a": 1.0}, vars_)
    cmds = commands(0, ["f \\", "  x", "# HTTP 401 {\"code\":401,", "#  \"m\":…}", "# prose", "g"])
    assert [c.text for c in cmds] == ["f \\\n  x", "g"] and cmds[0].status == 401 and len(cmds[0].expected) == 1


@pytest.fixture(scope="module")
def readme_stack(tmp_path_factory):
    """A stack of its own, fresh (its own DynamoDB Local), so the README's ids, names and rate
    limits meet no other test's users; one instance per function, as `make dev` runs it."""
    from conftest import start_stack
    with start_stack(tmp_path_factory, "readme-stack") as s:
        yield s


def test_every_shell_example_in_the_readme_runs_and_shows_what_it_prints(readme_stack, tmp_path):
    run, skipped = shell_blocks(README.read_text())
    assert run and skipped
    # As a reader's shell: not inside `make test`'s make (whose MAKEFLAGS/MAKELEVEL would make
    # the README's `make users` print "Entering directory" lines around its output).
    outer = {k: v for k, v in os.environ.items() if k not in ("MAKEFLAGS", "MAKELEVEL", "MFLAGS", "MAKEOVERRIDES")}
    env = {**outer, "PORT": str(readme_stack.port), "DYNAMODB_PORT": readme_stack.dynamodb.rsplit(":", 1)[1],
           "PATH": f"{ROOT / '.venv' / 'bin'}:{os.environ['PATH']}"}
    session = Session(env, tmp_path)
    try:
        for line, body in run:
            for cmd in commands(line, body):
                check(session, cmd)
    finally:
        session.close()
    # `make invoke FN=<function>` still works for every function after the walkthrough: the
    # sample events have users of their own and get their credentials when invoked.
    from test_wiring import SAMPLE_CREATES, SAMPLE_EVENTS, check_sample_event
    for function in SAMPLE_EVENTS:
        check_sample_event(readme_stack.port, function, 201 if function in SAMPLE_CREATES else 200)
    # `make reset` (README "Your local data") empties the table but for the IM id counter.
    make = lambda target: subprocess.run(["make", "-s", target], cwd=ROOT, env=env, check=True,
                                         capture_output=True, text=True, timeout=120).stdout
    assert make("users").count("\n") > 3
    assert "the IM id counter stays" in make("reset")
    assert make("users") == ""


def test_the_localstack_recipe_creates_the_table_with_only_its_own_variables(readme_stack, tmp_path):
    """The recipe's variables are all `userctl create-table` needs (no profile, no IMDS): run
    against the README stack's DynamoDB Local in LocalStack's place, with a new table name."""
    text = README.read_text()
    block = next(b for _, info, b in blocks(text) if info.startswith("sh") and "localstack start" in "\n".join(b))
    script = "\n".join(l for l in "\n".join(block).replace("\\\n", "").splitlines()
                       if l.startswith(("export ", "userctl create-table")))
    assert "userctl create-table" in script and "AWS_REGION" in script
    script = script.replace("http://localhost:4566", readme_stack.dynamodb)
    userctl_fn = 'userctl() { cargo run -q -p shared --features cli --bin userctl -- "$@"; }'
    assert userctl_fn in text
    clean = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    home = pathlib.Path.home()  # an empty HOME (no ~/.aws) for AWS, the real toolchain for cargo
    env = {**clean, "HOME": str(tmp_path), "TABLE_NAME": "localstack-recipe",
           "RUSTUP_HOME": os.environ.get("RUSTUP_HOME", str(home / ".rustup")),
           "CARGO_HOME": os.environ.get("CARGO_HOME", str(home / ".cargo"))}
    out = subprocess.run(["bash", "-c", f"{userctl_fn}\nset -e\n{script}"], cwd=ROOT, env=env,
                         capture_output=True, text=True, timeout=120)
    assert out.returncode == 0 and "table localstack-recipe ready" in out.stdout, out.stderr


# ---- the README's tables against the code and the template --------------------------------

def table_names(heading):
    """The backticked names in the first column of the table under `heading`."""
    text = README.read_text()
    section = text[text.index(f"\n{heading}\n"):]
    rows = re.findall(r"^\| *(`[^|]*`) *\|", section[:section.index("\n#", 1)], re.M)
    return {n for row in rows for n in re.findall(r"`([^`]+)`", row)}


def variables_the_code_reads():
    config = (ROOT / "shared/domain/src/config.rs").read_text().split("#[cfg(test)]")[0]
    names = set(re.findall(r'"([A-Z][A-Z0-9]*(?:_[A-Z0-9]+)+|[A-Z]{4,})"', config))
    for path in ("shared/src", "shared/store/src", "shared/auth/src"):
        for rs in (ROOT / path).rglob("*.rs"):
            if "bin" in rs.parts or rs.stem == "testing" or "testing" in rs.parts:  # tools, test harness
                continue
            names |= set(re.findall(r'env::var\("([A-Z_]+)"\)', rs.read_text().split("#[cfg(test)]")[0]))
    return {n for n in names if not n.startswith("AWS_LAMBDA_")}  # Lambda's own, not configuration


def test_the_configuration_table_lists_every_variable_the_code_reads_and_no_other():
    read = variables_the_code_reads()
    assert {"TABLE_NAME", "RUST_LOG", "DEEPIN_PUBLIC_LOOKUP", "LOGIN_LIMIT"} <= read  # the scan works
    assert table_names("## Configuration") == read


def test_the_parameters_table_lists_every_template_parameter_and_the_template_sets_only_read_variables():
    from test_wiring import template
    tpl = template()
    assert table_names("### Parameters") == set(tpl["Parameters"])
    set_by_template = set(tpl["Globals"]["Function"]["Environment"]["Variables"])
    # SECRETS_REVISION only makes CloudFormation update the functions when the secret changed.
    assert set_by_template - {"SECRETS_REVISION"} <= variables_the_code_reads()
