#pragma once

// Where a queue ingress writes results back: the producers' Redis hash and channel, or their
// RabbitMQ exchange. A sink only writes; which results, when, and where to resume after a
// crash is the result writer's business (actors/result_writer).

#include "domain/order.hpp"

#include <stdexcept>
#include <string>
#include <vector>

namespace topup::queues {

/// A write that did not complete: nothing is known to be written, all of it is tried again.
class sink_error : public std::runtime_error {
public:
  using std::runtime_error::runtime_error;
};

class result_sink {
public:
  virtual ~result_sink() = default;

  /// Writes the result of each final order (blocking) and returns once the broker took
  /// every one, or refused some for good (a Redis key of another type, ...): those come back
  /// as log-safe lines, and are not tried again. Throws sink_error when the broker could not
  /// be reached or the connection broke: then nothing is known to be written. Writing a
  /// result twice is allowed: results are written at least once.
  virtual std::vector<std::string> write(const std::vector<order>& finals) = 0;

  /// What it writes to, for log lines ("redis 127.0.0.1:6379 hash topup:result:{client_ref}").
  virtual std::string describe() const = 0;
};

} // namespace topup::queues
