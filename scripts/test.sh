#!/usr/bin/env bash
# README command 2: installs what is missing, builds, runs the whole suite
# under ctest. Exits non-zero on any failure.
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
ctest --output-on-failure -j "${FASTNET_JOBS:-2}" ${FASTNET_CTEST_ARGS:-}
