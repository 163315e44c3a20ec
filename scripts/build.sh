#!/usr/bin/env bash
# Configures and builds fastnet: scripts/build.sh [BUILD_DIR] [extra cmake args...]
# Default BUILD_DIR is ./build (Release). Builds with -j2: the target machine has 2 cores.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
build="${1:-$root/build}"
shift || true
cmake -S "$root" -B "$build" "$@" >/dev/null
cmake --build "$build" -j "${FASTNET_JOBS:-2}"
