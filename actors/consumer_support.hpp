#pragma once

// What the Redis and RabbitMQ consumers share: their counters and log lines, and how each
// reacts to a broker that fails and to messages refused for now.

#include "domain/queue_ingress.hpp"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <optional>
#include <string>

namespace topup {

/// The state every consumer keeps besides its broker connection.
struct consumer_common {
  std::string label;  ///< "redis ingress shop:orders", for log lines
  std::string where;  ///< host:port of the broker
  ingress_backoff backoff{std::chrono::milliseconds{100}, std::chrono::milliseconds{5000}};
  bool busy = false;         ///< a batch waits for intake
  bool stopping = false;     ///< stop once the batch in hand is settled
  bool broker_down = false;  ///< logged once per outage

  struct counts {
    uint64_t taken = 0;         ///< messages submitted (again, for retries)
    uint64_t done = 0;          ///< removed or acknowledged after intake answered
    uint64_t dead_letters = 0;  ///< removed to the dead letters
    uint64_t retries = 0;       ///< kept to be tried again

    bool operator==(const counts& other) const {
      return taken == other.taken && done == other.done && dead_letters == other.dead_letters
             && retries == other.retries;
    }
  };
  counts total;
  counts logged;

  /// Logs what was consumed since the last summary, if anything.
  void log_summary() {
    if (total == logged)
      return;
    spdlog::info("{}: {} messages submitted, {} done, {} dead letters, {} kept for later", label,
                 total.taken, total.done, total.dead_letters, total.retries);
    logged = total;
  }

  /// The broker failed: the wait before trying again (logged once per outage).
  std::chrono::milliseconds broker_failed(const std::string& why) {
    auto wait = backoff.next();
    if (!broker_down)
      spdlog::warn("{} cannot use {}: {}; trying again with backoff", label, where, why);
    else
      spdlog::debug("{} cannot use {}: {}; next try in {} ms", label, where, why, wait.count());
    broker_down = true;
    return wait;
  }

  /// The broker is usable again.
  void broker_up() {
    if (broker_down)
      spdlog::info("{} reconnected to {}", label, where);
    broker_down = false;
  }

  /// Counts a settled batch; the wait before the next one when some messages were refused
  /// for now, none when the next batch may start at once.
  std::optional<std::chrono::milliseconds> settled(const std::vector<message_outcome>& outcomes) {
    busy = false;
    auto counted = count_fates(outcomes);
    total.done += counted.done;
    total.dead_letters += counted.dead_letters;
    total.retries += counted.retries;
    if (counted.retries == 0) {
      backoff.reset();
      return std::nullopt;
    }
    auto first = std::find_if(outcomes.begin(), outcomes.end(), [](const message_outcome& o) {
      return o.fate == message_fate::retry;
    });
    auto wait = backoff.next();
    spdlog::info("{} keeps {} messages for now ({}); next try in {} ms", label, counted.retries,
                 first->why.describe(), wait.count());
    return wait;
  }
};

/// How often a consumer logs its summary.
inline constexpr std::chrono::seconds consumer_summary_interval{10};

} // namespace topup
