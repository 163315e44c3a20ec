#!/usr/bin/env bash
# What distribution costs: the same SET/GET load (bench/kv_load) against
# `cluster single` (gateway sessions and a local shard in one process) and
# against a gateway in front of two workers over CAF's middleman, on this
# machine, loopback only. Rounds alternate; quote the medians.
#
#   bench/cluster_bench.sh [BUILD_DIR] [ROUNDS] [SECONDS] [CONNS]
set -euo pipefail
build="${1:-build}"
rounds="${2:-3}"
secs="${3:-3}"
conns="${4:-8}"
cluster="$build/examples/cluster"
load="$build/bench/kv_load"
pids=()

# Starts "$@", waits for its "listening" line and sets $port to its port.
# Not in a $(...) subshell: the pid must reach this shell's $pids.
port=
start() {
  local log
  log="$(mktemp)"
  "$@" >"$log" 2>&1 &
  pids+=($!)
  for _ in $(seq 1 100); do
    if grep -q listening "$log"; then
      port=$(grep -o 'listening on [^ ]*' "$log" | sed 's/.*://')
      rm -f "$log"
      return 0
    fi
    sleep 0.05
  done
  echo "not listening: $*" >&2
  cat "$log" >&2
  return 1
}

# SIGTERM to every process this script started, by pid, and reap them.
stop_all() {
  for p in "${pids[@]}"; do kill -TERM "$p" 2>/dev/null || true; done
  for p in "${pids[@]}"; do wait "$p" 2>/dev/null || true; done
  pids=()
}
trap stop_all EXIT

echo "# kv_load --conns $conns --duration $secs, $(nproc) cores, $(date -u +%FT%TZ)"
for r in $(seq 1 "$rounds"); do
  start "$cluster" single --port 0
  echo "single  round $r: $("$load" --port "$port" --conns "$conns" --duration "$secs")"
  stop_all
  start "$cluster" worker --port 0
  w1=$port
  start "$cluster" worker --port 0
  w2=$port
  start "$cluster" gateway --host 127.0.0.1 --port 0 --workers "127.0.0.1:$w1,127.0.0.1:$w2"
  echo "cluster round $r: $("$load" --port "$port" --conns "$conns" --duration "$secs")"
  stop_all
done
