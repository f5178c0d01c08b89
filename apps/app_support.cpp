#include "apps/app_support.hpp"

#include "messages/protocol.hpp"

#include <caf/io/basp_broker.hpp>
#include <caf/io/middleman.hpp>
#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>

#include <future>
#include <sys/socket.h>

namespace topup {

void log_to_stderr(const std::string& program, const std::string& level) {
  auto logger = spdlog::stderr_color_mt(program);
  logger->set_pattern("%Y-%m-%d %H:%M:%S.%e %^%-5l%$ %n: %v");
  spdlog::set_default_logger(logger);
  spdlog::set_level(spdlog::level::from_str(level));
}

void configure_caf(caf::actor_system_config& cfg, size_t threads, int64_t heartbeat_interval_ms,
                   int64_t connection_timeout_ms) {
  cfg.set("scheduler.max-threads", threads);
  cfg.set("scheduler.policy", caf::atom("sharing"));
  cfg.set("logger.verbosity", caf::atom("quiet"));
  cfg.set("middleman.heartbeat-interval", caf::timespan{std::chrono::milliseconds(heartbeat_interval_ms)});
  cfg.set("middleman.connection-timeout", caf::timespan{std::chrono::milliseconds(connection_timeout_ms)});
  register_protocol(cfg);
  cfg.load<caf::io::middleman>();
}

size_t cut_remote_connections(caf::actor_system& system) {
  auto& middleman = system.middleman();
  // Every remote connection of CAF's remote actor protocol (TLS ones too) belongs to the
  // BASP broker, which runs in the middleman's event loop: its connections are read there.
  auto basp = middleman.named_broker<caf::io::basp_broker>(caf::atom("BASP"));
  std::promise<size_t> cut;
  auto done = cut.get_future();
  middleman.backend().dispatch([&] {
    auto broker =
      static_cast<caf::io::abstract_broker*>(caf::actor_cast<caf::abstract_actor*>(basp));
    size_t count = 0;
    // The default multiplexer names each connection by its socket (connection_handle ids
    // are file descriptors). shutdown() leaves the descriptor to CAF, which closes it when it
    // sees the stream end.
    for (auto connection : broker->connections())
      if (::shutdown(static_cast<int>(connection.id()), SHUT_RDWR) == 0)
        ++count;
    cut.set_value(count);
  });
  return done.get();
}

} // namespace topup
