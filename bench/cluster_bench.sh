#!/usr/bin/env bash
# What distribution costs: the same SET/GET load (bench/kv_load) against
# `cluster single` (gateway sessions and a local shard in one process),
# against a gateway in front of two workers over CAF's middleman (BASP on
# plain TCP), and against the same over TLS (--tls-*: CAF's OpenSSL module,
# mutual authentication, certificates from scripts/make_test_certs.sh), on
# this machine, loopback only. Each round runs all three; plain and TLS swap
# places every other round, so drift hits both alike. Ends with the median
# and min-max of every variant over the rounds.
#
#   bench/cluster_bench.sh [BUILD_DIR] [ROUNDS] [SECONDS] [CONNS] [VALUE_SIZE]
set -euo pipefail
build="${1:-build}"
rounds="${2:-3}"
secs="${3:-3}"
conns="${4:-8}"
value_size="${5:-32}"  # bytes per SET value (kv_load's default)
cluster="$build/examples/cluster"
load="$build/bench/kv_load"
certs="$build/bench/cluster-certs"
pids=()

"$(dirname "$0")/../scripts/make_test_certs.sh" "$certs"
tls_worker=(--tls-ca "$certs/ca.pem" --tls-cert "$certs/server.pem" --tls-key "$certs/server.key")
tls_gateway=(--tls-ca "$certs/ca.pem" --tls-cert "$certs/client.pem" --tls-key "$certs/client.key")

# Starts "$@", waits for its "listening" line and sets $port to its port and
# $line to the line. Not in a $(...) subshell: the pid must reach this
# shell's $pids.
port=
line=
start() {
  local log
  log="$(mktemp)"
  "$@" >"$log" 2>&1 &
  pids+=($!)
  for _ in $(seq 1 100); do
    if grep -q listening "$log"; then
      line=$(grep -m1 'cluster .* listening' "$log")
      port=$(grep -o 'cluster [a-z]* listening on [^ ]*' "$log" | sed 's/.*://')
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

# Each variant's kv_load lines, for the summary.
declare -A results

# run_cluster NAME [worker flags...] -- [gateway flags...]: two workers, a
# gateway, one load run.
run_cluster() {
  local name=$1
  shift
  local wflags=() gflags=()
  while [[ $# -gt 0 && $1 != -- ]]; do wflags+=("$1"); shift; done
  [[ $# -gt 0 ]] && shift
  gflags=("$@")
  start "$cluster" worker --port 0 "${wflags[@]}"
  local w1=$port
  start "$cluster" worker --port 0 "${wflags[@]}"
  local w2=$port
  start "$cluster" gateway --host 127.0.0.1 --port 0 --workers "127.0.0.1:$w1,127.0.0.1:$w2" \
    "${gflags[@]}"
  if [[ $line != *"workers up 2/2"* ]]; then
    echo "$name: not every worker is up: $line" >&2
    exit 1
  fi
  local out
  out=$("$load" --port "$port" --conns "$conns" --duration "$secs" --value-size "$value_size")
  printf '%-11s round %s: %s\n' "$name" "$r" "$out"
  results[$name]+="$out"$'\n'
  stop_all
}

# summary NAME FIELD: "median (min-max)" of FIELD=value over NAME's rounds.
summary() {
  printf '%s' "${results[$1]}" | grep -o "$2=[0-9.]*" | cut -d= -f2 | sort -g |
    awk '{ v[NR] = $1 } END {
      m = (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2
      printf "%.1f (%.1f-%.1f)", m, v[1], v[NR] }'
}

echo "# kv_load --conns $conns --duration $secs --value-size $value_size, $(nproc) cores, $(date -u +%FT%TZ)"
echo "# load before: $(cut -d' ' -f1-3 /proc/loadavg)"
for r in $(seq 1 "$rounds"); do
  start "$cluster" single --port 0
  out=$("$load" --port "$port" --conns "$conns" --duration "$secs" --value-size "$value_size")
  printf '%-11s round %s: %s\n' single "$r" "$out"
  results[single]+="$out"$'\n'
  stop_all
  if ((r % 2)); then
    run_cluster cluster
    run_cluster cluster-tls "${tls_worker[@]}" -- "${tls_gateway[@]}"
  else
    run_cluster cluster-tls "${tls_worker[@]}" -- "${tls_gateway[@]}"
    run_cluster cluster
  fi
done
echo "# load after: $(cut -d' ' -f1-3 /proc/loadavg)"
echo "# median (min-max) over $rounds rounds"
for v in single cluster cluster-tls; do
  printf '%-11s rps %s  p50_us %s  p99_us %s\n' "$v" "$(summary "$v" rps)" \
    "$(summary "$v" p50_us)" "$(summary "$v" p99_us)"
done
