#!/usr/bin/env bash
# Debian packages for the training tooling (run as root or with sudo). Safe to run again.
# libopenblas0-openmp matters: Debian's python3-torch calls the system BLAS through the
# libblas.so.3 alternative, and with only the reference BLAS installed its matrix products run at
# ~3 GFLOP/s instead of ~60 on 2 cores.
set -euo pipefail
packages=(python3-torch python3-numpy python3-sentencepiece libopenblas0-openmp)
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0
sudo=""; [ "$(id -u)" -eq 0 ] || sudo="sudo"
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get install -y --no-install-recommends "${missing[@]}"
