#pragma once

// The merchants' HTTP API listener (Boost.Beast on one asio thread: keep-alive, no thread per
// connection). A thin shell: api/merchant_api decides everything about a request; the node's
// gateway answers it, through a short-lived actor per request, exactly as it answers a CAF
// client (same intake, same store, same guarantees). It also serves GET /metrics for
// Prometheus, and the web console (api/console_api decides its requests; the listener samples
// the node's counters once a second into a throughput_history on its own thread). See
// README.md, "Merchants and the HTTP API", "Metrics" and "Web console".

#include "config/config.hpp"
#include "config/merchant_config.hpp"
#include "domain/merchant.hpp"
#include "messages/interfaces.hpp"
#include "metrics/node_metrics.hpp"

#include <cstdint>
#include <functional>
#include <memory>

namespace topup {

struct http_api_options {
  http_api_config config;
  merchant_directory merchants;
  /// The wall clock in seconds, against which request timestamps are checked.
  std::function<int64_t()> now_s;
  /// What GET /metrics serves (with the node's stats); null: /metrics is answered 404.
  std::shared_ptr<node_metrics> metrics;
  /// What the web console shows of the configuration (served when config.admin_token is set).
  std::vector<provider_config> providers{};
  bool clustered = false;
};

/// Listens on config.host:config.port from construction (throws boost::system::system_error
/// when it cannot) and serves from start() until stop() or destruction.
class http_api_listener {
public:
  http_api_listener(caf::actor_system& system, gateway_actor gateway, http_api_options options);
  ~http_api_listener();

  http_api_listener(const http_api_listener&) = delete;
  http_api_listener& operator=(const http_api_listener&) = delete;

  /// The port it listens on (the one the system chose when configured with 0).
  uint16_t port() const;

  void start();

  /// Stops accepting, closes every connection and joins the thread; idempotent.
  void stop();

  struct impl;

private:
  std::shared_ptr<impl> impl_;
};

} // namespace topup
