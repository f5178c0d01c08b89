#include "apps/app_support.hpp"

#include "domain/log_line.hpp"
#include "messages/protocol.hpp"

#include <caf/io/basp_broker.hpp>
#include <caf/io/middleman.hpp>
#include <spdlog/pattern_formatter.h>
#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/sinks/stdout_sinks.h>
#include <spdlog/spdlog.h>

#include <chrono>

#include <future>
#include <sys/socket.h>

namespace topup {

namespace {

/// Masks the phone numbers of every message, then writes it as text (by spdlog's pattern)
/// or as a JSON object.
class masking_formatter : public spdlog::formatter {
public:
  explicit masking_formatter(bool json)
    : json_(json), text_(std::make_unique<spdlog::pattern_formatter>(text_pattern)) {}

  void format(const spdlog::details::log_msg& msg, spdlog::memory_buf_t& dest) override {
    std::string_view message{msg.payload.data(), msg.payload.size()};
    if (json_) {
      auto level = spdlog::level::to_string_view(msg.level);
      auto line = log_line::json_of(
        {std::chrono::duration_cast<std::chrono::milliseconds>(msg.time.time_since_epoch()).count(),
         std::string_view{level.data(), level.size()},
         std::string_view{msg.logger_name.data(), msg.logger_name.size()}, message});
      line += '\n';
      dest.append(line.data(), line.data() + line.size());
      return;
    }
    auto masked = log_line::mask_phone_numbers(message);
    auto shown = msg;
    shown.payload = spdlog::string_view_t{masked.data(), masked.size()};
    text_->format(shown, dest);
    // The color sink colors the level by the range the pattern marked, on the message it has.
    msg.color_range_start = shown.color_range_start;
    msg.color_range_end = shown.color_range_end;
  }

  std::unique_ptr<spdlog::formatter> clone() const override {
    return std::make_unique<masking_formatter>(json_);
  }

private:
  static constexpr const char* text_pattern = "%Y-%m-%d %H:%M:%S.%e %^%-5l%$ %n: %v";
  bool json_;
  std::unique_ptr<spdlog::pattern_formatter> text_;
};

} // namespace

void log_to_stderr(const std::string& program, const std::string& level,
                   const std::string& format) {
  auto logger = format == "json" ? spdlog::stderr_logger_mt(program)
                                 : spdlog::stderr_color_mt(program);
  logger->set_formatter(std::make_unique<masking_formatter>(format == "json"));
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
