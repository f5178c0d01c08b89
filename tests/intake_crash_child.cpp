// The process crash_tests kills: it submits orders to a real store + intake as fast as it can
// and reports every acknowledgement on stdout, one "<order id> <client ref> <ack ms>" line
// each (the wall clock when the ack arrived), written only after the ack arrived. Whatever the
// parent read before SIGKILL was acknowledged, so it must be in the database afterwards
// (README.md guarantee 1, "durable before ack"), with a deadline no later than ack + limit.
//
// usage: intake_crash_child <sqlite path> [normal|full]
// It never exits on its own; errors go to stderr (stdout carries acks only).

#include "actors/intake.hpp"
#include "persistence/store_actor.hpp"
#include "tests/test_support.hpp"

#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>

#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <optional>
#include <string>
#include <unistd.h>

using namespace topup;

namespace {

/// Enough in flight that the store group-commits (and a kill lands mid-commit), few enough
/// that each commit is small and kill points are dense.
constexpr size_t requests_in_flight = 256;

/// Long enough for a FULL-synchronous commit on a slow disk; an ack never comes later.
constexpr auto submit_timeout = std::chrono::seconds(60);

/// Writes all of `text` to fd 1. One write(2) of less than PIPE_BUF bytes to a pipe is atomic,
/// so the parent never sees half a line from a finished write.
void write_ack_line(const std::string& text) {
  const char* data = text.data();
  size_t left = text.size();
  while (left > 0) {
    auto written = ::write(STDOUT_FILENO, data, left);
    if (written < 0 && errno == EINTR)
      continue;
    if (written < 0) {
      std::fprintf(stderr, "intake_crash_child cannot write an ack: %s\n", std::strerror(errno));
      std::_Exit(3);
    }
    data += written;
    left -= static_cast<size_t>(written);
  }
}

struct driver_state {
  static constexpr const char* name = "crash_driver";
  intake_actor intake;
  uint64_t next_ref = 0;
};

using driver_pointer = caf::stateful_actor<driver_state>*;

/// Submits the next order; its answer, ack or error, submits another, so the number of
/// requests in flight never changes.
void submit_next(driver_pointer self) {
  auto n = self->state.next_ref++;
  auto request = testing::valid_request("crash-" + std::to_string(n), n);
  self->request(self->state.intake, submit_timeout, submit_atom::value, std::move(request))
    .then(
      [=](const order& acked) {
        write_ack_line(acked.id + " " + acked.client_ref + " "
                       + std::to_string(topup::system_clock{}.wall_ms()) + "\n");
        submit_next(self);
      },
      [=](const caf::error& error) {
        std::fprintf(stderr, "intake_crash_child: crash-%llu not acknowledged: %s\n",
                     static_cast<unsigned long long>(n), describe(error).c_str());
        submit_next(self);
      });
}

caf::behavior driver(driver_pointer self, intake_actor intake) {
  self->state.intake = std::move(intake);
  return {
    // The start signal: fill the window once; the answers keep it full.
    [=](submit_atom) {
      for (size_t i = 0; i < requests_in_flight; ++i)
        submit_next(self);
    },
  };
}

std::optional<sqlite_synchronous> synchronous_from(const std::string& name) {
  if (name == "normal")
    return sqlite_synchronous::normal;
  if (name == "full")
    return sqlite_synchronous::full;
  return std::nullopt;
}

} // namespace

int main(int argc, char** argv) {
  if (argc < 2 || argc > 3) {
    std::fprintf(stderr, "usage: %s <sqlite path> [normal|full]\n", argv[0]);
    return 2;
  }
  auto synchronous = synchronous_from(argc == 3 ? argv[2] : "normal");
  if (!synchronous) {
    std::fprintf(stderr, "synchronous must be normal or full, got '%s'\n", argv[2]);
    return 2;
  }
  // spdlog's default logger writes to stdout, which carries nothing but acks here.
  spdlog::set_default_logger(spdlog::stderr_color_mt("intake_crash_child"));

  store_config store_cfg;
  store_cfg.sqlite_path = argv[1];
  store_cfg.synchronous = *synchronous;
  intake_options options;
  options.rules = testing::workload_rules();
  options.node_name = "crash";
  auto time = std::make_shared<topup::system_clock>();

  testing::system_config cfg;
  caf::actor_system system{cfg};
  caf::scoped_actor self{system};
  auto store = spawn_store(system, store_cfg, time);
  testing::wait_until_opened(self, store);
  auto intake = system.spawn(topup::intake, options, time, store, order_sink_actor{});
  auto submitter = system.spawn(driver, intake);
  self->send(submitter, submit_atom::value);
  // The driver runs until the parent kills this process; getting past here is a failure.
  self->wait_for(submitter);
  std::fprintf(stderr, "intake_crash_child: the driver stopped\n");
  // Not `return`: ~actor_system would wait forever for the store and intake.
  std::_Exit(1);
}
