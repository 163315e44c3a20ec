#!/usr/bin/env bash
# Installs what fastnet needs to build and test on Debian 12, only what is
# missing. Needs root (or sudo) when something must be installed.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"

# python3-websockets and node (the npm ws package) are the independent
# WebSocket peers of the interop tests (ctest label "interop"); chromium is
# their browser (headless, driven by npm playwright-core). The openssl CLI
# makes the TLS tests' throwaway certificates and is, with Python's ssl
# module, their independent TLS peer (s_client, s_server); the TLS interop
# tests add node's built-in tls and https modules (no further packages).
# prometheus brings promtool, which checks the metrics tests' exposition.
# liburing-dev builds the io_uring backend (both backends are tested).
# python3-matplotlib draws bench/run_matrix.py's charts (and their test).
# doxygen builds the API reference (the docs target), which CI builds too:
# a public member without documentation fails it.
packages=(g++ cmake make libcaf-dev libspdlog-dev catch2 libconcurrentqueue-dev
  libcli11-dev libssl-dev openssl python3 python3-websockets chromium prometheus doxygen
  python3-matplotlib liburing-dev)
# Checked as commands, not packages: a node from another source (which
# bundles npm) serves as well, and Debian's npm package would conflict with it.
command -v node >/dev/null || packages+=(nodejs)
command -v npm >/dev/null || packages+=(npm)
[[ "${FASTNET_SETUP_EXTRA:-}" ]] && read -r -a extra <<<"$FASTNET_SETUP_EXTRA" && packages+=("${extra[@]}")

missing=()
for p in "${packages[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done
if ((${#missing[@]} > 0)); then
  echo "setup: installing ${missing[*]}"
  sudo=""
  if [[ $(id -u) -ne 0 ]]; then
    command -v sudo >/dev/null || { echo "setup: need root to install ${missing[*]}" >&2; exit 1; }
    sudo="sudo"
  fi
  export DEBIAN_FRONTEND=noninteractive
  $sudo apt-get update -qq
  $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

# The interop tests' npm packages, exactly as locked; again only when the
# lock changed since the last install (npm keeps its copy in node_modules).
interop="$root/tests/interop"
if [[ ! -f "$interop/node_modules/.package-lock.json" ||
  "$interop/package-lock.json" -nt "$interop/node_modules/.package-lock.json" ]]; then
  echo "setup: npm ci in tests/interop"
  (cd "$interop" && npm ci --no-audit --no-fund --loglevel=error)
fi
