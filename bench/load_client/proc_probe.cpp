// load_client's /proc probes (see proc_probe.hpp).
#include "proc_probe.hpp"

#include <sys/resource.h>
#include <unistd.h>

#include <cstdio>
#include <cstring>
#include <string_view>

#include "clock.hpp"

namespace load_client {

namespace {

/// A "Key:   123 kB" line from a /proc file; nullopt if absent.
std::optional<uint64_t> proc_kib(const char* path, std::string_view key) {
  std::FILE* f = std::fopen(path, "re");
  if (f == nullptr) return std::nullopt;
  char line[256];
  std::optional<uint64_t> result;
  while (std::fgets(line, sizeof line, f) != nullptr) {
    const std::string_view text(line);
    if (text.starts_with(key) && text.size() > key.size() && text[key.size()] == ':') {
      unsigned long long v = 0;
      if (std::sscanf(line + key.size() + 1, "%llu", &v) == 1) result = v;
      break;
    }
  }
  std::fclose(f);
  return result;
}

std::optional<uint64_t> process_rss_kib(int pid) {
  char path[64];
  std::snprintf(path, sizeof path, "/proc/%d/status", pid);
  return proc_kib(path, "VmRSS");
}

/// Pages of memory charged to TCP socket buffers, machine-wide ("TCP: ... mem N").
std::optional<uint64_t> tcp_mem_pages() {
  std::FILE* f = std::fopen("/proc/net/sockstat", "re");
  if (f == nullptr) return std::nullopt;
  char line[256];
  std::optional<uint64_t> result;
  while (std::fgets(line, sizeof line, f) != nullptr) {
    const char* mem = std::strstr(line, " mem ");
    unsigned long long pages = 0;
    if (std::strncmp(line, "TCP:", 4) == 0 && mem != nullptr &&
        std::sscanf(mem, " mem %llu", &pages) == 1) {
      result = pages;
      break;
    }
  }
  std::fclose(f);
  return result;
}

double client_cpu_seconds() {
  rusage ru{};
  getrusage(RUSAGE_SELF, &ru);
  const auto secs = [](const timeval& tv) {
    return static_cast<double>(tv.tv_sec) + static_cast<double>(tv.tv_usec) / 1e6;
  };
  return secs(ru.ru_utime) + secs(ru.ru_stime);
}

}  // namespace

std::optional<double> process_cpu_seconds(int pid) {
  char path[64];
  std::snprintf(path, sizeof path, "/proc/%d/stat", pid);
  std::FILE* f = std::fopen(path, "re");
  if (f == nullptr) return std::nullopt;
  char buf[1024];
  const size_t n = std::fread(buf, 1, sizeof buf - 1, f);
  std::fclose(f);
  buf[n] = '\0';
  // The command name (field 2) may hold spaces and parentheses; fields after
  // its last ')' are plain numbers, starting with field 3 (state).
  const char* p = std::strrchr(buf, ')');
  if (p == nullptr) return std::nullopt;
  unsigned long long utime = 0;
  unsigned long long stime = 0;
  if (std::sscanf(p + 1, " %*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %llu %llu", &utime,
                  &stime) != 2) {
    return std::nullopt;
  }
  return static_cast<double>(utime + stime) / static_cast<double>(sysconf(_SC_CLK_TCK));
}

std::optional<uint64_t> process_fd_limit(int pid) {
  char path[64];
  std::snprintf(path, sizeof path, "/proc/%d/limits", pid);
  std::FILE* f = std::fopen(path, "re");
  if (f == nullptr) return std::nullopt;
  char line[256];
  std::optional<uint64_t> result;
  while (std::fgets(line, sizeof line, f) != nullptr) {
    unsigned long long soft = 0;
    if (std::sscanf(line, "Max open files %llu", &soft) == 1) {
      result = soft;
      break;
    }
  }
  std::fclose(f);
  return result;
}

probe probe::take(std::optional<int> server_pid) {
  probe p;
  p.at_ns = now_ns();
  p.client_cpu_s = client_cpu_seconds();
  if (server_pid) {
    p.server_cpu_s = process_cpu_seconds(*server_pid);
    p.server_rss_kib = process_rss_kib(*server_pid);
  }
  p.slab_kib = proc_kib("/proc/meminfo", "Slab");
  p.tcp_pages = tcp_mem_pages();
  return p;
}

}  // namespace load_client
