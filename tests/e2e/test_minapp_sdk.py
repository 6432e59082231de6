"""MinApp's official JavaScript SDK (`minapp-sdk`, pinned in tests/sdk/package.json) driven by
Node through an app user's journey (tests/sdk/journey.test.js) against the shared stack.

Node runs the whole journey once (its steps depend on each other); each step is reported here
as its own test, failing with Node's message for that step (the SDK's error and the requests
behind it). `make tools` installs the npm packages (`npm ci`)."""

import html
import os
import pathlib
import re
import shutil
import subprocess
import xml.etree.ElementTree as ET

import pytest

SDK_DIR = pathlib.Path(__file__).resolve().parents[1] / "sdk"
JOURNEY = SDK_DIR / "journey.test.js"
STEPS = re.findall(r'^test\("((?:[^"\\]|\\.)*)"', JOURNEY.read_text(), re.M)
NODE_SECONDS = 240



@pytest.fixture(scope="module")
def journey(stack, tmp_path_factory):
    """Runs the journey once; {step name: None if it passed, else Node's message}."""
    node = shutil.which("node")
    assert node, "node is not installed"
    assert (SDK_DIR / "node_modules" / "minapp-sdk").is_dir(), "run `make tools` (npm ci in tests/sdk)"
    report = tmp_path_factory.mktemp("sdk") / "journey.xml"
    env = {**os.environ, "MINAPP_SDK_BASE_URL": stack.base, "MINAPP_SDK_APP_ID": stack.env["APP_ID"]}
    proc = subprocess.run(
        [node, "--test", "--test-reporter=spec", "--test-reporter-destination=stdout",
         "--test-reporter=junit", f"--test-reporter-destination={report}", JOURNEY.name],
        cwd=SDK_DIR, env=env, capture_output=True, text=True, timeout=NODE_SECONDS,
    )
    output = proc.stdout + proc.stderr
    if not report.exists():
        pytest.fail(f"node --test wrote no report (exit {proc.returncode}):\n{output[-4000:]}")
    results = {}
    for case in ET.parse(report).iter("testcase"):
        failure = case.find("failure")
        # Node's junit reporter escapes the message once more than XML needs.
        results[case.get("name")] = None if failure is None else html.unescape(failure.get("message") or failure.text or "failed")
    results["__output__"] = output
    return results


@pytest.mark.parametrize("step", STEPS)
def test_sdk_journey(journey, step):
    assert step in journey, f"node did not run this step:\n{journey['__output__'][-4000:]}"
    assert journey[step] is None, journey[step]
