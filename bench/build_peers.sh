#!/usr/bin/env bash
# Builds the peer echo servers fastnet is benchmarked against, from Debian
# packages only: go_net (Go standard library), asio_echo (Boost.Asio) and
# caf_broker_echo (CAF 0.17 io::broker). Installs what is missing with
# apt-get (golang-go, libboost-dev, libcaf-dev, iperf3 for the loopback
# ceiling), then compiles whatever is older than its source, so a re-run
# with nothing changed takes well under a second.
#   bench/build_peers.sh [OUT_DIR]     (default: build/bench-peers)
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
out="${1:-$root/build/bench-peers}"
peers="$root/bench/peers"
cxx="${CXX:-g++}"

die() { echo "build_peers: $*" >&2; exit 1; }

# -- packages -----------------------------------------------------------------
packages=(g++ golang-go libboost-dev libcaf-dev iperf3)
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]} > 0)); then
  echo "build_peers: installing ${missing[*]}"
  sudo=""
  if [[ $(id -u) -ne 0 ]]; then
    command -v sudo >/dev/null || die "need root (or sudo) to install ${missing[*]}"
    sudo="sudo"
  fi
  export DEBIAN_FRONTEND=noninteractive
  $sudo apt-get update -qq || die "apt-get update failed"
  $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null ||
    die "apt-get install ${missing[*]} failed"
fi
command -v go >/dev/null || die "go not on PATH after installing golang-go"
command -v iperf3 >/dev/null || die "iperf3 not on PATH after installing iperf3"

mkdir -p "$out"

# True when $1 is missing or older than any of the remaining files.
stale() {
  local target="$1"
  shift
  [[ -e "$target" ]] || return 0
  local f
  for f in "$@"; do [[ "$f" -nt "$target" ]] && return 0; done
  return 1
}

# -- Go: standard library only, so nothing is fetched --------------------------
# The module has no requirements; GOPROXY=off turns any attempt to download
# into an error instead of network traffic. Caches live in the build dir.
if stale "$out/go_net" "$peers/go_net/main.go" "$peers/go_net/go.mod"; then
  echo "build_peers: go_net"
  (cd "$peers/go_net" &&
    GOCACHE="$out/go-cache" GOPATH="$out/go-path" GOPROXY=off GOSUMDB=off GOFLAGS=-mod=mod \
      GO111MODULE=on go build -trimpath -o "$out/go_net" .) ||
    die "go build of go_net failed"
fi

# -- C++ peers: plain compiler invocations, Release flags like fastnet's ------
cxxflags=(-std=c++20 -O2 -DNDEBUG -Wall -Wextra -Wpedantic -pthread)
if stale "$out/asio_echo" "$peers/asio/asio_echo.cpp"; then
  echo "build_peers: asio_echo"
  "$cxx" "${cxxflags[@]}" "$peers/asio/asio_echo.cpp" -o "$out/asio_echo" ||
    die "compiling asio_echo failed (is libboost-dev installed?)"
fi
if stale "$out/caf_broker_echo" "$peers/caf_broker/caf_broker_echo.cpp"; then
  echo "build_peers: caf_broker_echo"
  "$cxx" "${cxxflags[@]}" "$peers/caf_broker/caf_broker_echo.cpp" -lcaf_io -lcaf_core \
    -o "$out/caf_broker_echo" || die "compiling caf_broker_echo failed (is libcaf-dev installed?)"
fi

echo "build_peers: ready in $out (go_net asio_echo caf_broker_echo)"
