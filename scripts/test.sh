#!/usr/bin/env bash
# README command 2: installs what is missing, builds, runs the whole suite
# under ctest, then the tests of the servers, clients and actors again with
# every event loop on io_uring (FASTNET_BACKEND steers fastnet::backend::
# automatic; where io_uring cannot run the loops fall back to epoll and say
# so). Exits non-zero on any failure.
#   scripts/test.sh [BUILD_DIR] [extra cmake args...]
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
"$root/scripts/setup.sh"
build="${1:-$root/build}"
shift || true
"$root/scripts/build.sh" "$build" -DFASTNET_BUILD_TESTS=ON "$@"
# Integration tests open thousands of sockets: lift the descriptor limit.
ulimit -n "$(ulimit -Hn)" 2>/dev/null || true
cd "$build"
FASTNET_BACKEND=epoll ctest --output-on-failure -j "${FASTNET_JOBS:-2}" ${FASTNET_CTEST_ARGS:-}
echo "test.sh: the same tests again on the io_uring backend"
FASTNET_BACKEND=io_uring ctest --output-on-failure -j "${FASTNET_JOBS:-2}" \
  -LE "package|docs|bench_unit" ${FASTNET_CTEST_ARGS:-}
