#pragma once

// Shared test fixtures: temporary directories, a configured actor system, and the rules of
// WORKLOAD (bench/README.md: carriers by prefix, amounts).

#include "config/config.hpp"
#include "domain/clock.hpp"
#include "domain/validation.hpp"
#include "messages/errors.hpp"
#include "messages/protocol.hpp"

#include <caf/all.hpp>

#include <atomic>
#include <filesystem>
#include <string>

namespace topup::testing {

/// A fresh directory under the system temp dir, removed with everything in it at the end.
class temp_dir {
public:
  temp_dir();
  ~temp_dir();
  temp_dir(const temp_dir&) = delete;
  temp_dir& operator=(const temp_dir&) = delete;
  const std::filesystem::path& path() const { return path_; }
  std::string file(const std::string& name) const { return (path_ / name).string(); }

private:
  std::filesystem::path path_;
};

/// The whole text of a file ("" when it cannot be read).
std::string read_file(const std::string& path);

/// The system clock, whose wall time a test can step forward or back while the engine runs
/// on it, as NTP steps a real machine's clock; steady time runs on undisturbed (CAF's timers
/// use it too).
class stepped_wall_clock final : public clock {
public:
  mono_time now() const override { return system_.now(); }
  int64_t wall_ms() const override { return system_.wall_ms() + step_ms_.load(); }
  void step_wall(milliseconds step) { step_ms_ += step.count(); }

private:
  system_clock system_;
  std::atomic<int64_t> step_ms_{0};
};

/// The WORKLOAD (bench/README.md) carriers and amounts.
validation_rules workload_rules();

/// An SQLite store configuration for a file in `dir`.
store_config sqlite_store(const temp_dir& dir, const std::string& name = "orders.db");

/// CAF configured as the node runs it: 2 threads, sharing policy, topup types registered.
struct system_config : caf::actor_system_config {
  system_config();
};

/// An actor system plus a scoped actor to talk to it, for one test.
struct actor_fixture {
  system_config system_cfg;
  caf::actor_system system{system_cfg};
  caf::scoped_actor self{system};
};

/// The error of an expected, described; empty when it holds a value. Boost.Test evaluates
/// messages eagerly, so tests must not call error() on a value.
template <class T>
std::string error_text(const caf::expected<T>& result) {
  return result ? std::string{} : describe(result.error());
}

/// Returns once the store has opened (or failed to open) its database: it handles no
/// message before that, so one answered request proves it.
template <class Self, class Store>
void wait_until_opened(Self& self, const Store& store) {
  self->request(store, std::chrono::seconds(30), stats_atom::value)
    .receive([](store_stats&) {}, [](caf::error&) {});
}

/// A request for a valid order: phone 138 + 8 digits derived from n.
order_request valid_request(const std::string& client_ref, uint64_t n = 0, int64_t amount = 1000);

/// An order as intake hands it to the store: the valid_request(ref, n) number, cmcc, 10 yuan,
/// accepted at a fixed time with the 3-minute deadline.
order stored_order(const std::string& id, const std::string& client_ref, uint64_t n = 1,
                   order_status status = order_status::accepted);

} // namespace topup::testing
