#!/usr/bin/env bash
# README command 1: installs what is missing, builds, starts the echo server
# on a local port, drives it with the bundled load client for a few seconds,
# prints the results and stops the server cleanly.
#   scripts/demo.sh            (env: DEMO_CONNS, DEMO_SIZE, DEMO_SECONDS, DEMO_PORT)
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
build="$root/build"
conns="${DEMO_CONNS:-1000}"
size="${DEMO_SIZE:-64}"
seconds="${DEMO_SECONDS:-5}"
port="${DEMO_PORT:-9000}"

"$root/scripts/setup.sh"
echo "demo: building (Release) ..."
"$root/scripts/build.sh" "$build" -DFASTNET_BUILD_TESTS=OFF >/dev/null
ulimit -n "$(ulimit -Hn)" 2>/dev/null || true

log="$(mktemp)"
"$build/examples/echo_server" --host 127.0.0.1 --port "$port" >"$log" 2>&1 &
server=$!
cleanup() { kill "$server" 2>/dev/null || true; rm -f "$log"; }
trap cleanup EXIT

# Wait for the "listening" line (bounded), failing early if the server died.
for _ in $(seq 100); do
  grep -q listening "$log" && break
  kill -0 "$server" 2>/dev/null || { cat "$log"; echo "demo: echo_server exited" >&2; exit 1; }
  sleep 0.05
done
grep -q listening "$log" || { echo "demo: echo_server did not start" >&2; exit 1; }
cat "$log"

echo
echo "demo: $conns connections ping-ponging $size-byte messages for ${seconds}s (every byte verified)"
status=0
"$build/bench/load_client" --host 127.0.0.1 --port "$port" --conns "$conns" --size "$size" \
  --duration "$seconds" || status=$?

echo
echo "demo: stopping the server (SIGTERM)"
kill -TERM "$server"
wait "$server" || { echo "demo: echo_server exited with $?" >&2; status=1; }
sed -n '/stopping/,$p' "$log"
trap - EXIT
rm -f "$log"
exit "$status"
