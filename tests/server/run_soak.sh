#!/usr/bin/env bash
# ctest entry: a short soak of smoe serve (bench/soak.mjs: concurrent normal, cancelled, malformed
# and oversize requests, then the server must answer as before, not have grown, and have lost no
# request). Usage: run_soak.sh SMOE_BINARY [soak.mjs options]
# Skips (exit 77) when Node is missing, except in CI (CI=true), where that is a failure.
set -uo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
binary="$1"
shift
if ! command -v node >/dev/null 2>&1; then
  echo "SKIPPED: node is not installed (tools/install-deps.sh installs it)"
  [ "${CI:-}" = "true" ] && exit 1
  exit 77
fi
exec node "$here/../../bench/soak.mjs" --binary "$binary" "$@"
