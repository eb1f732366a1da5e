#!/usr/bin/env bash
# Installs the Debian packages smoe needs to build and test. Safe to run again.
set -euo pipefail
packages=(
  cmake g++ make pkg-config git
  libgtest-dev libgmock-dev libbenchmark-dev   # tests and benchmarks
  nlohmann-json3-dev libcli11-dev libfmt-dev   # JSON, command line, formatting
  libsentencepiece-dev                         # reference tokenizer (a test oracle)
  libcpp-httplib-dev                           # HTTP server (smoe serve)
  curl                                         # server tests: a real HTTP client
  chromium                                     # server tests: the chat page in a headless browser
  clang libclang-rt-dev libomp-dev             # fuzzing: clang, libFuzzer + sanitizers, OpenMP (fuzz/run.sh)
)
# The server tests also run the official OpenAI client on Node (npm packages: tests/server/js).
# Debian's nodejs and npm, unless a Node is already installed (e.g. one that bundles npm).
if ! command -v node >/dev/null 2>&1 || ! command -v npm >/dev/null 2>&1; then
  packages+=(nodejs npm)
fi
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -eq 0 ]; then
  exit 0
fi
sudo=""
[ "$(id -u)" -eq 0 ] || sudo="sudo"
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get update -qq
$sudo apt-get install -y -qq --no-install-recommends "${missing[@]}"
