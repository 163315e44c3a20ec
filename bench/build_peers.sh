#!/usr/bin/env bash
# Builds the peer echo servers fastnet is benchmarked against, from Debian
# packages only: go_net (Go standard library), asio_echo (Boost.Asio) and
# caf_broker_echo (CAF 0.17 io::broker); over TLS, go_tls (Go crypto/tls),
# asio_ssl_echo (Boost.Asio ssl::stream) and bare_tls_echo (epoll + OpenSSL 3,
# the floor), with bare_gnutls_echo and bare_wolfssl_echo, the same floor on
# the other TLS libraries Debian ships (to choose the library with data);
# and the plain-TCP floors bare_epoll_echo (one edge-triggered epoll loop) and
# bare_uring_echo (one io_uring loop on liburing); libuv_echo (one libuv
# loop) and tokio_echo (tokio, current-thread runtime, built offline from
# Debian's crate packages).
# Installs what is missing with apt-get (golang-go, libboost-dev, libcaf-dev,
# libssl-dev, libgnutls28-dev, libwolfssl-dev, liburing-dev, libuv1-dev,
# librust-tokio-dev, librust-libc-dev, cargo where none is on PATH, iperf3
# for the loopback ceiling), then compiles
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
  liburing-dev libuv1-dev librust-tokio-dev librust-libc-dev iperf3)
command -v cargo >/dev/null || packages+=(cargo)
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
command -v cargo >/dev/null || die "cargo not on PATH after installing cargo"

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

# -- tokio: Debian's packaged crate sources only, so nothing is fetched --------
# bench/peers/tokio/.cargo/config.toml replaces the default registry with the
# directory source /usr/share/cargo/registry that librust-tokio-dev and
# librust-libc-dev fill, and sets net.offline: a crate Debian lacks is an
# error, not a download. Cargo writes Cargo.lock beside Cargo.toml, so a copy
# of the crate under $out is built rather than the tree; CARGO_HOME and the
# target dir live in the build dir too.
if stale "$out/tokio_echo" "$peers/tokio/src/main.rs" "$peers/tokio/Cargo.toml" \
  "$peers/tokio/.cargo/config.toml"; then
  echo "build_peers: tokio_echo"
  rm -rf "$out/tokio-src"
  mkdir -p "$out/tokio-src"
  cp -R "$peers/tokio/Cargo.toml" "$peers/tokio/src" "$peers/tokio/.cargo" "$out/tokio-src/"
  (cd "$out/tokio-src" &&
    CARGO_HOME="$out/cargo-home" CARGO_TARGET_DIR="$out/cargo-target" \
      cargo build --release --offline --quiet) ||
    die "cargo build of tokio_echo failed (are librust-tokio-dev and librust-libc-dev installed?)"
  cp "$out/cargo-target/release/tokio_echo" "$out/tokio_echo"
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

# libuv (issue 15): one loop, C as its users write it.
cc="${CC:-gcc}"
cflags=(-std=c17 -O2 -DNDEBUG -Wall -Wextra -Wpedantic)
if stale "$out/libuv_echo" "$peers/libuv/libuv_echo.c"; then
  echo "build_peers: libuv_echo"
  "$cc" "${cflags[@]}" "$peers/libuv/libuv_echo.c" -luv -o "$out/libuv_echo" ||
    die "compiling libuv_echo failed (is libuv1-dev installed?)"
fi

echo "build_peers: ready in $out (go_net asio_echo caf_broker_echo go_tls asio_ssl_echo" \
  "bare_tls_echo bare_gnutls_echo bare_wolfssl_echo bare_epoll_echo bare_uring_echo libuv_echo" \
  "tokio_echo)"
