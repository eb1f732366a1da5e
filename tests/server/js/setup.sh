#!/usr/bin/env bash
# Installs the npm packages of the server tests (the official openai client) into
# tests/server/js/node_modules, exactly as package-lock.json pins them. Safe to run again.
set -euo pipefail
cd "$(dirname "$0")"
if [ -f node_modules/openai/package.json ]; then
  exit 0
fi
npm ci --no-audit --no-fund --loglevel=error
