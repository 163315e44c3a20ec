#!/usr/bin/env bash
# Measures CAF scheduler settings for actor mode: echo_server --mode actors
# pinned to core 0, load_client pinned to core 1, 100 connections ping-ponging
# 64-byte messages. Per setting: median over REPS runs of msgs/s, p50/p99
# latency and server CPU µs per message (from /proc/PID/stat). Loopback only.
#   bench/scheduler_sweep.sh [BUILD_DIR]   (env: REPS=3 SECONDS_PER_RUN=5 PORT=9100)
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
build="${1:-$root/build}"
reps="${REPS:-3}"
secs="${SECONDS_PER_RUN:-5}"
port="${PORT:-9100}"
tick=$(getconf CLK_TCK)

cpu_ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }

run_one() {  # args: mode policy workers
  local log; log=$(mktemp)
  taskset -c 0 "$build/bench/echo_server" --host 127.0.0.1 --port "$port" --loops 1 \
    --mode "$1" --caf-policy "$2" --caf-workers "$3" >"$log" 2>&1 &
  local pid=$!
  for _ in $(seq 100); do grep -q listening "$log" && break; sleep 0.05; done
  local t0; t0=$(cpu_ticks "$pid")
  local out; out=$(taskset -c 1 "$build/bench/load_client" --port "$port" --conns 100 --size 64 \
    --duration "$secs" --json | tail -1)
  local t1; t1=$(cpu_ticks "$pid")
  kill -TERM "$pid"; wait "$pid" || true; rm -f "$log"
  python3 - "$out" "$((t1 - t0))" "$tick" <<'PY'
import json, sys
r = json.loads(sys.argv[1]); ticks = int(sys.argv[2]); hz = int(sys.argv[3])
cpu_us = ticks / hz * 1e6
print(f"{r['msgs_per_s']:.0f} {r['p50_us']:.0f} {r['p99_us']:.0f} {cpu_us / max(r['msgs'], 1):.2f} {r['errors']}")
PY
}

median() { sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }

printf "%-8s %-9s %-7s | %9s %7s %7s %12s %6s\n" mode policy workers "msgs/s" "p50us" "p99us" "cpu_us/msg" errors
for cfg in "reactor sharing 1" "actors sharing 1" "actors sharing 2" "actors stealing 1" "actors stealing 2" "actors stealing 4"; do
  read -r mode policy workers <<<"$cfg"
  results=()
  for _ in $(seq "$reps"); do results+=("$(run_one "$mode" "$policy" "$workers")"); done
  col() { printf "%s\n" "${results[@]}" | awk -v c="$1" '{print $c}' | median; }
  printf "%-8s %-9s %-7s | %9s %7s %7s %12s %6s\n" "$mode" "$policy" "$workers" \
    "$(col 1)" "$(col 2)" "$(col 3)" "$(col 4)" "$(printf "%s\n" "${results[@]}" | awk '{s+=$5} END {print s}')"
done
