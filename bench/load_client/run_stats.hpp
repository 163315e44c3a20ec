// What a run counted: connections, completed messages, their latencies,
// errors by kind and TLS handshakes. Each worker fills its own; the main
// thread merges them after the workers have joined.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <string>

#include "histogram.hpp"

namespace load_client {

// ports: the kernel found no free (source address, port) pair for a connect.
// tls: a handshake failed, or a TLS error (bad record, alert) on a connection.
enum class error_kind : uint8_t { connect, reset, eof, verify, timeout, ports, tls };
constexpr size_t error_kind_count = 7;
constexpr std::array<const char*, error_kind_count> error_names = {
    "connect", "reset", "eof", "verify", "timeout", "ports", "tls"};

/// One worker's counts, filled on its thread; merge() adds another's, on
/// the main thread once the workers have returned.
struct run_stats {
  uint64_t established = 0;
  uint64_t failed = 0;
  uint64_t unfinished = 0;  // still connecting, or never started, when the run ended
  uint64_t messages = 0;    // completed inside the measured window (shortconn: connections)
  std::array<uint64_t, error_kind_count> errors{};
  latency_histogram latency;
  // TLS handshakes completed inside the measured window, and what the first
  // one negotiated ("TLSv1.3 TLS_AES_256_GCM_SHA384").
  uint64_t tls_full = 0;
  uint64_t tls_resumed = 0;
  std::string tls_negotiated;

  void merge(const run_stats& other) {
    tls_full += other.tls_full;
    tls_resumed += other.tls_resumed;
    if (tls_negotiated.empty()) tls_negotiated = other.tls_negotiated;
    established += other.established;
    failed += other.failed;
    unfinished += other.unfinished;
    messages += other.messages;
    for (size_t i = 0; i < error_kind_count; ++i)
      errors[i] += other.errors[i];
    latency.merge(other.latency);
  }

  uint64_t total_errors() const {
    uint64_t sum = 0;
    for (const uint64_t e : errors)
      sum += e;
    return sum;
  }
};

}  // namespace load_client
