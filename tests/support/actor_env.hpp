// A real actor_system per test, with fastnet's scheduler settings.
#pragma once

#include <fastnet/actors/scheduler.hpp>

#include <caf/actor_system.hpp>
#include <caf/actor_system_config.hpp>

namespace fastnet::test {

/// One actor system with fastnet's scheduler settings, applied before the
/// system is built (members initialize before a constructor body).
struct actor_env {
  static caf::actor_system_config& configured(caf::actor_system_config& c) {
    fastnet::actors::apply(c);
    return c;
  }
  caf::actor_system_config cfg;
  caf::actor_system sys{configured(cfg)};
};

}  // namespace fastnet::test
