#!/usr/bin/env bash
# ctest entry: the tests of smoe serve with the OpenAI npm client and the chat page in headless
# Chromium (node --test; WebSocket for the DevTools protocol). Usage: run_tests.sh SMOE_BINARY
# Skips (exit 77) with a message when Node or the npm packages are unavailable, except in CI
# (CI=true), where that is a failure: .ci/run installs them, so CI really runs these tests.
set -uo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
export SMOE_BINARY="$1"
skip() {
  echo "SKIPPED: $1"
  [ "${CI:-}" = "true" ] && exit 1
  exit 77
}
command -v node >/dev/null 2>&1 || skip "node is not installed (tools/install-deps.sh installs it)"
"$here/setup.sh" || skip "the npm packages could not be installed (tests/server/js/setup.sh)"
# The chat page test speaks the DevTools protocol over WebSocket: Node 20.10+ has a client behind a
# flag (22+ by default); older Nodes skip that one test.
ws_flag=""
if node --experimental-websocket -e "" >/dev/null 2>&1; then ws_flag="--experimental-websocket"; fi
exec node $ws_flag --test --test-concurrency=1 "$here"/*.test.mjs
