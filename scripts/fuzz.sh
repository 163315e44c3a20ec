#!/usr/bin/env bash
# Builds the libFuzzer targets with clang 14 (Debian clang-14 and
# libclang-rt-14-dev) and runs each one briefly, as CI does:
#   scripts/fuzz.sh [SECONDS_PER_TARGET] [BUILD_DIR]
# Exits non-zero when a target finds a crash, a leak or a contract break.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
seconds="${1:-20}"
build="${2:-$root/build-fuzz}"
FASTNET_SETUP_EXTRA="clang-14 libclang-rt-14-dev ${FASTNET_SETUP_EXTRA:-}" "$root/scripts/setup.sh"
CXX=clang++-14 CC=clang-14 cmake -S "$root" -B "$build" -DCMAKE_BUILD_TYPE=RelWithDebInfo \
  -DFASTNET_FUZZ=ON -DFASTNET_BUILD_TESTS=OFF -DFASTNET_BUILD_EXAMPLES=OFF \
  -DFASTNET_BUILD_BENCH=OFF >/dev/null
targets=$(cd "$build" && cmake --build . --target help | sed -n 's/^\.\.\. \(fuzz_[a-z0-9_]*\).*/\1/p')
cmake --build "$build" -j "${FASTNET_JOBS:-2}" --target $targets
status=0
for t in $targets; do
  corpus="$build/corpus/$t"
  mkdir -p "$corpus"
  if [[ $t == fuzz_tls_server && -z $(ls -A "$corpus") ]]; then
    # A real ClientHello (Python's ssl through memory) to start from: random
    # bytes alone seldom get past the record layer.
    python3 -c 'import ssl,sys
c=ssl.create_default_context(); c.check_hostname=False; c.verify_mode=ssl.CERT_NONE
c.set_alpn_protocols(["fastnet/1"]); i,o=ssl.MemoryBIO(),ssl.MemoryBIO()
t=c.wrap_bio(i,o,server_hostname="localhost")
try: t.do_handshake()
except ssl.SSLWantReadError: pass
sys.stdout.buffer.write(o.read())' >"$corpus/client_hello"
  fi
  echo "fuzz: $t for ${seconds}s"
  # Crash inputs land in $build/crashes; the log is kept and shown on failure.
  mkdir -p "$build/crashes"
  if ! "$build/tests/fuzz/$t" -max_total_time="$seconds" -max_len=16384 -rss_limit_mb=1024 \
      -print_final_stats=1 -artifact_prefix="$build/crashes/$t-" "$corpus" >"$build/$t.log" 2>&1; then
    tail -n 60 "$build/$t.log"
    status=1
  fi
  grep -E "stat::number_of_executed_units" "$build/$t.log" || true
done
exit $status
