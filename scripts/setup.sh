#!/usr/bin/env bash
# Installs what fastnet needs to build and test on Debian 12, only what is
# missing. Needs root (or sudo) when something must be installed.
set -euo pipefail

packages=(g++ cmake make libcaf-dev libspdlog-dev catch2 libconcurrentqueue-dev
  libcli11-dev libssl-dev)
[[ "${FASTNET_SETUP_EXTRA:-}" ]] && read -r -a extra <<<"$FASTNET_SETUP_EXTRA" && packages+=("${extra[@]}")

missing=()
for p in "${packages[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done
if ((${#missing[@]} == 0)); then
  exit 0
fi

echo "setup: installing ${missing[*]}"
sudo=""
if [[ $(id -u) -ne 0 ]]; then
  command -v sudo >/dev/null || { echo "setup: need root to install ${missing[*]}" >&2; exit 1; }
  sudo="sudo"
fi
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get update -qq
$sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
