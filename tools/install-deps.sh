#!/usr/bin/env bash
# Installs the Debian packages smoe needs to build and test. Safe to run again.
set -euo pipefail
packages=(
  cmake g++ make pkg-config git
  libgtest-dev libgmock-dev libbenchmark-dev   # tests and benchmarks
  nlohmann-json3-dev libcli11-dev libfmt-dev   # JSON, command line, formatting
  libsentencepiece-dev                         # reference tokenizer (a test oracle)
)
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
