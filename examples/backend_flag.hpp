// The --backend epoll|io_uring|auto flag of the servers that take one: which
// kernel interface their event loops drive (fastnet::backend).
#pragma once

#include <fastnet/backend.hpp>

#include <CLI/CLI.hpp>
#include <map>
#include <string>

/// Adds --backend to `app`, storing the choice in `b` (default auto:
/// io_uring where it runs, else epoll; FASTNET_BACKEND overrides it).
inline void add_backend_flag(CLI::App& app, fastnet::backend& b) {
  const std::map<std::string, fastnet::backend> names{{"epoll", fastnet::backend::epoll},
                                                      {"io_uring", fastnet::backend::io_uring},
                                                      {"auto", fastnet::backend::automatic}};
  app.add_option("--backend", b,
                 "event loops on epoll, io_uring, or auto (io_uring where it runs, else epoll)")
      ->transform(CLI::CheckedTransformer(names, CLI::ignore_case));
}
