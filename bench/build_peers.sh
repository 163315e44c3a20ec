#!/usr/bin/env bash
# Builds the peer echo servers fastnet is benchmarked against, from Debian
# packages only: go_net (Go standard library), asio_echo (Boost.Asio) and
# caf_broker_echo (CAF 0.17 io::broker); over TLS, go_tls (Go crypto/tls),
# asio_ssl_echo (Boost.Asio ssl::stream) and bare_tls_echo (epoll + OpenSSL 3,
# the floor), with bare_gnutls_echo and bare_wolfssl_echo, the same floor on
# the other TLS libraries Debian ships (to choose the library with data);
# and the plain-TCP floors bare_epoll_echo (one edge-triggered epoll loop) and
# bare_uring_echo (one io_uring loop on liburing).
# Installs what is missing with apt-get (golang-go, libboost-dev, libcaf-dev,
# libssl-dev, libgnutls28-dev, libwolfssl-dev, liburing-dev, iperf3 for the
# loopback ceiling), then compiles
# whatever is older than its source, so a re-run with nothing changed takes
# well under a second.
#   bench/build_peers.sh [OUT_DIR]     (default: build/bench-peers)
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
out="${1:-$root/build/bench-peers}"
peers="$root/bench/peers"
cxx="${CXX:-g++}"

die() { echo "build_peers: $*" >&2; exit 1; }

# -- packages -----------------------------------------------------------------
packages=(g++ golang-go libboost-dev libcaf-dev libssl-dev openssl libgnutls28-dev libwolfssl-dev
  liburing-dev iperf3)
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
out="$(cd "$out" && pwd)"  # Go wants absolute cache paths; a relative OUT_DIR is fine

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
# go_build NAME: bench/peers/NAME/ into $out/NAME.
go_build() {
  local name="$1"
  if stale "$out/$name" "$peers/$name/main.go" "$peers/$name/go.mod"; then
    echo "build_peers: $name"
    (cd "$peers/$name" &&
      GOCACHE="$out/go-cache" GOPATH="$out/go-path" GOPROXY=off GOSUMDB=off GOFLAGS=-mod=mod \
        GO111MODULE=on go build -trimpath -o "$out/$name" .) ||
      die "go build of $name failed"
  fi
}
go_build go_net
go_build go_tls

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

# TLS peers: OpenSSL 3 from libssl-dev, as fastnet's own TLS uses.
if stale "$out/asio_ssl_echo" "$peers/asio_ssl/asio_ssl_echo.cpp"; then
  echo "build_peers: asio_ssl_echo"
  "$cxx" "${cxxflags[@]}" "$peers/asio_ssl/asio_ssl_echo.cpp" -lssl -lcrypto \
    -o "$out/asio_ssl_echo" || die "compiling asio_ssl_echo failed (libboost-dev, libssl-dev?)"
fi
if stale "$out/bare_tls_echo" "$peers/bare_tls/bare_tls_echo.cpp"; then
  echo "build_peers: bare_tls_echo"
  "$cxx" "${cxxflags[@]}" "$peers/bare_tls/bare_tls_echo.cpp" -lssl -lcrypto \
    -o "$out/bare_tls_echo" || die "compiling bare_tls_echo failed (is libssl-dev installed?)"
fi

# The same floor on GnuTLS and wolfSSL.
if stale "$out/bare_gnutls_echo" "$peers/bare_gnutls/bare_gnutls_echo.cpp"; then
  echo "build_peers: bare_gnutls_echo"
  "$cxx" "${cxxflags[@]}" "$peers/bare_gnutls/bare_gnutls_echo.cpp" -lgnutls \
    -o "$out/bare_gnutls_echo" || die "compiling bare_gnutls_echo failed (libgnutls28-dev?)"
fi
if stale "$out/bare_wolfssl_echo" "$peers/bare_wolfssl/bare_wolfssl_echo.cpp"; then
  echo "build_peers: bare_wolfssl_echo"
  "$cxx" "${cxxflags[@]}" "$peers/bare_wolfssl/bare_wolfssl_echo.cpp" -lwolfssl \
    -o "$out/bare_wolfssl_echo" || die "compiling bare_wolfssl_echo failed (libwolfssl-dev?)"
fi

# The plain-TCP floors (issue 15): no framework, one thread each.
if stale "$out/bare_epoll_echo" "$peers/bare_epoll/bare_epoll_echo.cpp"; then
  echo "build_peers: bare_epoll_echo"
  "$cxx" "${cxxflags[@]}" "$peers/bare_epoll/bare_epoll_echo.cpp" -o "$out/bare_epoll_echo" ||
    die "compiling bare_epoll_echo failed"
fi
if stale "$out/bare_uring_echo" "$peers/bare_uring/bare_uring_echo.cpp"; then
  echo "build_peers: bare_uring_echo"
  "$cxx" "${cxxflags[@]}" "$peers/bare_uring/bare_uring_echo.cpp" -luring \
    -o "$out/bare_uring_echo" || die "compiling bare_uring_echo failed (is liburing-dev installed?)"
fi

echo "build_peers: ready in $out (go_net asio_echo caf_broker_echo go_tls asio_ssl_echo" \
  "bare_tls_echo bare_gnutls_echo bare_wolfssl_echo bare_epoll_echo bare_uring_echo)"
